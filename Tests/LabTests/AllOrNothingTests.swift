import Foundation
import Testing

@testable import Lab

/// What the session value (SessionState) makes easy to promise: a check never changes the session,
/// and a set of options is applied whole or not at all, wherever it comes from.
@Suite("All or nothing") struct AllOrNothingTests {
    /// `expect error` tries a command. Before, a command that wrongly succeeded kept its effect (a
    /// lesson's failing `expect error rewind 2` really rewound the learner's run); now nothing stays.
    @Test func anExpectationNeverChangesTheSession() throws {
        let h = ShellHarness().loaded()
        #expect(h.run("step 3").0 == .ok)
        let before = try h.shell.session().state
        let (outcome, out) = h.run("expect error rewind 2")
        #expect(outcome != .ok && out.contains("succeeded"), "\(out)")
        #expect(try h.shell.session().state == before, "the rewind that succeeded was undone")
        #expect(try h.shell.session().iteration == 3)
        // `new` replaces the whole session: undone too, the same session object and all.
        let session = try h.shell.session()
        #expect(h.run("expect error new").0 != .ok)
        #expect(try h.shell.session() === session && session.state == before)
        // A refused command is what `expect error` wants: it passes, and nothing changed either.
        #expect(h.run("expect error set --size 0").0 == .ok)
        #expect(try h.shell.session().state == before)
    }

    @Test func aMalformedCheckIsAnErrorNeverAPass() throws {
        let h = ShellHarness().loaded()
        expectRefused(h, "expect loss ≈ 1 ± banana", containing: "± needs a relative tolerance")
        expectRefused(h, "expect loss < 1e9 and also > 1e12", containing: "nothing more")
        expectRefused(h, "expect term style < 1e30 extra words", containing: "nothing more")
        #expect(h.run("expect loss < 1e30").0 == .ok)
        #expect(h.run("expect loss ≈ 1e30 ± 2").0 == .ok)
    }

    /// Options are applied in phases (a preset, then compute, the optimiser, the configuration, then
    /// masks and styles): a refusal in a late phase undoes the early ones, even as a shell's first
    /// command (which runs before a session exists to wrap it in a transaction).
    @Test func optionsApplyWholeOrNotAtAll() throws {
        let fresh = try ShellHarness().shell.session().state
        let h = ShellHarness()
        expectRefusedFirst(h, "set --style-weight 1 --continue", containing: "--continue goes with --size N")
        #expect(try h.shell.session().state == fresh)
        let g = ShellHarness()
        expectRefusedFirst(g, "set --preset keras --threads 1 --content-mask /nonexistent.png", containing: "no such file")
        #expect(try g.shell.session().state == fresh)
    }

    /// Every kind's weight is checked (the Laplacian's too), and switching a kind off by weight 0 is
    /// the configuration it started with: not a change of the loss.
    @Test func everyWeightIsCheckedAndZeroIsTheDefault() throws {
        let h = ShellHarness().loaded()
        expectRefused(h, "set --laplacian-weight -1", containing: "≥ 0")
        let before = try h.shell.session().state
        #expect(h.run("set --laplacian-weight 0").0 == .ok)
        #expect(try h.shell.session().state == before, "weight 0 is where the Laplacian starts: nothing changed")
        var c = LossConfiguration()
        c.weights["bogus"] = 1
        let s = try h.shell.session()
        #expect(throws: SessionError.invalid("no loss term of kind 'bogus' to weigh")) { try s.configure { $0.loss = c } }
    }

    @Test func labTransferPassesNegativeNumbersToTheTablesChecks() throws {
        let out = Paths.temporaryDirectory() + "/r"
        let images = ["\(Paths.fixtures)/content.png", "\(Paths.fixtures)/style.png", "--out", out, "--size", "32"]
        let (status, text) = try runLab(["transfer"] + images + ["--content-weight", "-1", "--iterations", "1"])
        #expect(status == 1 && text.contains("weights must be finite and ≥ 0, got -1.0"), "\(text)")
        let (zero, scales) = try runLab(["transfer"] + images + ["--scales", "32,48", "--iterations", "2,0"])
        #expect(zero == 1 && scales.contains("each scale needs at least one iteration"), "\(scales)")
    }
}

/// A refused first command of a new shell: one error line (the session is loaded by the command itself).
func expectRefusedFirst(_ h: ShellHarness, _ line: String, containing text: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(!h.shell.hasSession, "a first command", sourceLocation: sourceLocation)
    let (outcome, out) = h.run(line)
    #expect(outcome != .ok && out.hasPrefix("error: ") && out.contains(text), "\(line): \(out)", sourceLocation: sourceLocation)
}

extension AllOrNothingTests {
    /// A new shell's first command ran outside any transaction (there was no session to copy yet):
    /// a refused `set --threads 1 --size 5` kept 1 thread, `style X --mask missing.png` kept the style.
    @Test func aRefusedFirstCommandLeavesAFreshSession() throws {
        let fresh = try ShellHarness().shell.session().state
        for line in ["set --threads 1 --size 5", "set --preset keras --size 5", "style \(Paths.fixtures)/style.png --mask /nonexistent.png"] {
            let h = ShellHarness()
            #expect(h.run(line).0 != .ok, "\(line)")
            #expect(try h.shell.session().state == fresh, "\(line) changed the new session")
        }
    }
}
