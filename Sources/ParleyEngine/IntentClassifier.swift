import Foundation
import ParleyFlows

/// The built-in, deterministic intent classifier of a flow (DESIGN §2, *Intents*; `docs/intents.md`).
///
/// Built once from the flow's example sentences when the engine loads the flows; no training step, no randomness.
///
/// - **Text**: lowercased, diacritics folded (NFKD), split into runs of letters and digits; each word loses one of
///   the suffixes `ing`, `ed`, `es`, `s` when at least three letters remain (`orders` → `order`).
/// - **Features**: each word, and the character 3- and 4-grams of each word between `<` and `>` (`<or`, `ord`,
///   `rde`, ...), which carry typos and word forms. Weights are sublinear TF-IDF (`1 + ln tf` times
///   `ln((1 + N) / (1 + df)) + 1` over the N examples), and every vector is scaled to length 1.
/// - **Similarity** of an input to an intent: `0.3 ×` its best cosine with one of the intent's examples `+ 0.7 ×`
///   its cosine with the intent's centroid (the normalised sum of its examples).
/// - **Score**: `1 / (1 + e^-(8.5 × best + 8 × margin - 4.25))`, where `best` is the top similarity and `margin`
///   its lead over the second intent's: a logistic fitted once on the validation split of CLINC150 (10 examples per
///   intent), so that a score reads as the chance the intent is right; the default threshold 0.5 then means
///   "more likely right than wrong" (BENCHMARKS.md has the accuracy and out-of-scope rejection).
public final class IntentClassifier: Sendable {
    /// One intent's score for an input.
    public struct Score: Sendable, Hashable {
        public var intent: String
        /// From 0 to 1.
        public var score: Double
    }

    private let intents: [String]
    private let vocabulary: [String: Int]
    private let idf: [Double]
    /// Per intent, its examples' vectors and its centroid.
    private let examples: [[SparseVector]]
    private let centroids: [SparseVector]

    /// Builds the classifier of a flow's intents.
    public init(intents: [Intent]) {
        var vocabulary: [String: Int] = [:]
        var documentFrequency: [Int] = []
        var counted: [[(Int, Double)]] = []
        var owners: [Int] = []
        for (index, intent) in intents.enumerated() {
            for example in intent.examples {
                var counts: [Int: Double] = [:]
                for feature in Self.features(of: example) {
                    let id: Int
                    if let known = vocabulary[feature] {
                        id = known
                    } else {
                        id = documentFrequency.count
                        vocabulary[feature] = id
                        documentFrequency.append(0)
                    }
                    counts[id, default: 0] += 1
                }
                for id in counts.keys { documentFrequency[id] += 1 }
                counted.append(counts.sorted { $0.key < $1.key })
                owners.append(index)
            }
        }
        let total = Double(counted.count)
        let idf = documentFrequency.map { log((1 + total) / (1 + Double($0))) + 1 }
        var examples = Array(repeating: [SparseVector](), count: intents.count)
        for (counts, owner) in zip(counted, owners) {
            examples[owner].append(SparseVector(counts.map { ($0.0, (1 + log($0.1)) * idf[$0.0]) }).normalised)
        }
        self.intents = intents.map(\.id)
        self.vocabulary = vocabulary
        self.idf = idf
        self.examples = examples
        self.centroids = examples.map { SparseVector.sum($0).normalised }
    }

    /// Whether the flow declared any intent with an example.
    public var isEmpty: Bool { examples.allSatisfy(\.isEmpty) }

    /// Every intent's score for `text`, best first (ties in declaration order).
    public func classify(_ text: String) -> [Score] {
        var counts: [Int: Double] = [:]
        for feature in Self.features(of: text) {
            if let id = vocabulary[feature] { counts[id, default: 0] += 1 }
        }
        let query = SparseVector(counts.sorted { $0.key < $1.key }.map { ($0.key, (1 + log($0.value)) * idf[$0.key]) }).normalised
        var similarities: [(index: Int, value: Double)] = []
        for index in intents.indices {
            let best = examples[index].map { query.dot($0) }.max() ?? 0
            similarities.append((index, 0.3 * best + 0.7 * query.dot(centroids[index])))
        }
        similarities.sort { $0.value > $1.value || ($0.value == $1.value && $0.index < $1.index) }
        guard let top = similarities.first else { return [] }
        let second = similarities.count > 1 ? similarities[1].value : 0
        let confidence = Self.calibrated(best: top.value, margin: top.value - second)
        // The top intent gets the calibrated score; the others the same curve at their own similarity with no margin,
        // so scores keep the order of the similarities.
        return similarities.enumerated().map { rank, item in
            Score(intent: intents[item.index], score: rank == 0 ? confidence : Self.calibrated(best: item.value, margin: 0))
        }
    }

    static func calibrated(best: Double, margin: Double) -> Double {
        let raw = 1 / (1 + exp(-(8.5 * best + 8 * margin - 4.25)))
        // Six decimals: the same on every machine, whatever the last bits of `exp`.
        return (raw * 1_000_000).rounded() / 1_000_000
    }

    // MARK: Features

    /// Lowercased words without diacritics, each lightly stemmed.
    static func words(of text: String) -> [String] {
        let folded = text.lowercased().decomposedStringWithCompatibilityMapping
        var words: [String] = []
        var current = String.UnicodeScalarView()
        for scalar in folded.unicodeScalars {
            // Combining diacritical marks are what NFKD split off accented Latin letters: folded away.
            if (0x300...0x36F).contains(scalar.value) { continue }
            if scalar.properties.isAlphabetic || scalar.properties.numericType != nil {
                current.append(scalar)
            } else if !current.isEmpty {
                words.append(stem(String(current)))
                current = String.UnicodeScalarView()
            }
        }
        if !current.isEmpty { words.append(stem(String(current))) }
        return words
    }

    private static func stem(_ word: String) -> String {
        for suffix in ["ing", "ed", "es", "s"] where word.count > suffix.count + 2 && word.hasSuffix(suffix) {
            return String(word.dropLast(suffix.count))
        }
        return word
    }

    static func features(of text: String) -> [String] {
        var features: [String] = []
        for word in words(of: text) {
            features.append("w:" + word)
            let padded = Array("<" + word + ">")
            for size in 3...4 where padded.count >= size {
                for start in 0...(padded.count - size) { features.append("c:" + String(padded[start..<(start + size)])) }
            }
        }
        return features
    }
}

/// A sparse vector: feature ids in increasing order with their weights.
struct SparseVector: Sendable {
    let ids: [Int]
    let weights: [Double]

    init(_ entries: [(Int, Double)]) {
        ids = entries.map(\.0)
        weights = entries.map(\.1)
    }

    var normalised: SparseVector {
        let length = weights.reduce(0) { $0 + $1 * $1 }.squareRoot()
        guard length > 0 else { return self }
        return SparseVector(zip(ids, weights).map { ($0, $1 / length) })
    }

    func dot(_ other: SparseVector) -> Double {
        var (i, j, sum) = (0, 0, 0.0)
        while i < ids.count, j < other.ids.count {
            if ids[i] == other.ids[j] {
                sum += weights[i] * other.weights[j]
                i += 1
                j += 1
            } else if ids[i] < other.ids[j] {
                i += 1
            } else {
                j += 1
            }
        }
        return sum
    }

    static func sum(_ vectors: [SparseVector]) -> SparseVector {
        var total: [Int: Double] = [:]
        for vector in vectors {
            for (id, weight) in zip(vector.ids, vector.weights) { total[id, default: 0] += weight }
        }
        return SparseVector(total.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
    }
}
