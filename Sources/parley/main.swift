import ParleyFlows
import ParleyScript

let result = FlowLoader(scriptChecker: JavaScriptSyntaxChecker()).load(paths: Array(CommandLine.arguments.dropFirst()))
for d in result.diagnostics { print(d) }
print(result.flowSet?.contentHash ?? "invalid")
