/// How to reach and authenticate to one MQTT broker, for one connection attempt.
public struct MQTTOptions: Sendable {
    /// The MQTT protocol spoken on the connection.
    public enum ProtocolVersion: String, Sendable, Equatable {
        case v5 = "mqtt5"
        case v311 = "mqtt311"
    }

    /// TLS trust and client authentication. Verification of the broker's chain and host name is always on.
    public struct TLSOptions: Sendable, Equatable {
        /// PEM file of the CA(s) to trust; nil trusts the operating system's store.
        public var caFile: String?
        /// PEM client certificate (chain), for brokers that authenticate by certificate.
        public var certFile: String?
        /// PEM private key of `certFile`.
        public var keyFile: String?
        /// ALPN protocol to offer, e.g. `x-amzn-mqtt-ca` for AWS IoT on port 443.
        public var alpn: String?

        /// TLS with the given trust, client certificate and ALPN; all optional.
        public init(caFile: String? = nil, certFile: String? = nil, keyFile: String? = nil, alpn: String? = nil) {
            self.caFile = caFile
            self.certFile = certFile
            self.keyFile = keyFile
            self.alpn = alpn
        }
    }

    /// A broker password, held so that printing the options never shows it.
    public struct Password: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible,
        CustomReflectable
    {
        let value: String
        /// Wraps the password read from its file.
        public init(_ value: String) { self.value = value }
        public var description: String { "<redacted>" }
        public var debugDescription: String { "<redacted>" }
        public var customMirror: Mirror { Mirror(self, children: []) }
    }

    /// Host name or IP address; with `port` 0, the path of a Unix socket.
    public var host: String
    /// TCP port; 0 means `host` is a Unix socket path.
    public var port: Int
    /// Stable client id, so that the broker keeps the session between connections.
    public var clientID: String
    /// MQTT 5 (default) or 3.1.1.
    public var protocolVersion: ProtocolVersion
    /// Keep-alive interval sent in CONNECT (whole seconds, 5 s to 65535 s).
    public var keepalive: Duration
    /// false (default) resumes the broker's session: subscriptions and queued QoS 1 messages survive a reconnect.
    public var cleanStart: Bool
    /// MQTT 5 only: how long the broker keeps the session after the connection ends (ignored with `cleanStart`).
    public var sessionExpiry: Duration
    /// How long `connect()` waits for CONNACK, DNS, TCP and TLS included.
    public var connectTimeout: Duration
    /// QoS 1 publishes on the wire without PUBACK; libmosquitto queues the rest.
    public var maxInflight: Int
    /// Username for password authentication.
    public var username: String?
    /// Password for password authentication.
    public var password: Password?
    /// TLS settings; nil means plain MQTT (only for the local Unix socket of the WebSocket tunnel and tests).
    public var tls: TLSOptions?

    /// Options with the agent's defaults for everything but the endpoint and client id.
    public init(
        host: String, port: Int, clientID: String, protocolVersion: ProtocolVersion = .v5,
        keepalive: Duration = .seconds(60), cleanStart: Bool = false, sessionExpiry: Duration = .seconds(3600),
        connectTimeout: Duration = .seconds(10), maxInflight: Int = 100, username: String? = nil,
        password: Password? = nil, tls: TLSOptions? = nil
    ) {
        self.host = host
        self.port = port
        self.clientID = clientID
        self.protocolVersion = protocolVersion
        self.keepalive = keepalive
        self.cleanStart = cleanStart
        self.sessionExpiry = sessionExpiry
        self.connectTimeout = connectTimeout
        self.maxInflight = maxInflight
        self.username = username
        self.password = password
        self.tls = tls
    }

    /// True when `host` is a Unix socket path (`port` 0).
    public var isUnixSocket: Bool { port == 0 }

    /// `host:port`, or `unix:path`, for log lines.
    public var endpointDescription: String {
        isUnixSocket ? "unix:\(host)" : (host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)")
    }
}
