import Foundation

/// Files that live in the NST Lab checkout (weights, lessons), found next to the `lab` binary
/// (REPO/.build/…/release/lab) or, failing that, in the working folder — so `lab` works from any folder.
public enum ProjectFiles {
    public static func locate(_ relative: String) -> String {
        var dir = URL(fileURLWithPath: CommandLine.arguments.first ?? ".").resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<5 {
            let candidate = dir.appendingPathComponent(relative).path
            if FileManager.default.fileExists(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return relative  // the working folder's, or not found: errors name the path and how to fetch it
    }
}
