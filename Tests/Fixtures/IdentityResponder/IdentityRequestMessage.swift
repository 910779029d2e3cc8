import Foundation
import GatewayCore
import MQTTClient

/// A request as the cloud sees it: `from/module/{m}/action/identity/{action}&key=value…` plus a JSON payload.
struct IdentityRequestMessage {
    var moduleID: String
    var action: String
    /// Topic properties, percent-decoded (a value that does not decode is kept as sent).
    var properties: [String: String]
    var identity: String?
    var publicKey: String?
    /// From the topic property, else the MQTT 5 user property, else the correlation data.
    var correlationID: String?
    /// False when the payload is not a JSON object with an `identity` string.
    var payloadIsValid: Bool

    /// nil when `message` is not on an identity action topic.
    init?(_ message: MQTTMessage) {
        let levels = message.topic.split(separator: "/", omittingEmptySubsequences: false)
        guard levels.count == 6, levels[0] == "from", levels[1] == "module", levels[3] == "action",
            levels[4] == "identity"
        else { return nil }
        let parts = levels[5].split(separator: "&", omittingEmptySubsequences: false)
        moduleID = String(levels[2])
        action = String(parts[0])
        properties = [:]
        for part in parts.dropFirst() {
            let pair = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = PercentEncoding.decode(String(pair[0])) ?? String(pair[0])
            let raw = pair.count > 1 ? String(pair[1]) : ""
            properties[key] = PercentEncoding.decode(raw) ?? raw
        }

        let body = (try? JSONSerialization.jsonObject(with: Data(message.payload))) as? [String: Any]
        identity = body?["identity"] as? String
        publicKey = body?["publicKey"] as? String
        payloadIsValid = identity != nil

        correlationID =
            properties["correlationId"] ?? message.userProperty("correlationId")
            ?? message.correlationData.flatMap { String(validating: $0, as: UTF8.self) }
    }

    /// The ack topic without properties: `to/module/{m}/ack/identity/{action}`.
    var ackTopic: String { "to/module/\(moduleID)/ack/identity/\(action)" }

    /// `ack=none` asks for no ack at all.
    var wantsAck: Bool { properties["ack"] != "none" }
}
