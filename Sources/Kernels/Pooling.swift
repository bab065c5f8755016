// 2×2 pooling, stride 2, "valid": x is (C, H, W), out is (C, H/2, W/2) (floor: an odd
// last row or column is dropped, as Keras does, and receives no gradient).
//
// max:      out[c][y][x] = max over the window x[c][2y+a][2x+b], a, b ∈ {0, 1}
//           backward: the whole of dOut[c][y][x] goes to the window's argmax; on a tie,
//           to the first in the order (0,0), (0,1), (1,0), (1,1). Exact ties are common (flat
//           image regions give exactly equal activations under direct convolution: 12 % of
//           block1_pool's windows on the 400-row fixture), which is why `ConvAlgorithm.auto` keeps
//           the forward pass direct (see Compute.swift).
// average:  out[c][y][x] = ¼ Σ_window x;   backward: each of the four gets ¼ dOut.
//
// Memory-bound and cheap beside the convolutions: the fast path is the same loops on raw
// pointers, channels spread over the threads (results identical to the references).

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
                dX[i] = g
                dX[i + 1] = g
                dX[i + w] = g
                dX[i + w + 1] = g
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

// MARK: - Fast path: the same loops on raw pointers, channels spread over the threads

/// out (C, H/2, W/2) for x (C, H, W), channels ci in `channels`. Same operations, same order as
/// the references above, so the results are identical.
private func pool2x2ForwardChannels(
    _ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ kind: Pooling,
    channels: Range<Int>, h: Int, w: Int
) {
    let oh = h / 2, ow = w / 2
    for ci in channels {
        for y in 0..<oh {
            let top = x + (ci * h + 2 * y) * w, bottom = top + w
            let dst = out + (ci * oh + y) * ow
            if kind == .max {
                for xx in 0..<ow { dst[xx] = max(max(top[2 * xx], top[2 * xx + 1]), max(bottom[2 * xx], bottom[2 * xx + 1])) }
            } else {
                for xx in 0..<ow { dst[xx] = (top[2 * xx] + top[2 * xx + 1] + bottom[2 * xx] + bottom[2 * xx + 1]) / 4 }
            }
        }
    }
}

/// Overwrites dX (C, H, W) for channels in `channels`.
private func pool2x2BackwardChannels(
    _ dX: UnsafeMutablePointer<Float>, _ dOut: UnsafePointer<Float>,
    _ x: UnsafePointer<Float>?, _ kind: Pooling, channels: Range<Int>, h: Int, w: Int
) {
    let oh = h / 2, ow = w / 2
    for ci in channels {
        // An odd last row or column gets no gradient.
        (dX + ci * h * w).update(repeating: 0, count: h * w)
        for y in 0..<oh {
            let row = (ci * h + 2 * y) * w
            let g = dOut + (ci * oh + y) * ow
            for xx in 0..<ow {
                let i = row + 2 * xx
                if kind == .average {
                    let q = g[xx] / 4
                    dX[i] = q
                    dX[i + 1] = q
                    dX[i + w] = q
                    dX[i + w + 1] = q
                } else {
                    let x = x!  // a max pool's backward is always given its input
                    // The first maximum in the order (0,0), (0,1), (1,0), (1,1), as the reference.
                    var best = i
                    if x[i + 1] > x[best] { best = i + 1 }
                    if x[i + w] > x[best] { best = i + w }
                    if x[i + w + 1] > x[best] { best = i + w + 1 }
                    dX[best] += g[xx]
                }
            }
        }
    }
}

public func pool2x2(_ x: Tensor, _ kind: Pooling, _ compute: Compute = Compute(threads: 1)) throws -> Tensor {
    let s = try checkPoolInput(x)
    if compute.backend == .reference {
        let data =
            kind == .max
            ? maxPool2x2Forward(x.data, c: s.c, h: s.h, w: s.w)
            : avgPool2x2Forward(x.data, c: s.c, h: s.h, w: s.w)
        return Tensor(validShape: [s.c, s.h / 2, s.w / 2], data: data)
    }
    let count = s.c * (s.h / 2) * (s.w / 2)
    var out = uninitializedFloats(count)
    let chunks = splitRange(s.c, parts: compute.threads, align: 1)
    out.withUnsafeMutableBufferPointer { po in
        x.data.withUnsafeBufferPointer { px in
            let (o, i) = (po.baseAddress!, px.baseAddress!)
            parallelFor(chunks.count, threads: compute.threads) { t in
                pool2x2ForwardChannels(o, i, kind, channels: chunks[t], h: s.h, w: s.w)
            }
        }
    }
    return Tensor(validShape: [s.c, s.h / 2, s.w / 2], data: out)
}

/// dx for out = pool2x2(x); dOut is (C, H/2, W/2).
public func pool2x2Backward(
    _ dOut: Tensor, input x: Tensor, _ kind: Pooling,
    _ compute: Compute = Compute(threads: 1)
) throws -> Tensor {
    _ = try checkPoolInput(x)
    return try pool2x2Backward(dOut, inputShape: x.shape, input: kind == .max ? x : nil, kind, compute)
}

/// dx for an average pool, from dOut and the input's shape alone: the average's backward never
/// reads the input (so a forward that kept nothing of it can still go back through it).
public func averagePool2x2Backward(
    _ dOut: Tensor, inputShape: [Int], _ compute: Compute = Compute(threads: 1)
) throws -> Tensor {
    try pool2x2Backward(dOut, inputShape: inputShape, input: nil, .average, compute)
}

/// The two above: `input` is read only by the max pool.
private func pool2x2Backward(
    _ dOut: Tensor, inputShape: [Int], input x: Tensor?, _ kind: Pooling, _ compute: Compute
) throws -> Tensor {
    let s = try checkPoolBackward(dOut, inputShape: inputShape)
    if compute.backend == .reference {
        let data =
            kind == .max
            ? maxPool2x2Backward(dOut: dOut.data, x: x!.data, c: s.c, h: s.h, w: s.w)
            : avgPool2x2Backward(dOut: dOut.data, c: s.c, h: s.h, w: s.w)
        return Tensor(validShape: inputShape, data: data)
    }
    var dX = uninitializedFloats(s.c * s.h * s.w)
    let chunks = splitRange(s.c, parts: compute.threads, align: 1)
    func run(_ input: UnsafePointer<Float>?) {
        dX.withUnsafeMutableBufferPointer { pd in
            dOut.data.withUnsafeBufferPointer { pg in
                let (d, g) = (pd.baseAddress!, pg.baseAddress!)
                parallelFor(chunks.count, threads: compute.threads) { t in
                    pool2x2BackwardChannels(d, g, input, kind, channels: chunks[t], h: s.h, w: s.w)
                }
            }
        }
    }
    if let x { x.data.withUnsafeBufferPointer { run($0.baseAddress) } } else { run(nil) }
    return Tensor(validShape: inputShape, data: dX)
}

/// A pooling backward's input shape (C, H, W) with H, W ≥ 2, and dOut (C, H/2, W/2) to match.
func checkPoolBackward(_ dOut: Tensor, inputShape: [Int]) throws -> (c: Int, h: Int, w: Int) {
    guard inputShape.count == 3, inputShape.allSatisfy({ $0 > 0 }), inputShape[1] >= 2, inputShape[2] >= 2 else {
        throw KernelError.shape("2×2 pooling needs a (C, H, W) input with H, W ≥ 2, got \(inputShape)")
    }
    let s = (c: inputShape[0], h: inputShape[1], w: inputShape[2])
    guard dOut.shape == [s.c, s.h / 2, s.w / 2] else {
        throw KernelError.shape("pooling backward: dOut \(dOut.shape) does not match input \(inputShape)")
    }
    return s
}

// MARK: - The backward's routing alone (for a caller that keeps one byte per window, not the input)

/// The max pool's output, and for each 2×2 window which of its four the max is — 0, 1, 2, 3 for
/// (0,0), (0,1), (1,0), (1,1), the first on a tie, as maxPool2x2Backward routes — in one pass over x.
/// The routing is (C, H/2, W/2) bytes: what the backward needs of the input, at 1/16 of its memory.
/// The output is computed as pool2x2 computes it (identical values).
public func maxPool2x2WithArgmax(_ x: Tensor, _ compute: Compute = Compute(threads: 1)) throws -> (out: Tensor, argmax: [UInt8]) {
    let s = try checkPoolInput(x)
    let (oh, ow) = (s.h / 2, s.w / 2)
    var out = uninitializedFloats(s.c * oh * ow)
    var argmax = [UInt8](unsafeUninitializedCapacity: s.c * oh * ow) { _, n in n = s.c * oh * ow }  // every window written
    let chunks = splitRange(s.c, parts: compute.threads, align: 1)
    out.withUnsafeMutableBufferPointer { po in
        argmax.withUnsafeMutableBufferPointer { pa in
            x.data.withUnsafeBufferPointer { px in
                let (o, a, v) = (po.baseAddress!, pa.baseAddress!, px.baseAddress!)
                parallelFor(chunks.count, threads: compute.threads) { t in
                    for ci in chunks[t] {
                        for y in 0..<oh {
                            for xx in 0..<ow {
                                let i = (ci * s.h + 2 * y) * s.w + 2 * xx
                                let (p, q, r, u) = (v[i], v[i + 1], v[i + s.w], v[i + s.w + 1])
                                var best = p, which: UInt8 = 0
                                if q > best { (best, which) = (q, 1) }
                                if r > best { (best, which) = (r, 2) }
                                if u > best { which = 3 }
                                o[(ci * oh + y) * ow + xx] = max(max(p, q), max(r, u))
                                a[(ci * oh + y) * ow + xx] = which
                            }
                        }
                    }
                }
            }
        }
    }
    return (Tensor(validShape: [s.c, oh, ow], data: out), argmax)
}

/// dx (C, H, W) for a max pool, from dOut (C, H/2, W/2) and the routing maxPool2x2WithArgmax recorded:
/// the same values as maxPool2x2Backward with the input.
public func maxPool2x2Backward(
    _ dOut: Tensor, argmax: [UInt8], inputShape: [Int], _ compute: Compute = Compute(threads: 1)
) throws -> Tensor {
    let (c, h, w) = try checkPoolBackward(dOut, inputShape: inputShape)
    let (oh, ow) = (h / 2, w / 2)
    guard argmax.count == c * oh * ow else {
        throw KernelError.shape("pooling backward: \(argmax.count) windows do not match input \(inputShape)")
    }
    // Every value of dx is written once (no zero-fill pass first): the window's routed one gets the
    // gradient, the other three 0, as does an odd last row or column no window covers.
    var dX = uninitializedFloats(c * h * w)
    let chunks = splitRange(c, parts: compute.threads, align: 1)
    dX.withUnsafeMutableBufferPointer { pd in
        dOut.data.withUnsafeBufferPointer { pg in
            argmax.withUnsafeBufferPointer { pa in
                let (d, g, a) = (pd.baseAddress!, pg.baseAddress!, pa.baseAddress!)
                parallelFor(chunks.count, threads: compute.threads) { t in
                    for ci in chunks[t] {
                        for y in 0..<oh {
                            let (top, bottom) = (d + (ci * h + 2 * y) * w, d + (ci * h + 2 * y + 1) * w)
                            for xx in 0..<ow {
                                let o = (ci * oh + y) * ow + xx
                                let (which, v) = (a[o], 0 + g[o])  // 0 + g: the value the += into zeros gave
                                top[2 * xx] = which == 0 ? v : 0
                                top[2 * xx + 1] = which == 1 ? v : 0
                                bottom[2 * xx] = which == 2 ? v : 0
                                bottom[2 * xx + 1] = which == 3 ? v : 0
                            }
                            if w % 2 == 1 { (top[w - 1], bottom[w - 1]) = (0, 0) }
                        }
                        if h % 2 == 1 { (d + (ci * h + h - 1) * w).update(repeating: 0, count: w) }
                    }
                }
            }
        }
    }
    return Tensor(validShape: inputShape, data: dX)
}
