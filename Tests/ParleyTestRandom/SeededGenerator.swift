import Foundation

/// SplitMix64: a seeded random number generator, so a fuzz test that fails can be rerun from its seed.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    public var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Mutations of text files (flows, conversation tests, configurations) for the loaders' fuzz tests: characters,
/// indentation, whole lines and the format's own words inserted, removed, duplicated and swapped.
public enum TextMutation {
    public static let alphabet = Array(" :-{}[]\"'#|>\n\t&*!%@`,?.$\\ü😀0aZ")

    /// Numbers that trap a careless conversion or overflow a careless sum.
    public static let extremeNumbers = [
        "1e300", "-1e300", "1e308", "5e-324", "-0", "9223372036854775807", "9223372036854775808", "-9223372036854775809", ".inf",
        "-.inf", ".nan", "0x7fffffffffffffff", "0o777777777777777777777777",
    ]

    /// Applies 1 to 4 random mutations to `text`, drawing `words` (the format's keys) for insertions.
    public static func mutate(_ text: String, words: [String], using random: inout SeededGenerator) -> String {
        var lines = text.components(separatedBy: "\n")
        for _ in 0..<Int.random(in: 1...4, using: &random) {
            let index = Int.random(in: 0..<lines.count, using: &random)
            var line = Array(lines[index])
            switch Int.random(in: 0..<9, using: &random) {
            case 0 where !line.isEmpty: line.remove(at: Int.random(in: 0..<line.count, using: &random))
            case 1: line.insert(alphabet[Int.random(in: 0..<alphabet.count, using: &random)], at: Int.random(in: 0...line.count, using: &random))
            case 2: lines.insert(lines[index], at: index)
            case 3 where lines.count > 1:
                lines.remove(at: index)
                continue
            case 4: lines.swapAt(index, Int.random(in: 0..<lines.count, using: &random))
            case 5: line.insert(contentsOf: Array(repeating: " ", count: Int.random(in: 1...3, using: &random)), at: 0)
            case 6 where line.first == " ": line.removeFirst()
            case 7:
                // Replace the value after a colon with an extreme number.
                if let colon = line.firstIndex(of: ":") {
                    let number = extremeNumbers[Int.random(in: 0..<extremeNumbers.count, using: &random)]
                    line = Array(line[...colon]) + Array(" " + number)
                }
            default:
                guard !words.isEmpty else { continue }
                let word = words[Int.random(in: 0..<words.count, using: &random)]
                line.insert(contentsOf: Array(word), at: Int.random(in: 0...line.count, using: &random))
            }
            if index < lines.count { lines[index] = String(line) }
        }
        return lines.joined(separator: "\n")
    }
}
