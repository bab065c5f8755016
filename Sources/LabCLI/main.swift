import ArgumentParser
import Foundation
import Kernels
import Lab

// `lab` — NST Lab's command line. Subcommands on swift-argument-parser (generated --help for each,
// --version, `lab --generate-completion-script bash|zsh|fish`); each hands what it parsed to the
// code that tests drive directly. The transfer options are defined once (TransferOptions.all), for
// `lab transfer` (VocabularyOptions declares them to argument-parser) and the shell's `set` alike.

LargeBlocks.configure()

struct NSTLab: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lab",
        abstract: "NST Lab — neural style transfer (Gatys et al. 2015, as the Keras example computes it), one step at a time.",
        discussion: "With no subcommand, the interactive shell; inside it, `help` lists the commands.",
        version: NSTLabVersion.current,
        subcommands: [
            ShellCommand.self, Transfer.self, Bench.self, Run.self, LessonCommand.self, KernelCommand.self, Convert.self, VocabularyCommand.self,
        ],
        defaultSubcommand: ShellCommand.self)
}

struct ShellCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shell", abstract: "The interactive shell (readline); reads commands from a pipe too.")
    @Option(help: "Run a file of shell commands, each echoed before its output, like a notebook.") var script: String?
    @Flag(help: "With --script or a pipe: go on after a failing line.") var keepGoing = false
    @Option(help: "The folder pictures are written to.") var out = "out"

    func run() throws {
        var words = ["--out", out]
        if let script { words += ["--script", script] }
        if keepGoing { words.append("--keep-going") }
        throw ExitCode(ShellMain.main(words))
    }
}

struct Transfer: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The Keras example's loop: prints `Iteration N: loss=X` and saves PREFIX_at_iteration_N.png every --every iterations.",
        discussion: "Ctrl-C stops after the current iteration and saves the last image. The transfer options are "
            + "the shell's `set` options; lab transfer starts from --preset keras --size 400.")
    @Argument(help: "The content image (PNG or JPEG).", completion: .file()) var content: String
    @Argument(help: "The style image.", completion: .file()) var style: String
    @Option(help: "Where results go: PREFIX_at_iteration_N.png.") var out: String
    @Option(help: "Iterations to run (with --scales: one count per scale, 200,100,50, or one for all).") var iterations = "4000"
    @Option(help: "Coarse to fine: sizes in rows, 128,256,512, or 128..512 for sizes √2 apart.") var scales: String?
    @Option(help: "Report and save every N iterations.") var every = 100
    @Option(help: "Decimals of the loss in the report lines (the example prints 2).") var digits = 2
    @Flag(help: "Also print every loss term, weighted, at each report.") var terms = false
    @OptionGroup(title: "Transfer options") var options: VocabularyOptions

    func run() throws {
        var plan = TransferCommand.Plan(content: content, style: style, prefix: out)
        plan.iterations = iterations
        plan.scales = scales
        plan.every = every
        plan.digits = digits
        plan.showTerms = terms
        throw ExitCode(TransferCommand.main(plan, options.arguments))
    }
}

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time one transfer iteration at several sizes, per backend (each in its own process, so its peak memory is its own).",
        discussion: BenchCommand.usage)
    @Argument(parsing: .allUnrecognized, help: "Options, as below.") var words: [String] = []
    func run() throws { throw ExitCode(BenchCommand.main(words)) }
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run lessons or saved notebooks (.md or .ipynb) headless: fails on an error or an unmet expectation.")
    @Argument(help: "Lesson or notebook files.") var files: [String]
    @Flag(help: "Go on after a failing cell.") var keepGoing = false
    @Option(help: "The folder pictures are written to.") var out = "out"
    func run() throws {
        throw ExitCode(ShellMain.runFiles(files + ["--out", out] + (keepGoing ? ["--keep-going"] : [])))
    }
}

struct LessonCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "lesson", abstract: "The shell, with lesson N open (the list without N).")
    @Argument(help: "The lesson's number.") var number: String?
    func run() throws { throw ExitCode(ShellMain.main([], openLesson: number)) }
}

struct VocabularyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vocabulary", abstract: "Every word the shell knows, as a libFuzzer dictionary (Fuzz/run uses it).",
        shouldDisplay: false)
    func run() throws { print(Vocabulary.fuzzDictionary, terminator: "") }
}

NSTLab.main()
