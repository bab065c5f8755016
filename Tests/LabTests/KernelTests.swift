import Foundation
import Testing

@testable import Lab

/// The Jupyter kernel's parts that need no Jupyter: the wire format and its signatures, the
/// connection file, the kernelspec, and `lab convert`. (The kernel itself is tested from outside,
/// through Jupyter's own client: Tests/Jupyter/test_kernel.py.)
@Suite("Jupyter kernel") struct KernelTests {
    /// RFC 4231, test case 2.
    @Test func hmacIsTheStandardOne() {
        let digest = hmacSHA256Hex(key: Data("Jefe".utf8), [Data("what do ya want ".utf8), Data("for nothing?".utf8)])
        #expect(digest == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        #expect(hmacSHA256Hex(key: Data(), [Data("x".utf8)]) == "", "no key: no signature, as Jupyter does")
    }

    @Test func messagesRoundTripAndABadOneIsRefused() throws {
        let wire = Wire(key: Data("secret".utf8))
        let m = JupyterMessage(
            identities: [Data("client".utf8)], header: jupyterHeader("execute_request", session: "s"), parentHeader: [:],
            content: ["code": "step 3", "silent": false])
        var frames = try wire.encode(m)
        let back = try wire.decode(frames)
        #expect(back.type == "execute_request" && back.content["code"] as? String == "step 3" && back.identities == m.identities)
        // A changed content frame no longer matches its signature.
        frames[frames.count - 1] = Data(#"{"code": "let hacked = 1"}"#.utf8)
        #expect(throws: WireError.badSignature) { try wire.decode(frames) }
        // Signed with another key.
        #expect(throws: WireError.badSignature) { try Wire(key: Data("other".utf8)).decode(try wire.encode(m)) }
        #expect(throws: WireError.noDelimiter) { try wire.decode([Data("a".utf8), Data("b".utf8)]) }
        #expect(throws: WireError.tooFewFrames) { try wire.decode([Wire.delimiter, Data(), Data("{}".utf8)]) }
        // Correctly signed but not JSON objects, or nested past any message of the protocol.
        for bad in ["[1, 2]", "not json", String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)] {
            let parts = [Data("{}".utf8), Data("{}".utf8), Data("{}".utf8), Data(bad.utf8)]
            let signed = [Wire.delimiter, Data(hmacSHA256Hex(key: wire.key, parts).utf8)] + parts
            #expect(throws: WireError.badJSON("content")) { try wire.decode(signed) }
        }
    }

    @Test func aBadConnectionFileIsOneLineThatNamesTheProblem() throws {
        let dir = Paths.temporaryDirectory()
        let cases: [(String?, String)] = [
            (nil, "cannot read the connection file"),
            ("{not json", "is not a JSON object"),
            (#"{"shell_port": 1, "control_port": 2, "stdin_port": 3, "iopub_port": 4}"#, "no valid hb_port"),
            (#"{"shell_port": 1, "control_port": 2, "stdin_port": 3, "iopub_port": 4, "hb_port": 99999}"#, "no valid hb_port"),
            (
                #"{"shell_port": 1, "control_port": 2, "stdin_port": 3, "iopub_port": 4, "hb_port": 5, "signature_scheme": "hmac-md5"}"#,
                "only hmac-sha256"
            ),
        ]
        for (i, (text, message)) in cases.enumerated() {
            let path = dir + "/c\(i).json"
            if let text { try Data(text.utf8).write(to: URL(fileURLWithPath: path)) }
            do {
                _ = try ConnectionInfo(file: path)
                Issue.record("\(text ?? "no file") was accepted")
            } catch {
                #expect("\(error)".contains(message) && !"\(error)".contains("\n"), "\(error)")
            }
        }
    }

    @Test func theKernelspecStartsThisBinaryWithInterruptsAsMessages() throws {
        let prefix = Paths.temporaryDirectory()
        let dir = try KernelSpec.install(.prefix(prefix), binary: "/opt/lab/bin/lab")
        #expect(dir == prefix + "/share/jupyter/kernels/nstlab")
        let spec = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/kernel.json"))) as? [String: Any])
        #expect(spec["argv"] as? [String] == ["/opt/lab/bin/lab", "kernel", "-f", "{connection_file}"])
        #expect(spec["interrupt_mode"] as? String == "message" && spec["language"] as? String == "nstlab")
        for size in [32, 64] {
            let logo = try RGBImage.load(dir + "/logo-\(size)x\(size).png")
            #expect(logo.width == size && logo.height == size)
        }
        #expect(try KernelSpec.uninstall(.prefix(prefix)) == dir)
        #expect(!FileManager.default.fileExists(atPath: dir))
        #expect(throws: SessionError.self) { try KernelSpec.uninstall(.prefix(prefix)) }
    }

    /// A lesson as a notebook: prose and cells in order, the solution (collapsed) before its check so
    /// that Run All passes, the kernelspec; and back to Markdown with every command.
    @Test func aLessonBecomesANotebookAndComesBack() throws {
        let path = Paths.repo + "/lessons/16-invent-a-loss.md"
        let lesson = try Lesson(path: path)
        let data = try NotebookConversion.notebook(fromMarkdown: String(contentsOfFile: path, encoding: .utf8))
        let root = try #require(JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(((root["metadata"] as? [String: Any])?["kernelspec"] as? [String: Any])?["name"] as? String == "nstlab")
        let cells = try #require(root["cells"] as? [[String: Any]])
        let ids = cells.compactMap { $0["id"] as? String }
        #expect(Set(ids).count == cells.count, "cell ids are unique")
        let code = cells.filter { $0["cell_type"] as? String == "code" }
        func tags(_ c: [String: Any]) -> [String] { (c["metadata"] as? [String: Any])?["tags"] as? [String] ?? [] }
        let solution = try #require(code.firstIndex { tags($0).contains("solution") })
        #expect(tags(code[solution + 1]).contains("check"), "the check follows its solution")
        #expect(((code[solution]["metadata"] as? [String: Any])?["jupyter"] as? [String: Any])?["source_hidden"] as? Bool == true)
        #expect(code.count == lesson.cells.count)
        // Every <details> a Markdown cell opens, it closes.
        for c in cells where c["cell_type"] as? String == "markdown" {
            let text = (c["source"] as? [String] ?? []).joined()
            #expect(text.components(separatedBy: "<details").count == text.components(separatedBy: "</details>").count, "\(text.prefix(200))")
        }
        let back = try NotebookConversion.markdown(fromNotebook: data)
        let again = try Lesson(path: "back.md", markdown: back)
        #expect(again.cells.flatMap(\.commands).sorted() == lesson.cells.flatMap(\.commands).sorted())
        #expect(again.cells.filter { $0.kind == .check }.count == lesson.cells.filter { $0.kind == .check }.count)
    }

    @Test func convertRefusesWhatItCannotConvert() throws {
        let dir = Paths.temporaryDirectory()
        try Data("{}".utf8).write(to: URL(fileURLWithPath: dir + "/empty.ipynb"))
        try Data("x".utf8).write(to: URL(fileURLWithPath: dir + "/a.txt"))
        for (input, output, message) in [
            (dir + "/a.txt", dir + "/b.ipynb", "turns .md into .ipynb"), (dir + "/empty.ipynb", dir + "/b.md", "not a Jupyter notebook"),
            (dir + "/missing.md", dir + "/b.ipynb", "cannot read"),
        ] {
            do {
                try NotebookConversion.convert(input, to: output)
                Issue.record("\(input) was converted")
            } catch {
                #expect("\(error)".contains(message), "\(error)")
            }
            #expect(!FileManager.default.fileExists(atPath: output))
        }
    }
}
