import Foundation
import ParleyFlows
import Testing

@Suite struct ValidateCommandTests {
    @Test func sampleFlowsAreClean() throws {
        let output = try ParleyBinary.run(["validate", "Flows"])
        #expect(output.status == 0, "\(output.stdout)\(output.stderr)")
        #expect(output.stdout.contains("0 errors, 0 warnings (sha256:"), "\(output.stdout)")
    }

    @Test func defaultPathIsFlows() throws {
        let output = try ParleyBinary.run(["validate"])
        #expect(output.status == 0)
        #expect(output.stdout == (try ParleyBinary.run(["validate", "Flows"])).stdout)
    }

    @Test func errorsAreListedWithLocationsAndExitOne() throws {
        let output = try ParleyBinary.run([
            "validate", "Tests/ParleyFlowsTests/Fixtures/unknown-key.yaml", "Tests/ParleyFlowsTests/Fixtures/missing-flow",
        ])
        try ParleyBinary.record(output.stdout, as: "validate-errors.txt")
        #expect(output.status == 1)
        #expect(output.stdout == (try ParleyBinary.snapshot("validate-errors.txt")))
    }

    @Test func jsonFormatCarriesCodesAndPositions() throws {
        let output = try ParleyBinary.run(["validate", "--format", "json", "Tests/ParleyFlowsTests/Fixtures/invalid-regex.yaml"])
        #expect(output.status == 1)
        let report = try JSONDecoder().decode(JSONValue.self, from: Data(output.stdout.utf8))
        #expect(report["valid"] == false)
        #expect(report["errors"] == 1)
        #expect(report["contentHash"] == .null)
        #expect(
            report["diagnostics"] == [
                [
                    "file": "Tests/ParleyFlowsTests/Fixtures/invalid-regex.yaml", "line": 7, "column": 16, "severity": "error",
                    "code": "invalid-regex", "message": "regex pattern '^[A-Z{2}(0-9$' does not compile",
                ]
            ]
        )
    }

    @Test func validJSONReportHasTheHash() throws {
        let output = try ParleyBinary.run(["validate", "--format", "json"])
        #expect(output.status == 0)
        let report = try JSONDecoder().decode(JSONValue.self, from: Data(output.stdout.utf8))
        #expect(report["valid"] == true)
        #expect(report["contentHash"]?.stringValue?.hasPrefix("sha256:") == true)
    }

    @Test func usageErrorsExitTwo() throws {
        let missing = try ParleyBinary.run(["validate", "no/such/folder"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("no such file or folder: no/such/folder"))
        #expect(try ParleyBinary.run(["validate", "--format", "xml"]).status == 2)
        #expect(try ParleyBinary.run(["validate", "--bogus"]).status == 2)
        #expect(try ParleyBinary.run(["no-such-command"]).status == 2)
    }

    @Test func helpExitsZero() throws {
        let help = try ParleyBinary.run(["--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("validate"))
    }
}

@Suite struct GraphCommandTests {
    @Test(arguments: ["mermaid", "dot"])
    func drawsTheValidFixture(format: String) throws {
        let output = try ParleyBinary.run([
            "graph", "Tests/ParleyFlowsTests/Fixtures/valid.yaml", "--flows", "Flows", "--format", format,
        ])
        try ParleyBinary.record(output.stdout, as: "graph-valid.\(format)")
        #expect(output.status == 0, "\(output.stderr)")
        #expect(output.stdout == (try ParleyBinary.snapshot("graph-valid.\(format)")))
    }

    @Test func drawsCrossFlowEdges() throws {
        let output = try ParleyBinary.run(["graph", "faq"])
        #expect(output.status == 0)
        #expect(output.stdout.contains(#"-.->|"goto"| x"#))
        #expect(output.stdout.contains(#"-.->|"execute"| x"#))
        #expect(output.stdout.contains(#"[/"order-status:"#))
    }

    @Test func drawsAFlowThatHasErrorsElsewhereButExitsOne() throws {
        let output = try ParleyBinary.run(["graph", "quick", "--flows", "Tests/ParleyFlowsTests/Fixtures/execute-loop", "--format", "dot"])
        #expect(output.status == 1)
        #expect(output.stdout.hasPrefix("digraph \"quick\" {"))
        #expect(output.stderr.contains("main.yaml:3:3: error: loop call -> call"))
    }

    @Test func unknownFlowIsAUsageError() throws {
        let output = try ParleyBinary.run(["graph", "nope"])
        #expect(output.status == 2)
        #expect(output.stderr.contains("no flow 'nope' in Flows"))
    }
}
