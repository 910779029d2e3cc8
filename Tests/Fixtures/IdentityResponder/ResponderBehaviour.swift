/// How the responder answers, set at run time by a JSON message on `test/responder/control`:
///
///     {"mode": "error", "error": "invalid-key", "message": "bad key", "identities": ["<uuid>"], "ackVia": "payload"}
///
/// - `mode`: `success` (default) | `error` | `late` | `never` | `twice` | `malformed` | `drop-first-n` |
///   `out-of-order`
/// - `ackVia`: where the ack carries the correlation id: `topic` (default) | `correlation-data` | `payload`
/// - `error`, `message`: the error ack's fields (mode `error`); `identities`: fail only these (default: all)
/// - `delayMs`: delay of each ack (mode `late`); the most a random delay may be (mode `out-of-order`, so acks
///   overtake each other; default 500)
/// - `malformed`: `json` | `encoding` | `oversized` (mode `malformed`)
/// - `n`: ignore the first `n` sends of every correlation id, then answer (mode `drop-first-n`)
struct ResponderBehaviour: Codable, Equatable {
    var mode: Mode = .success
    var ackVia: AckVia = .topic
    var error: String?
    var message: String?
    var identities: [String]?
    var delayMs: Int?
    var malformed: Malformation?
    var n: Int?

    enum Mode: String, Codable {
        case success, error, late, never, twice, malformed
        case dropFirstN = "drop-first-n"
        case outOfOrder = "out-of-order"
    }

    enum AckVia: String, Codable {
        case topic
        case correlationData = "correlation-data"
        case payload
    }

    enum Malformation: String, Codable {
        case json, encoding, oversized
    }

    init() {}

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        mode = try container.decodeIfPresent(Mode.self, forKey: .mode) ?? .success
        ackVia = try container.decodeIfPresent(AckVia.self, forKey: .ackVia) ?? .topic
        error = try container.decodeIfPresent(String.self, forKey: .error)
        message = try container.decodeIfPresent(String.self, forKey: .message)
        identities = try container.decodeIfPresent([String].self, forKey: .identities)
        delayMs = try container.decodeIfPresent(Int.self, forKey: .delayMs)
        malformed = try container.decodeIfPresent(Malformation.self, forKey: .malformed)
        n = try container.decodeIfPresent(Int.self, forKey: .n)
    }

    /// True when an error ack is due for `identity`.
    func failsIdentity(_ identity: String?) -> Bool {
        guard mode == .error else { return false }
        guard let identities else { return true }
        return identity.map { identities.map { $0.lowercased() }.contains($0.lowercased()) } ?? false
    }
}
