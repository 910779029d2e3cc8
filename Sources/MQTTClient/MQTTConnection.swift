import Synchronization

/// One MQTT connection to a broker through libmosquitto: one attempt, then the session it opens.
///
/// Make a new `MQTTConnection` for every attempt; there is no automatic reconnect. Call `connect()`,
/// then `subscribe`/`publish`, and read `events` until `.disconnected`, after which the stream finishes.
public final class MQTTConnection: Sendable {
    /// The options this connection was made with.
    public let options: MQTTOptions
    /// PUBACKs, SUBACKs, incoming messages and the final `.disconnected`, in order; buffered until read.
    public let events: AsyncStream<MQTTEvent>

    private let sink: AsyncStream<MQTTEvent>.Continuation
    private let slot = Mutex(Slot.unused)

    private enum Slot {
        case unused
        case open(MosquittoSession)
        case closed
    }

    /// Prepares a connection; nothing touches the network until `connect()`.
    public init(options: MQTTOptions) {
        self.options = options
        (events, sink) = AsyncStream.makeStream(of: MQTTEvent.self)
    }

    deinit {
        disconnect()
    }

    /// Connects and returns once the broker accepted (CONNACK success); throws why it did not.
    ///
    /// Gives up with `.timedOut` after `options.connectTimeout`; cancelling the task gives `.closed`.
    public func connect() async throws(MQTTError) {
        let session = try slot.withLock { slot throws(MQTTError) -> MosquittoSession in
            switch slot {
            case .closed:
                throw .closed
            case .open:
                throw .library(
                    operation: "connect", code: 3, text: "connect() was already called; use a new MQTTConnection for every attempt")
            case .unused:
                do throws(MQTTError) {
                    let session = try MosquittoSession(options: options, events: sink)
                    slot = .open(session)
                    return session
                } catch {
                    slot = .closed
                    sink.finish()
                    throw error
                }
            }
        }
        try await session.connect()
    }

    /// True between a successful `connect()` and the end of the connection.
    public var isConnected: Bool { session?.isConnected ?? false }

    /// Subscribes to `filter`; returns the message id that `.subscribed` will carry.
    public func subscribe(_ filter: String, qos: Int32 = 1) throws(MQTTError) -> Int32 {
        guard let session else { throw .notConnected }
        return try session.subscribe(filter, qos: qos)
    }

    /// Publishes `payload` to `topic`; returns the message id that `.published` will carry (QoS 1).
    ///
    /// User properties and correlation data are sent with MQTT 5 and left out with MQTT 3.1.1.
    public func publish(
        topic: String, payload: [UInt8], qos: Int32 = 1, retain: Bool = false,
        userProperties: [(String, String)] = [], correlationData: [UInt8]? = nil
    ) throws(MQTTError) -> Int32 {
        guard let session else { throw .notConnected }
        return try session.publish(
            topic: topic, payload: payload, qos: qos, retain: retain, userProperties: userProperties,
            correlationData: correlationData)
    }

    /// Sends DISCONNECT (if connected), stops the network thread and frees the handle. Safe to call again.
    public func disconnect() {
        let session = slot.withLock { slot -> MosquittoSession? in
            switch slot {
            case .unused:
                slot = .closed
                return nil
            case .open(let session):
                return session
            case .closed:
                return nil
            }
        }
        if let session {
            session.disconnect()
        } else {
            sink.finish()
        }
    }

    private var session: MosquittoSession? {
        slot.withLock { slot in
            if case .open(let session) = slot { return session }
            return nil
        }
    }
}
