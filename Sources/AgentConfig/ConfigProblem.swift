/// One thing wrong with the configuration: the file, the key path (or line and column) and what was expected.
public struct ConfigProblem: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file at fault: the main file or the drop-in that set the key.
    public let file: String
    /// Dotted key path such as `broker.keepalive`; "" when the problem is the file itself.
    public let key: String
    /// Line of a TOML syntax error, 1-based.
    public let line: Int?
    /// Column of a TOML syntax error, 1-based.
    public let column: Int?
    /// What is wrong and what was expected, in words an operator can act on. Never holds a secret.
    public let message: String

    /// A problem with one key.
    public init(file: String, key: String, message: String) {
        self.file = file
        self.key = key
        self.line = nil
        self.column = nil
        self.message = message
    }

    /// A problem at a position in a file, such as a TOML syntax error.
    public init(file: String, line: Int, column: Int, message: String) {
        self.file = file
        self.key = ""
        self.line = line
        self.column = column
        self.message = message
    }

    /// A problem with a whole file (missing, unreadable, not UTF-8).
    public init(file: String, message: String) {
        self.file = file
        self.key = ""
        self.line = nil
        self.column = nil
        self.message = message
    }

    /// `<file>:<key.path>: <message>`, `<file>:<line>:<column>: <message>` or `<file>: <message>`.
    public var description: String {
        if let line, let column { return "\(file):\(line):\(column): \(message)" }
        if key.isEmpty { return "\(file): \(message)" }
        return "\(file):\(key): \(message)"
    }
}

/// Every problem found in a configuration, not only the first.
public struct ConfigErrors: Error, Sendable, Equatable, CustomStringConvertible {
    /// In file order (main file, then drop-ins by name), each file's problems in the order found.
    public let problems: [ConfigProblem]

    /// Wraps `problems`, which must not be empty.
    public init(problems: [ConfigProblem]) {
        self.problems = problems
    }

    /// One problem per line.
    public var description: String { problems.map(\.description).joined(separator: "\n") }
}
