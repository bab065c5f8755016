import Foundation
import Testing

@testable import Lab

/// Items of the third hardening round and the learner's walk-through taken so far, each with the
/// test that failed before its fix.
@Suite("Round three, first items") struct RoundThreeTests {
    /// `--scales 16..9223372036854775807` trapped converting the √2 sizes to Int.
    @Test func hugeScalesAreRefusedNotATrap() {
        #expect(throws: UsageError("--scales must lie between 16 and 4096 rows")) {
            try TransferRun.parseScales("16..9223372036854775807")
        }
        #expect(throws: UsageError("--scales must lie between 16 and 4096 rows")) { try TransferRun.parseScales("1..64") }
        #expect((try? TransferRun.parseScales("128..512")) == [128, 181, 256, 362, 512])
    }

    /// `set --size N --continue` with N not larger shrank the image and dropped every snapshot.
    @Test func goingOnNeverShrinks() throws {
        let h = ShellHarness().loaded()  // 48 rows
        #expect(h.run("step 2").0 == .ok)
        expectRefused(h, "set --size 32 --continue", containing: "larger size than the current 48 rows")
        expectRefused(h, "upscale 48", containing: "larger size than the current 48 rows")
        #expect(h.run("set --size 64 --continue").0 == .ok)
        #expect(try h.shell.session().iteration == 2)
    }

    /// `--ema 0.9999999999` rounds to 1 in float32: the saved result was one flat colour.
    @Test func anAverageThatCannotMoveIsRefused() {
        let h = ShellHarness().loaded()
        expectRefused(h, "set --ema 0.9999999999", containing: "is 1 in float32")
        #expect(h.run("set --ema 0.9999").0 == .ok)
    }

    /// `--lr 0x10` meant 16 (Swift reads hexadecimal floats).
    @Test func numbersAreDecimal() {
        let h = ShellHarness().loaded()
        expectRefused(h, "set --lr 0x10", containing: "--lr needs a number, got '0x10'")
        expectRefused(h, "gradcheck --step 0x1p-3", containing: "needs a number")
        #expect(h.run("set --lr 1e-1").0 == .ok)
    }

    /// The divergence note called a learner's own `--lr 10` "the Keras example's constants"; and
    /// SGD's current rate printed as 4.9593441964128315.
    @Test func theDivergenceNoteNamesWhoseConstantsTheyAre() {
        let h = ShellHarness().loaded()  // 48 rows
        #expect(h.run("set --preset keras --lr 10").0 == .ok)
        let (_, out) = h.run("step")
        #expect(out.contains("note: SGD at lr 10 with the example's style normalisation") && !out.contains("Keras example's constants"), "\(out)")
        let settings = h.run("optimizer").1
        #expect(settings.hasSuffix("lr now 9.99592\n"), "10 · 0.96^(1/100), six digits: \(settings)")
    }

    /// `lab transfer … --iterations 3 --every 2` saved iteration 2 and dropped the last image; and it
    /// estimated the images' memory at 400 rows before applying `--size`.
    @Test func labTransferSavesTheLastImageAndSizesFirst() throws {
        let folder = Paths.temporaryDirectory()
        let wide = folder + "/wide.png"
        try RGBImage(width: 3000, height: 300, pixels: [UInt8](repeating: 128, count: 3000 * 300 * 3)).savePNG(wide)
        let args = ["transfer", wide, "\(Paths.fixtures)/style.png", "--out", folder + "/r", "--iterations", "3", "--every", "2"]
        let limit: [String: String?] = ["NST_MEMORY_LIMIT": "800M"]
        let (refused, why) = try runLab(args, environment: limit)  // 4000×400: far more than 800 MiB a step
        #expect(refused == 1 && why.contains("per step"), "\(why)")
        let (status, out) = try runLab(args + ["--size", "16", "--preset", "any-size"], environment: limit)
        #expect(status == 0, "\(out)")
        for i in [2, 3] { #expect(FileManager.default.fileExists(atPath: folder + "/r_at_iteration_\(i).png"), "iteration \(i) not saved") }
    }
}

extension RoundThreeTests {
    /// Int.max in a history record's iteration or evaluations, or in averageSteps, was accepted by
    /// `session open` and trapped in the next `history` or `step`.
    @Test func archiveIntegersAreCheckedAgainstTheHistory() throws {
        let hardening = HardeningTests()
        func record(_ j: inout [String: Any], _ key: String, _ value: Any) {
            var history = j["history"] as! [[String: Any]]
            history[1][key] = value
            j["history"] = history
        }
        try hardening.tampered("adam", "iteration Int.max") { record(&$0, "iteration", Int.max) }
        try hardening.tampered("adam", "evaluations Int.max") { record(&$0, "evaluations", Int.max) }
        try hardening.tampered("adam", "averageSteps Int.max") { $0["averageSteps"] = Int.max }
    }

    /// `values` listed NaN as a measurement; an escape sequence in a name reached the terminal raw;
    /// `reveal` after `guess loss 0` said "off by a factor of 1.1e+304".
    @Test func whatThePromptPrintsIsTextAndNumbers() throws {
        let h = ShellHarness().loaded()
        h.shell.measured("share.nothing", .nan)
        #expect(!h.run("values").1.contains("nan") && (try? h.shell.measuredValue("share.nothing")) == nil)
        let (_, out) = h.run("content /nonexistent\u{1B}[31mred.png")
        #expect(out.hasPrefix("error: ") && !out.contains("\u{1B}") && out.contains("red.png"), "\(out)")
        #expect(h.run("guess loss 0").0 == .ok && h.run("loss").0 == .ok)
        let reveal = h.run("reveal loss").1
        #expect(reveal.contains("you guessed 0 — off by") && !reveal.contains("factor"), "\(reveal)")
    }

    /// The Wasserstein-2 term at the style image itself printed −1e-10: a squared distance is ≥ 0.
    @Test func aSquaredDistanceIsNeverNegative() throws {
        let h = ShellHarness().loaded()
        #expect(h.run("set --style-loss wasserstein --init style").0 == .ok)
        #expect(h.run("loss").0 == .ok)
        for layer in try h.shell.session().configuration.loss.styleLayers {
            #expect(try h.shell.measuredValue("raw.style:\(layer.name)") >= 0)
        }
    }
}

extension RoundThreeTests {
    /// `lab transfer C S --out .` (or `./`) trapped inside Foundation's path handling.
    @Test func aFolderAsTheOutputPrefixIsRefused() throws {
        let folder = Paths.temporaryDirectory()
        for prefix in [".", "./", folder, folder + "/"] {
            let (status, out) = try runLab(
                ["transfer", "\(Paths.fixtures)/content.png", "\(Paths.fixtures)/style.png", "--out", prefix, "--size", "16", "--iterations", "1"],
                directory: folder)
            #expect(status == 1 && out.contains("is a folder: try"), "\(prefix): \(out)")
        }
    }

    /// `content` on a FIFO blocked in open() until SIGKILL.
    @Test func aPipeIsNotAnImage() throws {
        let fifo = Paths.temporaryDirectory() + "/pipe.png"
        #expect(mkfifo(fifo, 0o600) == 0)
        let h = ShellHarness()
        let (outcome, out) = h.run("content \(fifo)")
        #expect(outcome != .ok && out.contains("not a regular file"), "\(out)")
    }

    /// `diff content X` / `show content X` with a 1000×1 picture built a canvas wider than Cairo's
    /// 32767 pixels and force-unwrapped the failed surface.
    @Test func thinPicturesFitTheirCanvas() throws {
        let folder = Paths.temporaryDirectory()
        try RGBImage(width: 1000, height: 1, pixels: [UInt8](repeating: 200, count: 3000)).savePNG(folder + "/thin.png")
        try RGBImage(width: 1, height: 3000, pixels: [UInt8](repeating: 50, count: 9000)).savePNG(folder + "/tall.png")
        let row = Pictures.sideBySide([("thin", try RGBImage.load(folder + "/thin.png")), ("tall", try RGBImage.load(folder + "/tall.png"))])
        #expect(row.width <= 2 * 1600 + 3 * 12 && row.height <= 1024 + 48, "\(row.width)×\(row.height)")
        let h = ShellHarness().loaded()
        #expect(h.run("diff content \(folder)/thin.png").0 == .ok)
        #expect(h.run("show content \(folder)/thin.png \(folder)/tall.png").0 == .ok)
    }
}

extension RoundThreeTests {
    /// `run 50 --every 10` after one `step` reported 11, 21, …; `notebook save X.md` counted the
    /// commands it left out (771 for a file holding 585).
    @Test func reportsCountTheRunAndTheNotebookAsTheyAre() throws {
        let h = ShellHarness().loaded()
        #expect(h.run("step").0 == .ok)
        let out = h.run("run 21 --every 10").1
        #expect(out.contains("iteration   10 ") && out.contains("iteration   20 ") && out.contains("iteration   21 "), "\(out)")
        #expect(!out.contains("iteration   11 "), "\(out)")
        #expect(h.run("help step").0 == .ok)
        let path = Paths.temporaryDirectory() + "/n.md"
        let saved = h.run("notebook save \(path)").1
        // Each command is one ```lab cell of the file: the count said is the count written.
        let written = try String(contentsOfFile: path, encoding: .utf8).components(separatedBy: "\n").filter { $0 == "```lab" }.count
        #expect(written > 0 && written < h.shell.transcript.count, "help is not kept: \(written) of \(h.shell.transcript.count)")
        #expect(saved.contains("saved \(written) command(s)"), "\(saved)")
    }
}
