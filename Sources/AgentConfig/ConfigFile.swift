import TOMLKit

/// One TOML file read from disk and parsed into a `ConfigNode` tree.
enum ConfigFile {
    /// Configuration files are small; anything bigger is the wrong file.
    static let sizeLimit = 1024 * 1024

    /// The file's tree, or the one problem that stopped it from being read (with line and column for syntax).
    static func parse(_ file: String, isMain: Bool) -> Result<ConfigNode, ConfigProblem> {
        let bytes: [UInt8]
        do {
            bytes = try FileAccess.read(file, limit: sizeLimit)
        } catch {
            switch error {
            case .system(let error) where error.isMissing && isMain:
                return .failure(ConfigProblem(file: file,
                    message: "cannot read the configuration: it does not exist; create it "
                        + "(config/gateway-agent.toml is a documented example) or pass --config PATH"))
            case .system(let error):
                return .failure(ConfigProblem(file: file, message: "cannot read the configuration: \(error.reason)"))
            case .refused(let reason):
                return .failure(ConfigProblem(file: file, message: "cannot read the configuration: the path \(reason)"))
            }
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            return .failure(ConfigProblem(file: file, message: "is not UTF-8 text, which TOML requires"))
        }
        // TOMLKit passes the text on as a C string, which would end at a NUL byte.
        if let offset = bytes.firstIndex(of: 0) {
            let (line, column) = position(of: offset, in: bytes)
            return .failure(ConfigProblem(file: file, line: line, column: column, message: "TOML syntax error: NUL byte"))
        }
        if let offset = TableHeaderPreflight.badHeaderName(in: bytes) {
            let (line, column) = position(of: offset, in: bytes)
            return .failure(ConfigProblem(file: file, line: line, column: column,
                message: "TOML syntax error: a table header must start with a key (a bare key or a quoted string)"))
        }
        do {
            let table = try TOMLTable(string: text)
            let tree = ConfigNode(table, file: file)
            // TOMLKit never frees parsed tables; clearing releases all their contents.
            table.clear()
            return .success(tree)
        } catch let error as TOMLParseError {
            return .failure(ConfigProblem(file: file, line: error.source.begin.line, column: error.source.begin.column,
                message: "TOML syntax error: \(error.description)"))
        } catch {
            return .failure(ConfigProblem(file: file, message: "TOML syntax error: \(error)"))
        }
    }

    private static func position(of offset: Int, in bytes: [UInt8]) -> (line: Int, column: Int) {
        let before = bytes[..<offset]
        let line = before.filter { $0 == UInt8(ascii: "\n") }.count + 1
        let lineStart = before.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? 0
        return (line, offset - lineStart + 1)
    }
}
