/// What an established connection reports, in the order libmosquitto saw it.
public enum MQTTEvent: Sendable {
    /// The broker acknowledged (PUBACK) the QoS 1 publish with this message id.
    case published(messageID: Int32)
    /// MQTT 5: the broker answered the publish with a failure reason code (e.g. 0x87 not authorized).
    case publishRejected(messageID: Int32, reasonCode: Int32, reason: String)
    /// A message arrived on a subscribed topic.
    case message(MQTTMessage)
    /// The broker answered SUBSCRIBE; a granted QoS of 0x80 or more means the filter was refused.
    case subscribed(messageID: Int32, grantedQoS: [Int32])
    /// The connection ended; the event stream finishes after this event.
    case disconnected(MQTTDisconnect)
}

/// One received PUBLISH, copied out of libmosquitto's buffers.
public struct MQTTMessage: Sendable {
    /// The topic; messages whose topic is not valid UTF-8 are dropped before they get here.
    public var topic: String
    public var payload: [UInt8]
    public var qos: Int32
    public var retain: Bool
    /// MQTT 5 correlation data, if the sender set it.
    public var correlationData: [UInt8]?
    /// MQTT 5 user properties in the order they were sent (names may repeat).
    public var userProperties: [(String, String)]
    /// MQTT 5 response topic, if the sender set it.
    public var responseTopic: String?

    /// A message with the given content; MQTT 5 properties default to absent.
    public init(
        topic: String, payload: [UInt8], qos: Int32 = 1, retain: Bool = false, correlationData: [UInt8]? = nil,
        userProperties: [(String, String)] = [], responseTopic: String? = nil
    ) {
        self.topic = topic
        self.payload = payload
        self.qos = qos
        self.retain = retain
        self.correlationData = correlationData
        self.userProperties = userProperties
        self.responseTopic = responseTopic
    }

    /// The first user property named `name`.
    public func userProperty(_ name: String) -> String? {
        userProperties.first(where: { $0.0 == name })?.1
    }
}

/// How a connection ended.
public struct MQTTDisconnect: Sendable, Equatable, CustomStringConvertible {
    /// True when this side called `disconnect()`.
    public var requestedByClient: Bool
    /// The broker's MQTT 5 DISCONNECT reason code (0x80 and up), 0 for a normal end,
    /// or libmosquitto's `MOSQ_ERR_*` code when the network connection broke.
    public var reasonCode: Int32
    /// The reason in words.
    public var text: String

    /// A disconnect with the given reason.
    public init(requestedByClient: Bool, reasonCode: Int32, text: String) {
        self.requestedByClient = requestedByClient
        self.reasonCode = reasonCode
        self.text = text
    }

    public var description: String {
        requestedByClient ? "disconnected by the agent" : "disconnected: \(text) (code \(reasonCode))"
    }
}
