// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "Parley",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "parley", targets: ["parley"]),
        .library(name: "ParleyFlows", targets: ["ParleyFlows"]),
        .library(name: "ParleyScript", targets: ["ParleyScript"]),
        .library(name: "ParleyEngine", targets: ["ParleyEngine"]),
        .library(name: "ParleyStore", targets: ["ParleyStore"]),
        .library(name: "ParleyRuntime", targets: ["ParleyRuntime"]),
    ],
    dependencies: [
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CJavaScriptCore",
            pkgConfig: "javascriptcoregtk-4.1",
            providers: [.apt(["libjavascriptcoregtk-4.1-dev"])]
        ),
        .target(
            name: "ParleyFlows",
            dependencies: [
                .product(name: "Yams", package: "Yams"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ParleyScript",
            dependencies: ["CJavaScriptCore", "ParleyFlows"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ParleyEngine",
            dependencies: [
                "ParleyFlows",
                "ParleyScript",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ParleyStore",
            dependencies: [
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ParleyRuntime",
            dependencies: [
                "ParleyFlows",
                "ParleyEngine",
                "ParleyStore",
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "parley",
            dependencies: [
                "ParleyRuntime",
                "ParleyStore",
                "ParleyFlows",
                "ParleyScript",
                "ParleyEngine",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "parley-bench",
            dependencies: ["ParleyEngine", "ParleyFlows"],
            path: "Benchmarks/EngineTurns",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "parley-runtime-bench",
            dependencies: ["ParleyRuntime", "ParleyStore", "ParleyEngine", "ParleyFlows"],
            path: "Benchmarks/RuntimeTurns",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "parley-crash-drill",
            dependencies: ["ParleyRuntime", "ParleyStore", "ParleyEngine", "ParleyFlows"],
            path: "Tests/CrashDrill",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ParleyFlowsTests",
            dependencies: ["ParleyFlows", "ParleyScript"],
            exclude: ["Fixtures"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ParleyCLITests",
            dependencies: ["parley", "ParleyFlows"],
            exclude: ["Snapshots"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ParleyEngineTests",
            dependencies: ["ParleyEngine", "ParleyFlows", "ParleyScript"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ParleyRuntimeTests",
            dependencies: ["ParleyRuntime", "ParleyStore", "ParleyEngine", "ParleyFlows", "parley-crash-drill"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ParleyStoreTests",
            dependencies: ["ParleyStore"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ParleyScriptTests",
            dependencies: ["ParleyScript", "ParleyFlows"],
            swiftSettings: swiftSettings
        ),
    ]
)
