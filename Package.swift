// swift-tools-version:6.0
import PackageDescription

// The hot loops rely on fused multiply-add. Without a target CPU, Swift lowers
// SIMD `addingProduct` to one scalar `fmaf` call per lane (docs/MEASURED.md), so
// the compute targets are built for the machine they run on.
let nativeCPU: [SwiftSetting] = [.unsafeFlags(["-target-cpu", "native"])]
// Tests run in release builds (debug Swift is far too slow for the numerics) and
// still reach internal helpers through @testable.
let testable: [SwiftSetting] = [.unsafeFlags(["-enable-testing"])]

let package = Package(
    name: "NSTLab",
    products: [
        .library(name: "Kernels", targets: ["Kernels"]),
        .library(name: "Lab", targets: ["Lab"]),
        .executable(name: "lab", targets: ["LabCLI"]),
        .executable(name: "kernels-bench", targets: ["KernelsBench"]),
    ],
    dependencies: [
        // The lab binary's command line: subcommands, generated --help, --version, completion scripts.
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2")
    ],
    targets: [
        .target(name: "Kernels", swiftSettings: nativeCPU + testable),
        // libpng and libjpeg(-turbo) behind a small C shim that turns their longjmp errors into return codes.
        // Ctrl-C as one process-wide flag, read by the shell, readline and the image decoders.
        .target(name: "CSignals"),
        .target(name: "CImageIO", dependencies: ["CSignals"], linkerSettings: [.linkedLibrary("png16"), .linkedLibrary("jpeg")]),
        // Cairo for plots with axes and labelled pictures (text, antialiased lines).
        .systemLibrary(name: "CCairo", pkgConfig: "cairo", providers: [.apt(["libcairo2-dev"])]),
        // libchafa: pictures in the terminal as kitty, iTerm2 or sixel graphics (glib kept inside the shim).
        .systemLibrary(name: "Chafa", pkgConfig: "chafa", providers: [.apt(["libchafa-dev"])]),
        .target(name: "CChafa", dependencies: ["Chafa"]),
        // The Jupyter kernel: ZeroMQ sockets and OpenSSL's HMAC-SHA256, behind a small shim.
        .target(name: "CJupyter", linkerSettings: [.linkedLibrary("zmq"), .linkedLibrary("crypto")]),
        .target(
            name: "Lab", dependencies: ["Kernels", "CImageIO", "CSignals", "CCairo", "CChafa", "CJupyter"],
            swiftSettings: nativeCPU + testable),
        // GNU readline (line editing, history, completion) for the interactive shell only.
        .target(name: "CLineEdit", dependencies: ["CSignals"], linkerSettings: [.linkedLibrary("readline")]),
        .executableTarget(
            name: "LabCLI", dependencies: ["Lab", "CLineEdit", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: nativeCPU),
        .executableTarget(name: "KernelsBench", dependencies: ["Kernels"], swiftSettings: nativeCPU),
        .testTarget(name: "KernelsTests", dependencies: ["Kernels"], swiftSettings: nativeCPU),
        .testTarget(name: "LabTests", dependencies: ["Lab"], exclude: ["Fixtures"], swiftSettings: nativeCPU),
    ]
)
