import Foundation

/// Runs the built `parley` binary as a user would, from the repository root.
enum ParleyBinary {
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let snapshots = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Snapshots")

    /// The binary beside the test executable (SwiftPM builds it because this target depends on it).
    static var url: URL {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("parley")
        if FileManager.default.isExecutableFile(atPath: beside.path) { return beside }
        return repositoryRoot.appendingPathComponent(".build/debug/parley")
    }

    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func run(_ arguments: [String], stdin: String? = nil, directory: URL = repositoryRoot) throws -> Output {
        let process = Process()
        process.executableURL = url
        process.arguments = arguments
        process.currentDirectoryURL = directory
        let out = Pipe()
        let err = Pipe()
        let input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try input.fileHandleForWriting.close()
        let stdoutData = out.fileHandleForReading.readDataToEndOfFile()
        let stderrData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Output(
            status: process.terminationStatus,
            stdout: String(decoding: stdoutData, as: UTF8.self),
            stderr: String(decoding: stderrData, as: UTF8.self)
        )
    }

    /// Compares with `Snapshots/NAME`; `PARLEY_UPDATE_GOLDEN=1` rewrites it instead.
    static func snapshot(_ name: String) throws -> String {
        try String(contentsOf: snapshots.appendingPathComponent(name), encoding: .utf8)
    }

    static func record(_ text: String, as name: String) throws {
        if ProcessInfo.processInfo.environment["PARLEY_UPDATE_GOLDEN"] != nil {
            try text.write(to: snapshots.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
    }
}
