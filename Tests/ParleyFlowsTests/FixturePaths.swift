import Foundation

/// The fixture folder in the source tree (tests read it in place; CI runs on a checkout).
enum FixturePaths {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The flow files of a fixture (a file, or every flow file of a folder) as (name relative to Fixtures, text).
    static func sources(of name: String) throws -> [(file: String, text: String)] {
        let url = fixtures.appendingPathComponent(name)
        var isDirectory: ObjCBool = false
        FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory)
        let names: [String] =
            isDirectory.boolValue
            ? try FileManager.default.contentsOfDirectory(atPath: url.path).filter { $0.hasSuffix(".yaml") }.sorted().map { "\(name)/\($0)" }
            : [name]
        return try names.map { ($0, try String(contentsOf: fixtures.appendingPathComponent($0), encoding: .utf8)) }
    }
}
