// swift-tools-version:6.0
import PackageDescription

// libFuzzer targets for NST Lab's parsers: images (through the C shim), the weights file, session
// archives, lessons and the shell's command line. A package of its own, so the main build never
// needs the fuzzer runtime. Built and run by ./run (see the README's "Fuzzing").
let package = Package(
    name: "NSTLabFuzz",
    dependencies: [.package(name: "NSTLab", path: "..")],
    targets: [
        .executableTarget(
            name: "LabFuzz",
            dependencies: [.product(name: "Lab", package: "NSTLab")],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        )
    ]
)
