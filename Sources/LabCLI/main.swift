import ArgumentParser
import Foundation
import Kernels
import Lab

// `lab` — NST Lab's command line. Subcommands on swift-argument-parser (generated --help for each,
// --version, `lab --generate-completion-script bash|zsh|fish`); each hands its words to the code
// that tests drive directly. The transfer options are defined once (TransferOptions), for
// `lab transfer` and the shell's `set` alike; the help below prints that one definition.

keepFreedMemoryForReuse()

struct NSTLab: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lab",
        abstract: "NST Lab — neural style transfer (Gatys et al. 2015, as the Keras example computes it), one step at a time.",
        discussion: "With no subcommand, the interactive shell; inside it, `help` lists the commands.",
        version: NSTLabVersion.current,
        subcommands: [ShellCommand.self, Transfer.self, Bench.self, Run.self, LessonCommand.self],
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
        discussion: "Ctrl-C stops after the current iteration and saves the last image.\n\n"
            + "Transfer options (the same as the shell's `set`):\n" + TransferOptions.help)
    @Argument(help: "The content image (PNG or JPEG).") var content: String
    @Argument(help: "The style image.") var style: String
    @Option(help: "Where results go: PREFIX_at_iteration_N.png.") var out: String
    @Option(help: "Iterations to run (with --scales: one count per scale, 200,100,50, or one for all).") var iterations = "4000"
    @Option(help: "Coarse to fine: sizes in rows, 128,256,512, or 128..512 for sizes √2 apart.") var scales: String?
    @Option(help: "Report and save every N iterations.") var every = 100
    @Option(help: "Decimals of the loss in the report lines (the example prints 2).") var digits = 2
    @Flag(help: "Also print every loss term, weighted, at each report.") var terms = false
    @Argument(parsing: .allUnrecognized, help: "Transfer options, as listed above.") var options: [String] = []

    func run() throws {
        var words = [content, style, "--out", out, "--iterations", iterations, "--every", "\(every)", "--digits", "\(digits)"]
        if terms { words.append("--terms") }
        if let scales { words += ["--scales", scales] }
        throw ExitCode(TransferCommand.main(words + options))
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

NSTLab.main()
