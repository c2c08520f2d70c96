import Foundation
import ParleyFlows
import Testing

@Suite struct ContentHashTests {
    let original = """
        flow: hello
        start: greet
        nodes:
          greet:
            say: "Hi {{profile.firstName}}"
            next: ask
          ask:
            question: { text: Name?, type: text, store: context.name }
            next: done
          done:
            code: |
              context.done = true;
        """

    /// Same meaning: other quoting, flow vs block style, key order, node order, comments, a description, `|-`.
    let reformatted = """
        # reformatted
        description: only documentation
        nodes:
          done:
            code: |-
              context.done = true;
          ask:
            next: done
            question:
              store: context.name
              type: text
              text: 'Name?'
          greet:
            next: ask
            say: { text: "Hi {{profile.firstName}}" }
        start: greet
        flow: hello
        """

    private func hash(_ text: String) throws -> String {
        let result = FlowLoader().load(sources: [("hello.yaml", text)])
        return try #require(result.flowSet).contentHash
    }

    @Test func formattingDoesNotChangeTheHash() throws {
        #expect(try hash(original) == hash(reformatted))
        #expect(try hash(original).hasPrefix("sha256:"))
        #expect(try hash(original).count == "sha256:".count + 64)
    }

    @Test func meaningChangesTheHash() throws {
        let base = try hash(original)
        #expect(try hash(original.replacingOccurrences(of: "type: text", with: "type: email")) != base)
        #expect(try hash(original.replacingOccurrences(of: "context.done = true;", with: "context.done = false;")) != base)
        #expect(try hash(original.replacingOccurrences(of: "next: done", with: "next: ask")) != base)
        #expect(try hash(original.replacingOccurrences(of: "start: greet", with: "start: ask")) != base)
    }

    @Test func hashCoversEveryFlowInIdOrder() {
        let one = FlowLoader().load(sources: [("a.yaml", "flow: a\nnodes: { x: { end: {} } }"), ("b.yaml", "flow: b\nnodes: { y: { wait: {} } }")])
        let other = FlowLoader().load(sources: [("b.yaml", "flow: b\nnodes: { y: { wait: {} } }"), ("a.yaml", "flow: a\nnodes: { x: { end: {} } }")])
        #expect(one.flowSet?.contentHash == other.flowSet?.contentHash)
        let single = FlowLoader().load(sources: [("a.yaml", "flow: a\nnodes: { x: { end: {} } }")])
        #expect(single.flowSet?.contentHash != one.flowSet?.contentHash)
    }
}
