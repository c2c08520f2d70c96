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
        .library(name: "ParleySQLite", targets: ["ParleySQLite"]),
        .library(name: "ParleyPostgres", targets: ["ParleyPostgres"]),
        .library(name: "ParleyRuntime", targets: ["ParleyRuntime"]),
        .library(name: "ParleyDelivery", targets: ["ParleyDelivery"]),
        .library(name: "ParleyEndpoints", targets: ["ParleyEndpoints"]),
        .library(name: "ParleyServer", targets: ["ParleyServer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
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
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ParleySQLite",
            dependencies: [
                "ParleyStore",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ParleyPostgres",
            dependencies: [
                "ParleyStore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ParleyRuntime",
            dependencies: [
                "ParleyFlows",
                "ParleyEngine",
                "ParleyScript",
                "ParleyStore",
                .product(name: "Yams", package: "Yams"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ParleyDelivery",
            dependencies: [
                "ParleyFlows",
                "ParleyRuntime",
                "ParleyStore",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ParleyEndpoints",
            dependencies: [
                "ParleyRuntime", "ParleyEngine", "ParleyFlows", "ParleyStore", "ParleyScript",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ParleyServer",
            dependencies: [
                "ParleyEndpoints",
                "ParleyDelivery",
                "ParleyRuntime",
                "ParleyEngine",
                "ParleyFlows",
                "ParleyScript",
                "ParleyStore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            resources: [.copy("Resources")],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "parley",
            dependencies: [
                "ParleyServer",
                "ParleyDelivery",
                "ParleyEndpoints",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                "ParleyRuntime",
                "ParleyStore",
                "ParleySQLite",
                "ParleyPostgres",
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
            path: "Benchmarks/engine-turns",
            exclude: ["run.sh"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "parley-runtime-bench",
            dependencies: ["ParleyRuntime", "ParleyStore", "ParleySQLite", "ParleyEngine", "ParleyFlows"],
            path: "Benchmarks/runtime-turns",
            exclude: ["run.sh", "bare_sqlite.py"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "parley-outbox-bench",
            dependencies: ["ParleyStore", "ParleySQLite"],
            path: "Benchmarks/outbox-drain",
            exclude: ["run.sh"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "parley-effect-bench",
            dependencies: [
                "ParleyEngine", "ParleyFlows", "ParleyRuntime",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Benchmarks/effect-calls",
            exclude: ["run.sh"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "parley-crash-drill",
            dependencies: ["ParleyRuntime", "ParleyStore", "ParleySQLite", "ParleyEngine", "ParleyFlows", "ParleyTestSupport"],
            path: "Tests/CrashDrill",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ParleyFlowsTests",
            dependencies: ["ParleyFlows", "ParleyScript", "ParleyTestRandom"],
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
            dependencies: ["ParleyEngine", "ParleyFlows", "ParleyScript", "ParleyTestRandom"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ParleyRuntimeTests",
            dependencies: [
                "ParleyRuntime", "ParleyStore", "ParleySQLite", "ParleyEngine", "ParleyFlows", "ParleyTestRandom", "ParleyTestSupport",
                "parley-crash-drill",
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ParleyTestRandom",
            path: "Tests/ParleyTestRandom",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ParleyTestSupport",
            dependencies: [
                "ParleyEngine", "ParleyFlows", "ParleyRuntime",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/ParleyTestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ParleyDeliveryTests",
            dependencies: [
                "ParleyDelivery", "ParleyRuntime", "ParleyStore", "ParleySQLite", "ParleyTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ParleyServerTests",
            dependencies: [
                "ParleyServer", "ParleyEndpoints", "ParleyDelivery", "ParleyRuntime", "ParleyStore", "ParleySQLite", "ParleyPostgres", "ParleyEngine",
                "ParleyFlows",
                "parley", "ParleyTestSupport", "ParleyTestRandom",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ParleyStoreTests",
            dependencies: [
                "ParleyStore", "ParleySQLite", "ParleyPostgres",
                .product(name: "Logging", package: "swift-log"), .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // The channels' pure mappings, without the server: this target must not depend on Hummingbird.
        .testTarget(
            name: "ParleyEndpointsTests",
            dependencies: ["ParleyEndpoints", "ParleyRuntime", "ParleyEngine", "ParleyFlows", "ParleyStore", "ParleyScript"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ParleyScriptTests",
            dependencies: ["ParleyScript", "ParleyFlows"],
            swiftSettings: swiftSettings
        ),
    ]
)
