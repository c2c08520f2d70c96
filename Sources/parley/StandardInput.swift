import Foundation

/// The lines of standard input, read with `read(2)` on a thread of their own: what `parley chat` and
/// `parley intents` consume.
///
/// Two reasons not to call the standard library's `readLine()` from a command:
/// - It retries `getline` while `errno` is `EINTR`, but `getline` at end of file returns -1 *without* setting
///   `errno`. JavaScriptCore interrupts the threads that run scripts with signals (its watchdog after a code-node
///   timeout, its garbage collector when it suspends threads), and a syscall they interrupt leaves `errno` at
///   `EINTR` on that thread. At the end of piped input `readLine()` then never returns: it spins at 100% CPU in
///   `getline`. Here `EINTR` is looked at only when `read` itself failed, so end of file always ends the lines.
/// - A blocking read on a Swift concurrency thread takes that thread away from every task (the runtime's turn
///   loop in `chat --store`, effects); the pool has as many threads as cores.
///
/// Lines end at `\n` (a `\r` before it is dropped, as `readLine()` does); a last line without one still counts.
/// Bytes that are not UTF-8 become U+FFFD. At most ``bufferedLines`` lines are read ahead of the consumer.
struct StandardInput: AsyncSequence {
    typealias Element = String

    /// How many lines the reader thread may read ahead of the consumer.
    static let bufferedLines = 256

    let fileDescriptor: Int32

    init(fileDescriptor: Int32 = STDIN_FILENO) {
        self.fileDescriptor = fileDescriptor
    }

    func makeAsyncIterator() -> Iterator {
        let (stream, continuation) = AsyncStream.makeStream(of: String.self)
        let space = DispatchSemaphore(value: Self.bufferedLines)
        let descriptor = fileDescriptor
        let thread = Thread {
            var reader = LineReader(fileDescriptor: descriptor)
            while let line = reader.next() {
                space.wait()
                continuation.yield(line)
            }
            continuation.finish()
        }
        thread.name = "parley.stdin"
        thread.start()
        return Iterator(lines: stream.makeAsyncIterator(), space: space)
    }

    struct Iterator: AsyncIteratorProtocol {
        var lines: AsyncStream<String>.Iterator
        let space: DispatchSemaphore

        mutating func next() async -> String? {
            let line = await lines.next()
            if line != nil { space.signal() }
            return line
        }
    }
}

/// Splits what a file descriptor delivers into lines, blocking in `read(2)`.
struct LineReader {
    let fileDescriptor: Int32
    private var buffer: [UInt8] = []
    private var start = 0
    private var ended = false

    init(fileDescriptor: Int32) {
        self.fileDescriptor = fileDescriptor
    }

    /// The next line, or `nil` at end of input (or on a read error other than `EINTR`).
    mutating func next() -> String? {
        while true {
            if let newline = buffer[start...].firstIndex(of: UInt8(ascii: "\n")) {
                var end = newline
                if end > start, buffer[end - 1] == UInt8(ascii: "\r") { end -= 1 }
                let line = String(decoding: buffer[start..<end], as: UTF8.self)
                start = newline + 1
                return line
            }
            if ended {
                guard start < buffer.count else { return nil }
                let line = String(decoding: buffer[start...], as: UTF8.self)
                start = buffer.count
                return line
            }
            if start > 0 {
                buffer.removeFirst(start)
                start = 0
            }
            fill()
        }
    }

    private mutating func fill() {
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fileDescriptor, $0.baseAddress, $0.count) }
            if count > 0 {
                buffer += chunk[0..<count]
                return
            }
            // errno means something only when read itself failed; EINTR from a signal is retried.
            if count < 0, errno == EINTR { continue }
            ended = true
            return
        }
    }
}
