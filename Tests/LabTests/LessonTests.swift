import Foundation
import Testing

@testable import Lab

/// Every lesson, run headless the way `lab run` runs it: any error or unmet expectation fails it.
@Suite("Lessons", .serialized)
struct LessonTests {
    static let lessons = Lesson.catalogue(in: Paths.repo + "/lessons").map { ($0 as NSString).lastPathComponent }

    @Test func thereAreAtLeastTwelveLessonsWithEightyChecks() throws {
        #expect(LessonTests.lessons.count >= 12)
        let checks = try LessonTests.lessons.map { try Lesson(path: Paths.repo + "/lessons/" + $0) }
            .flatMap(\.cells).flatMap(\.commands).filter { $0.hasPrefix("expect ") }.count
        #expect(checks >= 80, "\(checks) expect checks in all")
        for name in LessonTests.lessons {
            let lesson = try Lesson(path: Paths.repo + "/lessons/" + name)
            #expect(lesson.cells.count >= 2, "\(name)")
            #expect(lesson.cells.contains { $0.commands.contains { $0.hasPrefix("expect ") } }, "\(name) checks nothing")
        }
    }

    /// As a learner takes them: every lesson in order, in one shell session, cell by cell with
    /// `next` (each lesson starts with `new`, so none depends on what the one before left behind).
    @Test func allLessonsInOrderInOneSession() throws {
        var script: [String] = []
        for (i, name) in LessonTests.lessons.enumerated() {
            let lesson = try Lesson(path: Paths.repo + "/lessons/" + name)
            #expect(lesson.cells.first?.commands.first == "new", "\(name) does not start from a new session")
            script.append("lesson \(i + 1) --from-start")
            // A learner who gives up at each exercise: solution there, next everywhere else.
            for cell in lesson.cells where cell.kind != .solution { script.append(cell.kind == .check ? "solution" : "next") }
            #expect(!lesson.exercises.isEmpty, "\(name) has no exercise")
        }
        let scriptPath = Paths.temporaryDirectory() + "/all-lessons.lab"
        try script.joined(separator: "\n").write(toFile: scriptPath, atomically: true, encoding: .utf8)
        let (status, text) = try runLab(
            ["--script", scriptPath, "--out", Paths.temporaryDirectory()],
            environment: ["HOME": Paths.temporaryDirectory()])
        #expect(status == 0, "\(text.suffix(3000))")
        #expect(text.contains("— end of \(try Lesson(path: Paths.repo + "/lessons/" + LessonTests.lessons.last!).title) —"))
    }

    @Test(arguments: lessons)
    func lessonRunsHeadless(_ name: String) throws {
        let (status, text) = try runLab(["run", "lessons/" + name, "--out", Paths.temporaryDirectory()])
        #expect(status == 0, "\(text.suffix(3000))")
        #expect(text.hasSuffix("1 passed, 0 failed\n"))
    }
}

@Suite("Lessons in the shell", .serialized)
struct LessonShellTests {
    func lessonShell() -> (ShellHarness, String) {
        let h = ShellHarness()
        let folder = Paths.temporaryDirectory()
        try! """
        # Demo lesson

        Some prose.

        ```lab
        set --size 48
        content \(Paths.fixtures)/content.png
        style \(Paths.fixtures)/style.png
        ```

        More prose about the loss.

        ```lab
        loss
        expect term content == 0
        ```

        ```lab
        help step
        ```
        """.write(toFile: folder + "/01-demo.md", atomically: true, encoding: .utf8)
        h.shell.lessonsFolder = folder
        h.shell.progressPath = folder + "/progress.json"
        return (h, folder)
    }

    @Test func navigateRunEditAndRememberProgress() throws {
        let (h, folder) = lessonShell()
        #expect(h.run("lesson").1.contains(" 1  Demo lesson  (0/3 cells)"))
        let (_, opened) = h.run("lesson 1")
        #expect(opened.contains("cell 1 of 3") && opened.contains("Some prose.") && opened.contains("    set --size 48"))
        let (o1, ran) = h.run("next")
        #expect(o1 == .ok && ran.contains("lab> content") && ran.contains("cell 2 of 3") && ran.contains("More prose"))
        h.run("config")  // the learner's own command between cells
        #expect(h.run("next").0 == .ok)
        #expect(h.run("where").1.contains("cell 3 of 3"))
        #expect(h.run("back").1.contains("cell 2 of 3"))
        var prefilled: String? = nil
        h.shell.prefill = { prefilled = $0 }
        h.run("edit")
        #expect(prefilled == "loss\nexpect term content == 0", "the whole cell, its commands one per line")
        // Progress survives a new shell.
        let (again, _) = lessonShell()
        again.shell.lessonsFolder = folder
        again.shell.progressPath = folder + "/progress.json"
        #expect(again.run("lesson 1").1.contains("cell 2 of 3"))
        #expect(again.run("lesson 1 --from-start").1.contains("cell 1 of 3"))
    }

    @Test func aFailingCellStopsWithItsCommand() {
        let (h, _) = lessonShell()
        h.run("lesson 1")
        h.run("set --size 48")
        let (outcome, out) = h.run("next")  // fine
        #expect(outcome == .ok, "\(out)")
        h.run("set --init noise:1")  // now the content loss is not 0
        let (o2, out2) = h.run("next")
        #expect(o2 != .ok && out2.contains("cell 2 stopped at 'expect term content == 0'"), "\(out2)")
        #expect(h.run("where").1.contains("cell 2 of 3"))  // still there, to fix and retry
    }

    @Test func expectations() throws {
        let h = ShellHarness().loaded()
        #expect(h.run("expect loss < 1e30").0 == .ok)
        #expect(h.run("expect loss > 1e30").1.hasPrefix("error: expectation failed: loss > 1e30 (the value is "))
        #expect(h.run("expect iteration == 0").0 == .ok)
        #expect(h.run("expect shape block1_conv1 64,48,64").0 == .ok)
        #expect(h.run("expect shape block1_conv1 64,48,65").0 != .ok)
        h.run("help step")
        #expect(h.run("expect output example: step 5").0 == .ok)
        #expect(h.run("expect output nothing like this").0 != .ok)
        #expect(h.run("expect decreasing").0 != .ok)  // no iterations yet
        #expect(h.run("expect error rewind 5").0 == .ok)
        #expect(h.run("expect error help").0 != .ok)
        #expect(h.run("expect term content ≈ 0").0 == .ok)
        #expect(h.run("expect banana").1.contains("usage: expect"))
    }

    @Test func aSavedNotebookRunsAgain() throws {
        let h = ShellHarness().loaded()
        for line in ["optimizer adam", "step 2", "show result", "loss"] { #expect(h.run(line).0 == .ok) }
        let path = h.outputDirectory + "/nb/session.md"
        try FileManager.default.createDirectory(atPath: h.outputDirectory + "/nb", withIntermediateDirectories: true)
        #expect(h.run("notebook save \(path)").0 == .ok)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.contains("```lab\nstep 2\n```\n```text\niteration    1"))
        #expect(text.contains("](session_files/"))
        let pictures = try FileManager.default.contentsOfDirectory(atPath: h.outputDirectory + "/nb/session_files")
        #expect(pictures.count == 1)
        // Replaying it in a fresh shell reproduces the run.
        let replay = ShellHarness()
        #expect(try replay.shell.runLesson(path) == 0, "\(replay.text)")
        #expect(try replay.shell.session().iteration == 2)
    }
}
