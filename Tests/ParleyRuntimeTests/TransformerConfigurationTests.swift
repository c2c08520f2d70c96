import Foundation
import ParleyFlows
import ParleyRuntime
import Testing

/// `transformer: FILE` is read and checked at load (DESIGN §5.7): errors point into the JavaScript file or at the
/// configuration line that names it.
@Suite struct TransformerConfigurationTests {
    static func load(transformer: String?, file: String = "t.js", type: String = "webhook") throws -> Configuration {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("parley-transformer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("js"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        if let transformer { try transformer.write(to: folder.appendingPathComponent("js/\(file)"), atomically: true, encoding: .utf8) }
        let text = """
            store: "sqlite::memory:"
            endpoints:
              - { name: e, type: \(type), urlToken: \(String(repeating: "a", count: 64)), flow: f,
                  transformer: js/t.js, webhook: { url: "http://127.0.0.1:9/hook" } }
            """
        try text.write(to: folder.appendingPathComponent("parley.yaml"), atomically: true, encoding: .utf8)
        return try ConfigurationLoader(environment: [:]).load(path: folder.appendingPathComponent("parley.yaml").path)
    }

    static func problems(_ body: () throws -> Configuration) -> [String] {
        do {
            _ = try body()
            return []
        } catch let error as ConfigurationError {
            return error.diagnostics.map {
                "\($0.location.line):\($0.location.column) \($0.location.file.hasSuffix("t.js") ? "js" : "yaml") \($0.message)"
            }
        } catch {
            return ["\(error)"]
        }
    }

    @Test func aGoodTransformerIsLoadedWithItsSource() throws {
        let source = "createWebhookTransformer({ handleInput: ({ request }) => request.body });"
        let configuration = try Self.load(transformer: source)
        #expect(configuration.endpoints.first?.transformer?.source == source)
        #expect(configuration.endpoints.first?.transformer?.path == "js/t.js")
    }

    @Test func badTransformersFailTheLoadWithAPosition() {
        #expect(Self.problems { try Self.load(transformer: nil) } == ["4:20 yaml cannot read transformer file 'js/t.js'"])
        let syntax = Self.problems { try Self.load(transformer: "createWebhookTransformer({\n  handleInput: () => { return { userId: ; } },\n});\n") }
        #expect(syntax.count == 1)
        #expect(syntax.first?.hasPrefix("2:") == true)
        #expect(syntax.first?.contains(" js ") == true)
        #expect(
            Self.problems { try Self.load(transformer: "createRestTransformer({});") }.first?.contains("must call createWebhookTransformer") == true
        )
        #expect(Self.problems { try Self.load(transformer: "const x = 1;") }.first?.contains("calls no transformer factory") == true)
        #expect(Self.problems { try Self.load(transformer: "throw new Error('at load');") }.first?.contains("at load") == true)
        #expect(Self.problems { try Self.load(transformer: "createRestTransformer({});", type: "rest") } == [])
    }
}
