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
        configuration.identity = identity
    }
}
