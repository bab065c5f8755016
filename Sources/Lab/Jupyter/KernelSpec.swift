import Foundation

// `lab kernel install`: the kernelspec Jupyter finds the kernel by — kernel.json (how to start
// this binary, its name, language, and that interrupts come as messages) and two logos, drawn here.

public enum KernelSpec {
    public static let name = "nstlab"

    /// Where the kernelspec goes: --user (Jupyter's data folder), --prefix DIR, or --sys-prefix (the
    /// Python environment's prefix, as `jupyter kernelspec install --sys-prefix`).
    public enum Location: Sendable {
        case user, prefix(String), sysPrefix
    }

    public static func folder(_ location: Location) throws -> String {
        let environment = ProcessInfo.processInfo.environment
        switch location {
        case .user:
            if let d = environment["JUPYTER_DATA_DIR"], !d.isEmpty { return d + "/kernels/" + name }
            let data = environment["XDG_DATA_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory() + "/.local/share"
            return data + "/jupyter/kernels/" + name
        case .prefix(let dir): return dir + "/share/jupyter/kernels/" + name
        case .sysPrefix:
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = ["python3", "-c", "import sys; print(sys.prefix)"]
            let pipe = Pipe()
            p.standardOutput = pipe
            try p.run()
            p.waitUntilExit()
            let prefix = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(
                in: .whitespacesAndNewlines)
            guard p.terminationStatus == 0, !prefix.isEmpty else { throw SessionError.invalid("--sys-prefix needs python3 (to ask for sys.prefix)") }
            return prefix + "/share/jupyter/kernels/" + name
        }
    }

    /// kernel.json: this binary, started with the connection file.
    public static func json(binary: String) throws -> Data {
        let spec: [String: Any] = [
            "argv": [binary, "kernel", "-f", "{connection_file}"], "display_name": "NST Lab", "language": "nstlab",
            "interrupt_mode": "message", "metadata": ["debugger": false],
        ]
        return try JSONSerialization.data(withJSONObject: spec, options: [.prettyPrinted, .sortedKeys])
    }

    /// Writes the kernelspec; returns its folder.
    @discardableResult
    public static func install(_ location: Location, binary: String) throws -> String {
        let dir = try folder(location)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try AtomicFile.write(try json(binary: binary), to: dir + "/kernel.json")
        for size in [32, 64] { try logo(size).savePNG(dir + "/logo-\(size)x\(size).png") }
        return dir
    }

    public static func uninstall(_ location: Location) throws -> String {
        let dir = try folder(location)
        guard FileManager.default.fileExists(atPath: dir + "/kernel.json") else {
            throw SessionError.invalid("no NST Lab kernel installed in \(dir)")
        }
        try FileManager.default.removeItem(atPath: dir)
        return dir
    }

    /// The logo: a brush stroke of three colours (content, style, result) under "NST".
    static func logo(_ size: Int) -> RGBImage {
        let s = Double(size)
        let canvas = Canvas(width: size, height: size, background: (28, 36, 64))
        let colours: [Canvas.Color] = [(240, 180, 60), (90, 160, 230), (230, 90, 110)]
        for (i, c) in colours.enumerated() {
            canvas.fill(s * (0.12 + 0.26 * Double(i)), s * 0.62, s * 0.24, s * 0.22, c)
        }
        canvas.text("NST", s / 2, s * 0.48, size: s * 0.36, (250, 250, 250), align: .center, bold: true)
        return canvas.image
    }
}
