import Foundation
import Kernels
import Testing

@testable import Lab

// Lessons that teach by doing: exercises (check, hint, solution), scoped `expect output`,
// measured values with guesses, reconstructions, receptive fields, differences, a safe start.

/// The set-up cell of the test lessons: a new session at 32 rows with the sample images.
let lessonSetUpCell = """
    ```lab
    new
    set --size 32
    content images/chelsea.png
    style images/hubble_deep_field.jpg
    ```
    """

let exerciseLesson = """
    # Demo

    \(lessonSetUpCell)

    ## Exercise: make the content weight 2

    Change the content weight to 2.

    ```lab check
    expect output --content-weight      2.0
    ```

    <details><summary>Hint</summary>

    Look at `help set`: --content-weight.

    </details>

    <details><summary>Solution</summary>

    ```lab solution
    set --content-weight 2
    config
    ```

    </details>

    ## After

    ```lab
    expect iteration == 0
    ```
    """

func lessonFile(_ text: String) throws -> String {
    let path = Paths.temporaryDirectory() + "/01-demo.md"
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

@Suite("Exercises and measured values", .serialized)
struct ExerciseTests {
    @Test func exercisesAreParsedFromPlainMarkdown() throws {
        let lesson = try Lesson(path: "demo.md", markdown: exerciseLesson)
        #expect(lesson.cells.map(\.kind) == [.run, .check, .solution, .run])
        #expect(lesson.exercises.count == 1)
        #expect(lesson.exercises[0].title == "make the content weight 2")
        #expect(lesson.hints["make the content weight 2"] == "Look at `help set`: --content-weight.")
        #expect(lesson.cells[3].exercise == nil, "a new section ends the exercise")
        // Badly formed exercises are refused with one line.
        #expect(throws: SessionError.self) { try Lesson(path: "x.md", markdown: "## Exercise: a\n```lab check\nexpect loss > 0\n```\n") }
        #expect(throws: SessionError.self) { try Lesson(path: "x.md", markdown: "# A\n```lab check\nloss\n```\n```lab solution\nloss\n```\n") }
        #expect(throws: SessionError.self) { try Lesson(path: "x.md", markdown: "## Exercise: a\n```lab bogus\nloss\n```\n") }
        #expect(MarkdownTerminal.render("a\n<details><summary>Hint</summary>\nb\n</details>", styled: false) == "a\n▸ Hint — type hint to open it")
    }

    /// At an unsolved exercise `next` waits and says what is unmet; the learner's own commands
    /// solve it; `hint` and `solution` help.
    @Test func nextWaitsAtAnUnsolvedExercise() throws {
        let h = ShellHarness()
        h.shell.lessonsFolder = (try lessonFile(exerciseLesson) as NSString).deletingLastPathComponent
        #expect(h.run("lesson 1").0 == .ok)
        #expect(h.run("next").0 == .ok)
        let (o1, out1) = h.run("next")
        #expect(o1 == .ok, "an unsolved exercise is not an error")
        #expect(out1.contains("not yet:") && out1.contains("hint") && !out1.contains("error"), "\(out1)")
        #expect(h.shell.cellIndex == 1)
        #expect(h.run("hint").1.contains("--content-weight"))
        #expect(h.run("set --content-weight 2").0 == .ok)
        #expect(h.run("config").0 == .ok)
        let (o2, out2) = h.run("next")
        #expect(o2 == .ok && out2.contains("✓ solved"), "\(out2)")
        #expect(h.shell.cellIndex == 3, "past the check and its solution")
        #expect(h.run("next").0 == .ok)
        // solution: shows, runs, checks, moves on.
        #expect(h.run("lesson 1 --from-start").0 == .ok)
        #expect(h.run("next").0 == .ok)
        let (o3, out3) = h.run("solution")
        #expect(o3 == .ok && out3.contains("set --content-weight 2") && out3.contains("✓ solved"), "\(out3)")
        #expect(h.shell.cellIndex == 3)
        expectRefused(h, "hint")  // not at an exercise any more
        expectRefused(h, "solution")
    }

    @Test func headlessRunsTheSolutionThenTheCheck() throws {
        let path = try lessonFile(exerciseLesson)
        let h = ShellHarness()
        #expect(try h.shell.runLesson(path) == 0, "\(h.text)")
        #expect(h.text.contains("running its solution"))
        // A wrong solution fails the run.
        let broken = try lessonFile(exerciseLesson.replacingOccurrences(of: "set --content-weight 2\n", with: "set --content-weight 3\n"))
        let other = ShellHarness()
        #expect(try other.shell.runLesson(broken) == 1)
    }

    /// `expect output` reads what its own cell printed; typed, the previous command's output; a
    /// failed expectation's message never satisfies a later one.
    @Test func expectOutputIsScopedAndNeverPassesOnItsOwnMessage() throws {
        let h = ShellHarness().loaded()
        #expect(h.run("config").0 == .ok)
        expectRefused(h, "expect output no such words")
        expectRefused(h, "expect output no such words")
        #expect(h.run("expect output --content-layers").0 == .ok)
        #expect(h.run("step 1 --name quoted").0 == .ok)
        #expect(h.run("expect output kept as run 'quoted'").0 == .ok, "quotes in the expected text are matched as typed")
        let cell = try lessonFile(
            "# T\n\n```lab\nset --size 32\ncontent images/chelsea.png\nconfig\nhelp step\nexpect output --content-layers\n```\n")
        let other = ShellHarness()
        #expect(try other.shell.runLesson(cell) == 0, "the cell's earlier output counts")
    }

    @Test func editPutsTheWholeCellOnTheInput() throws {
        let h = ShellHarness()
        var prefilled = ""
        h.shell.prefill = { prefilled = $0 }
        h.shell.lessonsFolder = (try lessonFile(exerciseLesson) as NSString).deletingLastPathComponent
        #expect(h.run("lesson 1").0 == .ok)
        #expect(h.run("edit").0 == .ok)
        #expect(prefilled == "new\nset --size 32\ncontent images/chelsea.png\nstyle images/hubble_deep_field.jpg")
    }

    /// The shell's own starting settings do not explode in its first steps at its own size.
    @Test func theShellStartsSafely() throws {
        let h = ShellHarness()
        #expect(h.run("content \(Paths.fixtures)/content.png").0 == .ok)
        #expect(h.run("style \(Paths.fixtures)/style.png").0 == .ok)
        #expect(try h.shell.session().configuration.rows == 128)
        let (o, out) = h.run("step 5")
        #expect(o == .ok, "\(out)")
        let totals = try h.shell.session().history.map(\.total)
        #expect(totals.allSatisfy(\.isFinite) && totals.last! < totals.first!, "\(totals)")
        #expect(h.run("help set").1.contains("the shell starts with --preset any-size --size 128"))
        // The example's constants stay one command away, and warn once at this size.
        #expect(h.run("set --preset keras").0 == .ok)
        #expect(h.run("step").1.contains("diverge below 400 rows"))
        #expect(!h.run("step").1.contains("diverge below 400 rows"))
    }

    @Test func valuesGuessAndReveal() throws {
        let h = ShellHarness().loaded()
        #expect(h.run("guess diff.rms 10").0 == .ok)
        #expect(h.run("diff content content").0 == .ok)
        #expect(h.shell.measurements["diff.rms"] == 0)
        #expect(h.run("reveal diff.rms").1.contains("you guessed 10"))
        #expect(h.run("diff content style").0 == .ok)
        #expect(h.shell.measurements["diff.rms"]! > 10)
        #expect(h.run("expect value diff.rms > 10").0 == .ok)
        expectRefused(h, "expect value diff.rms < 10")
        expectRefused(h, "expect value no.such.value > 0")
        expectRefused(h, "reveal no.such.value")
        expectRefused(h, "guess diff.rms lots")
        expectRefused(h, "diff content")
        expectRefused(h, "diff content \(Paths.fixtures)/missing.png")
        #expect(h.run("loss").0 == .ok)
        let share = h.shell.measurements.filter { $0.key.hasPrefix("share.style:") }.map(\.value).reduce(0, +)
        #expect(abs(share - h.shell.measurements["share.style"]!) < Tolerance.shareSum)
        #expect(h.run("values").1.contains("weighted.content"))
        // Ratios of two values, one kept under a name of the learner's.
        #expect(h.run("diff content style").0 == .ok)
        #expect(h.run("keep diff.rms as first").0 == .ok)
        #expect(h.run("diff content content").0 == .ok)
        #expect(h.run("expect value diff.rms/first < \(Tolerance.selfDiffRatio)").0 == .ok)
        #expect(h.run("expect value first/first == 1").0 == .ok)
        expectRefused(h, "expect value first/nothing > 0")
        expectRefused(h, "expect value a/b/c > 0")
        expectRefused(h, "keep nothing as x")
        expectRefused(h, "keep diff.rms to x")
    }

    /// A feature's receptive field, checked against the network itself: changing a pixel just
    /// outside the region leaves the feature exactly as it was; just inside, it changes.
    @Test func receptiveFieldMatchesTheNetwork() throws {
        #expect(ReceptiveField.size(of: "block1_conv1") == 3 && ReceptiveField.size(of: "block2_conv1") == 10)
        #expect(ReceptiveField.size(of: "block5_conv4") == 252)
        let vgg = try Shared.model()
        let compute = Compute(backend: .simd)
        var rng = SplitMix64(seed: 5)
        let (h, w) = (40, 44)
        let data = (0..<(3 * h * w)).map { _ in Float(rng.nextUnit() * 200 - 100) }
        let image = try Tensor(shape: [3, h, w], data: data)
        for (layer, fx, fy) in [("block2_conv1", 7, 6), ("block3_conv1", 4, 5), ("block2_conv2", 0, 0)] {
            let r = try ReceptiveField.region(layer: layer, x: fx, y: fy, height: h, width: w)
            let base = try vgg.forward(image, upTo: [layer], compute)[layer]!
            let (c, lh, lw) = base.chw
            func feature(_ t: Tensor) -> [Float] { (0..<c).map { t.data[($0 * lh + fy) * lw + fx] } }
            func perturbed(_ x: Int, _ y: Int) throws -> [Float] {
                var d = data
                for ch in 0..<3 { d[(ch * h + y) * w + x] += 50 }
                return feature(try vgg.forward(try Tensor(shape: [3, h, w], data: d), upTo: [layer], compute)[layer]!)
            }
            if r.x1 + 1 < w { #expect(try perturbed(r.x1 + 1, r.y0) == feature(base), "\(layer): outside on the right") }
            if r.y1 + 1 < h { #expect(try perturbed(r.x0, r.y1 + 1) == feature(base), "\(layer): outside below") }
            #expect(try perturbed(r.x1, r.y1) != feature(base), "\(layer): the corner inside")
            #expect(try perturbed(r.x0, r.y0) != feature(base), "\(layer): the other corner inside")
        }
        let hShell = ShellHarness().loaded()
        #expect(hShell.run("rf block1_conv1 5,5").1.contains("x 4…6, y 4…6: 3×3"))
        #expect(hShell.run("rf block2_conv1 0,0").1.contains("full field is 10×10"))
        expectRefused(hShell, "rf block2_conv1 100,100")
        expectRefused(hShell, "rf block9_conv1 1,1")
        expectRefused(hShell, "rf block2_conv1 1")
        #expect(hShell.run("layers").1.contains("252×252"))
        #expect(hShell.shell.measurements["flops.block1"]! > 0)
    }

    @Test func reconstructionsFromNoise() throws {
        let h = ShellHarness()
        for line in ["set --size 32", "content \(Paths.fixtures)/content.png", "style \(Paths.fixtures)/style.png"] { #expect(h.run(line).0 == .ok) }
        let before = try h.shell.session().state
        let (o, out) = h.run("reconstruct content block1_conv2 --iterations 40")
        #expect(o == .ok, "\(out)")
        let shallow = h.shell.measurements["reconstruct.rms"]!
        #expect(h.shell.measurements["reconstruct.ratio"]! < 0.1, "\(out)")
        #expect(h.run("reconstruct content block5_conv2 --iterations 40").0 == .ok)
        #expect(h.shell.measurements["reconstruct.rms"]! > shallow, "a deep layer keeps less of the pixels")
        #expect(h.run("reconstruct style block1_conv1,block2_conv1 --iterations 20").0 == .ok)
        #expect(h.shell.measurements["reconstruct.ratio"]! < 1)
        #expect(try h.shell.session().state == before, "the learner's session is untouched")
        expectRefused(h, "reconstruct content block1_conv2,block2_conv2")
        expectRefused(h, "reconstruct content block9_conv2")
        expectRefused(h, "reconstruct shape block1_conv1")
        expectRefused(h, "reconstruct content block1_conv1 --lr 0")
        // Ctrl-C stops it between steps, with the picture so far.
        let stopped = try h.shell.session().reconstruct(.content("block1_conv2"), iterations: 50, shouldStop: { true })
        #expect(try stopped.iterations == 0 && stopped.image.width == h.shell.session().workingSize!.width)
    }

    /// A lesson names images/chelsea.png; run from another folder, it still finds the project's images.
    @Test func lessonsWorkFromAnyFolder() throws {
        let elsewhere = Paths.temporaryDirectory()
        let lesson = try lessonFile(exerciseLesson)
        let (status, text) = try runLab(["run", lesson, "--out", elsewhere + "/out"], directory: elsewhere)
        #expect(status == 0, "\(text.suffix(2000))")
    }

    /// Rewinding goes back in the run, not in the settings chosen since (a learner rewinds to try
    /// another learning rate from there).
    @Test func rewindKeepsTheSettingsChosenSince() throws {
        let h = ShellHarness().loaded()
        #expect(h.run("step 3").0 == .ok)
        #expect(h.run("optimizer adam --lr 2").0 == .ok)
        #expect(h.run("rewind 1").0 == .ok)
        var o = try h.shell.session().optimizer
        #expect(o.name == "adam" && o.baseLearningRate == 2 && o.iteration == 1)
        #expect(h.run("optimizer sgd --lr 3").0 == .ok)
        #expect(h.run("rewind 0").0 == .ok)
        o = try h.shell.session().optimizer
        #expect(o.name == "sgd" && o.baseLearningRate == 3 && o.iteration == 0)
        expectRefused(h, "rewind 5", containing: "can rewind to 0…0")
    }

    @Test func termCompletionOffersOnlyTheLossStyleLayers() {
        let h = ShellHarness().loaded()
        #expect(h.run("set --style-layers block1_conv1,block3_conv1").0 == .ok)
        #expect(h.shell.completions(word: "style:", before: "grad --term ") == ["style:block1_conv1", "style:block3_conv1"])
        expectRefused(h, "grad --term style:block2_conv1", containing: "not one of the loss's style layers")
        #expect(h.shell.completions(word: "w", before: "set --style-loss ") == ["wasserstein"])
        #expect(h.shell.completions(word: "", before: "set --optimizer ") == OptimizerRegistry.kinds)
    }

    @Test func stepKeepsANamedRunAndHistoryShowsEvaluations() throws {
        let h = ShellHarness().loaded()
        #expect(h.run("optimizer lbfgs").0 == .ok)
        #expect(h.run("step 2 --name lb").0 == .ok)
        #expect(try h.shell.session().namedRuns.map(\.name) == ["lb"])
        let (_, out) = h.run("history")
        #expect(out.contains("evals"))
        #expect(h.shell.measurements["history.evaluations"]! >= 3, "L-BFGS's first iteration evaluates at least twice")
        expectRefused(h, "step 1 --name a/b")
        // A kept run is a picture diff can name.
        #expect(h.run("diff lb content").0 == .ok)
        #expect(h.shell.measurements["diff.rms"]! > 0)
        // A flag takes no value: "false" would once have turned it on, silently.
        expectRefused(h, "set --original-colors false")
        #expect(try h.run("set --original-colors").0 == .ok && h.shell.session().configuration.preserveColors)
        #expect(try h.run("set --no-original-colors").0 == .ok && !h.shell.session().configuration.preserveColors)
    }
}
