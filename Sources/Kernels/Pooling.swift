// 2×2 pooling, stride 2, "valid": x is (C, H, W), out is (C, H/2, W/2) (floor: an odd
// last row or column is dropped, as Keras does, and receives no gradient).
//
// max:      out[c][y][x] = max over the window x[c][2y+a][2x+b], a, b ∈ {0, 1}
//           backward: the whole of dOut[c][y][x] goes to the window's argmax; on a tie,
//           to the first in the order (0,0), (0,1), (1,0), (1,1).
// average:  out[c][y][x] = ¼ Σ_window x;   backward: each of the four gets ¼ dOut.
//
// Memory-bound and cheap beside the convolutions, so one plain implementation serves every backend.

@inlinable
public func maxPool2x2Forward<T: BinaryFloatingPoint>(_ x: [T], c: Int, h: Int, w: Int) -> [T] {
    let oh = h / 2, ow = w / 2
    var out = [T](repeating: 0, count: c * oh * ow)
    for ci in 0..<c {
        for y in 0..<oh {
            for xx in 0..<ow {
                let i = (ci * h + 2 * y) * w + 2 * xx
                out[(ci * oh + y) * ow + xx] = max(max(x[i], x[i + 1]), max(x[i + w], x[i + w + 1]))
            }
        }
    }
    return out
}

/// Overwrites: returns dx (C, H, W).
@inlinable
public func maxPool2x2Backward<T: BinaryFloatingPoint>(dOut: [T], x: [T], c: Int, h: Int, w: Int) -> [T] {
    let oh = h / 2, ow = w / 2
    var dX = [T](repeating: 0, count: c * h * w)
    for ci in 0..<c {
        for y in 0..<oh {
            for xx in 0..<ow {
                let i = (ci * h + 2 * y) * w + 2 * xx
                var best = i
                for j in [i + 1, i + w, i + w + 1] where x[j] > x[best] { best = j }
                dX[best] += dOut[(ci * oh + y) * ow + xx]
            }
        }
    }
    return dX
}

@inlinable
public func avgPool2x2Forward<T: BinaryFloatingPoint>(_ x: [T], c: Int, h: Int, w: Int) -> [T] {
    let oh = h / 2, ow = w / 2
    var out = [T](repeating: 0, count: c * oh * ow)
    for ci in 0..<c {
        for y in 0..<oh {
            for xx in 0..<ow {
                let i = (ci * h + 2 * y) * w + 2 * xx
                out[(ci * oh + y) * ow + xx] = (x[i] + x[i + 1] + x[i + w] + x[i + w + 1]) / 4
            }
        }
    }
    return out
}

/// Overwrites: returns dx (C, H, W).
@inlinable
public func avgPool2x2Backward<T: BinaryFloatingPoint>(dOut: [T], c: Int, h: Int, w: Int) -> [T] {
    let oh = h / 2, ow = w / 2
    var dX = [T](repeating: 0, count: c * h * w)
    for ci in 0..<c {
        for y in 0..<oh {
            for xx in 0..<ow {
                let g = dOut[(ci * oh + y) * ow + xx] / 4
                let i = (ci * h + 2 * y) * w + 2 * xx
                dX[i] = g; dX[i + 1] = g; dX[i + w] = g; dX[i + w + 1] = g
            }
        }
    }
    return dX
}

public enum Pooling: String, CaseIterable, Sendable {
    case max, average
}

func checkPoolInput(_ x: Tensor) throws -> (c: Int, h: Int, w: Int) {
    let s = try requireCHW(x, "pooling input")
    guard s.h >= 2, s.w >= 2 else {
        throw KernelError.shape("2×2 pooling needs H, W ≥ 2, got \(x.shape)")
    }
    return s
}

public func pool2x2(_ x: Tensor, _ kind: Pooling) throws -> Tensor {
    let s = try checkPoolInput(x)
    let data = kind == .max ? maxPool2x2Forward(x.data, c: s.c, h: s.h, w: s.w)
                            : avgPool2x2Forward(x.data, c: s.c, h: s.h, w: s.w)
    return Tensor(validShape: [s.c, s.h / 2, s.w / 2], data: data)
}

/// dx for out = pool2x2(x); dOut is (C, H/2, W/2).
public func pool2x2Backward(_ dOut: Tensor, input x: Tensor, _ kind: Pooling) throws -> Tensor {
    let s = try checkPoolInput(x)
    guard dOut.shape == [s.c, s.h / 2, s.w / 2] else {
        throw KernelError.shape("pooling backward: dOut \(dOut.shape) does not match input \(x.shape)")
    }
    let data = kind == .max ? maxPool2x2Backward(dOut: dOut.data, x: x.data, c: s.c, h: s.h, w: s.w)
                            : avgPool2x2Backward(dOut: dOut.data, c: s.c, h: s.h, w: s.w)
    return Tensor(validShape: x.shape, data: data)
}
