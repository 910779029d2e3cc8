import Foundation
import MQTTClient
import TestSupport
import Testing

@Suite("MQTT connection against a real mosquitto")
struct MQTTConnectionTests {
    let broker: TestBroker

    init() async throws {
        // Started on a thread of its own: its synchronous start-up must not hold the threads tests share.
        broker = try await onOwnThread { try TestBroker() }
    }

    @Test("connects with a client certificate over TLS")
    func connectsWithClientCertificate() async throws {
        let connection = MQTTConnection(options: broker.certificateOptions())
        try await connection.connect()
        #expect(connection.isConnected)
        connection.disconnect()
        #expect(!connection.isConnected)
    }

    @Test("connects with username and password over TLS")
    func connectsWithPassword() async throws {
        let connection = MQTTConnection(options: broker.passwordOptions())
        try await connection.connect()
        #expect(connection.isConnected)
        connection.disconnect()
    }

    @Test("a QoS 1 publish is answered by a PUBACK event with its message id")
    func publishGetsPuback() async throws {
        let connection = MQTTConnection(options: broker.certificateOptions())
        let recorder = EventRecorder(connection)
        try await connection.connect()
        let mid = try connection.publish(topic: "test/puback", payload: Array("hello".utf8))
        try await recorder.waitForPuback(mid)
        connection.disconnect()
    }

    @Test("MQTT 5 user properties and correlation data arrive on a second connection")
    func propertiesRoundTrip() async throws {
        let receiver = MQTTConnection(options: broker.passwordOptions())
        let received = EventRecorder(receiver)
        try await receiver.connect()
        let granted = try await received.waitForSuback(try receiver.subscribe("test/properties/#"))
        #expect(granted == [1])

        let sender = MQTTConnection(options: broker.certificateOptions())
        try await sender.connect()
        let properties = [("correlationId", "5f0c"), ("context", "a&b=c/d+e#f%g"), ("context", "second")]
        let correlation = Array("5f0c-correlation".utf8)
        _ = try sender.publish(
            topic: "test/properties/one", payload: [0, 1, 2, 255], userProperties: properties,
            correlationData: correlation)

        let message = try await received.waitForMessage(on: "test/properties/one")
        #expect(message.payload == [0, 1, 2, 255])
        #expect(message.qos == 1)
        #expect(message.correlationData == correlation)
        #expect(message.userProperties.map { "\($0.0)=\($0.1)" } == properties.map { "\($0.0)=\($0.1)" })
        #expect(message.userProperty("context") == "a&b=c/d+e#f%g")
        sender.disconnect()
        receiver.disconnect()
    }

    @Test("MQTT 3.1.1 connects, publishes and receives without properties")
    func mqtt311Works() async throws {
        let connection = MQTTConnection(options: broker.certificateOptions(version: .v311))
        let recorder = EventRecorder(connection)
        try await connection.connect()
        _ = try await recorder.waitForSuback(try connection.subscribe("test/v311"))
        let mid = try connection.publish(
            topic: "test/v311", payload: Array("x".utf8), userProperties: [("dropped", "yes")],
            correlationData: [1])
        try await recorder.waitForPuback(mid)
        let message = try await recorder.waitForMessage(on: "test/v311")
        #expect(message.payload == Array("x".utf8))
        #expect(message.userProperties.isEmpty)
        #expect(message.correlationData == nil)
        connection.disconnect()
    }

    @Test("a burst of 1,000 QoS 1 publishes is acknowledged in full")
    func burstOfPublishes() async throws {
        let connection = MQTTConnection(options: broker.certificateOptions())
        let recorder = EventRecorder(connection)
        try await connection.connect()
        var mids = Set<Int32>()
        for index in 0..<1000 {
            mids.insert(try connection.publish(topic: "test/burst", payload: Array("\(index)".utf8)))
        }
        #expect(mids.count == 1000)
        try await recorder.wait(for: "1,000 PUBACKs", timeout: .seconds(20)) { events in
            events.count(where: { if case .published = $0 { return true } else { return false } }) >= 1000 ? () : nil
        }
        connection.disconnect()
    }

    @Test("offering ALPN still connects to a broker that does not negotiate it")
    func alpnIsOffered() async throws {
        var options = broker.certificateOptions()
        options.tls?.alpn = "x-amzn-mqtt-ca"
        let connection = MQTTConnection(options: options)
        try await connection.connect()
        connection.disconnect()
    }

    @Test("connects to a Unix socket when the port is 0")
    func connectsToUnixSocket() async throws {
        let connection = MQTTConnection(options: broker.unixSocketOptions())
        let recorder = EventRecorder(connection)
        try await connection.connect()
        let mid = try connection.publish(topic: "test/unix", payload: [1])
        try await recorder.waitForPuback(mid)
        connection.disconnect()
    }

    @Test("disconnect sends DISCONNECT, reports it as requested and finishes the stream; twice is harmless")
    func disconnectIsClean() async throws {
        let connection = MQTTConnection(options: broker.certificateOptions(clientID: "clean-disconnect"))
        let recorder = EventRecorder(connection)
        try await connection.connect()
        connection.disconnect()
        connection.disconnect()
        let disconnect = try await recorder.waitForDisconnect()
        #expect(disconnect.requestedByClient)
        #expect(disconnect.reasonCode == 0)
        try await recorder.wait(for: "the end of the stream") { _ in recorder.finished ? () : nil }
        // The broker writes its log line in its own time, possibly after the client has finished.
        let deadline = ContinuousClock.now + .seconds(5)
        while !broker.log().contains("Received DISCONNECT from clean-disconnect"), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(broker.log().contains("Received DISCONNECT from clean-disconnect"))
        #expect(throws: MQTTError.notConnected) { try connection.publish(topic: "t", payload: []) }
    }

    @Test("stopping the broker ends the connection with a disconnected event")
    func brokerStopDisconnects() async throws {
        let connection = MQTTConnection(options: broker.certificateOptions())
        let recorder = EventRecorder(connection)
        try await connection.connect()
        broker.stop()
        let disconnect = try await recorder.waitForDisconnect()
        #expect(!disconnect.requestedByClient)
        try await recorder.wait(for: "the end of the stream") { _ in recorder.finished ? () : nil }
        #expect(!connection.isConnected)
    }

    @Test("a broker restart needs a new connection, which then works on the same port")
    func reconnectsAfterRestart() async throws {
        let first = MQTTConnection(options: broker.certificateOptions(clientID: "restart-client"))
        let recorder = EventRecorder(first)
        try await first.connect()
        try broker.restart()
        _ = try await recorder.waitForDisconnect()
        let second = MQTTConnection(options: broker.certificateOptions(clientID: "restart-client"))
        try await second.connect()
        #expect(second.isConnected)
        second.disconnect()
    }

    @Test("a persistent session keeps the subscription and queued QoS 1 messages across connections")
    func persistentSessionKeepsMessages() async throws {
        let options = broker.certificateOptions(clientID: "persistent-\(UUID().uuidString.prefix(6))")
        let first = MQTTConnection(options: options)
        let firstEvents = EventRecorder(first)
        try await first.connect()
        _ = try await firstEvents.waitForSuback(try first.subscribe("test/persistent"))
        first.disconnect()

        let sender = MQTTConnection(options: broker.passwordOptions())
        let senderEvents = EventRecorder(sender)
        try await sender.connect()
        try await senderEvents.waitForPuback(try sender.publish(topic: "test/persistent", payload: [42]))
        sender.disconnect()

        let second = MQTTConnection(options: options)
        let secondEvents = EventRecorder(second)
        try await second.connect()
        let message = try await secondEvents.waitForMessage(on: "test/persistent")
        #expect(message.payload == [42])
        second.disconnect()
    }
}
