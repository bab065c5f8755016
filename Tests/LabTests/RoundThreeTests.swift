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
