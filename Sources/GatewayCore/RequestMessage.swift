import FoundationEssentials

/// The MQTT message for one request: topic with `&key=value` properties, JSON payload,
/// and (for MQTT 5) the same properties as user properties plus correlation data.
public struct RequestMessage: Sendable, Equatable {
    public let topic: String
    public let payload: [UInt8]
    /// Property name/value pairs in topic order, not percent-encoded (MQTT 5 user properties).
    public let properties: [(String, String)]
    /// The correlation id as MQTT 5 correlation data.
    public var correlationData: [UInt8] { Array(correlationID.utf8) }
    public let correlationID: String

    /// Builds the message for `request`; `timestamp` is the request's first-send time.
    public init(request: IdentityRequest, moduleID: ModuleID, timestamp: String) {
        var properties: [(String, String)] = [("correlationId", request.correlationID), ("ack", request.ack.rawValue)]
        if let target = request.target { properties.append(("target", target)) }
        if let context = request.context { properties.append(("context", context)) }
        properties.append(("timestamp", timestamp))
        if let parent = request.parent { properties.append(("parent", parent.rawValue)) }

        var topic = RequestMessage.topicBase(moduleID: moduleID, action: request.action)
        for (key, value) in properties {
            topic += "&\(key)=\(PercentEncoding.encode(value))"
        }
        self.topic = topic
        self.properties = properties
        self.correlationID = request.correlationID
        self.payload = RequestMessage.payload(identity: request.identity, publicKey: request.publicKey)
    }

    /// `from/module/{module_id}/action/identity/{action}` without properties.
    public static func topicBase(moduleID: ModuleID, action: IdentityAction) -> String {
        "from/module/\(moduleID.rawValue)/action/identity/\(action.rawValue)"
    }

    /// `{"identity":"…","publicKey":"…"}`, or `{"identity":"…"}` without a key (delete).
    public static func payload(identity: IdentityID, publicKey: String?) -> [UInt8] {
        struct Body: Encodable {
            let identity: String
            let publicKey: String?
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding two strings cannot fail.
        return Array(try! encoder.encode(Body(identity: identity.rawValue, publicKey: publicKey)))
    }

    public static func == (lhs: RequestMessage, rhs: RequestMessage) -> Bool {
        lhs.topic == rhs.topic && lhs.payload == rhs.payload && lhs.correlationID == rhs.correlationID
            && lhs.properties.elementsEqual(rhs.properties, by: { $0 == $1 })
    }
}

/// ISO-8601 UTC with milliseconds, e.g. `2026-11-23T10:15:02.123Z`.
public func isoTimestamp(_ date: Date = Date()) -> String {
    date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt))
}
