import Foundation
import Testing

@testable import Lab

/// The cell-execution API a notebook front end builds on: a cell's text in, its outputs out in order.
@Suite("Cells") struct CellTests {
    @Test func aCellsOutputsComeBackInOrderAndItStopsAtTheFirstError() throws {
        let h = ShellHarness()
        let cell = """
            # a comment, then a command continued on the next line
            set --size 32 \\
                --preset any-size
            content \(Paths.fixtures)/content.png
            show content
            bogus
            help
            """
        let r = h.shell.run(cell: cell)
        #expect(r.commandsRun == 4 && r.failed && !r.interrupted)
        #expect(r.outputs.count == 3, "\(r.outputs)")
        guard r.outputs.count == 3 else { return }
        guard case .text(let first) = r.outputs[0], case .picture(let path, let caption, let w, _) = r.outputs[1],
            case .error(let error) = r.outputs[2]
        else {
            Issue.record("not text, picture, error: \(r.outputs)")
            return
        }
        #expect(first.hasPrefix("ok\ncontent ") && first.contains("working size"), "\(first)")
        #expect(first.hasSuffix("saved \(path)\n"), "the picture's caption line comes just before it")
        #expect(caption == "content" && w > 0 && FileManager.default.fileExists(atPath: path))
        #expect(error.hasPrefix("error: unknown command 'bogus'"))
        #expect(!first.contains("\u{1B}"), "no terminal escapes in a cell's text")
        // Without stopOnError the rest runs too.
        let all = h.shell.run(cell: "bogus\nhelp step", stopOnError: false)
        #expect(all.commandsRun == 2 && all.failed && all.outputs.count == 2)
    }

    @Test func anInterruptStopsTheCellWithTheSessionIntact() throws {
        let h = ShellHarness().loaded()
        let stop = h.interrupt(whenOutputContains: "iteration    2 ")
        let r = h.shell.run(cell: "run 1000 --every 1\nhelp")
        #expect(stop(), "interrupted at iteration 2, not by the deadline")
        #expect(r.interrupted && r.commandsRun == 1, "\(r)")
        #expect(try h.shell.session().iteration >= 2 && h.shell.session().iteration < 1000)
    }

    @Test func continuedLinesAndCommentsAreOneCommandEach() {
        #expect(Shell.commands(ofCell: "a \\\n b\n\n# c\nd") == ["a b", "d"])
        #expect(Shell.commands(ofCell: "x \\") == ["x"])
    }
}
