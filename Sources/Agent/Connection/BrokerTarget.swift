import AgentConfig
import CloudCredentials
import GatewayCore
import MQTTClient

/// Where and how one connection attempt connects: the MQTT options, a name for logs,
/// and what to release when the attempt ends (the WebSocket tunnel).
struct BrokerTarget: Sendable {
    var options: MQTTOptions
    var endpoint: String
    var release: @Sendable () -> Void = {}
}

/// Prepares a fresh target for each attempt (secrets are read again, URLs signed again).
protocol BrokerTargetSource: Sendable {
    /// The endpoint to show in `status` before the first attempt.
    var endpointDescription: String { get }
    func prepare() async throws -> BrokerTarget
}

/// `mqtt-tls`: libmosquitto's own TLS, client certificate or username + password.
struct MQTTTLSTarget: BrokerTargetSource {
    let configured: BrokerSection
    /// Set when the organization endpoint supplies the host.
    let refresher: CredentialRefresher?

    var endpointDescription: String { configured.host.isEmpty ? "(iotEndpoint from the organization endpoint)" : configured.endpoint }

    func prepare() async throws -> BrokerTarget {
        let broker = try await Self.resolvingHost(configured, refresher: refresher)
        let password = try broker.passwordFile.map { try MQTTOptions.Password(readSecret($0)) }
        let tls = MQTTOptions.TLSOptions(
            caFile: broker.caFile.isEmpty ? nil : broker.caFile,
            certFile: broker.certFile.isEmpty ? nil : broker.certFile,
            keyFile: broker.keyFile?.path,
            // AWS IoT serves MQTT on 443 only to clients that ask for it by ALPN.
            alpn: broker.port == 443 ? "x-amzn-mqtt-ca" : nil)
        let options = MQTTOptions(
            host: broker.host, port: broker.port, clientID: broker.clientID,
            protocolVersion: broker.protocolVersion == .mqtt5 ? .v5 : .v311, keepalive: broker.keepalive,
            connectTimeout: broker.connectTimeout, username: broker.username.isEmpty ? nil : broker.username,
            password: password, tls: tls)
        return BrokerTarget(options: options, endpoint: "\(broker.host):\(broker.port)")
    }
}

/// The engine's publishing side of a live libmosquitto connection.
struct MQTTRequestPublisher: RequestPublisher {
    let connection: MQTTConnection

    func publish(_ message: RequestMessage) throws -> Int32 {
        try connection.publish(
            topic: message.topic, payload: message.payload, qos: 1, userProperties: message.properties,
            correlationData: message.correlationData)
    }
}
