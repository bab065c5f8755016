import Foundation
import Kernels
import Testing

@testable import Lab

@Suite("Notebooks")
struct NotebookTests {
    /// A short lesson run in the shell, saved as .ipynb: Jupyter's validator accepts it, the
    /// lesson text, outputs and a picture are in it, and `lab run` replays it.
    @Test func jupyterNotebookValidatesAndReplays() throws {
        let folder = Paths.temporaryDirectory()
        try """
        # A tiny lesson

        The content image, as VGG19 will see it.

        ```lab
        set --size 32
        content \(Paths.fixtures)/content.png
        style \(Paths.fixtures)/style.png
        show content
        ```

        A command that must be refused.

        ```lab
        step x
        ```
        """.write(toFile: folder + "/01-tiny.md", atomically: true, encoding: .utf8)
        let h = ShellHarness()
        h.shell.lessonsFolder = folder
        #expect(h.run("lesson 1").0 == .ok)
        #expect(h.run("next").0 == .ok)
        _ = h.run("next")  // stops at the refused command
        let path = folder + "/session.ipynb"
        let (outcome, out) = h.run("notebook save \(path)")
        #expect(outcome == .ok, "\(out)")

        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(
            text.contains("The content image, as VGG19 will see it.") && text.contains("image/png")
                && text.contains("expect error step x"))
        let (validation, result) = try runProgram(
            "/usr/bin/env",
            [
                "python3", "-c",
                "import sys, nbformat; nbformat.validate(nbformat.read(sys.argv[1], as_version=4)); print('valid')", path,
            ])
        #expect(validation == 0 && result.contains("valid"), "nbformat (./test installs it): \(result)")

        let (status, replay) = try runLab(["run", path, "--out", folder + "/replay"])
        #expect(status == 0 && replay.contains("1 passed, 0 failed"), "\(replay)")
    }
}
