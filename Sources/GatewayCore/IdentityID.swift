import FoundationEssentials

/// The UUID of a device identity, always held in canonical lower-case form.
public struct IdentityID: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// Canonical lower-case text, e.g. `5f0c8a1e-…`.
    public let rawValue: String

    /// Parses any UUID spelling (upper or lower case); nil when `text` is not a UUID.
    public init?(_ text: String) {
        guard let uuid = UUID(uuidString: text) else { return nil }
        rawValue = uuid.uuidString.lowercased()
    }

    /// A fresh random identity (tests, correlation ids).
    public static func random() -> IdentityID {
        IdentityID(UUID().uuidString)!
    }

    public var description: String { rawValue }

    public static func < (lhs: IdentityID, rhs: IdentityID) -> Bool { lhs.rawValue < rhs.rawValue }
}

extension IdentityID: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let id = IdentityID(text) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "'\(text)' is not a UUID")
        }
        self = id
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// A fresh correlation id: a lower-case UUID, generated once when a request is accepted.
public func newCorrelationID() -> String {
    UUID().uuidString.lowercased()
}
