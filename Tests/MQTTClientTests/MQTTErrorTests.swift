import MQTTClient
import Testing

@Suite("MQTT errors and options, without a broker")
struct MQTTErrorTests {
    @Test("errors retrying cannot fix are permanent; the others are not")
    func permanence() {
        let permanent: [MQTTError] = [
            .badCredentials(code: 0x86), .notAuthorized(code: 5), .serverCertificateUntrusted(detail: "x"),
            .hostNameMismatch(host: "h"), .clientCertificateRejected(detail: "x"),
            .invalidOption(field: "ca_file", reason: "x"), .clientIDRejected(clientID: "c", code: 2),
            .unsupportedProtocolVersion(code: 0x84),
        ]
        let transient: [MQTTError] = [
            .timedOut(after: .seconds(1)), .network(detail: "x"), .refused(code: 0x88, reason: "x"),
            .tlsFailed(detail: "x"), .protocolViolation(detail: "x"), .notConnected, .closed,
        ]
        #expect(permanent.allSatisfy { $0.isPermanent })
        #expect(!transient.contains { $0.isPermanent })
    }

    @Test("messages say what to check")
    func messagesNameTheConfiguration() {
        #expect(MQTTError.clientCertificateRejected(detail: "x").description.contains("broker.cert_file/key_file"))
        #expect(MQTTError.serverCertificateUntrusted(detail: "x").description.contains("broker.ca_file"))
        #expect(MQTTError.badCredentials(code: 4).description.contains("broker.password_file"))
    }

    @Test("printing options never shows the password")
    func passwordIsRedacted() {
        let options = MQTTOptions(
            host: "h", port: 8883, clientID: "c", username: "u", password: .init("s3cret-value"))
        #expect(!"\(options)".contains("s3cret-value"))
        #expect(!String(reflecting: options).contains("s3cret-value"))
        #expect(options.endpointDescription == "h:8883")
    }

    @Test("a Unix socket endpoint is described as such")
    func unixSocketDescription() {
        let options = MQTTOptions(host: "/run/x/mqtt.sock", port: 0, clientID: "c")
        #expect(options.isUnixSocket)
        #expect(options.endpointDescription == "unix:/run/x/mqtt.sock")
    }

    @Test("bad options are refused before connecting, naming the field")
    func badOptionsAreRefused() async {
        let cases: [(MQTTOptions, String)] = [
            (MQTTOptions(host: "", port: 1883, clientID: "c"), "endpoint"),
            (MQTTOptions(host: "h", port: 70000, clientID: "c"), "port"),
            (MQTTOptions(host: "h", port: 1883, clientID: ""), "client_id"),
            (MQTTOptions(host: "h", port: 1883, clientID: "c", keepalive: .seconds(1)), "keepalive"),
            (MQTTOptions(host: "h", port: 1883, clientID: "c", password: .init("p")), "password_file"),
            (
                MQTTOptions(host: "h", port: 1883, clientID: "c", tls: .init(certFile: "/etc/hostname")),
                "cert_file/key_file"
            ),
        ]
        for (options, field) in cases {
            let error = await mqttError { try await MQTTConnection(options: options).connect() }
            guard case .invalidOption(let actual, _) = error else {
                Issue.record("expected invalidOption(\(field)), got \(String(describing: error))")
                continue
            }
            #expect(actual == field)
        }
    }

    @Test("publishing before connecting is refused, and a second connect is refused")
    func misuseIsRefused() async throws {
        let connection = MQTTConnection(options: MQTTOptions(host: "h", port: 1883, clientID: "c"))
        #expect(throws: MQTTError.notConnected) { try connection.publish(topic: "t", payload: []) }
        connection.disconnect()
        let error = await mqttError { try await connection.connect() }
        #expect(error == .closed)
    }
}
