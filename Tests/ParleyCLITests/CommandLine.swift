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
        /// True when the command did not end within the timeout and was killed.
        var timedOut = false
    }

    /// Runs the binary; a command still running after `timeout` seconds is killed and reported as timed out.
    static func run(_ arguments: [String], stdin: String? = nil, directory: URL = repositoryRoot, timeout: Double = 300) throws -> Output {
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
        let killed = Killed()
        let watchdog = DispatchWorkItem {
            guard process.isRunning else { return }
            killed.set()
            kill(process.processIdentifier, SIGKILL)
        }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: watchdog)
        // Standard input is written on its own thread: a large input must not wait for the output pipes to drain.
        let writer = Thread {
            if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
            try? input.fileHandleForWriting.close()
        }
        writer.start()
        let stderrData = Collected()
        let stderrReader = Thread { stderrData.set(err.fileHandleForReading.readDataToEndOfFile()) }
        stderrReader.start()
        let stdoutData = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        watchdog.cancel()
        while stderrData.get() == nil { usleep(1000) }
        return Output(
            status: process.terminationStatus,
            stdout: String(decoding: stdoutData, as: UTF8.self),
            stderr: String(decoding: stderrData.get() ?? Data(), as: UTF8.self),
            timedOut: killed.get()
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

/// A flag set from the watchdog's thread.
private final class Killed: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.withLock { value = true } }
    func get() -> Bool { lock.withLock { value } }
}

/// Standard error's bytes, read on their own thread.
private final class Collected: @unchecked Sendable {
    private let lock = NSLock()
    private var data: Data?
    func set(_ value: Data) { lock.withLock { data = value } }
    func get() -> Data? { lock.withLock { data } }
}
