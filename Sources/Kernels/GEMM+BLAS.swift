// The OpenBLAS backend: `cblas_sgemm`, loaded with dlopen at run time so the
// package builds and runs where OpenBLAS is not installed; then this backend
// says plainly that it is unavailable.

import Foundation

#if canImport(Glibc)
    import Glibc
#endif

public enum OpenBLAS {
    typealias SgemmFunction =
        @convention(c) (
            Int32, Int32, Int32, Int32, Int32, Int32, Float,
            UnsafePointer<Float>?, Int32, UnsafePointer<Float>?, Int32, Float,
            UnsafeMutablePointer<Float>?, Int32
        ) -> Void
    typealias SetThreadsFunction = @convention(c) (Int32) -> Void
    typealias CoreNameFunction = @convention(c) () -> UnsafePointer<CChar>?

    struct Library: @unchecked Sendable {
        let sgemm: SgemmFunction
        let setThreads: SetThreadsFunction?
        let coreName: CoreNameFunction?
        let path: String
    }

    static let candidates = ["libopenblas.so.0", "libopenblas.so", "libopenblasp.so.0"]

    private static let loaded: Result<Library, KernelError> = {
        chooseCoreTypeIfUnset()
        var reasons: [String] = []
        for name in candidates {
            guard let handle = dlopen(name, RTLD_NOW | RTLD_GLOBAL) else {
                reasons.append(String(cString: dlerror()))
                continue
            }
            guard let sym = dlsym(handle, "cblas_sgemm") else {
                reasons.append("\(name) has no cblas_sgemm")
                continue
            }
            let setThreads = dlsym(handle, "openblas_set_num_threads").map {
                unsafeBitCast($0, to: SetThreadsFunction.self)
            }
            let coreName = dlsym(handle, "openblas_get_corename").map {
                unsafeBitCast($0, to: CoreNameFunction.self)
            }
            return .success(
                Library(
                    sgemm: unsafeBitCast(sym, to: SgemmFunction.self),
                    setThreads: setThreads, coreName: coreName, path: name))
        }
        return .failure(
            .backendUnavailable(
                "OpenBLAS not found (install libopenblas0, e.g. apt-get install libopenblas-dev); tried \(candidates.joined(separator: ", "))"))
    }()

    static func load() -> Result<Library, KernelError> { loaded }

    public static var isAvailable: Bool {
        if case .success = loaded { return true }
        return false
    }

    /// The kernel family OpenBLAS picked for this CPU (e.g. "Haswell"), or why it is unavailable.
    public static var coreName: String {
        switch loaded {
        case .success(let lib):
            return lib.coreName?().map { String(cString: $0) } ?? "unknown"
        case .failure(let e):
            return e.description
        }
    }

    /// Debian 12's OpenBLAS 0.3.21 fails to recognise some recent CPUs and falls back to
    /// its generic "Prescott" kernels, 5× slower (measured; docs/MEASURED.md). Before the
    /// library loads, name a kernel family this CPU supports — unless the user already set one.
    static func chooseCoreTypeIfUnset() {
        guard getenv("OPENBLAS_CORETYPE") == nil,
            let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
            let flagsLine = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
        else { return }
        let flags = Set(flagsLine.split(separator: " ").map(String.init))
        if flags.contains("avx512f") && flags.contains("avx512bw") && flags.contains("avx512vl") {
            setenv("OPENBLAS_CORETYPE", "SkylakeX", 0)
        } else if flags.contains("avx2") && flags.contains("fma") {
            setenv("OPENBLAS_CORETYPE", "Haswell", 0)
        }
    }

    private static let threadLock = NSLock()
    nonisolated(unsafe) private static var currentThreads = 0

    static func setThreads(_ lib: Library, _ n: Int) {
        threadLock.lock()
        defer { threadLock.unlock() }
        if currentThreads != n, let set = lib.setThreads {
            set(Int32(n))
            currentThreads = n
        }
    }
}

func sgemmBLAS(
    transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
    a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, threads: Int
) {
    guard case .success(let lib) = OpenBLAS.load() else {
        preconditionFailure("sgemmBLAS called without OpenBLAS; callers check Compute.checkAvailable() first")
    }
    OpenBLAS.setThreads(lib, threads)
    let rowMajor: Int32 = 101, noTrans: Int32 = 111, trans: Int32 = 112
    lib.sgemm(
        rowMajor, transA ? trans : noTrans, transB ? trans : noTrans,
        Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}
