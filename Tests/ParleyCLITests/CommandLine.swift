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

/// The sample orders API (`Samples/orders_api.py`) on a free loopback port, for commands whose flows call it.
final class SampleOrdersAPI {
    let process: Process
    let port: Int

    private init(process: Process, port: Int) {
        self.process = process
        self.port = port
    }

    static func start() throws -> SampleOrdersAPI {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", ParleyBinary.repositoryRoot.appendingPathComponent("Samples/orders_api.py").path, "0"]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        var text = ""
        while !text.contains("/api/orders/") {
            let data = errors.fileHandleForReading.availableData
            guard !data.isEmpty else { break }
            text += String(decoding: data, as: UTF8.self)
        }
        guard let range = text.range(of: "http://127.0.0.1:"), let port = Int(text[range.upperBound...].prefix(while: \.isNumber)) else {
            process.terminate()
            throw ParleyBinaryError(message: "the sample orders API did not start: \(text)")
        }
        return SampleOrdersAPI(process: process, port: port)
    }

    /// A deployment in `folder` whose `orders` connection is this API (and whose model connection answers nothing).
    func writeConfiguration(to folder: URL, store: String = "sqlite:state/parley.sqlite") throws -> String {
        let flows = ParleyBinary.repositoryRoot.appendingPathComponent("Flows").path
        let text = """
            store: "\(store)"
            flows: \(flows)
            endpoints: []
            connections:
              orders: { type: http, url: "http://127.0.0.1:\(port)/api", headers: { Authorization: "Bearer sample-orders-token" } }
              assistant: { type: openai, url: "http://127.0.0.1:9/v1", model: test-model, timeoutMs: 2000 }
            """
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let file = folder.appendingPathComponent("parley.yaml")
        try text.write(to: file, atomically: true, encoding: .utf8)
        return file.path
    }

    /// SIGKILL: a child started from a test's thread inherits that thread's blocked signals, SIGTERM among them.
    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}

struct ParleyBinaryError: Error {
    var message: String
}
