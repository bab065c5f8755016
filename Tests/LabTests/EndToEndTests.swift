import Foundation
import Kernels
import Testing

@testable import Lab

/// The real binary under a pseudo-terminal (Tests/EndToEnd/pty_session.py, Python's pty module):
/// a prompt, Tab completion, a long run stopped by Ctrl-C with the state intact, the history file.
@Suite("End to end", .serialized)
struct EndToEndTests {
    // No test here is skipped when the binary is missing: runLab and requireBuilt fail it instead.
    static let lab = Paths.lab

    @Test func shellUnderAPseudoTerminal() throws {
        try requireBuilt(EndToEndTests.lab)
        let (status, out) = try runProgram(
            "/usr/bin/env",
            [
                "python3", Paths.repo + "/Tests/EndToEnd/pty_session.py",
                EndToEndTests.lab, Paths.fixtures,
            ])
        #expect(status == 0, "\(out)")
        #expect(out.contains("pty session: ok"))
    }

    @Test func pipedInputReadsLikeANotebook() throws {
        let (status, out) = try runLab(["--out", Paths.temporaryDirectory()], input: "help step\nbogus\nhelp rewind\n")
        #expect(out.hasPrefix("lab> help step\nstep — "))
        #expect(out.contains("lab> bogus\nerror: unknown command 'bogus'"))
        #expect(out.contains("lab> help rewind\nrewind — "))
        #expect(status == 1)  // one line failed
    }

    @Test func transferCommandRejectsBadArguments() throws {
        // Usage errors (from the argument parser: status 64, EX_USAGE) and refusals (status 1), each said in words.
        for (args, expected, code) in [
            (["transfer"], "Missing expected argument '<content>'", Int32(64)),
            (["transfer", "a.png", "b.png"], "Missing expected argument '--out <out>'", 64),
            (["transfer", "a.png", "b.png", "--out", "/tmp/x", "--iterations", "x"], "--iterations needs a whole number", 1),
            (["transfer", "a.png", "b.png", "--out", "/tmp/x", "--scales", "256,128"], "--scales must increase", 1),
            (["transfer", "a.png", "b.png", "--out", "/tmp/x", "--scales", "64,128", "--iterations", "1,2,3"], "3 counts for 2 scales", 1),
            (["transfer", "a.png", "b.png", "--out", "/tmp/x", "--optimiser", "sgd"], "Did you mean '--optimizer'?", 64),
            (["transfer", "/nonexistent.png", "b.png", "--out", "/tmp/x"], "no such file", 1),
            (["bogus-subcommand-or-file"], "Unexpected argument", 64),
        ] {
            let (status, text) = try runLab(args)
            #expect(status == code && text.contains(expected), "\(args): \(status) \(text)")
        }
        let (status, help) = try runLab(["transfer", "--help"])
        // argument-parser's own layout of the declared options (StructureTests checks every one is there).
        #expect(status == 0 && help.contains("TRANSFER OPTIONS:") && help.contains("--preset <keras|any-size>"), "\(help)")
        let (versionStatus, version) = try runLab(["--version"])
        #expect(versionStatus == 0 && version.trimmingCharacters(in: .whitespacesAndNewlines) == NSTLabVersion.current)
        let (completionStatus, completion) = try runLab(["--generate-completion-script", "bash"])
        #expect(completionStatus == 0 && completion.contains("transfer") && completion.contains("complete"))
    }

    /// lab transfer coarse to fine, with every switch of the extended transfer at once: each scale
    /// reported, the last image saved at the last size.
    @Test func transferCoarseToFineWithEverySwitch() throws {
        let folder = Paths.temporaryDirectory()
        let mask = folder + "/left.png"
        try RGBImage(width: 8, height: 6, pixels: (0..<48).flatMap { i -> [UInt8] in i % 8 < 4 ? [255, 255, 255] : [0, 0, 0] }).savePNG(mask)
        let (status, out) = try runLab([
            "transfer", Paths.fixtures + "/content.png", Paths.fixtures + "/style.png", "--out", folder + "/r",
            "--preset", "any-size", "--scales", "24,32", "--iterations", "2,1", "--every", "3", "--ema", "0.5",
            "--style-loss", "wasserstein", "--style-colors", "pca", "--content-mask", mask,
            "--add-style", Paths.fixtures + "/content.png:0.5:" + mask,
        ])
        #expect(status == 0, "\(out)")
        #expect(out.contains("scale 42×32 from iteration 3") && out.contains("Iteration 3: loss="), "\(out)")
        let saved = try RGBImage.load(folder + "/r_at_iteration_3.png")
        #expect(saved.height == 32)
    }

    /// kernels-bench: a size with no pixels left at block5, a bad count or an unknown layer is one
    /// line and status 1, not a trap.
    @Test func kernelsBenchRefusesBadArguments() throws {
        let bench = Paths.kernelsBench
        try requireBuilt(bench)
        for (args, expected) in [
            (["--size", "0"], "--size needs a whole number in 16…1024"),
            (["--repeats", "x"], "--repeats needs a whole number"),
            (["--layer", "bogus"], "no layer named bogus"),
        ] {
            let (status, out) = try runProgram(bench, args)
            #expect(
                status == 1 && out.hasPrefix("kernels-bench: \(expected)") && out.split(separator: "\n").count == 1,
                "\(args): \(out)")
        }
    }

    /// Debian's OpenBLAS may misdetect the CPU; NST Lab names a kernel family before loading it,
    /// unless the user set OPENBLAS_CORETYPE — then theirs wins.
    @Test(.enabled(if: OpenBLAS.isAvailable))  // OpenBLAS is optional; the binary is not
    func usersOpenBLASCoreTypeWins() throws {
        let args = ["bench", "--sizes", "32", "--backends", "blas", "--repeats", "1"]
        let (s1, theirs) = try runLab(args, environment: ["OPENBLAS_CORETYPE": "Prescott"])
        #expect(s1 == 0 && theirs.contains("OpenBLAS: Prescott"), "\(theirs)")
        let (s2, ours) = try runLab(args, environment: ["OPENBLAS_CORETYPE": nil])
        #expect(s2 == 0 && (ours.contains("OpenBLAS: Haswell") || ours.contains("OpenBLAS: SkylakeX")), "\(ours)")
    }
}
