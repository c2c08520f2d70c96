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
    /// Feature ids by the feature's 64-bit FNV-1a hash (``features(of:)``).
    private let vocabulary: [UInt64: Int]
    private let idf: [Double]
    /// Per feature, the examples (numbered across intents) and centroids that have it, with their weights: a query
    /// touches only the vectors it shares a feature with.
    private let examplePostings: [[(vector: Int, weight: Double)]]
    private let centroidPostings: [[(intent: Int, weight: Double)]]
    /// The intent of each example, by the example's number across intents.
    private let exampleOwner: [Int]

    /// Builds the classifier of a flow's intents.
    public init(intents: [Intent]) {
        var vocabulary: [UInt64: Int] = [:]
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
        let centroids = examples.map { SparseVector.sum($0).normalised }
        var examplePostings = Array(repeating: [(vector: Int, weight: Double)](), count: idf.count)
        var centroidPostings = Array(repeating: [(intent: Int, weight: Double)](), count: idf.count)
        var owner: [Int] = []
        for (intent, vectors) in examples.enumerated() {
            for vector in vectors {
                for (id, weight) in zip(vector.ids, vector.weights) { examplePostings[id].append((owner.count, weight)) }
                owner.append(intent)
            }
        }
        for (intent, centroid) in centroids.enumerated() {
            for (id, weight) in zip(centroid.ids, centroid.weights) { centroidPostings[id].append((intent, weight)) }
        }
        self.examplePostings = examplePostings
        self.centroidPostings = centroidPostings
        self.exampleOwner = owner
    }

    /// Whether the flow declared any intent with an example.
    public var isEmpty: Bool { exampleOwner.isEmpty }

    /// The scores of the `top` best intents for `text`, best first (ties in declaration order).
    public func classify(_ text: String, top: Int = 3) -> [Score] {
        var counts: [Int: Double] = [:]
        for feature in Self.features(of: text) {
            if let id = vocabulary[feature] { counts[id, default: 0] += 1 }
        }
        let query = SparseVector(counts.sorted { $0.key < $1.key }.map { ($0.key, (1 + log($0.value)) * idf[$0.key]) }).normalised
        // Cosines through the postings, added up in the query's feature order: the same sums, in the same order, on
        // every machine.
        var exampleScores = Array(repeating: 0.0, count: exampleOwner.count)
        var centroidScores = Array(repeating: 0.0, count: intents.count)
        for (id, weight) in zip(query.ids, query.weights) {
            for posting in examplePostings[id] { exampleScores[posting.vector] += weight * posting.weight }
            for posting in centroidPostings[id] { centroidScores[posting.intent] += weight * posting.weight }
        }
        var best = Array(repeating: 0.0, count: intents.count)
        for (vector, score) in exampleScores.enumerated() where score > best[exampleOwner[vector]] { best[exampleOwner[vector]] = score }
        // The best `max(top, 2)` intents by similarity (the second is needed for the margin), without sorting them all.
        let wanted = min(max(top, 2), intents.count)
        var leaders: [(index: Int, value: Double)] = []
        for index in intents.indices {
            let value = 0.3 * best[index] + 0.7 * centroidScores[index]
            guard leaders.count < wanted || value > leaders[leaders.count - 1].value else { continue }
            let position = leaders.firstIndex { value > $0.value } ?? leaders.count
            leaders.insert((index, value), at: position)
            if leaders.count > wanted { leaders.removeLast() }
        }
        guard let first = leaders.first else { return [] }
        let second = leaders.count > 1 ? leaders[1].value : 0
        // The top intent gets the calibrated score; the others the same curve at their own similarity with no margin,
        // so scores keep the order of the similarities.
        return leaders.prefix(top).enumerated().map { rank, item in
            Score(intent: intents[item.index], score: Self.calibrated(best: item.value, margin: rank == 0 ? first.value - second : 0))
        }
    }

    static func calibrated(best: Double, margin: Double) -> Double {
        let raw = 1 / (1 + exp(-(8.5 * best + 8 * margin - 4.25)))
        // Six decimals: the same on every machine, whatever the last bits of `exp`.
        return (raw * 1_000_000).rounded() / 1_000_000
    }

    // MARK: Features

    /// Lowercased words without diacritics, each lightly stemmed, as Unicode scalars.
    static func words(of text: String) -> [[Unicode.Scalar]] {
        let folded = text.lowercased().decomposedStringWithCompatibilityMapping
        var words: [[Unicode.Scalar]] = []
        var current: [Unicode.Scalar] = []
        for scalar in folded.unicodeScalars {
            // Combining diacritical marks are what NFKD split off accented Latin letters: folded away.
            if (0x300...0x36F).contains(scalar.value) { continue }
            if scalar.properties.isAlphabetic || scalar.properties.numericType != nil {
                current.append(scalar)
            } else if !current.isEmpty {
                words.append(stem(current))
                current.removeAll(keepingCapacity: true)
            }
        }
        if !current.isEmpty { words.append(stem(current)) }
        return words
    }

    private static let suffixes: [[Unicode.Scalar]] = ["ing", "ed", "es", "s"].map { Array($0.unicodeScalars) }

    private static func stem(_ word: [Unicode.Scalar]) -> [Unicode.Scalar] {
        for suffix in suffixes where word.count > suffix.count + 2 && word.suffix(suffix.count).elementsEqual(suffix) {
            return Array(word.dropLast(suffix.count))
        }
        return word
    }

    /// Each word and the character 3- and 4-grams of `<word>`, as 64-bit FNV-1a hashes of the feature's kind and
    /// scalars: no strings are made per input (a collision among the few thousand features of a flow is a chance of
    /// about one in a billion billion, and the same on every machine).
    static func features(of text: String) -> [UInt64] {
        var features: [UInt64] = []
        for word in words(of: text) {
            features.append(hash(kind: 1, word[...]))
            let padded: [Unicode.Scalar] = ["<"] + word + [">"]
            for size in 3...4 where padded.count >= size {
                for start in 0...(padded.count - size) { features.append(hash(kind: 2, padded[start..<(start + size)])) }
            }
        }
        return features
    }

    private static func hash(kind: UInt64, _ scalars: ArraySlice<Unicode.Scalar>) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        hash = (hash ^ kind) &* 0x100_0000_01b3
        for scalar in scalars { hash = (hash ^ UInt64(scalar.value)) &* 0x100_0000_01b3 }
        return hash
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

    static func sum(_ vectors: [SparseVector]) -> SparseVector {
        var total: [Int: Double] = [:]
        for vector in vectors {
            for (id, weight) in zip(vector.ids, vector.weights) { total[id, default: 0] += weight }
        }
        return SparseVector(total.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
    }
}
