import Foundation
import NIOCore

/// How a failed connection reads in a log line, a dead letter's reason and an effect's error (issue 26): SwiftNIO's
/// own descriptions nest their parts (`connection reset (error set): Connection refused) (errno: 111)`), so a
/// failure that carries an errno is told by the system's words for it and the number, and anything else as it
/// describes itself.
public enum ConnectionFailure {
    public static func describe(_ error: any Error) -> String {
        let text = String(describing: error)
        if let errno = (error as? IOError)?.errnoCode ?? errnoCode(in: text) {
            return "\(String(cString: strerror(errno))) (errno \(errno))"
        }
        return text
    }

    /// The number of the last `errno: N` a description names.
    private static func errnoCode(in text: String) -> Int32? {
        guard let range = text.range(of: "errno: ", options: .backwards) else { return nil }
        return Int32(text[range.upperBound...].prefix(while: \.isNumber))
    }
}
