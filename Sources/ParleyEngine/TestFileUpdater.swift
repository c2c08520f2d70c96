import ParleyFlows

/// Rewrites the `bot` lists of a test file from actual outputs (`parley test --update`).
///
/// Only the lines of each changed `bot` value are replaced (or a `bot:` line is added after the turn's input),
/// so comments and the layout of everything else survive. When the file uses a layout this cannot edit safely
/// (a turn written as a flow mapping `{user: ..., bot: ...}`), or the edited text would not read back with the
/// new outputs, the whole file is written again from its parsed form instead, which loses comments.
struct TestFileUpdater {
    let file: ConversationTestFile
    let results: [TestResult]

    private struct Edit {
        var turn: TestTurn
        var items: [ExpectedOutput]
    }

    func updatedText() -> String {
        var edits: [Edit] = []
        for (test, result) in zip(file.tests, results) {
            for (index, turn) in test.turns.enumerated() where index < result.actualOutputs.count {
                let items = result.actualOutputs[index].map(ExpectedOutput.init)
                if turn.bot != items { edits.append(Edit(turn: turn, items: items)) }
            }
        }
        guard !edits.isEmpty else { return file.text }
        if let edited = editInPlace(edits), reads(edited) { return edited }
        return regenerated()
    }

    /// The file's text with each turn's `effects:` replaced by (or, where it has none, given) what was recorded;
    /// turns that made no call and had no `effects:` stay as they are.
    func recordedText(_ recorded: [[[EffectFixture]]]) -> String {
        var lines = file.text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var edits: [(line: Int, replace: Range<Int>?, insertAt: Int, prefix: String, indent: Int, fixtures: [EffectFixture])] = []
        for (test, fixtures) in zip(file.tests, recorded) {
            // A turn whose answers are its fixtures as written (all kept) keeps its text, formatting and all.
            for (turn, answers) in zip(test.turns, fixtures) where answers != (turn.effects ?? []) {
                if let mark = turn.marks.effects {
                    guard mark.line >= 1, mark.line <= lines.count else { return regeneratedWithEffects(recorded) }
                    let prefix = String(lines[mark.line - 1].prefix(mark.column - 1))
                    guard !prefix.contains("{"), !prefix.contains("[") else { return regeneratedWithEffects(recorded) }
                    let end = Self.valueEnd(in: lines, keyLine: mark.line - 1, indent: mark.column - 1)
                    edits.append((mark.line, (mark.line - 1)..<end, 0, prefix, mark.column - 1, answers))
                } else if let mark = turn.marks.bot ?? turn.marks.input {
                    guard mark.line >= 1, mark.line <= lines.count else { return regeneratedWithEffects(recorded) }
                    let prefix = String(lines[mark.line - 1].prefix(mark.column - 1))
                    guard !prefix.contains("{"), !prefix.contains("[") else { return regeneratedWithEffects(recorded) }
                    let end = Self.valueEnd(in: lines, keyLine: mark.line - 1, indent: mark.column - 1)
                    edits.append((mark.line, nil, end, String(repeating: " ", count: mark.column - 1), mark.column - 1, answers))
                } else {
                    return regeneratedWithEffects(recorded)
                }
            }
        }
        for edit in edits.sorted(by: { $0.line > $1.line }) {
            let block = Self.effectLines(edit.fixtures, prefix: edit.prefix, indent: edit.indent)
            if let range = edit.replace {
                lines.replaceSubrange(range, with: block)
            } else {
                lines.insert(contentsOf: block, at: edit.insertAt)
            }
        }
        let text = lines.joined(separator: "\n")
        guard let reparsed = try? ConversationTestFile.parse(text, path: file.path),
            zip(reparsed.tests, recorded).allSatisfy({ test, fixtures in zip(test.turns, fixtures).allSatisfy { $0.effects ?? [] == $1 } })
        else { return regeneratedWithEffects(recorded) }
        return text
    }

    static func effectLines(_ fixtures: [EffectFixture], prefix: String, indent: Int) -> [String] {
        guard !fixtures.isEmpty else { return [prefix + "effects: []"] }
        let itemIndent = String(repeating: " ", count: indent + 2)
        return [prefix + "effects:"] + fixtures.map { itemIndent + "- \($0.kind.rawValue): " + flow($0.value) }
    }

    /// The whole file written again from its parsed form, with the recorded effects (comments are lost).
    private func regeneratedWithEffects(_ recorded: [[[EffectFixture]]]) -> String {
        var copy = file
        for (testIndex, fixtures) in recorded.enumerated() where testIndex < copy.tests.count {
            for (turnIndex, answers) in fixtures.enumerated() where turnIndex < copy.tests[testIndex].turns.count {
                copy.tests[testIndex].turns[turnIndex].effects = answers
            }
        }
        return TestFileUpdater(file: copy, results: []).regenerated()
    }

    // MARK: In place

    private func editInPlace(_ edits: [Edit]) -> String? {
        var lines = file.text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let ordered = edits.sorted { ($0.turn.marks.bot ?? $0.turn.marks.input)?.line ?? 0 > ($1.turn.marks.bot ?? $1.turn.marks.input)?.line ?? 0 }
        for edit in ordered {
            if let mark = edit.turn.marks.bot {
                guard mark.line >= 1, mark.line <= lines.count else { return nil }
                let prefix = String(lines[mark.line - 1].prefix(mark.column - 1))
                guard !prefix.contains("{"), !prefix.contains("[") else { return nil }
                let end = Self.valueEnd(in: lines, keyLine: mark.line - 1, indent: mark.column - 1)
                lines.replaceSubrange((mark.line - 1)..<end, with: Self.botLines(edit.items, prefix: prefix, indent: mark.column - 1))
            } else if let mark = edit.turn.marks.input {
                guard mark.line >= 1, mark.line <= lines.count else { return nil }
                let prefix = String(lines[mark.line - 1].prefix(mark.column - 1))
                guard !prefix.contains("{"), !prefix.contains("[") else { return nil }
                let end = Self.valueEnd(in: lines, keyLine: mark.line - 1, indent: mark.column - 1)
                let indent = String(repeating: " ", count: mark.column - 1)
                lines.insert(contentsOf: Self.botLines(edit.items, prefix: indent, indent: mark.column - 1), at: end)
            } else {
                return nil
            }
        }
        return lines.joined(separator: "\n")
    }

    /// The index after the last line of the value of the key on `keyLine`: following lines belong to it while
    /// they are indented deeper than the key (or, for a block list, as deep and starting with `-`). Blank and
    /// comment lines after the value stay outside.
    static func valueEnd(in lines: [String], keyLine: Int, indent: Int) -> Int {
        var last = keyLine
        var index = keyLine + 1
        while index < lines.count {
            let line = lines[index]
            let content = line.drop { $0 == " " }
            if content.isEmpty || content.hasPrefix("#") {
                index += 1
                continue
            }
            let depth = line.count - content.count
            guard depth > indent || (depth == indent && (content.hasPrefix("- ") || content == "-")) else { break }
            last = index
            index += 1
        }
        return last + 1
    }

    static func botLines(_ items: [ExpectedOutput], prefix: String, indent: Int) -> [String] {
        let inline = prefix + "bot: " + flowList(items.map(\.yaml))
        if items.count <= 1 || inline.count <= 120 { return [inline] }
        let itemIndent = String(repeating: " ", count: indent + 2)
        return [prefix + "bot:"] + items.map { itemIndent + "- " + $0.yaml }
    }

    /// Whether `text` parses and every turn's `bot` equals the actual outputs.
    private func reads(_ text: String) -> Bool {
        guard let reparsed = try? ConversationTestFile.parse(text, path: file.path), reparsed.tests.count == file.tests.count else { return false }
        for (test, (original, result)) in zip(reparsed.tests, zip(file.tests, results)) {
            guard test.turns.count == original.turns.count else { return false }
            for (index, turn) in test.turns.enumerated() {
                let expected = index < result.actualOutputs.count ? result.actualOutputs[index].map(ExpectedOutput.init) : original.turns[index].bot
                if turn.bot != expected { return false }
            }
        }
        return true
    }

    // MARK: Whole file

    fileprivate func regenerated() -> String {
        var lines = ["flow: \(Self.yamlString(file.flow))", "tests:"]
        for (testIndex, test) in file.tests.enumerated() {
            lines.append("  - name: \(Self.yamlString(test.name))")
            if !test.profile.isEmpty { lines.append("    profile: \(Self.flow(.object(test.profile)))") }
            if !test.context.isEmpty { lines.append("    context: \(Self.flow(.object(test.context)))") }
            lines.append("    turns:")
            let actual = testIndex < results.count ? results[testIndex].actualOutputs : []
            for (index, turn) in test.turns.enumerated() {
                var keys: [String] = []
                if let user = turn.user { keys.append("user: \(Self.yamlString(user))") }
                if let data = turn.data { keys.append("data: \(Self.flow(.object(data)))") }
                if let status = turn.handoverEnd { keys.append("handover: \(status.rawValue)") }
                if let speaker = turn.speaker { keys.append("speaker: \(speaker)") }
                let bot = index < actual.count ? actual[index].map(ExpectedOutput.init) : turn.bot
                var botLines: [String] = []
                if let bot { botLines = Self.botLines(bot, prefix: "        ", indent: 8) }
                if let effects = turn.effects { botLines += Self.effectLines(effects, prefix: "        ", indent: 8) }
                if let expect = Self.flow(turn.expect) { botLines.append("        expect: \(expect)") }
                for (position, key) in keys.enumerated() {
                    lines.append((position == 0 ? "      - " : "        ") + key)
                }
                lines += botLines
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private static func flow(_ expect: TurnExpectation) -> String? {
        var parts: [String] = []
        if let context = expect.context { parts.append("context: \(flow(context))") }
        if let profile = expect.profile { parts.append("profile: \(flow(profile))") }
        if let handover = expect.handover { parts.append("handover: \(handover)") }
        if let copilot = expect.copilot { parts.append("copilot: \(flow(copilot))") }
        if let ended = expect.ended { parts.append("ended: \(ended)") }
        if let error = expect.error { parts.append("error: \(error)") }
        if let intent = expect.intent { parts.append("intent: \(flow(intent))") }
        return parts.isEmpty ? nil : "{ " + parts.joined(separator: ", ") + " }"
    }

    // MARK: YAML values

    /// `[a, b]`.
    static func flowList(_ items: [String]) -> String { "[" + items.joined(separator: ", ") + "]" }

    /// A JSON value in YAML flow style: JSON with spaces after `:` and `,`, and floats YAML reads as floats.
    static func flow(_ value: JSONValue) -> String {
        switch value {
        case .null: "null"
        case .bool(let flag): flag ? "true" : "false"
        case .number(let number): yamlNumber(number)
        case .string(let text): yamlString(text)
        case .array(let items): flowList(items.map(flow))
        case .object(let members): "{" + members.keys.sorted().map { "\(yamlString($0)): \(flow(members[$0]!))" }.joined(separator: ", ") + "}"
        }
    }

    /// A double-quoted YAML string (JSON's escapes are valid YAML escapes).
    static func yamlString(_ text: String) -> String { JSONValue.string(text).canonicalJSON }

    static func yamlNumber(_ number: Double) -> String {
        var text = JSONValue.format(number)
        if let exponent = text.firstIndex(where: { $0 == "e" || $0 == "E" }), !text[..<exponent].contains(".") {
            text.insert(contentsOf: ".0", at: exponent)
        }
        return text
    }
}

extension ExpectedOutput {
    /// The output as `bot` writes it: a quoted string, or `{text: ..., data: ...}`.
    var yaml: String {
        switch self {
        case .text(let text): return TestFileUpdater.yamlString(text)
        case .message(let text, let data):
            var parts: [String] = []
            if let text { parts.append("text: \(TestFileUpdater.yamlString(text))") }
            if let data { parts.append("data: \(TestFileUpdater.flow(data))") }
            return "{ " + parts.joined(separator: ", ") + " }"
        }
    }
}
