import Foundation
import Kernels

// Lessons and notebooks: open and step through lessons, check results (`expect`), exercises,
// predictions (`guess`/`reveal`), measured values, and notebooks of a session.

extension CommandTable {
    static let lessons: [Command] = [
        Command(
            name: "values", topic: .lessons, summary: "the values the last commands measured, for guess, reveal and expect value",
            usage: "values", example: "values", maxPositional: 0
        ) { shell, _ in
            guard !shell.measurements.isEmpty else {
                shell.say("nothing measured yet (loss, layers, diff, reconstruct, rf, step … measure)")
                return
            }
            for (name, v) in shell.measurements.sorted(by: { $0.key < $1.key }) {
                shell.say(String(format: "%@ %.6g", pad(name, 28) as NSString, v))
            }
        },
        Command(
            name: "keep", topic: .lessons, summary: "keep a measured value under a name of your own, to compare with a later one",
            usage: "keep NAME as NEW", example: "keep profile.seconds as direct.seconds", maxPositional: 3
        ) { shell, a in
            guard a.positional.count == 3, a.positional[1] == "as", !a.positional[2].contains("/") else {
                throw UsageError("keep NAME as NEW (NEW without /; expect value A/B compares two values)")
            }
            let v = try shell.measuredValue(a.positional[0])
            shell.measured(a.positional[2], v)
            shell.say(String(format: "kept %@ = %.6g as %@", a.positional[0], v, a.positional[2]))
        },
        Command(
            name: "guess", topic: .lessons, summary: "write down a prediction before running a cell; reveal shows it beside the measurement",
            usage: "guess NAME X", example: "guess reconstruct.rms 20", maxPositional: 2
        ) { shell, a in
            guard a.positional.count == 2, let v = Double(a.positional[1]) else { throw UsageError("guess NAME X, e.g. guess diff.rms 20") }
            shell.guesses[a.positional[0]] = (v, shell.timesMeasured(a.positional[0]))
            shell.say("noted: you guess \(a.positional[0]) = \(a.positional[1])")
        },
        Command(
            name: "reveal", topic: .lessons, summary: "a measured value beside your guess",
            usage: "reveal NAME or A/B", example: "reveal reconstruct.rms", maxPositional: 1
        ) { shell, a in
            guard a.positional.count == 1 else { throw UsageError("reveal NAME") }
            let name = a.positional[0]
            let v = try shell.measuredValue(name)
            if let guess = shell.guesses[name], guess.measuredTimes == shell.timesMeasured(name) {
                // Nothing measured it since the guess: the value on the screen is the one seen before guessing.
                throw SessionError.invalid("\(name) has not been measured since your guess: run the cell that measures it, then reveal")
            }
            if let g = shell.guesses.removeValue(forKey: name)?.value {
                let factor = max(abs(v), abs(g)) / min(abs(v), abs(g))
                // A factor means nothing against 0, or between numbers of opposite signs: say how far off instead.
                let verdict =
                    v == g
                    ? "exactly"
                    : g == 0 || v == 0 || (g < 0) != (v < 0)
                        ? String(format: "off by %.4g", abs(v - g))
                        : factor < 1.25 ? "well predicted" : String(format: "off by a factor of %.2g", factor)
                shell.say(String(format: "%@: measured %.4g, you guessed %.4g — %@", name, v, g, verdict))
            } else {
                shell.say(String(format: "%@: measured %.4g (guess NAME X before the cell to test your intuition)", name, v))
            }
        },
        Command(
            name: "expect", topic: .lessons, summary: "check a result: fails (and stops a lesson) when it does not hold",
            usage:
                "expect output TEXT | loss OP X | term KIND|KIND:LAYER OP X | value NAME OP X | iteration OP N "
                + "| shape LAYER C,H,W | decreasing [--overall] | error COMMAND…",
            example: "expect loss < 6e6", transactional: false, rawArguments: true
        ) { shell, a in try shell.expect(a.positional) },
        Command(
            name: "lesson", topic: .lessons, summary: "list the lessons, or open one where you left it",
            usage: "lesson [N] [--from-start]", example: "lesson 1", flags: ["from-start"], transactional: false, maxPositional: 1
        ) { shell, a in
            let all = Lesson.catalogue(in: shell.lessonsFolder)
            guard !all.isEmpty else { throw SessionError.invalid("no lessons in \(shell.lessonsFolder)/") }
            var progress = shell.progressPath.map(LessonProgress.load) ?? LessonProgress()
            guard let arg = a.positional.first else {
                for (i, path) in all.enumerated() {
                    let lesson = try Lesson(path: path)
                    let at = max(0, progress.cellByLesson[(path as NSString).lastPathComponent] ?? 0)
                    shell.say(String(format: "%2d  %@  (%d/%d cells)", i + 1, lesson.title, at, lesson.cells.count))
                }
                shell.say("lesson N opens one; then: next (run this cell), back, where, edit")
                return
            }
            guard let n = Int(arg), (1...all.count).contains(n) else { throw UsageError("lesson number 1…\(all.count)") }
            let lesson = try Lesson(path: all[n - 1])
            let key = (lesson.path as NSString).lastPathComponent
            shell.openLesson = lesson
            shell.cellIndex = a.has("from-start") ? 0 : max(0, min(progress.cellByLesson[key] ?? 0, lesson.cells.count - 1))
            progress.current = key
            if let p = shell.progressPath { progress.save(p) }
            shell.say("# \(lesson.title) — \(lesson.cells.count) cells")
            if a.has("from-start") { shell.lessonCellsRun = nil }
            try catchUp(shell, lesson)
            showCell(shell)
        },
        Command(
            name: "next", topic: .lessons, summary: "run the lesson's current cell, then show the next (at an exercise: check it)",
            usage: "next", example: "next", transactional: false, maxPositional: 0
        ) { shell, _ in
            guard let lesson = shell.openLesson else { throw SessionError.invalid("no lesson open: lesson N") }
            // A solution is shown only on request (solution): next passes over it.
            while shell.cellIndex < lesson.cells.count, lesson.cells[shell.cellIndex].kind == .solution { shell.cellIndex += 1 }
            guard shell.cellIndex < lesson.cells.count else {
                shell.say("end of the lesson; lesson lists the others")
                return
            }
            try catchUp(shell, lesson)
            let cell = lesson.cells[shell.cellIndex]
            shell.pendingProse = cell.prose.isEmpty ? nil : cell.prose
            shell.checkingExercise = cell.kind == .check
            defer { shell.checkingExercise = false }
            if let failure = shell.runCell(cell.commands, ownOutput: cell.kind != .check) {
                if cell.kind == .check {
                    // An unsolved exercise is not a failure: say what is unmet and wait.
                    // The failed check has just said what is unmet.
                    shell.say(
                        "keep working on '\(cell.exercise ?? "the exercise")', then next checks again; hint gives a hint, solution shows and runs one"
                    )
                    return
                }
                throw SessionError.invalid(
                    "cell \(shell.cellIndex + 1) stopped at '\(failure.command)' (\(failure.why)); fix and type next again, or edit")
            }
            if cell.kind == .check { shell.say("✓ solved: \(cell.exercise ?? "exercise")") }
            advance(shell, lesson)
        },
        Command(name: "hint", topic: .lessons, summary: "a hint for the exercise you are at", usage: "hint", example: "hint", maxPositional: 0) {
            shell, _ in
            let (lesson, exercise) = try currentExercise(shell)
            guard let hint = lesson.hints[exercise.title] else { throw SessionError.invalid("this exercise has no hint; solution shows one") }
            shell.sayMarkdown("**Hint.** " + hint)
        },
        Command(
            name: "solution", topic: .lessons, summary: "show and run the solution of the exercise you are at, check it, and go on",
            usage: "solution", example: "solution", transactional: false, maxPositional: 0
        ) { shell, _ in
            let (lesson, exercise) = try currentExercise(shell)
            guard let solution = exercise.solution, let check = exercise.check else { throw SessionError.invalid("this exercise has no solution") }
            try catchUp(shell, lesson)
            // Cells of the exercise before its check (its set-up) run first, as next would run them.
            while shell.cellIndex < check, lesson.cells[shell.cellIndex].kind == .run {
                let cell = lesson.cells[shell.cellIndex]
                shell.pendingProse = cell.prose.isEmpty ? nil : cell.prose
                if let failure = shell.runCell(cell.commands) {
                    throw SessionError.invalid("cell \(shell.cellIndex + 1) stopped at '\(failure.command)' (\(failure.why))")
                }
                shell.lessonCellsRun = (lesson.path, shell.cellIndex + 1)
                shell.cellIndex += 1
            }
            shell.say("solution to '\(exercise.title)':")
            for c in lesson.cells[solution].commands { shell.say("    \(c)") }
            shell.pendingProse = lesson.cells[check].prose.isEmpty ? nil : lesson.cells[check].prose
            if let failure = shell.runCell(lesson.cells[solution].commands + lesson.cells[check].commands) {
                throw SessionError.invalid("the solution stopped at '\(failure.command)' (\(failure.why))")
            }
            shell.say("✓ solved: \(exercise.title)")
            shell.cellIndex = max(check, solution)
            shell.lessonCellsRun = (lesson.path, shell.cellIndex)  // its set-up, solution and check have run
            advance(shell, lesson)
        },
        Command(name: "back", topic: .lessons, summary: "go back one cell in the open lesson", usage: "back", example: "back", maxPositional: 0) {
            shell, _ in
            guard shell.openLesson != nil else { throw SessionError.invalid("no lesson open: lesson N") }
            shell.cellIndex = max(0, shell.cellIndex - 1)
            saveProgress(shell)
            showCell(shell)
        },
        Command(
            name: "where", topic: .lessons, summary: "which lesson and cell you are at, and that cell",
            usage: "where", example: "where", maxPositional: 0
        ) { shell, _ in
            guard shell.openLesson != nil else { throw SessionError.invalid("no lesson open: lesson N") }
            showCell(shell)
        },
        Command(
            name: "edit", topic: .lessons, summary: "put the current cell's commands on the input line, to change before running",
            usage: "edit", example: "edit", maxPositional: 0
        ) { shell, _ in
            guard let lesson = shell.openLesson, shell.cellIndex < lesson.cells.count else { throw SessionError.invalid("no cell to edit") }
            let commands = lesson.cells[shell.cellIndex].commands
            // The whole cell, one command per line: Enter runs them in order.
            if let prefill = shell.prefill { prefill(commands.joined(separator: "\n")) } else { shell.say(commands.joined(separator: "\n")) }
            shell.say("(edit and press Enter to run the cell's \(commands.count) command(s) yourself; next runs it as written)")
        },
        Command(
            name: "notebook", topic: .lessons,
            summary: "save this session as a notebook: Markdown (pictures beside it) or Jupyter (.ipynb, pictures inside)",
            usage: "notebook save FILE.md|FILE.ipynb", example: "notebook save out/my-session.ipynb", completes: .files, maxPositional: 2
        ) { shell, a in
            guard a.positional.count == 2, a.positional[0] == "save" else { throw UsageError("notebook save FILE.md|FILE.ipynb") }
            let path = a.positional[1]
            if path.lowercased().hasSuffix(".ipynb") { try shell.saveJupyterNotebook(path) } else { try shell.saveNotebook(path) }
        },
    ]

    /// Runs the cells before the learner's place that this shell has not run (a lesson resumed in a
    /// new shell, or after `back` past them), as a headless run would: each exercise by its solution
    /// and check. Without them a resumed lesson met "no content image yet".
    static func catchUp(_ shell: Shell, _ lesson: Lesson) throws {
        let done = shell.cellsRun(of: lesson)
        guard done < shell.cellIndex else { return }
        shell.say("(running cells \(done + 1)…\(shell.cellIndex) first, which this shell has not run: their set-up is needed here)")
        for i in done..<shell.cellIndex {
            if let failure = shell.runCell(lesson.commandsRunHeadless(i)) {
                throw SessionError.invalid("catching up, cell \(i + 1) stopped at '\(failure.command)' (\(failure.why))")
            }
            shell.lessonCellsRun = (lesson.path, i + 1)
        }
    }

    /// Moves past the cell just run, and past a solution cell right after it.
    static func advance(_ shell: Shell, _ lesson: Lesson) {
        if shell.cellsRun(of: lesson) >= shell.cellIndex {
            shell.lessonCellsRun = (lesson.path, shell.cellIndex + 1)
        }
        shell.cellIndex += 1
        while shell.cellIndex < lesson.cells.count, lesson.cells[shell.cellIndex].kind == .solution { shell.cellIndex += 1 }
        saveProgress(shell)
        if shell.cellIndex < lesson.cells.count { showCell(shell) } else { shell.say("— end of \(lesson.title) —") }
    }

    /// The exercise of the cell the learner is at.
    static func currentExercise(_ shell: Shell) throws -> (Lesson, (title: String, check: Int?, solution: Int?)) {
        guard let lesson = shell.openLesson else { throw SessionError.invalid("no lesson open: lesson N") }
        guard shell.cellIndex < lesson.cells.count, let title = lesson.cells[shell.cellIndex].exercise,
            let exercise = lesson.exercises.first(where: { $0.title == title })
        else {
            throw SessionError.invalid("you are not at an exercise (where shows the cell)")
        }
        return (lesson, exercise)
    }

    static func showCell(_ shell: Shell) {
        guard let lesson = shell.openLesson else { return }
        guard shell.cellIndex < lesson.cells.count else {
            shell.say("end of the lesson")
            return
        }
        let cell = lesson.cells[shell.cellIndex]
        shell.say("— \(lesson.title), cell \(shell.cellIndex + 1) of \(lesson.cells.count) —")
        if !cell.prose.isEmpty { shell.sayMarkdown(cell.prose) }
        if cell.kind == .check {
            shell.say("exercise: \(cell.exercise ?? "") — do it with your own commands; next checks it with:")
            for c in cell.commands { shell.say("    \(c)") }
            shell.say("(next checks; hint; solution)")
            return
        }
        for c in cell.commands { shell.say("    \(c)") }
        shell.say("(next runs it)")
    }

    static func saveProgress(_ shell: Shell) {
        guard let path = shell.progressPath, let lesson = shell.openLesson else { return }
        var p = LessonProgress.load(path)
        p.cellByLesson[(lesson.path as NSString).lastPathComponent] = shell.cellIndex
        p.current = (lesson.path as NSString).lastPathComponent
        p.save(path)
    }
}
