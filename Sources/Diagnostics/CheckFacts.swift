/// The measured values behind the lines, for fleet tooling (`check --json`): every key is always present,
/// null when it was not measured or does not apply.
public struct CheckFacts: Sendable, Encodable {
    public struct Clock: Sendable, Encodable {
        /// Server time minus this gateway's, seconds (positive: this gateway is behind).
        public var organizationOffsetSeconds: Double?
        public var brokerOffsetSeconds: Double?
    }

    public struct Credentials: Sendable, Encodable {
        public var source: String?
        public var expiresAt: String?
        public var remainingSeconds: Double?
    }

    public struct Broker: Sendable, Encodable {
        public var transport: String?
        public var host: String?
        public var port: Int?
        public var addresses: [String]?
        public var viaProxy: Bool?
        public var tlsVerified: Bool?
        public var serverCertificateExpiresAt: String?
        public var serverCertificateDaysLeft: Int?
        public var clientCertificateExpiresAt: String?
        public var clientCertificateDaysLeft: Int?
    }

    public struct Proxy: Sendable, Encodable {
        /// `http://host:port`, never with credentials.
        public var url: String?
        public var organizationEndpointViaProxy: Bool?
        public var brokerViaProxy: Bool?
    }

    public struct Store: Sendable, Encodable {
        public var path: String?
        public var integrity: String?
        public var sizeBytes: Int?
        public var queued: Int?
        public var inFlight: Int?
        public var failed: Int?
        public var oldestPendingAcceptedAt: String?
    }

    public struct Agent: Sendable, Encodable {
        public var running: Bool?
        public var connection: String?
        public var endpoint: String?
        public var lastError: String?
    }

    public var clock = Clock()
    public var credentials = Credentials()
    public var broker = Broker()
    public var proxy = Proxy()
    public var store = Store()
    public var agent = Agent()
}

// Encoded by hand so that an absent value is `null`, never a missing key.
extension CheckFacts.Clock {
    enum CodingKeys: String, CodingKey { case organizationOffsetSeconds, brokerOffsetSeconds }
    public func encode(to encoder: any Encoder) throws {
        var keyed = encoder.container(keyedBy: CodingKeys.self)
        try keyed.encode(organizationOffsetSeconds, forKey: .organizationOffsetSeconds)
        try keyed.encode(brokerOffsetSeconds, forKey: .brokerOffsetSeconds)
    }
}

extension CheckFacts.Credentials {
    enum CodingKeys: String, CodingKey { case source, expiresAt, remainingSeconds }
    public func encode(to encoder: any Encoder) throws {
        var keyed = encoder.container(keyedBy: CodingKeys.self)
        try keyed.encode(source, forKey: .source)
        try keyed.encode(expiresAt, forKey: .expiresAt)
        try keyed.encode(remainingSeconds, forKey: .remainingSeconds)
    }
}

extension CheckFacts.Broker {
    enum CodingKeys: String, CodingKey {
        case transport, host, port, addresses, viaProxy, tlsVerified, serverCertificateExpiresAt
        case serverCertificateDaysLeft, clientCertificateExpiresAt, clientCertificateDaysLeft
    }
    public func encode(to encoder: any Encoder) throws {
        var keyed = encoder.container(keyedBy: CodingKeys.self)
        try keyed.encode(transport, forKey: .transport)
        try keyed.encode(host, forKey: .host)
        try keyed.encode(port, forKey: .port)
        try keyed.encode(addresses, forKey: .addresses)
        try keyed.encode(viaProxy, forKey: .viaProxy)
        try keyed.encode(tlsVerified, forKey: .tlsVerified)
        try keyed.encode(serverCertificateExpiresAt, forKey: .serverCertificateExpiresAt)
        try keyed.encode(serverCertificateDaysLeft, forKey: .serverCertificateDaysLeft)
        try keyed.encode(clientCertificateExpiresAt, forKey: .clientCertificateExpiresAt)
        try keyed.encode(clientCertificateDaysLeft, forKey: .clientCertificateDaysLeft)
    }
}

extension CheckFacts.Proxy {
    enum CodingKeys: String, CodingKey { case url, organizationEndpointViaProxy, brokerViaProxy }
    public func encode(to encoder: any Encoder) throws {
        var keyed = encoder.container(keyedBy: CodingKeys.self)
        try keyed.encode(url, forKey: .url)
        try keyed.encode(organizationEndpointViaProxy, forKey: .organizationEndpointViaProxy)
        try keyed.encode(brokerViaProxy, forKey: .brokerViaProxy)
    }
}

extension CheckFacts.Store {
    enum CodingKeys: String, CodingKey {
        case path, integrity, sizeBytes, queued, inFlight, failed, oldestPendingAcceptedAt
    }
    public func encode(to encoder: any Encoder) throws {
        var keyed = encoder.container(keyedBy: CodingKeys.self)
        try keyed.encode(path, forKey: .path)
        try keyed.encode(integrity, forKey: .integrity)
        try keyed.encode(sizeBytes, forKey: .sizeBytes)
        try keyed.encode(queued, forKey: .queued)
        try keyed.encode(inFlight, forKey: .inFlight)
        try keyed.encode(failed, forKey: .failed)
        try keyed.encode(oldestPendingAcceptedAt, forKey: .oldestPendingAcceptedAt)
    }
}

extension CheckFacts.Agent {
    enum CodingKeys: String, CodingKey { case running, connection, endpoint, lastError }
    public func encode(to encoder: any Encoder) throws {
        var keyed = encoder.container(keyedBy: CodingKeys.self)
        try keyed.encode(running, forKey: .running)
        try keyed.encode(connection, forKey: .connection)
        try keyed.encode(endpoint, forKey: .endpoint)
        try keyed.encode(lastError, forKey: .lastError)
    }
}
