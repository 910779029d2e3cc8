import CMosquitto
import Glibc

/// libmosquitto return codes become `MQTTError`s here, and only here.
enum MosquittoResult {
    static let success = code(MOSQ_ERR_SUCCESS)

    static func code(_ value: mosq_err_t) -> Int32 { Int32(value.rawValue) }

    /// Throws the error for `rc` unless it is `MOSQ_ERR_SUCCESS`; `errnoValue` is read right after the call.
    static func check(_ rc: Int32, _ operation: String, errnoValue: Int32 = 0) throws(MQTTError) {
        guard rc != success else { return }
        throw error(for: rc, operation: operation, errnoValue: errnoValue)
    }

    /// The error for a failed libmosquitto call or a broken connection.
    static func error(for rc: Int32, operation: String, errnoValue: Int32 = 0) -> MQTTError {
        switch rc {
        case code(MOSQ_ERR_NO_CONN):
            return .notConnected
        case code(MOSQ_ERR_CONN_LOST):
            return .network(detail: "connection lost")
        case code(MOSQ_ERR_ERRNO):
            return .network(detail: errnoValue == 0 ? "system call failed" : String(cString: strerror(errnoValue)))
        case code(MOSQ_ERR_EAI):
            return .network(detail: "cannot resolve the broker's host name: \(String(cString: gai_strerror(errnoValue)))")
        case code(MOSQ_ERR_KEEPALIVE):
            return .network(detail: "keep-alive timeout: the broker stopped answering")
        case code(MOSQ_ERR_PROTOCOL), code(MOSQ_ERR_MALFORMED_PACKET), code(MOSQ_ERR_DUPLICATE_PROPERTY),
            code(MOSQ_ERR_TOPIC_ALIAS_INVALID):
            return .protocolViolation(detail: text(rc))
        case code(MOSQ_ERR_TLS), code(MOSQ_ERR_TLS_HANDSHAKE), code(MOSQ_ERR_OCSP):
            return .tlsFailed(detail: text(rc))
        case code(MOSQ_ERR_PAYLOAD_SIZE), code(MOSQ_ERR_OVERSIZE_PACKET):
            return .invalidArgument(field: "payload", reason: "too large for the broker (\(text(rc)))")
        case code(MOSQ_ERR_MALFORMED_UTF8):
            return .invalidArgument(field: "topic", reason: "not valid UTF-8 or contains characters MQTT forbids")
        case code(MOSQ_ERR_QOS_NOT_SUPPORTED):
            return .invalidArgument(field: "qos", reason: "the broker does not support this QoS")
        default:
            return .library(operation: operation, code: rc, text: text(rc))
        }
    }

    /// libmosquitto's text for a `MOSQ_ERR_*` code.
    static func text(_ rc: Int32) -> String {
        String(cString: mosquitto_strerror(rc))
    }

    /// The error for a CONNACK that refused the connection; codes differ between MQTT 5 and 3.1.1.
    static func refusal(_ rc: Int32, version: MQTTOptions.ProtocolVersion, clientID: String) -> MQTTError {
        switch (version, rc) {
        case (.v5, Int32(MQTT_RC_BAD_USERNAME_OR_PASSWORD.rawValue)), (.v5, Int32(MQTT_RC_BAD_AUTHENTICATION_METHOD.rawValue)),
            (.v311, Int32(CONNACK_REFUSED_BAD_USERNAME_PASSWORD.rawValue)):
            return .badCredentials(code: rc)
        case (.v5, Int32(MQTT_RC_NOT_AUTHORIZED.rawValue)), (.v5, Int32(MQTT_RC_BANNED.rawValue)),
            (.v311, Int32(CONNACK_REFUSED_NOT_AUTHORIZED.rawValue)):
            return .notAuthorized(code: rc)
        case (.v5, Int32(MQTT_RC_CLIENTID_NOT_VALID.rawValue)), (.v311, Int32(CONNACK_REFUSED_IDENTIFIER_REJECTED.rawValue)):
            return .clientIDRejected(clientID: clientID, code: rc)
        case (.v5, Int32(MQTT_RC_UNSUPPORTED_PROTOCOL_VERSION.rawValue)),
            (.v311, Int32(CONNACK_REFUSED_PROTOCOL_VERSION.rawValue)):
            return .unsupportedProtocolVersion(code: rc)
        case (.v5, _):
            return .refused(code: rc, reason: String(cString: mosquitto_reason_string(rc)))
        case (.v311, _):
            return .refused(code: rc, reason: String(cString: mosquitto_connack_string(rc)))
        }
    }

    /// The text for the code libmosquitto passes to the disconnect callback.
    static func disconnectText(_ rc: Int32) -> String {
        if rc == 0 { return "normal disconnection" }
        if rc >= 0x80 { return String(cString: mosquitto_reason_string(rc)) }
        return text(rc)
    }
}
