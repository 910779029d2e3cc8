import CMosquitto
import Dispatch
import Glibc
import Synchronization

/// Owns one libmosquitto handle for one connection attempt and the session that follows,
/// plus the thread that runs its network loop.
///
/// libmosquitto runs in threaded mode: publish, subscribe and disconnect may be called from any thread
/// while the loop thread (the only caller of `mosquitto_loop`) runs the callbacks. Callbacks touch only
/// `state` and the event continuation, both thread-safe. The loop thread destroys the handle after
/// clearing `alive`, which every other user of the handle holds while calling into libmosquitto.
/// There is no automatic reconnect: when the connection ends, the loop ends.
final class MosquittoSession: @unchecked Sendable {
    private let options: MQTTOptions
    private let handle: OpaquePointer
    private let events: AsyncStream<MQTTEvent>.Continuation
    private let state = Mutex(State())
    private let alive = Mutex(true)
    private let loopEnded = DispatchSemaphore(value: 0)

    /// How long `disconnect()` lets the loop flush DISCONNECT before giving up on a dead link.
    private static let disconnectGrace: Duration = .seconds(2)
    /// Longest wait of one `mosquitto_loop` call. libmosquitto wakes the loop itself for every queued packet
    /// (its socket pair) and shortens the wait to the keepalive deadline, so this only paces the stop checks;
    /// shorter would wake an idle agent for nothing.
    private static let loopTimeoutMs: Int32 = 1000

    private typealias Waiter = CheckedContinuation<Result<Void, MQTTError>, Never>

    private enum Phase { case idle, connecting, connected, closed }

    private enum Stop {
        case immediately
        case afterDisconnect(deadline: ContinuousClock.Instant)
    }

    private struct State {
        var phase = Phase.idle
        var waiter: Waiter?
        /// A connect outcome decided before `connect()` stored its waiter.
        var outcome: Result<Void, MQTTError>?
        var stop: Stop?
        var closedByClient = false
        var loopRunning = false
        var diagnosis = TLSDiagnosis()
    }

    init(options: MQTTOptions, events: AsyncStream<MQTTEvent>.Continuation) throws(MQTTError) {
        try MosquittoLibrary.initialise()
        try MQTTOptionsCheck.validate(options)
        errno = 0
        guard let handle = mosquitto_new(options.clientID, options.cleanStart, nil) else {
            if errno == EINVAL {
                throw .invalidOption(field: "client_id", reason: "libmosquitto refused '\(options.clientID)'")
            }
            throw .library(operation: "mosquitto_new", code: MosquittoResult.code(MOSQ_ERR_NOMEM), text: "out of memory")
        }
        self.options = options
        self.handle = handle
        self.events = events
        do throws(MQTTError) {
            try configure()
        } catch {
            alive.withLock { $0 = false }
            mosquitto_destroy(handle)
            throw error
        }
        installCallbacks()
    }

    deinit {
        let destroy = alive.withLock { isAlive in
            defer { isAlive = false }
            return isAlive
        }
        if destroy { mosquitto_destroy(handle) }
    }

    // MARK: Setup

    private func configure() throws(MQTTError) {
        mosquitto_user_data_set(handle, Unmanaged.passUnretained(self).toOpaque())
        try MosquittoResult.check(mosquitto_threaded_set(handle, true), "mosquitto_threaded_set")
        let version = options.protocolVersion == .v5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311
        try MosquittoResult.check(
            mosquitto_int_option(handle, MOSQ_OPT_PROTOCOL_VERSION, version), "setting the protocol version")
        try MosquittoResult.check(
            mosquitto_max_inflight_messages_set(handle, UInt32(options.maxInflight)), "setting max_inflight")
        if options.protocolVersion == .v5 {
            try MosquittoResult.check(
                mosquitto_int_option(handle, MOSQ_OPT_SEND_MAXIMUM, Int32(options.maxInflight)), "setting max_inflight")
        }
        if !options.isUnixSocket {
            // Each MQTT packet is written whole; Nagle's algorithm would only hold a publish back until the
            // broker's delayed ACK of the packet before it (up to 40 ms), e.g. a PUBACK just sent.
            try MosquittoResult.check(mosquitto_int_option(handle, MOSQ_OPT_TCP_NODELAY, 1), "setting TCP_NODELAY")
        }
        if let username = options.username {
            try MosquittoResult.check(
                mosquitto_username_pw_set(handle, username, options.password?.value), "setting username and password")
        }
        if let tls = options.tls { try configureTLS(tls) }
    }

    private func configureTLS(_ tls: MQTTOptions.TLSOptions) throws(MQTTError) {
        if tls.caFile == nil {
            try MosquittoResult.check(
                mosquitto_int_option(handle, MOSQ_OPT_TLS_USE_OS_CERTS, 1), "trusting the system CA store")
        }
        var rc = mosquitto_tls_set(handle, tls.caFile, nil, tls.certFile, tls.keyFile, nil)
        if rc == MosquittoResult.code(MOSQ_ERR_INVAL), tls.caFile == nil {
            // Some libmosquitto builds insist on a CA file or directory even when the system store is used.
            rc = mosquitto_tls_set(handle, nil, "/etc/ssl/certs", tls.certFile, tls.keyFile, nil)
        }
        if rc == MosquittoResult.code(MOSQ_ERR_INVAL) {
            throw .invalidOption(
                field: "ca_file/cert_file/key_file", reason: "libmosquitto could not open them; check they exist and are PEM")
        }
        try MosquittoResult.check(rc, "mosquitto_tls_set")
        // Verification is always on: the peer's chain (SSL_VERIFY_PEER = 1) and its host name; TLS 1.2 or newer.
        try MosquittoResult.check(mosquitto_tls_opts_set(handle, 1, "tlsv1.2", nil), "mosquitto_tls_opts_set")
        try MosquittoResult.check(mosquitto_tls_insecure_set(handle, false), "mosquitto_tls_insecure_set")
        if let alpn = tls.alpn {
            try MosquittoResult.check(mosquitto_string_option(handle, MOSQ_OPT_TLS_ALPN, alpn), "setting ALPN '\(alpn)'")
        }
    }

    private static func session(_ context: UnsafeMutableRawPointer?) -> MosquittoSession? {
        context.map { Unmanaged<MosquittoSession>.fromOpaque($0).takeUnretainedValue() }
    }

    private func installCallbacks() {
        mosquitto_connect_v5_callback_set(handle) { _, context, rc, _, _ in
            MosquittoSession.session(context)?.connackReceived(rc)
        }
        mosquitto_disconnect_v5_callback_set(handle) { _, context, rc, _ in
            let errnoValue = errno
            MosquittoSession.session(context)?.connectionEnded(rc, errnoValue: errnoValue)
        }
        mosquitto_publish_v5_callback_set(handle) { _, context, mid, reasonCode, _ in
            MosquittoSession.session(context)?.pubackReceived(mid: mid, reasonCode: reasonCode)
        }
        mosquitto_message_v5_callback_set(handle) { _, context, message, properties in
            guard let message else { return }
            MosquittoSession.session(context)?.messageReceived(message.pointee, properties: properties)
        }
        mosquitto_subscribe_v5_callback_set(handle) { _, context, mid, count, granted, _ in
            let qos = granted.map { Array(UnsafeBufferPointer(start: $0, count: Int(max(count, 0)))) } ?? []
            MosquittoSession.session(context)?.events.yield(.subscribed(messageID: mid, grantedQoS: qos))
        }
        mosquitto_log_callback_set(handle) { mosq, context, level, text in
            guard let text, let mosq else { return }
            MosquittoSession.session(context)?.logged(level: level, line: String(cString: text), mosq: mosq)
        }
    }

    // MARK: Callbacks (loop thread)

    private func connackReceived(_ rc: Int32) {
        if rc == 0 {
            resolveConnect(.success(()))
        } else {
            resolveConnect(.failure(MosquittoResult.refusal(rc, version: options.protocolVersion, clientID: options.clientID)))
        }
    }

    private func pubackReceived(mid: Int32, reasonCode: Int32) {
        if reasonCode >= 0x80 {
            let reason = String(cString: mosquitto_reason_string(reasonCode))
            events.yield(.publishRejected(messageID: mid, reasonCode: reasonCode, reason: reason))
        } else {
            events.yield(.published(messageID: mid))
        }
    }

    private func messageReceived(_ message: mosquitto_message, properties: OpaquePointer?) {
        // libmosquitto already refuses topics that are not UTF-8; checked again so no bytes can trap here.
        guard let topicPointer = message.topic, let topic = String(validatingCString: topicPointer) else { return }
        var payload: [UInt8] = []
        if let bytes = message.payload, message.payloadlen > 0 {
            payload = Array(UnsafeRawBufferPointer(start: bytes, count: Int(message.payloadlen)))
        }
        let read = MosquittoProperties.read(properties)
        events.yield(
            .message(
                MQTTMessage(
                    topic: topic, payload: payload, qos: message.qos, retain: message.retain,
                    correlationData: read.correlationData, userProperties: read.user, responseTopic: read.responseTopic)))
    }

    private func logged(level: Int32, line: String, mosq: OpaquePointer) {
        // MOSQ_LOG_WARNING (1<<2) and MOSQ_LOG_ERR (1<<3): the lines that explain a failed connection.
        guard level & (4 | 8) != 0 else { return }
        // The SSL object is freed right after this line is logged, so its verification result is read now.
        let verify = line.contains("OpenSSL Error") ? cmosquitto_tls_verify_result(mosq) : Int(X509_V_OK)
        state.withLock { s in
            s.diagnosis.record(line)
            if verify != Int(X509_V_OK) { s.diagnosis.verifyResult = verify }
        }
    }

    // MARK: Connection lifecycle

    func connect() async throws(MQTTError) {
        let first = state.withLock { s in
            guard s.phase == .idle else { return false }
            s.phase = .connecting
            return true
        }
        guard first else {
            throw .library(
                operation: "connect", code: MosquittoResult.code(MOSQ_ERR_INVAL),
                text: "connect() was already called; use a new MQTTConnection for every attempt")
        }

        let timeout = options.connectTimeout
        let watchdog = Task { [self] in
            do {
                try await Task.sleep(for: timeout)
                resolveConnect(.failure(.timedOut(after: timeout)))
            } catch {
                // Cancelled: the connection was decided before the timeout.
            }
        }
        defer { watchdog.cancel() }

        let result = await withTaskCancellationHandler {
            await withCheckedContinuation { (waiter: Waiter) in
                let decided = state.withLock { s -> Result<Void, MQTTError>? in
                    guard s.phase == .connecting else { return s.outcome ?? .failure(.closed) }
                    s.waiter = waiter
                    s.loopRunning = true
                    return nil
                }
                if let decided {
                    waiter.resume(returning: decided)
                    events.finish()
                } else if !startLoopThread() {
                    state.withLock { $0.loopRunning = false }
                    resolveConnect(
                        .failure(
                            .library(
                                operation: "starting the MQTT network thread", code: MosquittoResult.code(MOSQ_ERR_ERRNO),
                                text: String(cString: strerror(errno)))))
                    events.finish()
                }
            }
        } onCancel: {
            state.withLock { $0.closedByClient = true }
            resolveConnect(.failure(.closed))
        }
        try result.get()
    }

    /// Settles `connect()` once: success moves to connected, failure stops the loop.
    private func resolveConnect(_ result: Result<Void, MQTTError>) {
        let waiter = state.withLock { s -> Waiter? in
            guard s.phase == .connecting else { return nil }
            switch result {
            case .success: s.phase = .connected
            case .failure:
                s.phase = .closed
                if s.stop == nil { s.stop = .immediately }
            }
            defer { s.waiter = nil }
            if s.waiter == nil { s.outcome = result }
            return s.waiter
        }
        waiter?.resume(returning: result)
    }

    /// The network connection ended (disconnect callback or loop error); reported once.
    private func connectionEnded(_ rc: Int32, errnoValue: Int32) {
        let phase = state.withLock { $0.phase }
        switch phase {
        case .connecting:
            resolveConnect(.failure(connectFailure(rc, errnoValue: errnoValue)))
        case .connected:
            let report = state.withLock { s -> MQTTDisconnect? in
                guard s.phase == .connected else { return nil }
                s.phase = .closed
                return MQTTDisconnect(
                    requestedByClient: s.closedByClient, reasonCode: rc, text: MosquittoResult.disconnectText(rc))
            }
            if let report { events.yield(.disconnected(report)) }
        case .idle, .closed:
            break
        }
    }

    /// Why a connection attempt failed: TLS reasons first (libmosquitto hides them behind one code).
    private func connectFailure(_ rc: Int32, errnoValue: Int32) -> MQTTError {
        let diagnosis = state.withLock { $0.diagnosis }
        if let tlsError = diagnosis.error(host: options.host, options: options.tls) { return tlsError }
        if rc >= 0x80 { return MosquittoResult.refusal(rc, version: options.protocolVersion, clientID: options.clientID) }
        let error = MosquittoResult.error(for: rc, operation: "connecting to \(options.endpointDescription)", errnoValue: errnoValue)
        if case .network(let detail) = error {
            return .network(detail: "\(options.endpointDescription): \(detail)")
        }
        return error
    }

    private func startLoopThread() -> Bool {
        let context = Unmanaged.passRetained(self).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(
            &thread, nil,
            { context in
                let session = Unmanaged<MosquittoSession>.fromOpaque(context!).takeRetainedValue()
                session.runLoop()
                return nil
            }, context)
        guard rc == 0 else {
            Unmanaged<MosquittoSession>.fromOpaque(context).release()
            errno = rc
            return false
        }
        pthread_detach(thread)
        return true
    }

    /// The loop thread: connect (DNS and TCP block here), then run the network loop until the connection ends.
    private func runLoop() {
        defer { loopFinished() }
        errno = 0
        let rc = openConnection()
        guard rc == MosquittoResult.success else {
            connectionEnded(rc, errnoValue: errno)
            return
        }
        while true {
            let stop = state.withLock { $0.stop }
            switch stop {
            case .immediately: return
            case .afterDisconnect(let deadline) where ContinuousClock.now >= deadline: return
            default: break
            }
            let rc = mosquitto_loop(handle, Self.loopTimeoutMs, 1)
            if rc != MosquittoResult.success {
                connectionEnded(rc, errnoValue: errno)
                return
            }
        }
    }

    private func openConnection() -> Int32 {
        let keepalive = Int32(options.keepalive.components.seconds)
        let port = Int32(options.port)
        switch options.protocolVersion {
        case .v5:
            let expiry = options.cleanStart ? 0 : UInt32(clamping: options.sessionExpiry.components.seconds)
            return MosquittoProperties.withConnectProperties(sessionExpirySeconds: expiry) { properties in
                mosquitto_connect_bind_v5(handle, options.host, port, keepalive, nil, properties)
            }
        case .v311:
            return mosquitto_connect(handle, options.host, port, keepalive)
        }
    }

    private func loopFinished() {
        // Stopped without a disconnect callback (e.g. the DISCONNECT could not be flushed in time).
        connectionEnded(MosquittoResult.code(MOSQ_ERR_NO_CONN), errnoValue: 0)
        alive.withLock { $0 = false }
        mosquitto_destroy(handle)
        events.finish()
        state.withLock { $0.loopRunning = false }
        loopEnded.signal()
    }

    /// Sends DISCONNECT if connected, ends the loop and waits (bounded) for the handle to be destroyed.
    func disconnect() {
        let (sendDisconnect, waiter, loopRunning) = state.withLock { s -> (Bool, Waiter?, Bool) in
            s.closedByClient = true
            switch s.phase {
            case .idle:
                s.phase = .closed
                return (false, nil, s.loopRunning)
            case .connecting:
                s.phase = .closed
                s.stop = .immediately
                s.outcome = .failure(.closed)
                defer { s.waiter = nil }
                return (false, s.waiter, s.loopRunning)
            case .connected:
                s.stop = .afterDisconnect(deadline: .now + Self.disconnectGrace)
                return (true, nil, s.loopRunning)
            case .closed:
                return (false, nil, s.loopRunning)
            }
        }
        waiter?.resume(returning: .failure(.closed))
        if sendDisconnect {
            alive.withLock { isAlive in
                if isAlive { _ = mosquitto_disconnect(handle) }
            }
        }
        if loopRunning {
            // Every waiter passes the signal on, so concurrent and repeated calls all return.
            if loopEnded.wait(timeout: .now() + .seconds(3)) == .success { loopEnded.signal() }
        } else {
            events.finish()
        }
    }

    // MARK: Publish and subscribe (any thread)

    var isConnected: Bool { state.withLock { $0.phase == .connected } }

    func publish(
        topic: String, payload: [UInt8], qos: Int32, retain: Bool, userProperties: [(String, String)],
        correlationData: [UInt8]?
    ) throws(MQTTError) -> Int32 {
        try MosquittoProperties.checkString(topic, field: "topic")
        guard (0...2).contains(qos) else { throw .invalidArgument(field: "qos", reason: "must be 0, 1 or 2, got \(qos)") }
        guard payload.count <= 268_435_455 else {
            throw .invalidArgument(field: "payload", reason: "\(payload.count) bytes exceeds MQTT's 256 MB limit")
        }
        guard isConnected else { throw .notConnected }
        let isV5 = options.protocolVersion == .v5
        var mid: Int32 = 0
        let rc = try MosquittoProperties.withPublishProperties(
            userProperties: isV5 ? userProperties : [], correlationData: isV5 ? correlationData : nil
        ) { properties in
            alive.withLock { isAlive -> Int32 in
                guard isAlive else { return MosquittoResult.code(MOSQ_ERR_NO_CONN) }
                return payload.withUnsafeBytes { bytes in
                    mosquitto_publish_v5(handle, &mid, topic, Int32(bytes.count), bytes.baseAddress, qos, retain, properties)
                }
            }
        }
        if rc == MosquittoResult.code(MOSQ_ERR_INVAL) {
            throw .invalidArgument(field: "topic", reason: "'\(topic)' is not a valid topic to publish to (empty or has + or #)")
        }
        try MosquittoResult.check(rc, "publish to '\(topic)'")
        return mid
    }

    func subscribe(_ filter: String, qos: Int32) throws(MQTTError) -> Int32 {
        try MosquittoProperties.checkString(filter, field: "topic filter")
        guard (0...2).contains(qos) else { throw .invalidArgument(field: "qos", reason: "must be 0, 1 or 2, got \(qos)") }
        guard isConnected else { throw .notConnected }
        var mid: Int32 = 0
        let rc = alive.withLock { isAlive -> Int32 in
            guard isAlive else { return MosquittoResult.code(MOSQ_ERR_NO_CONN) }
            return mosquitto_subscribe(handle, &mid, filter, qos)
        }
        if rc == MosquittoResult.code(MOSQ_ERR_INVAL) {
            throw .invalidArgument(field: "topic filter", reason: "'\(filter)' is not a valid MQTT topic filter")
        }
        try MosquittoResult.check(rc, "subscribe to '\(filter)'")
        return mid
    }
}
