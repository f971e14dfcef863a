// swift-tools-version: 6.0
import PackageDescription

/// OpenCV 4.6 on Debian keeps its headers under opencv4/; a root package may name the path.
let openCVInclude: [CXXSetting] = [.unsafeFlags(["-I/usr/include/opencv4"])]

let package = Package(
    name: "Reins",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "reins", targets: ["reins"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
    ],
    targets: [
        // C libraries, each behind a module map; shims wrap the macros Swift cannot import.
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS"),
        .systemLibrary(name: "CNcurses", path: "Sources/CNcurses"),
        .systemLibrary(name: "CHDF5", path: "Sources/CHDF5"),
        .systemLibrary(name: "CSerialPort", path: "Sources/CSerialPort"),
        .systemLibrary(name: "CVideo4Linux", path: "Sources/CVideo4Linux"),
        .target(
            name: "CMuJoCo",
            linkerSettings: [.linkedLibrary("mujoco")]
        ),
        .target(
            name: "COpenCV",
            cxxSettings: openCVInclude,
            linkerSettings: ["opencv_core", "opencv_imgproc", "opencv_imgcodecs", "opencv_videoio"]
                .map { .linkedLibrary($0) }
        ),
        .target(name: "CTerminal"),
        .target(name: "CRawEthernet"),
        .target(name: "CAllocationCounter"),
        // Without errno, sqrtf is one instruction and the kernels' loops vectorise.
        .target(name: "CKernels", cSettings: [.unsafeFlags(["-fno-math-errno"])]),
        .target(
            name: "CGLOffscreen",
            linkerSettings: [.linkedLibrary("dl")]
        ),

        // Swift modules; DESIGN.md says who may import whom. Each depends on what it uses today.
        .target(name: "ReinsCore", dependencies: [.product(name: "Yams", package: "Yams")]),
        .target(name: "ReinsHardware", dependencies: ["ReinsCore", "CSerialPort", "CVideo4Linux", "COpenCV", "CRawEthernet"]),
        .target(name: "ReinsSim", dependencies: ["ReinsCore", "ReinsHardware", "CMuJoCo", "CGLOffscreen"]),
        .target(name: "ReinsControl", dependencies: [
            "ReinsCore", .product(name: "Histogram", package: "hdrhistogram-swift"),
        ]),
        .target(name: "ReinsNN", dependencies: ["CBLAS", "CKernels"]),
        .target(name: "ReinsLearn", dependencies: ["ReinsCore", "ReinsNN"]),
        .target(name: "ReinsData", dependencies: ["ReinsCore", "CHDF5", "COpenCV"]),
        .target(name: "ReinsTraining", dependencies: ["ReinsCore", "ReinsControl", "ReinsLearn", "ReinsNN", "ReinsData"]),
        .target(name: "ReinsConsole", dependencies: ["CNcurses", "CTerminal", "ReinsCore", "ReinsControl"]),
        .executableTarget(
            name: "reins",
            dependencies: [
                "ReinsCore", "ReinsHardware", "ReinsSim", "ReinsNN", "ReinsLearn", "ReinsData", "ReinsConsole", "ReinsControl", "ReinsTraining", "CNcurses", "CAllocationCounter",
                .product(name: "ArgumentParser", package: "swift-argument-parser"), .product(name: "Histogram", package: "hdrhistogram-swift"),
            ]
        ),

        .testTarget(name: "ReinsCoreTests", dependencies: ["ReinsCore"]),
        .testTarget(name: "ReinsHardwareTests", dependencies: ["ReinsHardware", "ReinsCore"]),
        .testTarget(name: "ReinsSimTests", dependencies: ["ReinsSim", "ReinsHardware", "ReinsCore", "ReinsData"]),
        .testTarget(name: "ReinsControlTests", dependencies: ["ReinsControl", "ReinsCore", "ReinsSim", "ReinsHardware", "ReinsData", "ReinsTraining", "CAllocationCounter"]),
        .testTarget(name: "ReinsNNTests", dependencies: ["ReinsNN", "ReinsCore", "CKernels"]),
        .testTarget(name: "ReinsLearnTests", dependencies: ["ReinsLearn", "ReinsNN", "ReinsCore"]),
        .testTarget(name: "ReinsDataTests", dependencies: ["ReinsData"]),
        .testTarget(name: "ReinsTrainingTests", dependencies: ["ReinsTraining", "ReinsLearn", "ReinsData", "ReinsControl", "ReinsCore"]),
        .testTarget(name: "ReinsToolTests", dependencies: ["reins", "ReinsData"]),
    ],
    swiftLanguageModes: [.v6]
)
