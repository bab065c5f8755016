// A dense Float32 tensor, row-major. Images and activations are (C, H, W):
// channel-major keeps each feature map contiguous, which is what im2col + GEMM
// and the Gram matrix (C × H·W) want.

public struct Tensor: Equatable, Sendable {
    public let shape: [Int]
    public var data: [Float]

    /// A tensor of zeros. Sizes must be positive.
    public init(zeros shape: [Int]) throws {
        try Tensor.checkShape(shape)
        self.shape = shape
        self.data = zeroFloats(shape.reduce(1, *))
    }

    public init(shape: [Int], data: [Float]) throws {
        try Tensor.checkShape(shape)
        let count = shape.reduce(1, *)
        guard data.count == count else {
            throw KernelError.shape("tensor of shape \(shape) needs \(count) values, got \(data.count)")
        }
        self.shape = shape
        self.data = data
    }

    /// Unchecked: for kernels that have already validated the shape.
    init(validShape shape: [Int], data: [Float]) {
        self.shape = shape
        self.data = data
    }

    public var count: Int { data.count }
    public var rank: Int { shape.count }

    /// (C, H, W) of a rank-3 tensor.
    public var chw: (c: Int, h: Int, w: Int) {
        precondition(shape.count == 3, "chw of a rank-\(shape.count) tensor")
        return (shape[0], shape[1], shape[2])
    }

    static func checkShape(_ shape: [Int]) throws {
        guard !shape.isEmpty else { throw KernelError.shape("a tensor needs at least one dimension") }
        guard shape.allSatisfy({ $0 > 0 }) else {
            throw KernelError.empty("tensor shape \(shape) has an empty or negative dimension")
        }
        // Guard against sizes whose product overflows Int before anyone allocates.
        var total = 1
        for d in shape {
            let (p, overflow) = total.multipliedReportingOverflow(by: d)
            guard !overflow else { throw KernelError.shape("tensor shape \(shape) is too large") }
            total = p
        }
    }
}

/// Errors from the tensor-level API. Kernels never trap on a bad argument from
/// a caller; they throw one of these with a one-line description.
public enum KernelError: Error, CustomStringConvertible, Equatable {
    case shape(String)
    case empty(String)
    case backendUnavailable(String)

    public var description: String {
        switch self {
        case .shape(let s): return "shape mismatch: \(s)"
        case .empty(let s): return "empty tensor: \(s)"
        case .backendUnavailable(let s): return "backend unavailable: \(s)"
        }
    }
}

/// Checks that `t` is (C, H, W); `what` names it in the error.
func requireCHW(_ t: Tensor, _ what: String) throws -> (c: Int, h: Int, w: Int) {
    guard t.rank == 3 else {
        throw KernelError.shape("\(what) must be (C, H, W), got shape \(t.shape)")
    }
    return t.chw
}

func requireSameShape(_ a: Tensor, _ b: Tensor, _ what: String) throws {
    guard a.shape == b.shape else {
        throw KernelError.shape("\(what): shapes \(a.shape) and \(b.shape) differ")
    }
}

extension Tensor {
    /// s · self.
    public func scaled(by s: Float) -> Tensor {
        Tensor(validShape: shape, data: data.map { $0 * s })
    }

    /// self += other, elementwise, in place (no copy when self's storage is its own); the shapes must agree.
    public mutating func add(_ other: Tensor) throws {
        try requireSameShape(self, other, "add")
        data.withUnsafeMutableBufferPointer { d in
            other.data.withUnsafeBufferPointer { o in
                for i in 0..<d.count { d[i] += o[i] }
            }
        }
    }

    /// self + other, elementwise; the shapes must agree.
    public func adding(_ other: Tensor) throws -> Tensor {
        var out = self
        try out.add(other)
        return out
    }
}
