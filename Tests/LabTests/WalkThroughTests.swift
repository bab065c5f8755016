import Foundation
import Kernels
import Testing

@testable import Lab

/// What a learner walking through the lessons met, each with the test that failed before its fix.
@Suite("The learner's walk-through", .serialized) struct WalkThroughTests {
    /// A lesson whose exercise needs its set-up: the solution steps the loaded images.
    static let lesson = """
        # Resume

        \(lessonSetUpCell)

        ## Exercise: one step

        Take one step, at this size.

        ```lab
        set --size 32
        ```

        ```lab check
        expect iteration == 1
        ```

        <details><summary>Solution</summary>

        ```lab solution
        step
        ```

        </details>

        ## After

        ```lab
        expect iteration == 1
        ```
        """

    /// Two shells, one after the other, on the lesson above with one progress file (as two
    /// sessions of `./lab` are).
    static func twoShellsOnOneLesson() throws -> (ShellHarness, ShellHarness) {
        let folder = (try lessonFile(lesson) as NSString).deletingLastPathComponent
        let progress = Paths.temporaryDirectory() + "/progress.json"
        let shells = (ShellHarness(), ShellHarness())
        for h in [shells.0, shells.1] {
            h.shell.lessonsFolder = folder
            h.shell.progressPath = progress
        }
        return shells
    }

    /// Resumed in a new shell, a lesson skipped its set-up: the solution met "no content image yet".
    @Test func aLessonResumedInANewShellRunsItsSetUpFirst() throws {
        let (first, later) = try Self.twoShellsOnOneLesson()
        #expect(first.run("lesson 1").0 == .ok)
        #expect(first.run("next").0 == .ok)  // the set-up; now at the exercise
        #expect(first.run("next").0 == .ok)  // its own set-up
        let (o, out) = later.run("lesson 1")
        #expect(o == .ok && out.contains("running cells 1…2 first"), "\(out)")
        let (o2, out2) = later.run("solution")
        #expect(o2 == .ok && out2.contains("✓ solved"), "\(out2)")
        #expect(later.run("next").0 == .ok)
    }

    /// Another lesson's `new` replaced what this one had set up: coming back runs its cells again.
    @Test func anotherLessonsNewIsCaughtUpOn() throws {
        let (h, _) = try Self.twoShellsOnOneLesson()
        try "# Other\n\n```lab\nnew\n```\n".write(toFile: h.shell.lessonsFolder + "/02-other.md", atomically: true, encoding: .utf8)
        #expect(h.run("lesson 1").0 == .ok)
        #expect(h.run("next").0 == .ok)
        #expect(h.run("next").0 == .ok)  // at the check, the images loaded
        #expect(h.run("lesson 2").0 == .ok)
        #expect(h.run("next").0 == .ok)  // new: no images
        let (o, out) = h.run("lesson 1")
        #expect(o == .ok && out.contains("running cells 1…2 first"), "\(out)")
        #expect(h.run("solution").0 == .ok)
    }

    /// `solution` after `back` (in a shell that had not run the set-up) failed the same way.
    @Test func aSolutionAfterBackWorks() throws {
        let (first, later) = try Self.twoShellsOnOneLesson()
        #expect(first.run("lesson 1").0 == .ok)
        #expect(first.run("next").0 == .ok)
        #expect(first.run("next").0 == .ok)
        #expect(first.run("next").0 == .ok)  // the unsolved check waits
        #expect(later.run("lesson 1").0 == .ok)
        #expect(later.run("back").0 == .ok)
        let (o, out) = later.run("solution")
        #expect(o == .ok && out.contains("✓ solved"), "\(out)")
    }

    /// A notebook saved as .md after a lesson could not be replayed ("exercise … needs a lab check
    /// cell"): the .ipynb could. Both replay now.
    @Test func aMarkdownNotebookSavedAfterALessonReplays() throws {
        let h = ShellHarness()
        h.shell.lessonsFolder = (try lessonFile(Self.lesson) as NSString).deletingLastPathComponent
        #expect(h.run("lesson 1").0 == .ok)
        #expect(h.run("next").0 == .ok)
        #expect(h.run("next").0 == .ok)
        #expect(h.run("solution").0 == .ok)
        #expect(h.run("next").0 == .ok)
        let folder = Paths.temporaryDirectory()
        for name in ["after.md", "after.ipynb"] {
            #expect(h.run("notebook save \(folder)/\(name)").0 == .ok)
            let replay = ShellHarness()
            #expect(try replay.shell.runLesson("\(folder)/\(name)") == 0, "\(name): \(replay.text)")
        }
    }

    /// The shell showed lesson Markdown raw: `**`, backticks, and hints unfolded.
    @Test func lessonMarkdownIsRenderedForTheTerminal() throws {
        let prose = """
            ## The **Gram** matrix

            Type `gram block1_conv1`: *every* pair of channels, see [Gatys](https://arxiv.org/abs/1508.06576).
            A snake_case name, 2 * 3 and a list:
            * one

            <details><summary>Hint</summary>

            Look at `help gram`.

            </details>
            """
        let plain = MarkdownTerminal.render(prose, styled: false)
        #expect(
            plain == """
                The Gram matrix
                ---------------

                Type gram block1_conv1: every pair of channels, see Gatys (https://arxiv.org/abs/1508.06576).
                A snake_case name, 2 * 3 and a list:
                * one

                ▸ Hint — type hint to open it
                """, "\(plain)")
        let styled = MarkdownTerminal.render(prose, styled: true)
        #expect(styled.contains("\u{1B}[1;4mThe \u{1B}[1mGram\u{1B}[22m matrix") && styled.contains("\u{1B}[36mgram block1_conv1\u{1B}[0m"))
        // A hostile lesson's own escape sequences never reach the terminal.
        #expect(!MarkdownTerminal.render("a \u{1B}[2J b", styled: true).contains("\u{1B}[2J"))
        // In the shell: a lesson's cell shows no markers.
        let h = ShellHarness()
        h.shell.lessonsFolder = (try lessonFile(Self.lesson) as NSString).deletingLastPathComponent
        #expect(h.run("lesson 1").0 == .ok)
        #expect(h.run("next").0 == .ok)
        let (_, out) = h.run("where")
        #expect(!out.contains("##") && !out.contains("`"), "\(out)")
    }

    /// `gradcheck` called a right near-zero gradient "suspicious" (−1.775e-5 against −1.777e-5 is
    /// 1.1e-3 relative): the error is now relative to the gradient's scale below it. A wrong one fails.
    @Test func aNearZeroGradientIsJudgedOnTheGradientsScale() {
        let right = GradientCheckResult(channel: 0, y: 0, x: 0, analytic: -1.775e-5, numeric: -1.777e-5, scale: 0.5)
        #expect(right.relativeError < 1e-3)
        var unscaled = right
        unscaled.scale = 0
        #expect(unscaled.relativeError > 1e-3, "the old formula")
        let wrong = GradientCheckResult(channel: 0, y: 0, x: 0, analytic: 2e-2, numeric: 1e-2, scale: 0.5)
        #expect(wrong.relativeError > 0.4)
    }

    /// `expect decreasing` compared the endpoints only: a run that zig-zagged up passed.
    @Test func decreasingMeansAtEveryIteration() throws {
        let h = ShellHarness().loaded()
        #expect(h.run("optimizer adam --lr 80").0 == .ok)  // up at the second iteration, then down
        #expect(h.run("step 6").0 == .ok)
        let losses = try h.shell.session().history.map(\.total)
        let rises = losses.indices.dropFirst().contains { losses[$0] > losses[$0 - 1] }
        try #require(rises, "this run zig-zags: \(losses)")
        expectRefused(h, "expect decreasing", containing: "not monotone")
        if losses.last! < losses.first! { #expect(h.run("expect decreasing --overall").0 == .ok) }
        let calm = ShellHarness().loaded()
        #expect(calm.run("step 4").0 == .ok)
        #expect(calm.run("expect decreasing").0 == .ok)
    }

    /// `guess` was accepted after the value was on the screen, and `reveal` scored it.
    @Test func aGuessIsScoredOnlyAgainstALaterMeasurement() throws {
        let h = ShellHarness().loaded()
        // A refused command's measurement does not count either.
        #expect(h.run("guess grad.norm 5").0 == .ok)
        let folder = h.shell.outputDirectory
        h.shell.outputDirectory = "/dev/null/out"
        expectRefused(h, "grad")
        h.shell.outputDirectory = folder
        expectRefused(h, "reveal grad.norm")
        #expect(h.run("diff content style").0 == .ok)
        #expect(h.run("guess diff.rms 50").0 == .ok)
        expectRefused(h, "reveal diff.rms", containing: "not been measured since your guess")
        #expect(h.run("diff content style").0 == .ok)
        let (o, out) = h.run("reveal diff.rms")
        #expect(o == .ok && out.contains("you guessed 50"), "\(out)")
    }

    /// After a step the screen showed only the loss each iteration started from, while `expect loss`
    /// checks the loss now: the last line says it.
    @Test func aStepEndsWithTheLossNow() throws {
        let h = ShellHarness().loaded()
        let (_, out) = h.run("step 2")
        let line = try #require(out.split(separator: "\n").last { $0.hasPrefix("loss now ") })
        let now = try h.shell.session().evaluate(gradientOf: nil).breakdown.total
        #expect(line.contains(formatLoss(now)), "\(line) vs \(now)")
    }

    /// `compare` drew the results side by side only: now the settings that differ, a difference
    /// panel, and a warning when the losses are defined differently.
    @Test func compareSaysWhatDiffersAndWhetherTheLossesCompare() throws {
        let h = ShellHarness().loaded()
        #expect(h.run("run 2 --name a").0 == .ok)
        #expect(h.run("set --style-weight 100").0 == .ok)
        #expect(h.run("reset").0 == .ok)
        #expect(h.run("run 2 --name b").0 == .ok)
        let (o, out) = h.run("compare a b")
        #expect(o == .ok && out.contains("--style-weight") && out.contains("not comparable") && out.contains("RMS"), "\(out)")
        #expect(h.shell.measurements["compare.comparable"] == 0)
        #expect(h.run("optimizer adam --lr 2").0 == .ok)
        #expect(h.run("reset").0 == .ok)
        #expect(h.run("run 2 --name c").0 == .ok)
        let (_, same) = h.run("compare b c")
        #expect(!same.contains("not comparable") && same.contains("--lr"), "\(same)")
    }

    /// A linear Gram map was one bright dot on black (one channel's energy dwarfs the rest); the
    /// gradient picture was the raw tensor, tiny, with no title or scale.
    @Test func gramMapsAndGradientsReadAsFigures() throws {
        // 64 channels, one diagonal entry 1000 times the others.
        var values = (0..<(64 * 64)).map { Float(1 + ($0 * 7919) % 13) }
        values[5 * 64 + 5] = 13_000
        let g = try Tensor(shape: [64, 64], data: values)
        let map = Pictures.heatmap(g, signed: false, scale: .linear, title: "gram block1_conv1 of style")
        // Count bright cells (inferno above its middle): far more than the one huge entry.
        var bright = 0
        for y in 0..<map.height {
            for x in 0..<map.width where map[x, y].r > 180 && map[x, y].b < 150 { bright += 1 }
        }
        #expect(bright > 5000, "the map is one bright dot: \(bright) bright pixels")
        let gradient = try Tensor(shape: [3, 16, 24], data: (0..<(3 * 16 * 24)).map { Float($0 % 17) })
        let figure = Pictures.gradientFigure(gradient, title: "|gradient|")
        #expect(figure.width >= 384 && figure.height > 256 + 30, "enlarged, with room for a title and a colour bar")
        // The layer in every title of a before/after Gram pair.
        let h = ShellHarness().loaded()
        #expect(h.run("step 1").0 == .ok)
        let (o, out) = h.run("gram block1_conv1 --diff")
        #expect(o == .ok && out.contains("before and after"), "\(out)")
    }
}
