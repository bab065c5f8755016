import ArgumentParser
import Foundation
import Lab

// `lab kernel`: NST Lab as a Jupyter kernel (Lab/Jupyter/), and its kernelspec. `lab convert`:
// lessons as Jupyter notebooks and back.

struct KernelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernel",
        abstract: "NST Lab as a Jupyter kernel: serve one for Jupyter (-f CONNECTION_FILE), or install its kernelspec.",
        discussion: "pip install jupyterlab; lab kernel install --user; jupyter lab lessons/",
        subcommands: [KernelServe.self, KernelInstall.self, KernelUninstall.self], defaultSubcommand: KernelServe.self)
}

struct KernelServe: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "The kernel process Jupyter starts (kernel.json's argv).")
    @Option(name: [.customShort("f"), .customLong("connection-file")], help: "The connection file Jupyter gives the kernel.")
    var connectionFile: String
    @Option(help: "The folder pictures are written to.") var out = "out"

    func run() throws {
        let shell = Shell(output: { _ in }, color: false, columns: 100, outputDirectory: out, interruption: Interruption(catchingSIGINT: true))
        try oneLine("lab kernel") { try JupyterKernel(connectionFile: connectionFile, shell: shell).run() }
    }
}

struct KernelLocation: ParsableArguments {
    @Flag(help: "In your Jupyter data folder (the default).") var user = false
    @Option(help: "Under DIR/share/jupyter/kernels.") var prefix: String?
    @Flag(help: "In the Python environment's prefix (a virtual environment's share/jupyter).") var sysPrefix = false

    var location: KernelSpec.Location {
        get throws {
            guard [user, prefix != nil, sysPrefix].filter({ $0 }).count <= 1 else {
                throw ValidationError("choose one of --user, --prefix DIR, --sys-prefix")
            }
            return prefix.map { .prefix($0) } ?? (sysPrefix ? .sysPrefix : .user)
        }
    }
}

struct KernelInstall: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "install", abstract: "Write the NST Lab kernelspec (kernel.json and logos).")
    @OptionGroup var where_: KernelLocation

    func run() throws {
        // This binary's own path, so Jupyter starts the very lab that installed it.
        let binary = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let location = try where_.location
        try oneLine("lab kernel install") {
            print("installed the NST Lab kernel in \(try KernelSpec.install(location, binary: binary)) (it runs \(binary))")
        }
    }
}

struct KernelUninstall: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "uninstall", abstract: "Remove the NST Lab kernelspec.")
    @OptionGroup var where_: KernelLocation

    func run() throws {
        let location = try where_.location
        try oneLine("lab kernel uninstall") { print("removed the NST Lab kernel from \(try KernelSpec.uninstall(location))") }
    }
}

struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "A lesson or Markdown notebook as a Jupyter notebook for the nstlab kernel (.md → .ipynb), or back (.ipynb → .md).")
    @Argument(help: "The lesson, or notebook, to convert.", completion: .file()) var input: String
    @Argument(help: "The file to write (.ipynb or .md).", completion: .file()) var output: String

    func run() throws {
        try oneLine("lab convert") {
            try NotebookConversion.convert(input, to: output)
            print("wrote \(output)")
        }
    }
}

/// Runs `body`; a failure is one line on stderr, "WHAT: why", and status 1.
func oneLine(_ what: String, _ body: () throws -> Void) throws {
    do { try body() } catch {
        FileHandle.standardError.write(Data("\(what): \(error)\n".utf8))
        throw ExitCode(1)
    }
}
