import FoundationEssentials

/// An acknowledgement from the cloud, matched to a request by its correlation id.
public struct Ack: Sendable, Equatable {
    public enum Outcome: Sendable, Equatable {
        case success
        /// The cloud's `error` code (or the status word) and its `message`.
        case failure(error: String, message: String?)
    }

    public let correlationID: String
    /// The action word from the ack topic.
    public let action: IdentityAction
    public let outcome: Outcome
}

/// Why an ack was dropped; logged with the topic, never fatal.
public struct MalformedAck: Error, Equatable, Sendable, CustomStringConvertible {
    /// What is wrong, without the values: a cloud that keeps sending one kind of bad ack is one problem to report.
    public enum Problem: String, Sendable {
        case foreignTopic = "foreign topic"
        case extraTopicLevels = "extra topic levels"
        case unknownAction = "unknown action"
        case badProperty = "bad topic property"
        case oversized = "oversized payload"
        case notJSON = "payload not JSON"
        case noCorrelationID = "no correlation id"
        case unknownStatus = "unknown status"
    }

    public let topic: String
    public let problem: Problem
    /// The problem with the values at fault.
    public let reason: String
    public var description: String { "malformed ack on '\(topic)': \(reason)" }
}

/// Reads acks from `to/module/{module_id}/ack/identity/{action}[&key=value…]`.
///
/// The correlation id comes from, in order: the topic property, MQTT 5 correlation data,
/// the payload field `correlationId`. Any byte sequence gives an `Ack` or a `MalformedAck`.
public struct AckParser: Sendable {
    public let moduleID: ModuleID

    public init(moduleID: ModuleID) { self.moduleID = moduleID }

    /// The subscription filter for this module's acks.
    public var subscription: String { "to/module/\(moduleID.rawValue)/ack/identity/+" }

    public func parse(topic: String, payload: [UInt8], correlationData: [UInt8]? = nil) -> Result<Ack, MalformedAck> {
        func malformed(_ problem: MalformedAck.Problem, _ reason: String) -> Result<Ack, MalformedAck> {
            .failure(MalformedAck(topic: topic, problem: problem, reason: reason))
        }
        let prefix = "to/module/\(moduleID.rawValue)/ack/identity/"
        guard topic.hasPrefix(prefix) else { return malformed(.foreignTopic, "not an identity ack topic of this module") }
        let lastLevel = topic.dropFirst(prefix.count)
        guard !lastLevel.contains("/") else { return malformed(.extraTopicLevels, "extra topic levels") }

        let parts = lastLevel.split(separator: "&", omittingEmptySubsequences: false)
        guard let action = IdentityAction(rawValue: String(parts[0])) else {
            return malformed(.unknownAction, "unknown action '\(parts[0])'")
        }
        var topicProperties: [String: String] = [:]
        for part in parts.dropFirst() {
            guard let eq = part.firstIndex(of: "="),
                let key = PercentEncoding.decode(String(part[..<eq])),
                let value = PercentEncoding.decode(String(part[part.index(after: eq)...]))
            else {
                return malformed(.badProperty, "bad property '\(part.prefix(64))'")
            }
            topicProperties[key] = value
        }
        guard payload.count <= WireLimits.maxAckBytes else {
            return malformed(.oversized, "payload of \(payload.count) bytes exceeds \(WireLimits.maxAckBytes)")
        }

        var body: AckBody?
        if !payload.isEmpty, !payload.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            do {
                body = try JSONDecoder().decode(AckBody.self, from: Data(payload))
            } catch {
                return malformed(.notJSON, "payload is not a JSON object")
            }
        }

        let fromCorrelationData = correlationData.flatMap { String(validating: $0, as: UTF8.self) }
        guard
            let correlationID = [topicProperties["correlationId"], fromCorrelationData, body?.correlationId]
                .compactMap({ $0 }).first(where: { !$0.isEmpty })
        else {
            return malformed(.noCorrelationID, "no correlationId in topic, correlation data or payload")
        }

        let outcome: Ack.Outcome
        switch body?.status?.lowercased() {
        case nil where body?.error != nil:
            outcome = .failure(error: body?.error ?? "error", message: body?.message)
        case nil, "success", "ok":
            outcome = body?.error == nil ? .success : .failure(error: body!.error!, message: body?.message)
        case "error", "failed", "rejected":
            outcome = .failure(error: body?.error ?? body!.status!, message: body?.message)
        case let other?:
            return malformed(.unknownStatus, "unknown status '\(other.prefix(64))'")
        }
        return .success(Ack(correlationID: correlationID, action: action, outcome: outcome))
    }
}

/// The ack payload fields the agent reads; any JSON type is tolerated for each.
struct AckBody: Decodable {
    var status: String?
    var error: String?
    var message: String?
    var correlationId: String?

    enum CodingKeys: String, CodingKey { case status, error, message, correlationId }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        status = container.looseString(.status)
        error = container.looseString(.error)
        message = container.looseString(.message)
        correlationId = container.looseString(.correlationId)
    }
}

extension KeyedDecodingContainer where Key == AckBody.CodingKeys {
    /// A string field, or a short text for numbers and booleans; nil when absent, null or nested.
    func looseString(_ key: Key) -> String? {
        if let text = try? decodeIfPresent(String.self, forKey: key) { return text }
        if let number = try? decodeIfPresent(Int.self, forKey: key) { return String(number) }
        if let flag = try? decodeIfPresent(Bool.self, forKey: key) { return String(flag) }
        if contains(key), (try? decodeNil(forKey: key)) == false { return "\(key.stringValue) (non-text)" }
        return nil
    }
}
