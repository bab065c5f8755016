import Foundation
import Kernels
import Testing

@testable import Lab

/// The vocabularies are defined once (commands, options, loss term kinds) and everything else is
/// derived from them. These tests guard the derivations: a new entry that one of them missed fails here.
@Suite("One definition") struct StructureTests {
    @Test func everyOptionIsInHelpConfigCompletionAndTheFuzzDictionary() throws {
        let h = ShellHarness()
        let help = h.run("help set").1
        #expect(h.run("content \(Paths.fixtures)/content.png").0 == .ok)
        let config = h.run("config").1
        let words = Set(Vocabulary.words)
        for o in TransferOptions.all {
            #expect(help.contains("--\(o.name)"), "help set lacks --\(o.name)")
            #expect(h.shell.completions(word: "--", before: "set ").contains("--\(o.name)"), "Tab lacks --\(o.name)")
            #expect(words.contains("--\(o.name)"), "the fuzz dictionary lacks --\(o.name)")
            if o.current(try h.shell.session()) != nil {
                #expect(config.contains("--\(o.name) "), "config lacks --\(o.name)")
            }
            for choice in o.completions {
                #expect(h.shell.completions(word: "", before: "set --\(o.name) ").contains(choice), "Tab after --\(o.name) lacks \(choice)")
                #expect(words.contains(choice))
            }
        }
    }

    @Test func everyLossTermKindHasAnOptionATermNameAndAWord() throws {
        let h = ShellHarness()
        #expect(h.run("content \(Paths.fixtures)/content.png").0 == .ok)
        #expect(h.run("style \(Paths.fixtures)/style.png").0 == .ok)
        // Every kind switched on, so each has a term in the loss.
        let on = LossTerms.all.map { "--\($0.weightOption) 1" }.joined(separator: " ")
        #expect(h.run("set --size 48 \(on)").0 == .ok)
        let loss = h.run("loss").1
        for term in LossTerms.all {
            #expect(TransferOptions.option(term.weightOption) != nil, "no option for \(term.kind)'s weight")
            #expect(Vocabulary.words.contains(term.kind.rawValue))
            #expect(h.shell.completions(word: "", before: "grad --term ").contains(term.kind.rawValue), "--term lacks \(term.kind)")
            #expect(try h.shell.measuredValue("weighted.\(term.kind.rawValue)").isFinite, "loss measured no \(term.kind)")
            #expect(loss.contains(term.title), "loss lacks \(term.title)")
            #expect(h.run("grad --term \(term.kind.rawValue)").0 == .ok)
        }
    }

    @Test func everyCommandIsInHelpCompletionAndTheFuzzDictionary() throws {
        let h = ShellHarness()
        let help = h.run("help").1
        let words = Set(Vocabulary.words)
        for c in CommandTable.all {
            #expect(help.contains("  \(c.name) "), "help lacks \(c.name)")
            #expect(h.shell.completions(word: String(c.name.prefix(2)), before: "").contains(c.name), "Tab lacks \(c.name)")
            #expect(words.contains(c.name), "the fuzz dictionary lacks \(c.name)")
            for o in c.options + c.flags {
                #expect(words.contains("--\(o)"))
                #expect(h.shell.completions(word: "--", before: "\(c.name) ").contains("--\(o)"), "Tab lacks \(c.name) --\(o)")
            }
        }
    }

    @Test func labTransferDeclaresEveryOptionToArgumentParser() throws {
        let (status, help) = try runLab(["transfer", "--help"])
        #expect(status == 0, "\(help)")
        let (bashStatus, bash) = try runLab(["--generate-completion-script", "bash"])
        #expect(bashStatus == 0)
        let (dictStatus, dictionary) = try runLab(["vocabulary"])
        #expect(dictStatus == 0 && dictionary == Vocabulary.fuzzDictionary)
        for o in TransferOptions.all {
            #expect(help.contains("--\(o.name)"), "lab transfer --help lacks --\(o.name)")
            #expect(bash.contains("--\(o.name)"), "the bash completion script lacks --\(o.name)")
            for choice in o.completions where !o.takesFile && o.completions.count < 20 {
                #expect(bash.contains(choice), "the bash completion script lacks \(choice) for --\(o.name)")
            }
        }
        // Parsed by argument-parser, applied by the table: a wrong value is refused with the table's own line.
        let (bad, out) = try runLab([
            "transfer", "\(Paths.fixtures)/content.png", "\(Paths.fixtures)/style.png", "--out",
            Paths.temporaryDirectory() + "/r", "--pooling", "median", "--iterations", "0",
        ])
        #expect(bad != 0 && out.contains("--pooling is one of max, average"), "\(out)")
    }

    /// Everything a command can change lives in `state`: a transaction copies it, so a new mutable
    /// field on the session itself would escape all-or-nothing. The session may hold only these
    /// besides it (the network and caches derived from the state).
    @Test func theSessionHoldsNothingMutableBesidesItsState() throws {
        let session = TransferSession(vgg: try Shared.model())
        let allowed: Set<String> = [
            "vgg",  // the network: never changed by a command
            "state",  // everything a command can change
            "cachedTargets",  // derived from the state (keyed by what they depend on)
            "targetComputations",  // a counter tests read, not session state
            "lastImagesVersion",  // hands out image versions; must never go back with a rollback
        ]
        let labels = Set(Mirror(reflecting: session).children.compactMap(\.label))
        #expect(labels.subtracting(allowed).isEmpty, "fields outside SessionState: \(labels.subtracting(allowed))")
        // And every field of the state takes part in ==, so a refused command that changed any is caught:
        // flip each one the tests can reach and see the comparison notice.
        var changed = session.state
        let before = session.state
        changed.configuration.rows += 1
        #expect(changed != before)
        changed = before
        changed.events.append(SessionEvent(iteration: 0, label: "x"))
        #expect(changed != before)
        changed = before
        changed.objectiveGeneration += 1
        #expect(changed != before)
        changed = before
        changed.optimizer = Adam(learningRate: 3)
        #expect(changed != before)
    }
}
