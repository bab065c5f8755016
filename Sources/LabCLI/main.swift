import Foundation
import Kernels
import Lab

// `lab` — the NST Lab command line. Subcommands:
//   lab transfer CONTENT STYLE --out PREFIX [options]   the Keras example's loop
//   lab bench [--sizes 128,256,512] [--json]             per-iteration timings


let args = Array(CommandLine.arguments.dropFirst())

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("lab: \(message)\n".utf8))
    exit(1)
}

func loadModel() -> VGG19 {
    do { return try VGG19() } catch { fail("\(error)") }
}

switch args.first {
case "transfer":
    exit(TransferCommand.main(Array(args.dropFirst())))
case "bench":
    exit(BenchCommand.main(Array(args.dropFirst())))
case "-h", "--help", "help":
    print("""
    usage: lab transfer CONTENT STYLE --out PREFIX [--iterations 4000] [--every 100] [options]
           lab bench [--sizes 128,256,512] [--backends simd,blas] [--json]
    run `lab transfer --help` for the transfer options
    """)
default:
    fail("the interactive shell is not built yet; try `lab transfer --help`")
}
