import Foundation
import GatewayCore
import MQTTClient
import TestSupport
import Testing

@Suite("The identity-responder fixture answers like the cloud")
struct IdentityResponderTests {
    let broker: TestBroker
    let responder: TestIdentityResponder
    let module = try! ModuleID("line-3")

    init() async throws {
        // Started on a thread of their own: their synchronous start-up must not hold the threads tests share.
        let broker = try await onOwnThread { try TestBroker() }
        self.broker = broker
        responder = try await onOwnThread { try TestIdentityResponder(broker: broker) }
    }

    /// A connected client subscribed to this module's acks.
    private func agentSide() async throws -> (MQTTConnection, EventRecorder) {
        let connection = MQTTConnection(options: broker.passwordOptions())
        let recorder = EventRecorder(connection)
        try await connection.connect()
        _ = try await recorder.waitForSuback(try connection.subscribe(AckParser(moduleID: module).subscription))
        return (connection, recorder)
    }

    private func send(_ request: IdentityRequest, on connection: MQTTConnection) throws {
        let message = RequestMessage(request: request, moduleID: module, timestamp: isoTimestamp())
        _ = try connection.publish(
            topic: message.topic, payload: message.payload, userProperties: message.properties,
            correlationData: message.correlationData)
    }

    private func acks(_ recorder: EventRecorder, count: Int) async throws -> [Ack] {
        let parser = AckParser(moduleID: module)
        return try await recorder.wait(for: "\(count) acks") { events in
            let acks = events.compactMap { event -> Ack? in
                guard case .message(let message) = event else { return nil }
                return try? parser.parse(
                    topic: message.topic, payload: message.payload, correlationData: message.correlationData
                ).get()
            }
            return acks.count >= count ? acks : nil
        }
    }

    @Test("a create is acknowledged with its correlationId in the topic and lands in the registry")
    func acknowledgesCreate() async throws {
        let (connection, recorder) = try await agentSide()
        let identity = IdentityID.random()
        let request = IdentityRequest(action: .create, identity: identity, publicKey: "PEM-KEY", context: "a&b=c/d+e#f%g")
        try send(request, on: connection)

        let ack = try #require(try await acks(recorder, count: 1).first)
        #expect(ack.correlationID == request.correlationID)
        #expect(ack.action == .create)
        #expect(ack.outcome == .success)
        let topics = recorder.events.compactMap { event -> String? in
            if case .message(let message) = event { return message.topic } else { return nil }
        }
        #expect(topics == ["to/module/line-3/ack/identity/create&correlationId=\(request.correlationID)"])

        let state = try responder.state()
        #expect(state.registry[identity.rawValue] == .init(publicKey: "PEM-KEY", parent: nil))
        #expect(state.records.first?.properties["context"] == "a&b=c/d+e#f%g")
        #expect(state.records.first?.correlationData == request.correlationID)
        connection.disconnect()
    }

    @Test("a repeated correlationId is acknowledged again but applied once")
    func deduplicatesByCorrelationID() async throws {
        let (connection, recorder) = try await agentSide()
        let identity = IdentityID.random()
        let create = IdentityRequest(action: .create, identity: identity, publicKey: "K1")
        try send(create, on: connection)
        _ = try await acks(recorder, count: 1)
        let delete = IdentityRequest(action: .delete, identity: identity)
        try send(delete, on: connection)
        _ = try await acks(recorder, count: 2)
        try send(create, on: connection)
        _ = try await acks(recorder, count: 3)

        let state = try responder.state()
        #expect(state.registry[identity.rawValue] == nil)
        #expect(state.requestCounts[create.correlationID] == 2)
        #expect(state.applied == [create.correlationID, delete.correlationID])
        connection.disconnect()
    }

    @Test("error mode answers with the error code and message, and applies nothing")
    func errorMode() async throws {
        try await responder.setBehaviour(#"{"mode":"error","error":"invalid-key","message":"key rejected","ackVia":"payload"}"#)
        let (connection, recorder) = try await agentSide()
        let request = IdentityRequest(action: .create, identity: .random(), publicKey: "K")
        try send(request, on: connection)
        let ack = try #require(try await acks(recorder, count: 1).first)
        #expect(ack.outcome == .failure(error: "invalid-key", message: "key rejected"))
        #expect(ack.correlationID == request.correlationID)
        #expect(try responder.state().registry.isEmpty)
        connection.disconnect()
    }

    @Test("drop-first-n ignores the first sends of a correlationId, then answers via correlation data")
    func dropFirstN() async throws {
        try await responder.setBehaviour(#"{"mode":"drop-first-n","n":1,"ackVia":"correlation-data"}"#)
        let (connection, recorder) = try await agentSide()
        let request = IdentityRequest(action: .create, identity: .random(), publicKey: "K")
        try send(request, on: connection)
        try await responder.waitForState("first send") { $0.requestCounts[request.correlationID] == 1 }
        try send(request, on: connection)
        let ack = try #require(try await acks(recorder, count: 1).first)
        #expect(ack.correlationID == request.correlationID)
        #expect(try responder.state().acksSent == 1)
        connection.disconnect()
    }

    @Test("ack=none is never answered but still applied")
    func ackNone() async throws {
        let (connection, _) = try await agentSide()
        let request = IdentityRequest(action: .create, identity: .random(), publicKey: "K", ack: .none)
        try send(request, on: connection)
        let state = try await responder.waitForState("applied") { $0.applied.contains(request.correlationID) }
        #expect(state.acksSent == 0)
        connection.disconnect()
    }

    @Test("twice mode sends every ack two times; late mode waits before acking")
    func twiceAndLate() async throws {
        let (connection, recorder) = try await agentSide()
        try await responder.setBehaviour(#"{"mode":"twice"}"#)
        let first = IdentityRequest(action: .create, identity: .random(), publicKey: "K")
        try send(first, on: connection)
        let twice = try await acks(recorder, count: 2)
        #expect(twice.allSatisfy { $0.correlationID == first.correlationID })

        try await responder.setBehaviour(#"{"mode":"late","delayMs":400}"#)
        let second = IdentityRequest(action: .create, identity: .random(), publicKey: "K")
        let sent = ContinuousClock.now
        try send(second, on: connection)
        let late = try await acks(recorder, count: 3)
        #expect(late.last?.correlationID == second.correlationID)
        #expect(ContinuousClock.now - sent >= .milliseconds(400))
        connection.disconnect()
    }

    @Test("malformed mode sends acks the agent must drop", arguments: ["json", "encoding", "oversized"])
    func malformedAcks(kind: String) async throws {
        try await responder.setBehaviour(#"{"mode":"malformed","malformed":"\#(kind)"}"#)
        let (connection, recorder) = try await agentSide()
        try send(IdentityRequest(action: .create, identity: .random(), publicKey: "K"), on: connection)
        let message = try await recorder.wait(for: "an ack") { events in
            for case .message(let message) in events { return message }
            return nil
        }
        let parsed = AckParser(moduleID: module).parse(topic: message.topic, payload: message.payload)
        guard case .failure = parsed else {
            Issue.record("a \(kind) ack was accepted: \(parsed)")
            return
        }
        connection.disconnect()
    }
}
