import ParleyFlows
import ParleyScript
import Testing

@Suite struct JavaScriptSyntaxCheckerTests {
    let origin = TextOrigin(start: SourceLocation(file: "f.yaml", line: 10, column: 5), indent: 4)

    @Test func validScriptsPass() {
        let checker = JavaScriptSyntaxChecker()
        #expect(checker.syntaxError(in: ScriptSite(kind: .statements, source: "context.a = 1;\nreturn;", nodeId: "n", origin: origin)) == nil)
        #expect(checker.syntaxError(in: ScriptSite(kind: .expression, source: "context.a === 1", nodeId: "n", origin: origin)) == nil)
    }

    @Test func statementErrorPointsAtTheToken() throws {
        let checker = JavaScriptSyntaxChecker()
        let error = try #require(
            checker.syntaxError(in: ScriptSite(kind: .statements, source: "const a = 1;\nconst b = a + ;", nodeId: "n", origin: origin))
        )
        #expect(error.line == 2)
        #expect(error.column == 15)
        #expect(error.message == "Unexpected token ';'")
    }

    @Test func unfinishedExpressionPointsPastTheEnd() throws {
        let checker = JavaScriptSyntaxChecker()
        let error = try #require(checker.syntaxError(in: ScriptSite(kind: .expression, source: "a ||", nodeId: "n", origin: origin)))
        #expect(error.line == 1)
        #expect(error.column == 5)
    }

    @Test func statementsAreNotExpressions() {
        let checker = JavaScriptSyntaxChecker()
        #expect(checker.syntaxError(in: ScriptSite(kind: .expression, source: "a = 1; b = 2", nodeId: "n", origin: origin)) != nil)
    }
}
