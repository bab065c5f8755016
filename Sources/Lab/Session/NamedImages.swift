import Foundation
import Kernels

// The images a command can name, resolved in one place: `show`, `diff`, `tensor`, `features` and
// `gram` all ask the session for "content", "style", "result", … through these two functions.

extension TransferSession {
    /// The names Tab offers wherever an image is named.
    public static let imageNames = ["content", "style", "result"]

    /// An image as VGG19 sees it (3, H, W): the content or the (first) style at the working size, the
    /// result, or "initial", where the current run started (if its snapshot is kept).
    public func tensor(named name: String) throws -> Tensor {
        switch name {
        case "content": return try contentTensor()
        case "style": return try styleTensors()[0]
        case "result":
            guard let c = combination else { throw SessionError.needsContent }
            return c
        case "initial":
            guard let c = snapshots.snapshot(at: 0)?.combination else { throw SessionError.invalid("the initial image is not kept") }
            return c
        default: throw UsageError("an image is content, style or result; got '\(name)'")
        }
    }

    /// A picture by name: the content or style at the working size, the result, a kept run's
    /// result, or else a file.
    public func picture(named name: String) throws -> RGBImage {
        switch name {
        case "content":
            guard let c = content, let size = workingSize else { throw SessionError.needsContent }
            return c.resized(width: size.width, height: size.height, filter: configuration.resize)
        case "style": return try deprocess(try styleTensors()[0])
        case "result": return try resultImage()
        default:
            if let run = namedRuns.first(where: { $0.name == name }) { return run.result }
            return try RGBImage.load(name)
        }
    }
}
