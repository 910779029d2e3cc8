/// A request or value refused before anything is stored: names the field and the rule it broke.
public struct ValidationError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The field at fault, e.g. `publicKey`, `parent`, `target`.
    public let field: String
    /// The rule, in words an operator can act on.
    public let rule: String

    public init(field: String, rule: String) {
        self.field = field
        self.rule = rule
    }

    public var description: String { "\(field): \(rule)" }
}
