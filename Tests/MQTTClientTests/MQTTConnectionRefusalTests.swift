import Foundation
import MQTTClient
import TestSupport
import Testing

@Suite("MQTT connections that must fail, with errors that say why")
struct MQTTConnectionRefusalTests {
    let broker: TestBroker

    init() async throws {
        // Started on a thread of its own: its synchronous start-up must not hold the threads tests share.
        broker = try await onOwnThread { try TestBroker() }
    }

    @Test("a broker certificate from another CA is refused as untrusted, permanently")
    func wrongCAIsRefused() async throws {
        var options = broker.certificateOptions()
        options.tls?.caFile = broker.certificates.otherCAFile
        let error = await mqttError { try await MQTTConnection(options: options).connect() }
        guard case .serverCertificateUntrusted = error else {
            Issue.record("expected serverCertificateUntrusted, got \(String(describing: error))")
            return
        }
        #expect(error?.isPermanent == true)
        #expect(error?.description.contains("broker.ca_file") == true)
    }

    @Test("a broker certificate for another host name is refused")
    func wrongHostNameIsRefused() async throws {
        let options = MQTTOptions(
            host: "localhost", port: broker.wrongHostPort, clientID: "wrong-host", connectTimeout: .seconds(5),
            tls: .init(caFile: broker.certificates.caFile))
        let error = await mqttError { try await MQTTConnection(options: options).connect() }
        #expect(error == .hostNameMismatch(host: "localhost"))
        #expect(error?.isPermanent == true)
    }

    // mosquitto answers a wrong password with "not authorized"; other brokers say "bad username or password".
    @Test("a wrong password is refused, permanently, without showing the password")
    func wrongPasswordIsRefused() async throws {
        let error = await mqttError {
            try await MQTTConnection(options: broker.passwordOptions(password: "not-the-password")).connect()
        }
        #expect(error == .notAuthorized(code: 0x87) || error == .badCredentials(code: 0x86))
        #expect(error?.isPermanent == true)
        #expect(error?.description.contains("not-the-password") == false)
    }

    @Test("a wrong password is refused with the MQTT 3.1.1 return code")
    func wrongPasswordIsRefusedWithMQTT311() async throws {
        var options = broker.passwordOptions(password: "not-the-password")
        options.protocolVersion = .v311
        let error = await mqttError { try await MQTTConnection(options: options).connect() }
        #expect(error == .notAuthorized(code: 5) || error == .badCredentials(code: 4))
    }

    @Test("a client certificate from an unrelated CA is rejected by the broker")
    func foreignClientCertificateIsRejected() async throws {
        var options = broker.certificateOptions()
        options.tls?.certFile = broker.certificates.otherClientCertFile
        options.tls?.keyFile = broker.certificates.otherClientKeyFile
        let error = await mqttError { try await MQTTConnection(options: options).connect() }
        // With TLS 1.3 the server checks the client certificate after the client's handshake has finished; its
        // alert is sometimes lost in the reset that follows, and the refusal then reads as a network error.
        if case .clientCertificateRejected = error {
            #expect(error?.isPermanent == true)
        } else if case .network = error {
        } else {
            Issue.record("expected clientCertificateRejected (or a network error under TLS 1.3), got \(String(describing: error))")
        }
    }

    @Test("no client certificate on a listener that requires one is rejected")
    func missingClientCertificateIsRejected() async throws {
        var options = broker.certificateOptions()
        options.tls?.certFile = nil
        options.tls?.keyFile = nil
        let error = await mqttError { try await MQTTConnection(options: options).connect() }
        // See above: under TLS 1.3 the refusal may arrive as a reset.
        if case .clientCertificateRejected = error {
        } else if case .network = error {
        } else {
            Issue.record("expected clientCertificateRejected (or a network error under TLS 1.3), got \(String(describing: error))")
        }
    }

    @Test("a port nobody listens on is a network error that retrying may fix")
    func connectionRefusedIsTransient() async throws {
        var options = broker.certificateOptions()
        options.port = try freePortNobodyListensOn()
        let error = await mqttError { try await MQTTConnection(options: options).connect() }
        guard case .network(let detail) = error else {
            Issue.record("expected a network error, got \(String(describing: error))")
            return
        }
        #expect(detail.contains("refused"))
        #expect(error?.isPermanent == false)
    }

    @Test("a server that never answers CONNECT times out after connectTimeout")
    func silentServerTimesOut() async throws {
        let silent = try SilentListener()
        let options = MQTTOptions(
            host: "127.0.0.1", port: silent.port, clientID: "timeout", connectTimeout: .milliseconds(300))
        let started = ContinuousClock.now
        let error = await mqttError { try await MQTTConnection(options: options).connect() }
        #expect(error == .timedOut(after: .milliseconds(300)))
        // Generous bound: parallel tests can delay the timer, but it must not wait for a TCP or TLS timeout.
        #expect(ContinuousClock.now - started < .seconds(25))
    }

    @Test("an unreadable CA file is an invalid option naming ca_file, before any network traffic")
    func unreadableCAFileIsInvalidOption() async throws {
        var options = broker.certificateOptions()
        options.tls?.caFile = "/nonexistent/ca.pem"
        let connection = MQTTConnection(options: options)
        let recorder = EventRecorder(connection)
        let error = await mqttError { try await connection.connect() }
        guard case .invalidOption(let field, let reason) = error else {
            Issue.record("expected invalidOption, got \(String(describing: error))")
            return
        }
        #expect(field == "ca_file")
        #expect(reason.contains("/nonexistent/ca.pem"))
        try await recorder.wait(for: "the end of the stream", timeout: .seconds(20)) { _ in recorder.finished ? () : nil }
    }

    @Test("disconnect while connecting makes connect throw closed")
    func disconnectWhileConnecting() async throws {
        let silent = try SilentListener()
        let connection = MQTTConnection(
            options: MQTTOptions(host: "127.0.0.1", port: silent.port, clientID: "closing", connectTimeout: .seconds(10)))
        async let attempt = mqttError { try await connection.connect() }
        try await Task.sleep(for: .milliseconds(100))
        connection.disconnect()
        #expect(await attempt == .closed)
    }
}

/// A TCP listener that accepts connections (through the kernel backlog) and never says anything.
final class SilentListener: Sendable {
    let port: Int
    private let fd: Int32

    init() throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let fd = self.fd
        let rc = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw -> Int32 in
                guard bind(fd, raw, length) == 0, listen(fd, 8) == 0 else { return -1 }
                return getsockname(fd, raw, &length)
            }
        }
        guard rc == 0 else { throw POSIXError(.EADDRNOTAVAIL) }
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(fd) }
}

/// A port that was free a moment ago (bound, then closed).
func freePortNobodyListensOn() throws -> Int {
    let listener = try SilentListener()
    return listener.port
}
