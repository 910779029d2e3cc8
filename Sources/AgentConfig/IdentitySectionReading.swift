import GatewayCore

extension ConfigBuilder {
    /// `[identity]`: acknowledgement timing, retries and the publish window.
    mutating func readIdentitySection() {
        var identity = IdentitySection()
        identity.ackTimeout = duration("identity.ack_timeout", default: identity.ackTimeout)
        identity.maxAttempts = integer("identity.max_attempts", default: identity.maxAttempts, within: 1...100)
        // AWS IoT Core allows 100 unacknowledged QoS 1 messages per connection.
        identity.maxInflight = integer("identity.max_inflight", default: identity.maxInflight, within: 1...100)
        let rateExpected = "a number of publishes per second, 0 or more (0 = unlimited)"
        if let setting = reader.number("identity.max_publish_rate", expected: rateExpected) {
            if setting.value.isFinite && setting.value >= 0 {
                identity.maxPublishRate = setting.value
            } else {
                reader.reject(setting, expected: rateExpected, got: String(setting.value))
            }
        }
        identity.defaultAck = choice("identity.default_ack", default: identity.defaultAck)
        identity.maxQueue = integer("identity.max_queue", default: identity.maxQueue, within: 1...10_000_000)
        identity.maxRequestAge = requestAge(default: identity.maxRequestAge)
        configuration.identity = identity
    }

    /// `identity.max_request_age`: a duration of at least a second, or "0" for no limit.
    private mutating func requestAge(default fallback: Duration?) -> Duration? {
        let expected = "a duration of at least \"1s\" such as \"12h\" or \"7d\", or \"0\" for no limit"
        guard let node = reader.lookup("identity.max_request_age"), case .string("0") = node.value else {
            let age = duration("identity.max_request_age", default: fallback ?? .zero, minimum: .seconds(1), expectedText: expected)
            return age == .zero ? nil : age
        }
        // Looked up through the reader all the same, so that the key counts as known.
        _ = reader.string("identity.max_request_age", expected: expected)
        return nil
    }
}
