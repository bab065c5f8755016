import Foundation
import Kernels
import Testing

@testable import Lab

/// A shell whose output is collected, on the real weights, writing pictures to a temporary folder.
final class ShellHarness: @unchecked Sendable {
    var text = ""
    /// Called with each piece of output as it is printed, on the thread running the command.
    var onOutput: ((String) -> Void)? = nil
    let shell: Shell
    let outputDirectory = Paths.temporaryDirectory()

    init(weights: String = Paths.weights) {
        var sink: ((String) -> Void)? = nil
        shell = Shell(output: { sink?($0) }, color: false, columns: 80, outputDirectory: outputDirectory, weightsPath: weights)
        sink = { [unowned self] in
            self.text += $0
            self.onOutput?($0)
        }
    }

    /// Runs one line and returns what it printed.
    @discardableResult
    func run(_ line: String) -> (Shell.Outcome, String) {
        let start = text.endIndex
        let outcome = shell.execute(line)
        return (outcome, String(text[start...]))
    }

    /// Interrupts the shell, as Ctrl-C would, as soon as its output contains `event`: a point the
    /// test sees the command reach, not a guess at how long it takes to get there. Should the event
    /// never show, the shell is interrupted at the deadline anyway, so a broken run fails its test
    /// instead of hanging the suite. Call the returned function once the command is back: it stops
    /// watching and says whether the event was seen (false: interrupted by the deadline, or not at all).
    func interrupt(whenOutputContains event: String, deadline seconds: Double = 300) -> () -> Bool {
        let seen = SharedFlag()
        let interruption = shell.interruption
        onOutput = { piece in
            if !seen.isSet && piece.contains(event) {
                seen.set()
                interruption.interrupt()
            }
        }
        let watchdog = DispatchWorkItem {
            if !seen.isSet { interruption.interrupt() }
        }
        DispatchQueue.global().asyncAfter(deadline: .now() + seconds, execute: watchdog)
        return { [self] in
            watchdog.cancel()
            onOutput = nil
            return seen.isSet
        }
    }

    func loaded() -> ShellHarness {
        for line in ["set --size 48", "content \(Paths.fixtures)/content.png", "style \(Paths.fixtures)/style.png"] {
            let (o, out) = run(line)
            precondition(o == .ok, out)
        }
        return self
    }
}

/// A flag any thread may set and read.
final class SharedFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false

    var isSet: Bool {
        lock.lock()
        defer { lock.unlock() }
        return value
    }

    func set() {
        lock.lock()
        value = true
        lock.unlock()
    }
}

@Suite("Shell commands", .serialized)
struct ShellTests {
    @Test func helpListsEveryCommandByTopic() {
        let h = ShellHarness()
        let (outcome, out) = h.run("help")
        #expect(outcome == .ok)
        for topic in Topic.allCases { #expect(out.contains("\(topic.rawValue):")) }
        for c in CommandTable.all { #expect(out.contains("  \(c.name)"), "help lacks \(c.name)") }
        #expect(!h.shell.hasSession, "help must not need the weights")
    }

    @Test func helpForOneCommandIsGenerated() {
        let (_, out) = ShellHarness().run("help step")
        #expect(
            out == """
                step — take N optimiser iterations (1 by default), printing each
                usage:   step [N] [--name NAME]
                example: step 5

                """)
    }

    /// Every command has a summary, a usage and an example, and the example — the whole line, not
    /// just its first word — is one the shell takes as that command: it tokenizes, it names the
    /// command, its options and flags are ones the command takes (each option with its value), its
    /// words are of the kind the command completes (layers, commands, a fixed list), and a command
    /// whose usage takes no arguments is shown with none.
    @Test func everyCommandHasUsageAndAWorkingExample() {
        let shell = ShellHarness().shell
        for c in CommandTable.all {
            #expect(!c.summary.isEmpty && !c.usage.isEmpty && !c.example.isEmpty)
            #expect(c.usage.hasPrefix(c.name))
            let words: [String]
            do {
                words = try shell.tokenize(c.example)
            } catch {
                Issue.record("\(c.name)'s example '\(c.example)' does not tokenize: \(error)")
                continue
            }
            guard words.first == c.name else {
                Issue.record("\(c.name)'s example '\(c.example)' runs another command")
                continue
            }
            let rest = Array(words.dropFirst())
            if c.usage == c.name {
                #expect(rest.isEmpty, "\(c.name) takes no arguments; its example '\(c.example)' gives some")
            }
            if c.topic == .compute {
                // An expression (after `NAME =` for let): it must parse.
                var text = String(c.example.dropFirst(c.name.count))
                if c.name == "let", let eq = text.firstIndex(of: "=") { text = String(text[text.index(after: eq)...]) }
                #expect((try? parseExpression(text)) != nil, "\(c.name)'s example '\(c.example)' does not parse")
                continue
            }
            if c.rawArguments {
                // The words reach the command unparsed; the first names one of the forms its usage lists.
                let forms = c.usage.split(separator: " ").map(String.init)
                #expect(rest.first.map { forms.contains($0) } == true, "\(c.name)'s example '\(c.example)' is none of: \(c.usage)")
                continue
            }
            let arguments: Arguments
            do {
                arguments = try Arguments.parse(rest, options: c.options, flags: c.flags)
            } catch {
                Issue.record("\(c.name)'s example '\(c.example)' is refused: \(error)")
                continue
            }
            switch c.completes {
            case .words(let list):
                for word in arguments.positional {
                    #expect(list.contains(word), "\(c.name)'s example '\(c.example)': '\(word)' is not one of \(list)")
                }
            case .layers:
                #expect(
                    arguments.positional.first.map { VGG19.isKnownLayer($0) } == true,
                    "\(c.name)'s example '\(c.example)' names no VGG19 layer")
            case .commands:
                #expect(
                    arguments.positional.allSatisfy { CommandTable.find($0) != nil },
                    "\(c.name)'s example '\(c.example)' names an unknown command")
            case .none, .files:
                break
            }
        }
        let names = CommandTable.all.flatMap { [$0.name] + $0.aliases }
        #expect(Set(names).count == names.count, "a name is used twice")
    }

    @Test func unknownCommandSuggestsTheNearest() {
        let (outcome, out) = ShellHarness().run("stepp 3")
        #expect(outcome == .failed("error: unknown command 'stepp' (did you mean step?); type help"))
        #expect(out == "error: unknown command 'stepp' (did you mean step?); type help\n")
    }

    @Test func wrongArgumentsPrintOneLineWithUsageAndChangeNothing() {
        let h = ShellHarness().loaded()
        let before = try! h.shell.session().configuration
        for line in [
            "set --size abc", "set --optimizer newton", "step -3", "rewind", "features", "set --bogus 1",
            "gram block9_conv1", "tensor content --pixel 999,0", "show", "content", "content \"unclosed",
        ] {
            let (outcome, out) = h.run(line)
            guard case .failed = outcome else {
                Issue.record("\(line) did not fail")
                continue
            }
            #expect(out.hasPrefix("error: ") && out.filter { $0 == "\n" }.count == 1, "\(line): \(out)")
        }
        #expect(try! h.shell.session().configuration == before)
        let (_, usage) = h.run("step -3")
        #expect(usage.contains("usage: step [N]"))
    }

    @Test func badFilesGiveOneLineAndKeepTheSession() throws {
        let h = ShellHarness().loaded()
        h.run("step")
        let (o1, out1) = h.run("content /nonexistent.png")
        #expect(o1 != .ok && out1 == "error: /nonexistent.png: no such file\n")
        let (o2, out2) = h.run("style \(Paths.fixtures)/formats/huge.png")
        #expect(o2 != .ok && out2.contains("scale it down first"))
        #expect(try h.shell.session().iteration == 1)  // still there
    }

    @Test func missingWeightsSayHowToFetchThem() {
        let h = ShellHarness(weights: "/nonexistent/weights.safetensors")
        let (outcome, out) = h.run("content x.png")
        #expect(outcome != .ok)
        #expect(out.contains("run: python3 Weights/fetch.py"))
    }

    @Test func aNotebookOfEveryCommand() throws {
        let h = ShellHarness().loaded()
        let script = """
            config
            tensor content --pixel 3,4
            show content
            show style
            layers
            features block1_conv1 --channels 0,1,2
            features block2_conv2 --pre --image style
            gram block2_conv1 --top 3
            loss
            grad --term content
            optimizer adam --lr 5
            step 2
            run 4 --every 2
            history --png \(h.outputDirectory)/losses.png
            gram block1_conv1 --diff
            rewind 1
            set --pooling average --style-weight 1e-5
            step
            show result
            save \(h.outputDirectory)/result.png
            reset
            gradcheck --pixels 0,10,10
            """
        let failures = h.shell.runScript(script.components(separatedBy: "\n"), name: "notebook")
        #expect(failures == 0, "\(h.text)")
        let out = h.text
        #expect(out.contains("lab> loss") && out.contains("total variation"))
        #expect(out.contains("channel order B, G, R"))
        #expect(out.contains("iteration    4"))
        #expect(out.contains("back at iteration 1"))
        #expect(out.contains("most correlated channel pairs"))
        #expect(out.contains("relative error"))
        let pngs = try FileManager.default.contentsOfDirectory(atPath: h.outputDirectory).filter { $0.hasSuffix(".png") }
        #expect(pngs.count >= 9, "\(pngs)")
        #expect(FileManager.default.fileExists(atPath: h.outputDirectory + "/losses.png"))
        _ = try RGBImage.load(h.outputDirectory + "/result.png")
    }

    @Test func scriptStopsAtTheFailingLineWithItsNumber() {
        let h = ShellHarness()
        let failures = h.shell.runScript(["help step", "", "bogus", "help"], name: "demo.lab")
        #expect(failures == 1)
        #expect(h.text.contains("demo.lab:3: stopped at this line (use --keep-going to go on)"))
        #expect(!h.text.contains("images:"))  // the last line did not run
        let k = ShellHarness()
        #expect(k.shell.runScript(["bogus", "help"], name: "x", keepGoing: true) == 1)
        #expect(k.text.contains("images:"))
    }

    @Test func completion() {
        let s = ShellHarness().shell
        #expect(s.completions(word: "st", before: "") == ["step", "style"])
        #expect(
            s.completions(word: "--st", before: "set ") == [
                "--style-colors", "--style-layers", "--style-loss", "--style-mask", "--style-scale", "--style-weight",
            ])
        #expect(s.completions(word: "block5_conv", before: "features ") == ["block5_conv1", "block5_conv2", "block5_conv3", "block5_conv4"])
        #expect(s.completions(word: "l", before: "set --optimizer ") == ["lbfgs"])
        #expect(
            s.completions(word: "\(Paths.fixtures)/cont", before: "content ") == [
                "\(Paths.fixtures)/content.png", "\(Paths.fixtures)/content_400.png",
            ])
        #expect(s.completions(word: "x", before: "nosuchcommand ") == [])
    }

    @Test func interruptStopsARunAndKeepsTheState() throws {
        let h = ShellHarness().loaded()
        h.run("optimizer adam")
        let shell = h.shell
        // Ctrl-C once the run has printed its first iteration (an event the test sees, not a guessed time).
        let interrupted = h.interrupt(whenOutputContains: "iteration    1 ")
        let (outcome, out) = h.run("run 100000 --every 1")
        #expect(interrupted(), "the run never printed its first iteration: \(out.suffix(300))")
        #expect(outcome == .ok, "\(out)")
        let s = try shell.session()
        #expect(out.contains("interrupted after iteration \(s.iteration)"))
        #expect(s.iteration > 0 && s.iteration < 100000 && s.history.count == s.iteration)
        #expect(h.run("step").0 == .ok)  // and it goes on
    }
}

@Suite("Shell settings")
struct ShellSettingsTests {
    @Test func changingTheSizeSaysTheRunRestarted() throws {
        let h = ShellHarness().loaded()
        h.run("step 2")
        #expect(h.run("set --style-weight 1e-5").1 == "ok\n")
        let (_, out) = h.run("set --size 40")
        #expect(out.hasPrefix("ok — the image size or starting image changed, so the run restarted at iteration 0 (2 iterations dropped"))
        #expect(try h.shell.session().iteration == 0)
    }
}
