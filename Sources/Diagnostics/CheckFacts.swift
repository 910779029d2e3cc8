/// The measured values behind the lines, for fleet tooling (`check --json`): every key is always present,
/// null when it was not measured or does not apply.
public struct CheckFacts: Sendable, Encodable {
    public struct Clock: Sendable, Encodable {
        /// Server time minus this gateway's, seconds (positive: this gateway is behind).
        @Reported public var organizationOffsetSeconds: Double? = nil
        @Reported public var brokerOffsetSeconds: Double? = nil
    }

    public struct Credentials: Sendable, Encodable {
        @Reported public var source: String? = nil
        @Reported public var expiresAt: String? = nil
        @Reported public var remainingSeconds: Double? = nil
    }

    public struct Broker: Sendable, Encodable {
        @Reported public var transport: String? = nil
        @Reported public var host: String? = nil
        @Reported public var port: Int? = nil
        @Reported public var addresses: [String]? = nil
        @Reported public var viaProxy: Bool? = nil
        @Reported public var tlsVerified: Bool? = nil
        /// The negotiated protocol, as OpenSSL names it ("TLSv1.3").
        @Reported public var tlsVersion: String? = nil
        @Reported public var serverCertificateExpiresAt: String? = nil
        @Reported public var serverCertificateDaysLeft: Int? = nil
        @Reported public var clientCertificateExpiresAt: String? = nil
        @Reported public var clientCertificateDaysLeft: Int? = nil
    }

    public struct Proxy: Sendable, Encodable {
        /// `http://host:port`, never with credentials.
        @Reported public var url: String? = nil
        @Reported public var organizationEndpointViaProxy: Bool? = nil
        @Reported public var brokerViaProxy: Bool? = nil
    }

    public struct Store: Sendable, Encodable {
        @Reported public var path: String? = nil
        @Reported public var integrity: String? = nil
        @Reported public var sizeBytes: Int? = nil
        @Reported public var queued: Int? = nil
        @Reported public var inFlight: Int? = nil
        @Reported public var failed: Int? = nil
        @Reported public var oldestPendingAcceptedAt: String? = nil
    }

    public struct Agent: Sendable, Encodable {
        @Reported public var running: Bool? = nil
        @Reported public var connection: String? = nil
        @Reported public var endpoint: String? = nil
        @Reported public var lastError: String? = nil
    }

    public var clock = Clock()
    public var credentials = Credentials()
    public var broker = Broker()
    public var proxy = Proxy()
    public var store = Store()
    public var agent = Agent()
}

/// An optional fact that is encoded as `null` when absent, never left out, so that JSON keys stay stable.
@propertyWrapper
public struct Reported<Value: Encodable & Sendable>: Encodable, Sendable {
    public var wrappedValue: Value?

    public init(wrappedValue: Value?) {
        self.wrappedValue = wrappedValue
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if let wrappedValue { try container.encode(wrappedValue) } else { try container.encodeNil() }
    }
}
