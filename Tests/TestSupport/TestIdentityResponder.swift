import Foundation

/// The `identity-responder` fixture (the cloud side of Identity v2) as a child process, connected to a
/// `TestBroker`'s client-certificate listener. Its behaviour is switched at run time with `setBehaviour`
/// (JSON, see Tests/Fixtures/IdentityResponder/ResponderBehaviour.swift), its state read with `state()`.
public final class TestIdentityResponder: @unchecked Sendable {
    // @unchecked: every stored property is immutable; ChildProcess's signalling and waiting are thread-safe.
    /// The broker the responder is connected to.
    public let broker: TestBroker
    /// Private directory with the state file, the records file and the log.
    public let directory: String
    /// The responder's JSON state (registry, counts, behaviour).
    public let stateFile: String
    /// The responder's log (one line per request and ack).
    public let logFile: String
    private let process: ChildProcess

    /// One request as the responder received it.
    public struct Record: Decodable, Sendable {
        /// The full topic, properties included.
        public var topic: String
        /// The action word of the topic.
        public var action: String?
        /// Topic properties, percent-decoded.
        public var properties: [String: String]
        /// Payload as UTF-8 text.
        public var payload: String
        /// MQTT 5 user properties as `[name, value]` pairs.
        public var userProperties: [[String]]
        /// MQTT 5 correlation data as UTF-8 text.
        public var correlationData: String?
        /// When it arrived, milliseconds since the epoch.
        public var receivedAtMs: Int64
    }

    /// What the responder knows.
    public struct State: Decodable, Sendable {
        /// What the cloud holds for an identity.
        public struct Identity: Decodable, Sendable, Equatable {
            /// The PEM of the latest applied create or update.
            public var publicKey: String?
            /// The `parent` property of the create (or a later update); nil for the gateway.
            public var parent: String?

            /// An entry to compare with.
            public init(publicKey: String?, parent: String?) {
                self.publicKey = publicKey
                self.parent = parent
            }
        }

        /// Identity (lower-case UUID) → public key and parent.
        public var registry: [String: Identity]
        /// Correlation id → how many times it was received.
        public var requestCounts: [String: Int]
        /// Correlation ids that changed the registry, in order; a correlation id is applied at most once.
        public var applied: [String]
        /// Acks published (or about to be, right after this state was written).
        public var acksSent: Int
        /// Control messages applied.
        public var controlCount: Int
        /// True while connected and subscribed.
        public var subscribed: Bool
        /// Connections made so far.
        public var connections: Int
        /// Every request received, in order.
        public var records: [Record] = []

        enum CodingKeys: String, CodingKey {
            case registry, requestCounts, applied, acksSent, controlCount, subscribed, connections
        }
    }

    /// Starts the responder (MQTT 5 by default) and waits until it has subscribed.
    public init(
        broker: TestBroker, protocolVersion: String = "mqtt5", clientID: String = "identity-responder"
    ) throws {
        self.broker = broker
        directory = try MQTTTestCommand.makePrivateDirectory(prefix: "test-responder")
        stateFile = "\(directory)/state.json"
        logFile = "\(directory)/responder.log"
        let certificates = broker.certificates
        process = try ChildProcess(
            executable: TestExecutables.identityResponder,
            arguments: [
                "--host", "localhost", "--port", String(broker.certificatePort), "--cafile", certificates.caFile,
                "--cert", certificates.clientCertFile, "--key", certificates.clientKeyFile, "--state-file", stateFile,
                "--client-id", clientID, "--protocol", protocolVersion,
            ], stdout: .file(logFile), stderr: .file(logFile))
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if (try? state())?.subscribed == true { return }
            guard process.isRunning else { break }
            usleep(20_000)
        }
        process.stop(signal: SIGKILL)
        throw MQTTTestCommand.Failure("identity-responder did not subscribe within 10 s:\n\(log().suffix(2000))")
    }

    deinit {
        process.stop(signal: SIGKILL)
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// The state as last written, with every record received.
    public func state() throws -> State {
        var state = try JSONDecoder().decode(State.self, from: Data(contentsOf: URL(fileURLWithPath: stateFile)))
        let lines = (try? String(contentsOfFile: "\(stateFile).records.jsonl", encoding: .utf8)) ?? ""
        state.records = lines.split(separator: "\n").compactMap {
            try? JSONDecoder().decode(Record.self, from: Data($0.utf8))
        }
        return state
    }

    /// Polls the state until `condition` holds; throws with the log when `timeout` passes.
    @discardableResult
    public func waitForState(
        _ what: String, timeout: Duration = .seconds(10), until condition: (State) -> Bool
    ) async throws -> State {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let state = try? state(), condition(state) { return state }
            try await Task.sleep(for: .milliseconds(20))
        }
        // A busy test runner may wake us late: look once more before giving up.
        if let state = try? state(), condition(state) { return state }
        throw MQTTTestCommand.Failure("responder: timed out waiting for \(what):\n\(log().suffix(2000))")
    }

    /// Publishes a behaviour (e.g. `{"mode":"error","error":"invalid-key"}`) and waits until it is applied.
    public func setBehaviour(_ json: String) async throws {
        let before = try state().controlCount
        try ChildProcess.run(
            TestExecutables.mosquittoPub,
            ["--unix", broker.unixSocketPath, "-q", "1", "-t", "test/responder/control", "-m", json],
            timeout: .seconds(10)
        ).checked()
        try await waitForState("behaviour \(json)", timeout: .seconds(5)) { $0.controlCount > before }
    }

    /// True while the responder process runs.
    public var isRunning: Bool { process.isRunning }

    /// Stops the responder (SIGTERM; SIGKILL after 5 s) and waits for it to exit.
    public func stop() { process.stop() }

    /// The responder's log so far.
    public func log() -> String {
        (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? ""
    }
}
