import Foundation
import Kernels
import Testing

@testable import Lab

@Suite("Saving and reopening a session", .serialized)
struct SessionArchiveTests {
    @Test(arguments: ["adam", "lbfgs", "sgd"])
    func reopenedSessionContinuesBitForBit(_ optimizer: String) throws {
        let a = try fixtureSession()
        try a.configure {
            $0 = .anySize
            $0.rows = 48
            $0.loss.pooling = .average
        }
        switch optimizer {
        case "adam": a.setOptimizer(Adam(learningRate: 5))
        case "lbfgs": a.setOptimizer(LBFGS())
        default: a.setOptimizer(SGD(learningRate: 0.5, momentum: 0.9))
        }
        try a.resetCombination()
        for _ in 0..<3 { try a.step() }
        let folder = Paths.temporaryDirectory() + "/saved.nstlab"
        try a.save(to: folder)

        let b = TransferSession(vgg: try Shared.model())
        try b.open(folder)
        #expect(b.iteration == 3 && b.history.map(\.total) == a.history.map(\.total))
        #expect(b.configuration == a.configuration && b.combination == a.combination)
        #expect(b.optimizer.name == optimizer)
        let nextA = try (0..<2).map { _ in try a.step().total }
        let nextB = try (0..<2).map { _ in try b.step().total }
        #expect(nextA == nextB, "\(optimizer): \(nextA) vs \(nextB)")
    }

    @Test func badArchivesAreRefusedAndChangeNothing() throws {
        let s = try fixtureSession()
        try s.step()
        let before = s.combination
        #expect(errorMessage { try s.open("/nonexistent/x.nstlab") }?.contains("not a saved session") == true)
        let folder = Paths.temporaryDirectory()
        try s.save(to: folder)
        try "{ not json".write(toFile: folder + "/session.json", atomically: true, encoding: .utf8)
        #expect(errorMessage { try s.open(folder) }?.contains("is damaged") == true)
        try s.save(to: folder)
        try FileManager.default.removeItem(atPath: folder + "/content.png")
        #expect(errorMessage { try s.open(folder) }?.contains("no such file") == true)
        #expect(s.combination == before && s.iteration == 1)
    }

    @Test func theShellSavesAndReopens() throws {
        let h = ShellHarness().loaded()
        h.run("step 2")
        let folder = h.outputDirectory + "/s.nstlab"
        #expect(h.run("session save \(folder)").1 == "saved the session at iteration 2 to \(folder)/\n")
        let other = ShellHarness()
        #expect(other.run("session open \(folder)").1 == "reopened \(folder): iteration 2, adam\n")
        #expect(other.run("session").1.contains("usage: session save|open FOLDER"))
    }
}
