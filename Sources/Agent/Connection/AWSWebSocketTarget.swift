import AgentConfig
import AgentLogging
import CloudCredentials
import FoundationEssentials
import GatewayCore
import Logging
import MQTTClient
import WebSocketTunnel

/// `aws-websocket`: fresh credentials, a SigV4-presigned `wss://…/mqtt` URL signed for this attempt,
/// our own TLS + WebSocket tunnel, and libmosquitto connected to the tunnel's private Unix socket.
struct AWSWebSocketTarget: BrokerTargetSource {
    let configuration: AgentConfiguration
    let refresher: CredentialRefresher
    let logger: Logger
    /// The connection's failures: a process that keeps knocking on the tunnel's socket is reported like them, once
    /// and then counted, and the count is written when the connection has stayed up.
    let failures: RepeatedFailureLog
    /// Corrected after a refusal whose `Date` header shows this gateway's clock is off (issue 9, clock skew).
    let signingClock = SigningClock()

    var endpointDescription: String {
        let broker = configuration.broker
        return broker.host.isEmpty ? "(iotEndpoint from the organization endpoint)" : broker.endpoint
    }

    /// Only this process may enter it: a subdirectory of the 0700 state directory.
    var runtimeDirectory: String { configuration.agent.stateDir + "/tunnel" }

    func prepare() async throws -> BrokerTarget {
        let session = try await refresher.current()
        let broker = configuration.broker
        let host = broker.host.isEmpty ? (session.iotEndpoint ?? "") : broker.host
        guard !host.isEmpty else {
            throw TunnelError.invalidEndpoint("no broker host: set broker.endpoint (the credential source gives no iotEndpoint)")
        }
        let url = SigV4.presignedWebSocketURL(
            host: host, port: broker.port, region: session.region, credentials: session.credentials, date: signingClock.now())
        // The URL is wss://host[:port]/mqtt?…; the tunnel takes the part from the path on.
        let afterScheme = url.dropFirst("wss://".count)
        let pathAndQuery = String(afterScheme[(afterScheme.firstIndex(of: "/") ?? afterScheme.endIndex)...])
        let endpoint = WebSocketEndpoint(
            host: host, port: broker.port, pathAndQuery: pathAndQuery, caFile: broker.caFile.isEmpty ? nil : broker.caFile,
            proxy: try TunnelProxy.settings(configuration.proxy))
        let tunnel: WebSocketTunnel
        do throws(TunnelError) {
            tunnel = try await WebSocketTunnel.open(
                endpoint: endpoint, runtimeDirectory: runtimeDirectory, connectTimeout: broker.connectTimeout,
                onRefusedPeer: { [failures] peer in
                    failures.failed(
                        "tunnel socket: refused a connection from another process", endpoint: "\(peer.uid)",
                        metadata: ["pid": "\(peer.pid)", "uid": "\(peer.uid)"])
                })
        } catch {
            // A refused signature means expired or revoked credentials: fetch new ones before the next attempt.
            if error.needsFreshCredentials { refresher.invalidate(session) }
            if case .handshakeForbidden(_, _, let serverDate) = error, let skew = signingClock.correct(serverDate: serverDate) {
                logger.warning(
                    "clock skew: this gateway's clock is \(skew) the broker's; signing with the broker's time from now on; fix the system clock (NTP)",
                    metadata: ["offsetSeconds": "\(Int(skew.seconds.rounded()))"])
            }
            throw error
        }
        let options = MQTTOptions(
            host: tunnel.socketPath, port: 0, clientID: broker.clientID,
            protocolVersion: broker.protocolVersion == .mqtt5 ? .v5 : .v311, keepalive: broker.keepalive,
            connectTimeout: broker.connectTimeout)
        return BrokerTarget(options: options, endpoint: endpoint.description, release: { tunnel.close() })
    }
}

extension MQTTTLSTarget {
    /// mqtt-tls with an organization source and no broker.endpoint takes the iotEndpoint it returns.
    static func resolvingHost(_ broker: BrokerSection, refresher: CredentialRefresher?) async throws -> BrokerSection {
        guard broker.host.isEmpty, let refresher else { return broker }
        var resolved = broker
        resolved.host = try await refresher.current().iotEndpoint ?? ""
        return resolved
    }
}

extension TunnelError: PermanentFailure {}
extension CredentialError: PermanentFailure {}
