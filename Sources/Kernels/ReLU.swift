// ReLU, elementwise on any shape.
//   forward:  y = max(x, 0)
//   backward: dx = dy where x > 0, else 0   (the derivative at 0 is taken as 0, as TF and PyTorch do)

@inlinable
public func reluForward<T: BinaryFloatingPoint>(_ x: [T]) -> [T] {
    x.map { $0 > 0 ? $0 : 0 }
}

/// Overwrites: returns a new dx.
@inlinable
public func reluBackward<T: BinaryFloatingPoint>(dOut: [T], x: [T]) -> [T] {
    precondition(dOut.count == x.count)
    return (0..<x.count).map { x[$0] > 0 ? dOut[$0] : 0 }
}

public func relu(_ x: Tensor) -> Tensor {
    Tensor(validShape: x.shape, data: reluForward(x.data))
}

public func reluBackward(_ dOut: Tensor, input x: Tensor) throws -> Tensor {
    try requireSameShape(dOut, x, "relu backward")
    return Tensor(validShape: x.shape, data: reluBackward(dOut: dOut.data, x: x.data))
}
