/// The `{module_id}` of the Identity v2 topics: `[A-Za-z0-9._-]`, 1–64 characters,
/// so that it can never change the structure of a topic.
public struct ModuleID: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String

    /// Validates `text`; the error names the rule that failed.
    public init(_ text: String) throws(ValidationError) {
        guard !text.isEmpty, text.utf8.count <= 64 else {
            throw ValidationError(field: "module_id", rule: "must be 1 to 64 characters long, got \(text.utf8.count)")
        }
        guard text.utf8.allSatisfy(ModuleID.isAllowed) else {
            throw ValidationError(
                field: "module_id", rule: "may only contain A-Z a-z 0-9 . _ - (got '\(text)')")
        }
        rawValue = text
    }

    static func isAllowed(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
            return true
        default:
            return false
        }
    }

    public var description: String { rawValue }
}
