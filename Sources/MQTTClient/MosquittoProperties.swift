import CMosquitto
import Glibc

/// MQTT 5 property lists: built for a publish and freed after it, or copied out of a received message.
enum MosquittoProperties {
    static let userProperty = Int32(MQTT_PROP_USER_PROPERTY.rawValue)
    static let correlationData = Int32(MQTT_PROP_CORRELATION_DATA.rawValue)
    static let responseTopic = Int32(MQTT_PROP_RESPONSE_TOPIC.rawValue)
    static let sessionExpiryInterval = Int32(MQTT_PROP_SESSION_EXPIRY_INTERVAL.rawValue)

    /// Runs `body` with a property list holding the user properties and correlation data; frees it after.
    static func withPublishProperties<Result>(
        userProperties: [(String, String)], correlationData: [UInt8]?,
        _ body: (OpaquePointer?) -> Result
    ) throws(MQTTError) -> Result {
        var list: OpaquePointer?
        defer { mosquitto_property_free_all(&list) }
        for (name, value) in userProperties {
            try checkString(name, field: "user property name")
            try checkString(value, field: "user property '\(name)'")
            let rc = mosquitto_property_add_string_pair(&list, userProperty, name, value)
            try MosquittoResult.check(rc, "adding user property '\(name)'")
        }
        if let correlationData {
            guard correlationData.count <= Int(UInt16.max) else {
                throw .invalidArgument(field: "correlation data", reason: "longer than 65535 bytes")
            }
            let rc = correlationData.withUnsafeBytes { bytes in
                mosquitto_property_add_binary(&list, MosquittoProperties.correlationData, bytes.baseAddress, UInt16(bytes.count))
            }
            try MosquittoResult.check(rc, "adding correlation data")
        }
        return body(list)
    }

    /// Runs `body` with the CONNECT properties: the session expiry interval when the session should outlive the connection.
    static func withConnectProperties<Result>(sessionExpirySeconds: UInt32, _ body: (OpaquePointer?) -> Result) -> Result {
        var list: OpaquePointer?
        defer { mosquitto_property_free_all(&list) }
        if sessionExpirySeconds > 0 {
            // Only fails on out-of-memory; connecting without the property then keeps the session for the connection only.
            _ = mosquitto_property_add_int32(&list, sessionExpiryInterval, sessionExpirySeconds)
        }
        return body(list)
    }

    /// MQTT strings: at most 65535 bytes and no NUL (which would cut the C string short).
    static func checkString(_ text: String, field: String) throws(MQTTError) {
        guard text.utf8.count <= Int(UInt16.max) else {
            throw .invalidArgument(field: field, reason: "longer than 65535 bytes")
        }
        guard !text.utf8.contains(0) else {
            throw .invalidArgument(field: field, reason: "contains a NUL character")
        }
    }

    /// The MQTT 5 properties of a received message that the agent uses; invalid UTF-8 strings are skipped.
    static func read(_ list: OpaquePointer?) -> (correlationData: [UInt8]?, user: [(String, String)], responseTopic: String?) {
        guard let list else { return (nil, [], nil) }

        var data: UnsafeMutableRawPointer?
        var length: UInt16 = 0
        var correlation: [UInt8]?
        if mosquitto_property_read_binary(list, correlationData, &data, &length, false) != nil {
            correlation = data.map { Array(UnsafeRawBufferPointer(start: $0, count: Int(length))) } ?? []
            free(data)
        }

        var user: [(String, String)] = []
        var name: UnsafeMutablePointer<CChar>?
        var value: UnsafeMutablePointer<CChar>?
        var cursor = mosquitto_property_read_string_pair(list, userProperty, &name, &value, false)
        while cursor != nil {
            if let name, let value, let n = String(validatingCString: name), let v = String(validatingCString: value) {
                user.append((n, v))
            }
            free(name)
            free(value)
            name = nil
            value = nil
            cursor = mosquitto_property_read_string_pair(cursor, userProperty, &name, &value, true)
        }

        var topic: UnsafeMutablePointer<CChar>?
        var response: String?
        if mosquitto_property_read_string(list, responseTopic, &topic, false) != nil {
            response = topic.flatMap { String(validatingCString: $0) }
            free(topic)
        }
        return (correlation, user, response)
    }
}
