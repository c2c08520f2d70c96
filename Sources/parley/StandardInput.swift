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
/// Bytes that are not UTF-8 become U+FFFD.
///
/// The reader thread hands lines over in batches — every complete line one `read(2)` delivered — so a scripted
/// conversation of thousands of lines costs a few thread wake-ups, not two per line (issue 14: the per-line
/// hand-off was a quarter of `parley chat`'s time). At most ``bufferedBatches`` batches are read ahead of the
/// consumer; a person typing gets a batch of one line per line.
struct StandardInput: AsyncSequence {
    typealias Element = String

    /// How many batches the reader thread may read ahead of the consumer.
    static let bufferedBatches = 4

    let fileDescriptor: Int32

    init(fileDescriptor: Int32 = STDIN_FILENO) {
        self.fileDescriptor = fileDescriptor
    }

    func makeAsyncIterator() -> Iterator {
        let (stream, continuation) = AsyncStream.makeStream(of: [String].self)
        let space = DispatchSemaphore(value: Self.bufferedBatches)
        let descriptor = fileDescriptor
        let thread = Thread {
            var reader = LineReader(fileDescriptor: descriptor)
            while let batch = reader.nextBatch() {
                space.wait()
                continuation.yield(batch)
            }
            continuation.finish()
        }
        thread.name = "parley.stdin"
        thread.start()
        return Iterator(batches: stream.makeAsyncIterator(), space: space)
    }

    struct Iterator: AsyncIteratorProtocol {
        var batches: AsyncStream<[String]>.Iterator
        let space: DispatchSemaphore
        var batch: [String] = []
        var index = 0

        mutating func next() async -> String? {
            if index == batch.count {
                guard let next = await batches.next() else { return nil }
                space.signal()
                batch = next
                index = 0
            }
            guard index < batch.count else { return nil }
            defer { index += 1 }
            return batch[index]
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

    /// Every complete line the buffer holds, reading when it holds none; `nil` at end of input.
    mutating func nextBatch() -> [String]? {
        guard let first = next() else { return nil }
        var lines = [first]
        // Only what is already buffered: never block for a second line while the first could be answered.
        while buffer[start...].contains(UInt8(ascii: "\n")) || (ended && start < buffer.count), let line = next() {
            lines.append(line)
        }
        return lines
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
