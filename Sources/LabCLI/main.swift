import Foundation
import Kernels
import Lab

// `lab` — NST Lab.
//   lab                                        the interactive shell (readline)
//   lab --script FILE [--keep-going]           run a file of shell commands, echoed like a notebook
//   lab transfer CONTENT STYLE --out PREFIX …  the Keras example's loop
//   lab bench …                                per-iteration timings

let args = Array(CommandLine.arguments.dropFirst())
keepFreedMemoryForReuse()

switch args.first {
case "transfer":
    exit(TransferCommand.main(Array(args.dropFirst())))
case "bench":
    exit(BenchCommand.main(Array(args.dropFirst())))
case "run":
    exit(ShellMain.runFiles(Array(args.dropFirst())))
case "lesson":
    exit(ShellMain.main(Array(args.dropFirst(2)), openLesson: args.count > 1 ? args[1] : nil))
case "-h", "--help", "help":
    print("""
    usage: lab [--script FILE [--keep-going]]           the shell (reads commands from a pipe too)
           lab lesson [N]                               the shell, with lesson N open
           lab run FILE.md … [--keep-going]             run lessons or saved notebooks headless
           lab transfer CONTENT STYLE --out PREFIX [--iterations 4000] [--every 100] [options]
           lab bench [--sizes 128,256,512] [--backends simd,blas] [--conv auto|direct|winograd] [--profile] [--json]
    inside the shell, `help` lists the commands
    """)
default:
    exit(ShellMain.main(args))
}
