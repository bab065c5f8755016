import Foundation
import Kernels

/// VGG19 without its classifier, with the Keras layer names and the Keras convention that a
/// conv layer's output is already rectified (`block1_conv1` = relu(conv(x))).
/// The unrectified value of a conv layer is available as `blockB_convN:pre`.
public final class VGG19: @unchecked Sendable {
    public struct ConvWeights {
        public let weight: Tensor  // (OC, C, 3, 3); block1_conv1's input channels are BGR
        public let bias: Tensor  // (OC)
        /// The weight packed and Winograd-transformed for the fast paths, prepared on first use and
        /// kept (within ConvWeightCache.shared's budget): the weights never change.
        public let forms: ConvWeightForms
    }

    public let weights: [String: ConvWeights]

    public static let defaultWeightsPath: String = {
        if let p = ProcessInfo.processInfo.environment["NST_WEIGHTS"] { return p }
        return ProjectFiles.locate("Weights/vgg19_notop.safetensors")
    }()

    public static var layerNames: [String] { VGG19Architecture.layers.map(\.name) }

    public init(weightsPath: String = VGG19.defaultWeightsPath) throws {
        let file = try SafeTensorsFile(path: weightsPath)
        var weights: [String: ConvWeights] = [:]
        for case .conv(let name, let c, let oc) in VGG19Architecture.layers {
            let weight = try file.tensor("\(name).weight", shape: [oc, c, 3, 3])
            weights[name] = ConvWeights(
                weight: weight, bias: try file.tensor("\(name).bias", shape: [oc]), forms: try ConvWeightForms(weight: weight))
        }
        self.weights = weights
    }

    /// The name without a `:pre` suffix, if it names a layer.
    public static func isKnownLayer(_ name: String) -> Bool {
        let base = name.hasSuffix(":pre") ? String(name.dropLast(4)) : name
        guard let layer = VGG19Architecture.layers.first(where: { $0.name == base }) else { return false }
        if name.hasSuffix(":pre"), case .pool = layer { return false }
        return true
    }

    public static func index(of name: String) -> Int? {
        let base = name.hasSuffix(":pre") ? String(name.dropLast(4)) : name
        return VGG19Architecture.layers.firstIndex { $0.name == base }
    }

    /// The index of the deepest of `layers` (nil when none is a VGG19 layer): how far a forward goes.
    public static func deepestIndex(_ layers: [String]) -> Int? { layers.compactMap { index(of: $0) }.max() }

    /// Every layer output of one forward pass, kept for the backward pass and for inspection.
    public struct Activations {
        public let input: Tensor
        public let pooling: Pooling
        /// Outputs by layer name, in network order up to the deepest layer computed.
        public var outputs: [String: Tensor]
        /// Pre-activation (before ReLU) outputs of conv layers, if they were kept.
        public var preActivations: [String: Tensor]
        /// What the backward needs of outputs not kept whole (`forward(keepingWhole:)`).
        var compact: [String: CompactOutput] = [:]

        public subscript(name: String) -> Tensor? {
            name.hasSuffix(":pre") ? preActivations[String(name.dropLast(4))] : outputs[name]
        }
    }

    /// What the backward needs of a layer output once the forward has gone past it, when the output
    /// itself is not wanted: for a conv layer, where it is positive (its ReLU's backward), one bit
    /// per value; if a max pool follows, which of each window's four is the max (the pool's
    /// backward), one byte per window. A pool's output the backward does not need at all.
    /// (1/32 and 1/16 of the output's memory.)
    struct CompactOutput {
        let shape: [Int]
        let positive: [UInt8]
        var poolArgmax: [UInt8]? = nil

        init(_ output: Tensor, threads: Int) {
            shape = output.shape
            positive = packPositiveBits(output.data, threads: threads)
        }
    }

    /// Runs the network on a preprocessed image (3, H, W) up to the deepest of `layers`.
    /// `keepingWhole`: when given, only those layers' outputs are kept as they are; of the others the
    /// forward keeps what a backward needs (CompactOutput), or nothing when `forBackward` is false.
    public func forward(
        _ image: Tensor, upTo layers: [String], pooling: Pooling = .max,
        keepPreActivations: Bool = false, keepingWhole: Set<String>? = nil, forBackward: Bool = true,
        _ compute: Compute
    ) throws -> Activations {
        guard image.rank == 3, image.shape[0] == 3 else {
            throw KernelError.shape("VGG19 input must be a (3, H, W) image tensor, got \(image.shape)")
        }
        var deepest = -1
        for name in layers {
            guard let i = VGG19.index(of: name), VGG19.isKnownLayer(name) else {
                throw LabError.unknownLayer(name)
            }
            deepest = max(deepest, i)
        }
        var outputs: [String: Tensor] = [:]
        var pre: [String: Tensor] = [:]
        var compact: [String: CompactOutput] = [:]
        let all = VGG19Architecture.layers
        try VGG19Architecture.forward(
            image, through: deepest,
            conv: { name, c, oc, x in
                let w = weights[name]!
                let (h, wd) = (x.shape[1], x.shape[2])
                let (algorithm, why) = compute.convChoice(c: c, h: h, w: wd, oc: oc, k: 3, backward: false)
                let flops = 2.0 * Double(c * oc * 9 * h * wd)
                guard keepPreActivations else {
                    // The ReLU is fused into the convolution's last pass.
                    return try compute.timed(name, "conv+relu", algorithm: "\(algorithm)", why: why, flops: flops) {
                        try conv2d(x, weight: w.weight, bias: w.bias, relu: true, forms: w.forms, compute)
                    }
                }
                let z = try compute.timed(name, "conv", algorithm: "\(algorithm)", why: why, flops: flops) {
                    try conv2d(x, weight: w.weight, bias: w.bias, forms: w.forms, compute)
                }
                pre[name] = z
                return compute.timed(name, "relu") { relu(z) }
            },
            pool: { name, x in
                guard x.shape[1] >= 2, x.shape[2] >= 2 else { throw LabError.imageTooSmall(name, x.shape) }
                return try compute.timed(name, "\(pooling) pool") {
                    let i = VGG19.index(of: name)!
                    if let keep = keepingWhole, forBackward, pooling == .max, !keep.contains(all[i - 1].name) {
                        let (out, argmax) = try maxPool2x2WithArgmax(x, compute)
                        compact[all[i - 1].name] = CompactOutput(x, threads: compute.threads)  // the conv below
                        compact[all[i - 1].name]!.poolArgmax = argmax
                        return out
                    }
                    return try pool2x2(x, pooling, compute)
                }
            },
            visit: { layer, x in
                outputs[layer.name] = x
                // The layer below has been read for the last time by the forward: keep only what is needed.
                if let keep = keepingWhole, let i = VGG19.index(of: layer.name), i > 0, !keep.contains(all[i - 1].name) {
                    let below = all[i - 1]
                    if forBackward, case .conv = below, compact[below.name] == nil {
                        compact[below.name] = CompactOutput(outputs[below.name]!, threads: compute.threads)
                    }
                    outputs[below.name] = nil
                }
                return true
            })
        var result = Activations(input: image, pooling: pooling, outputs: outputs, preActivations: pre)
        result.compact = compact
        return result
    }

    /// Backpropagates gradients given at any set of layer outputs down to the input image.
    /// Returns d(loss)/d(image), (3, H, W).
    public func backward(_ gradients: [String: Tensor], through a: Activations, _ compute: Compute) throws -> Tensor {
        var activations = a
        return try backward(releasing: &activations, at: Array(gradients.keys), gradientAt: { gradients[$0] }, compute)
    }

    /// The same, for a caller that needs neither the activations nor the gradients afterwards:
    /// each layer's gradient is asked for (`gradientAt`) only when the backward reaches it, and each
    /// layer's output is released from `a` once the backward has passed it. At 512² that keeps the
    /// peak to about one block's activations and gradients instead of the whole network's.
    public func backward(
        releasing a: inout Activations, at layers: [String],
        gradientAt: (String) throws -> Tensor?, _ compute: Compute
    ) throws -> Tensor {
        var deepest = -1
        for name in layers {
            guard let i = VGG19.index(of: name), name == VGG19Architecture.layers[i].name else {
                throw LabError.unknownLayer(name)
            }
            guard a.outputs[name] != nil else { throw LabError.layerNotComputed(name) }
            deepest = max(deepest, i)
        }
        guard deepest >= 0 else { return try Tensor(zeros: a.input.shape) }
        var g: Tensor? = nil
        for i in stride(from: deepest, through: 0, by: -1) {
            let layer = VGG19Architecture.layers[i]
            if layers.contains(layer.name), let given = try gradientAt(layer.name) {
                let out = a.outputs[layer.name]!
                guard given.shape == out.shape else {
                    throw KernelError.shape("gradient at \(layer.name) is \(given.shape), the layer output is \(out.shape)")
                }
                if g == nil { g = given } else { try g!.add(given) }  // in place: at block1 the sum is 100 MB at 512 rows
            }
            defer {  // below here only the layers beneath read it
                a.outputs[layer.name] = nil
                a.compact[layer.name] = nil
            }
            guard let dOut = g else { continue }
            switch layer {
            case .conv(let name, let c, let oc):
                // The output is relu(z); z > 0 exactly where the output is > 0, so the output is
                // the ReLU's mask (applied inside the convolution's backward).
                let (h, w) = (dOut.shape[1], dOut.shape[2])
                let (algorithm, why) = compute.convChoice(c: oc, h: h, w: w, oc: c, k: 3, backward: true)
                g = try compute.timed(
                    name, "relu+conv backward", algorithm: "\(algorithm)", why: why,
                    flops: 2.0 * Double(c * oc * 9 * h * w)
                ) {
                    let w = weights[name]!
                    if let output = a.outputs[name] {
                        return try conv2dBackwardData(dOut, weight: w.weight, reluOutput: output, forms: w.forms, compute)
                    }
                    guard let kept = a.compact[name] else { throw LabError.layerNotComputed(name) }
                    return try conv2dBackwardData(dOut, weight: w.weight, reluPositive: kept.positive, forms: w.forms, compute)
                }
            case .pool:
                let below = VGG19Architecture.layers[i - 1].name  // a pool is never the first layer
                g = try compute.timed(layer.name, "\(a.pooling) pool backward") {
                    if let input = a.outputs[below] { return try pool2x2Backward(dOut, input: input, a.pooling, compute) }
                    guard let kept = a.compact[below] else { throw LabError.layerNotComputed(below) }
                    if let argmax = kept.poolArgmax {
                        return try maxPool2x2Backward(dOut, argmax: argmax, inputShape: kept.shape, compute)
                    }
                    return try averagePool2x2Backward(dOut, inputShape: kept.shape, compute)
                }
            }
        }
        return try g ?? Tensor(zeros: a.input.shape)  // no layer had a gradient after all
    }
}

public enum LabError: Error, CustomStringConvertible, Equatable {
    case unknownLayer(String)
    case layerNotComputed(String)
    case imageTooSmall(String, [Int])

    public var description: String {
        switch self {
        case .unknownLayer(let n):
            let near = VGG19.layerNames.min { editDistance($0, n) < editDistance($1, n) } ?? ""
            return "no layer named \(n) in VGG19 (did you mean \(near)?)"
        case .layerNotComputed(let n): return "layer \(n) was not computed in this forward pass"
        case .imageTooSmall(let n, let s): return "the image is too small to reach \(n): its input there is \(s)"
        }
    }
}

func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    var row = Array(0...b.count)
    for i in 1...max(1, a.count) where !a.isEmpty {
        var prev = row[0]
        row[0] = i
        for j in 1...max(1, b.count) where !b.isEmpty {
            let cur = row[j]
            row[j] = min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] == b[j - 1] ? 0 : 1))
            prev = cur
        }
    }
    return row[b.count]
}
