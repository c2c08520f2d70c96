import ParleyFlows
import Testing

@Suite struct TemplateTests {
    @Test func splitsTextAndExpressions() {
        let template = Template("Hi {{profile.firstName || 'there'}}, order {{ context.id }}!")
        #expect(
            template.segments == [
                .text("Hi "), .expression("profile.firstName || 'there'", offset: 5), .text(", order "),
                .expression(" context.id ", offset: 45), .text("!"),
            ]
        )
        #expect(template.singleExpression == nil)
        #expect(template.unclosedOffset == nil)
    }

    @Test func singleExpressionKeepsItsType() {
        #expect(Template("{{context.count}}").singleExpression == "context.count")
        #expect(Template("  {{ context.count }} ").singleExpression == " context.count ")
        #expect(Template("n={{context.count}}").singleExpression == nil)
        #expect(Template("plain").hasExpressions == false)
    }

    @Test func tripleBracesMarkARawExpression() {
        let template = Template("<p>{{{ context.html }}}</p>{{ x }}")
        #expect(template.segments == [.text("<p>"), .raw(" context.html ", offset: 6), .text("</p>"), .expression(" x ", offset: 29)])
        #expect(Template("{{{context.html}}}").singleExpression == "context.html")
        // Without three closing braces it is an ordinary placeholder, as before.
        #expect(Template("{{{x}}").segments.first?.expression?.source == "{x")
    }

    @Test func unclosedPlaceholderStaysText() {
        let template = Template("a {{ b")
        #expect(template.segments == [.text("a {{ b")])
        #expect(template.unclosedOffset == 2)
    }

    @Test func originMapsOffsetsAcrossLines() {
        let origin = TextOrigin(start: SourceLocation(file: "f.yaml", line: 10, column: 7), indent: 6)
        #expect(origin.location(line: 1, column: 3) == SourceLocation(file: "f.yaml", line: 10, column: 9))
        #expect(origin.location(line: 3, column: 2) == SourceLocation(file: "f.yaml", line: 12, column: 8))
        let shifted = origin.shifted(by: 6, in: "ab\ncdef")
        #expect(shifted.start == SourceLocation(file: "f.yaml", line: 11, column: 10))
    }

    @Test func memoryPaths() {
        #expect(MemoryPath("context.order.id")?.keys == ["order", "id"])
        #expect(MemoryPath("profile.name")?.root == .profile)
        #expect(MemoryPath("input.text") == nil)
        #expect(MemoryPath("context.") == nil)
        #expect(MemoryPath("context") == nil)
    }

    @Test func canonicalJSONIsSortedAndTyped() {
        let value: JSONValue = ["b": [1, 2.5, "x\n"], "a": nil, "c": ["z": true]]
        #expect(value.canonicalJSON == #"{"a":null,"b":[1,2.5,"x\n"],"c":{"z":true}}"#)
    }
}
