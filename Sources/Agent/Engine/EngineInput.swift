import ControlProtocol
import FoundationEssentials
import GatewayCore

/// A response line as the engine produces it.
typealias ControlResponseLine = ControlResponse

/// Who is asking on the control socket (SO_PEERCRED), and what they may do.
struct ControlPeer: Sendable, CustomStringConvertible {
    var pid: Int32
    var uid: UInt32
    var gid: UInt32
    var mayWrite: Bool
    var description: String { "pid=\(pid) uid=\(uid) gid=\(gid)" }
}

/// Connection states as `status` shows them.
enum ConnectionState: String, Sendable {
    case connected, connecting, disconnected
}

/// The publishing side of one live MQTT connection, as the engine sees it.
protocol RequestPublisher: Sendable {
    /// Publishes QoS 1; returns the message id whose PUBACK will arrive as `.published`.
    func publish(_ message: RequestMessage) throws -> Int32
}

/// Everything that reaches the engine goes through its inbox as one of these.
enum EngineInput: Sendable {
    /// A control-socket request; answers go to `channel`.
    case command(ControlRequest, peer: ControlPeer?, channel: ResponseChannel)
    /// Identities declared in identities.d, to reconcile (issued on start and SIGHUP).
    case declared(DeclaredIdentities)
    /// The connection manager is (re)connecting or gave up for now.
    case connectionState(ConnectionState, endpoint: String, error: String?)
    /// A connection is up and subscribed: send everything that is due.
    case connected(any RequestPublisher, endpoint: String, backlogNote: String)
    /// The connection is gone: everything in flight is sent again on the next one.
    case disconnected(reason: String)
    /// PUBACK for a message id.
    case published(messageID: Int32)
    /// An incoming message (an ack, we hope).
    case message(topic: String, payload: [UInt8], correlationData: [UInt8]?)
    /// Credentials obtained; their expiry for `status`.
    case credentialsExpiry(Date?)
    /// Finish: answer waiters, stop sending, then call `done`.
    case stop(done: @Sendable () -> Void)
}
