import CJupyter
import Foundation

// NST Lab as a Jupyter kernel: the shell's session behind Jupyter's sockets. A cell is run as the
// shell runs one (Notebook/Cell.swift): its text goes out as `stream`, its pictures as
// `display_data` (the PNG the shell wrote), its error as `error`. Threads: the main one executes
// requests from the shell socket; one answers the heartbeat; one serves the control socket, so that
// an interrupt reaches a long `run` (it sets the flag Ctrl-C sets, and the command stops at its next
// safe point with the session as it was after the last completed iteration).

public final class JupyterKernel: @unchecked Sendable {
    public static let languageVersion = "1.0"
    let connection: ConnectionInfo
    let wire: Wire
    let shell: Shell
    private let context = ZMQContext()
    private let shellSocket: ZMQSocket, control: ZMQSocket, stdin: ZMQSocket, iopub: ZMQSocket, heartbeat: ZMQSocket
    private let session = UUID().uuidString
    private var executionCount = 0
    private var history: [(count: Int, code: String, output: String)] = []
    private let stopping = SharedBool()
    /// Messages dropped (a bad signature or frame): counted, logged to stderr, never executed.
    private(set) var dropped = 0

    public init(connectionFile: String, shell: Shell) throws {
        connection = try ConnectionInfo(file: connectionFile)
        wire = Wire(key: connection.key)
        self.shell = shell
        shellSocket = try ZMQSocket(context, type: ZMQ_ROUTER)
        control = try ZMQSocket(context, type: ZMQ_ROUTER)
        stdin = try ZMQSocket(context, type: ZMQ_ROUTER)
        iopub = try ZMQSocket(context, type: ZMQ_PUB)
        heartbeat = try ZMQSocket(context, type: ZMQ_REP)
        try shellSocket.bind(connection.endpoint(connection.shellPort))
        try control.bind(connection.endpoint(connection.controlPort))
        try stdin.bind(connection.endpoint(connection.stdinPort))
        try iopub.bind(connection.endpoint(connection.iopubPort))
        try heartbeat.bind(connection.endpoint(connection.hbPort))
        // Pictures go out as PNGs; terminal graphics never reach Jupyter.
        shell.pictures = .off
    }

    /// Serves until a shutdown request.
    public func run() {
        let hb = heartbeat, stop = stopping
        let beat = Thread {
            while !stop.value {
                if hb.poll(milliseconds: 100), let frames = hb.receive() { try? hb.send(frames) }
            }
        }
        beat.start()
        let controlThread = Thread { [self] in
            while !stopping.value {
                if control.poll(milliseconds: 100), let frames = control.receive() { handle(frames, on: control) }
            }
        }
        controlThread.start()
        publish("status", ["execution_state": "starting"], parent: [:])
        while !stopping.value {
            if shellSocket.poll(milliseconds: 100), let frames = shellSocket.receive() { handle(frames, on: shellSocket) }
        }
        Thread.sleep(forTimeInterval: 0.2)  // the other threads see the flag and leave their sockets
        for s in [shellSocket, control, stdin, iopub, heartbeat] { s.close() }
    }

    // MARK: - Requests

    private func handle(_ frames: [Data], on socket: ZMQSocket) {
        let request: JupyterMessage
        do { request = try wire.decode(frames) } catch {
            dropped += 1
            FileHandle.standardError.write(Data("nstlab kernel: dropped a message: \(error)\n".utf8))
            return
        }
        publish("status", ["execution_state": "busy"], parent: request.header)
        defer { publish("status", ["execution_state": "idle"], parent: request.header) }
        let c = request.content
        switch request.type {
        case "kernel_info_request": reply(request, on: socket, "kernel_info_reply", kernelInfo)
        case "execute_request": reply(request, on: socket, "execute_reply", execute(request))
        case "complete_request": reply(request, on: socket, "complete_reply", complete(c["code"] as? String ?? "", c["cursor_pos"] as? Int))
        case "inspect_request": reply(request, on: socket, "inspect_reply", inspect(c["code"] as? String ?? "", c["cursor_pos"] as? Int))
        case "is_complete_request":
            let code = (c["code"] as? String ?? "").trimmingCharacters(in: .whitespacesAndNewlines.subtracting(.init(charactersIn: "\\")))
            reply(request, on: socket, "is_complete_reply", code.hasSuffix("\\") ? ["status": "incomplete", "indent": ""] : ["status": "complete"])
        case "history_request": reply(request, on: socket, "history_reply", historyReply(c))
        case "comm_info_request": reply(request, on: socket, "comm_info_reply", ["status": "ok", "comms": [String: Any]()])
        case "interrupt_request":
            shell.interruption.interrupt()
            reply(request, on: socket, "interrupt_reply", ["status": "ok"])
        case "shutdown_request":
            reply(request, on: socket, "shutdown_reply", ["status": "ok", "restart": c["restart"] as? Bool ?? false])
            shell.interruption.interrupt()
            stopping.value = true
        case "comm_open", "comm_msg", "comm_close": break  // no comms: politely ignored
        default:
            FileHandle.standardError.write(Data("nstlab kernel: no handler for \(request.type)\n".utf8))
        }
    }

    var kernelInfo: JSONObject {
        [
            "status": "ok", "protocol_version": "5.3", "implementation": "nstlab", "implementation_version": NSTLabVersion.current,
            "language_info": [
                "name": "nstlab", "version": Self.languageVersion, "mimetype": "text/x-nstlab", "file_extension": ".nstlab",
                "pygments_lexer": "text",
            ],
            "banner": "NST Lab \(NSTLabVersion.current) — neural style transfer one step at a time (help lists the commands)",
            "help_links": [["text": "NST Lab README", "url": "file://" + ProjectFiles.locate("README.md")]],
        ]
    }

    private func execute(_ request: JupyterMessage) -> JSONObject {
        let c = request.content
        let code = c["code"] as? String ?? ""
        let silent = c["silent"] as? Bool ?? false
        let store = (c["store_history"] as? Bool ?? true) && !silent
        if store { executionCount += 1 }
        if store { history.append((executionCount, code, "")) }
        if !silent { publish("execute_input", ["code": code, "execution_count": executionCount], parent: request.header) }
        let parent = request.header
        // `help CMD` and `CMD?` alone in a cell: the help goes to the pager.
        let commands = Shell.commands(ofCell: code)
        if commands.count == 1, let page = helpRequest(commands[0]) {
            let r = shell.run(cell: page)
            let text = r.outputs.compactMap { if case .text(let t) = $0 { return t } else { return nil } }.joined()
            if !r.failed {
                return [
                    "status": "ok", "execution_count": executionCount, "user_expressions": [String: Any](),
                    "payload": [["source": "page", "data": ["text/plain": text], "start": 0]],
                ]
            }
        }
        var progress: (id: String, text: String)? = nil
        var error: String? = nil, interrupted = false
        let stopOnError = c["stop_on_error"] as? Bool ?? true
        var outputs: [String] = []
        for command in commands {
            // A value (`print EXPR`, or a line that is an expression) is the cell's result, as in IPython.
            let isValue = shell.printsValue(command)
            var value = ""
            // A refusal inside `expect error CMD` is printed as an error line but is what the check wants:
            // the cell fails only if its command did.
            var commandError: String? = nil
            let r = shell.run(cell: command) { [self] output in
                guard !silent else { return }
                switch output {
                case .text(let text):
                    if isValue {
                        value += text
                    } else if text.hasPrefix("iteration ") {
                        // `run`'s iterations: one display, updated in place.
                        if let p = progress {
                            progress!.text = p.text + text
                            publish(
                                "update_display_data",
                                ["data": ["text/plain": progress!.text], "metadata": [String: Any](), "transient": ["display_id": p.id]],
                                parent: parent)
                        } else {
                            progress = (UUID().uuidString, text)
                            publish(
                                "display_data",
                                ["data": ["text/plain": text], "metadata": [String: Any](), "transient": ["display_id": progress!.id]],
                                parent: parent)
                        }
                    } else {
                        outputs.append(text)
                        publish("stream", ["name": "stdout", "text": text], parent: parent)
                    }
                case .picture(let path, let caption, let width, _):
                    guard let png = FileManager.default.contents(atPath: path) else { return }
                    publish(
                        "display_data",
                        ["data": ["image/png": png.base64EncodedString(), "text/plain": caption], "metadata": ["image/png": ["width": width]]],
                        parent: parent)
                case .error(let line): commandError = line
                }
            }
            if r.failed { error = commandError ?? "error: \(command)" }
            if isValue, !r.failed, !silent {
                let text = value.hasSuffix("\n") ? String(value.dropLast()) : value
                outputs.append(text)
                publish(
                    "execute_result", ["execution_count": executionCount, "data": ["text/plain": text], "metadata": [String: Any]()], parent: parent)
            }
            // After `run`: its loss curve, as the shell's terminal would have it at the end.
            if command.hasPrefix("run "), !silent, r.commandsRun == 1, !r.failed || r.interrupted,
                case .picture(let path, let caption, let width, _)? = try? shell.lossPlot(),
                let png = FileManager.default.contents(atPath: path)
            {
                publish(
                    "display_data",
                    ["data": ["image/png": png.base64EncodedString(), "text/plain": caption], "metadata": ["image/png": ["width": width]]],
                    parent: parent)
            }
            if r.interrupted {
                interrupted = true
                break
            }
            if r.failed && stopOnError { break }
        }
        if store { history[history.count - 1].output = outputs.joined() }
        if interrupted || error != nil {
            let ename = interrupted ? "KeyboardInterrupt" : "LabError"
            var evalue = "interrupted; the session is as it was after the last completed step"
            if !interrupted, let e = error {
                let line = e.trimmingCharacters(in: .whitespacesAndNewlines)
                evalue = line.hasPrefix("error: ") ? String(line.dropFirst(7)) : line
            }
            let traceback = [evalue]
            if !silent { publish("error", ["ename": ename, "evalue": evalue, "traceback": traceback], parent: parent) }
            return ["status": "error", "execution_count": executionCount, "ename": ename, "evalue": evalue, "traceback": traceback]
        }
        return ["status": "ok", "execution_count": executionCount, "user_expressions": [String: Any](), "payload": [Any]()]
    }

    /// `help CMD` or `CMD?` → the help command to page.
    private func helpRequest(_ line: String) -> String? {
        if line.hasPrefix("help ") || line == "help" { return line }
        if line.hasSuffix("?"), !line.dropLast().contains(" "), line.count > 1 { return "help " + line.dropLast() }
        return nil
    }

    /// The word at the cursor and where it starts, as the shell's completion sees it.
    private func wordAtCursor(_ code: String, _ cursor: Int?) -> (before: String, word: String, start: Int, end: Int) {
        let scalars = Array(code.unicodeScalars)
        let end = min(max(0, cursor ?? scalars.count), scalars.count)
        let lineStart = scalars[..<end].lastIndex(of: "\n").map { $0 + 1 } ?? 0
        var start = end
        while start > lineStart, !" \t(,=".unicodeScalars.contains(scalars[start - 1]) { start -= 1 }
        let text = { (r: Range<Int>) in String(String.UnicodeScalarView(scalars[r])) }
        return (text(lineStart..<start), text(start..<end), start, end)
    }

    private func complete(_ code: String, _ cursor: Int?) -> JSONObject {
        let w = wordAtCursor(code, cursor)
        let matches = shell.completions(word: w.word, before: w.before)
        return ["status": "ok", "matches": matches, "cursor_start": w.start, "cursor_end": w.end, "metadata": [String: Any]()]
    }

    private func inspect(_ code: String, _ cursor: Int?) -> JSONObject {
        let scalars = Array(code.unicodeScalars)
        var (start, end) = (min(max(0, cursor ?? scalars.count), scalars.count), min(max(0, cursor ?? scalars.count), scalars.count))
        let isWord = { (u: Unicode.Scalar) in CharacterSet.alphanumerics.contains(u) || u == "_" }
        while start > 0, isWord(scalars[start - 1]) { start -= 1 }
        while end < scalars.count, isWord(scalars[end]) { end += 1 }
        let word = String(String.UnicodeScalarView(scalars[start..<end]))
        guard CommandTable.find(word) != nil || ExpressionFunctions.named(word) != nil else {
            return ["status": "ok", "found": false, "data": [String: Any](), "metadata": [String: Any]()]
        }
        let text: String
        if let f = ExpressionFunctions.named(word), CommandTable.find(word) == nil {
            text = "\(f.usage) — \(f.summary)"
        } else {
            text = shell.run(cell: "help \(word)").outputs.compactMap { if case .text(let t) = $0 { return t } else { return nil } }.joined()
        }
        return ["status": "ok", "found": true, "data": ["text/plain": text], "metadata": [String: Any]()]
    }

    /// tail (the last n), range (lines start..<stop), search (a glob; unique keeps the last of each).
    private func historyReply(_ c: JSONObject) -> JSONObject {
        var items = history
        switch c["hist_access_type"] as? String {
        case "range":
            let start = c["start"] as? Int ?? 0, stop = c["stop"] as? Int ?? Int.max
            items = items.filter { $0.count >= start && $0.count < stop }
        case "search":
            let pattern = c["pattern"] as? String ?? "*"
            items = items.filter { fnmatch(pattern, $0.code, 0) == 0 }
            if c["unique"] as? Bool == true {
                var seen = Set<String>()
                items = items.reversed().filter { seen.insert($0.code).inserted }.reversed()
            }
        default: break
        }
        if let n = c["n"] as? Int, n >= 0, c["hist_access_type"] as? String != "range" { items = Array(items.suffix(n)) }
        let withOutput = c["output"] as? Bool ?? false
        return ["status": "ok", "history": items.map { [0, $0.count, withOutput ? [$0.code, $0.output] as Any : $0.code] as [Any] }]
    }

    // MARK: - Sending

    private func reply(_ request: JupyterMessage, on socket: ZMQSocket, _ type: String, _ content: JSONObject) {
        let m = JupyterMessage(
            identities: request.identities, header: jupyterHeader(type, session: session), parentHeader: request.header, content: content)
        if let frames = try? wire.encode(m) { try? socket.send(frames) }
    }

    private func publish(_ type: String, _ content: JSONObject, parent: JSONObject) {
        let m = JupyterMessage(identities: [Data(type.utf8)], header: jupyterHeader(type, session: session), parentHeader: parent, content: content)
        if let frames = try? wire.encode(m) { try? iopub.send(frames) }
    }
}

/// A flag two threads share.
final class SharedBool: @unchecked Sendable {
    private let lock = NSLock()
    private var stored = false
    var value: Bool {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
}
