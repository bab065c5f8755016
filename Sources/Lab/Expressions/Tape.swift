import Foundation

// Reverse-mode automatic differentiation, as micrograd does it but over arrays: every op evaluated
// appends a node (its value, its inputs, and how to send a gradient back to them) to a tape; the
// backward pass walks the tape from the end, summing each node's gradient into its inputs'. An
// expression's gradient leaves the tape at its inputs that come from the image: the network's
// features at a layer (VGG19's backward takes it from there) or the image itself.

/// Where a gradient leaves an expression: the network's output at a layer, or the image.
public enum GradientExit: Hashable, Sendable {
    case features(String)
    case image
}

/// A value on a tape.
struct Var {
    let id: Int
    let value: NDArray
    var shape: [Int] { value.shape }
}

final class Tape {
    private struct Node {
        let parents: [Int]
        /// The gradients of the parents, given this node's (nil: that parent gets none).
        let backward: ((NDArray) throws -> [NDArray?])?
        let exit: GradientExit?
        let needsGradient: Bool
    }
    private var nodes: [Node] = []

    /// A value that has no gradient (a number, the style's features, a measurement).
    func constant(_ v: NDArray) -> Var {
        nodes.append(Node(parents: [], backward: nil, exit: nil, needsGradient: false))
        return Var(id: nodes.count - 1, value: v)
    }

    /// A value the gradient is taken with respect to.
    func input(_ v: NDArray, _ exit: GradientExit) -> Var {
        nodes.append(Node(parents: [], backward: nil, exit: exit, needsGradient: true))
        return Var(id: nodes.count - 1, value: v)
    }

    /// An op's result: `backward` maps its gradient to its inputs' (kept only if some input needs one).
    func record(_ v: NDArray, _ inputs: [Var], _ backward: @escaping (NDArray) throws -> [NDArray?]) -> Var {
        let needs = inputs.contains { nodes[$0.id].needsGradient }
        nodes.append(Node(parents: inputs.map(\.id), backward: needs ? backward : nil, exit: nil, needsGradient: needs))
        return Var(id: nodes.count - 1, value: v)
    }

    func needsGradient(_ v: Var) -> Bool { nodes[v.id].needsGradient }

    /// d output / d each exit, for a scalar `output`.
    func gradients(of output: Var) throws -> [GradientExit: NDArray] {
        guard output.value.count == 1 else {
            throw ExpressionError("a gradient is taken of a single number; this has shape \(describe(output.shape))")
        }
        var grads: [Int: NDArray] = [output.id: NDArray(valid: output.shape, [1])]
        var exits: [GradientExit: NDArray] = [:]
        for id in stride(from: output.id, through: 0, by: -1) {
            guard let g = grads.removeValue(forKey: id) else { continue }
            let node = nodes[id]
            if let exit = node.exit {
                exits[exit] = try exits[exit].map { try NDArray(shape: g.shape, data: zip($0.data, g.data).map(+)) } ?? g
            }
            guard let backward = node.backward else { continue }
            for (parent, pg) in zip(node.parents, try backward(g)) where nodes[parent].needsGradient {
                guard let pg else { continue }
                if let old = grads[parent] {
                    var sum = old
                    for i in sum.data.indices { sum.data[i] += pg.data[i] }
                    grads[parent] = sum
                } else {
                    grads[parent] = pg
                }
            }
        }
        return exits
    }
}
