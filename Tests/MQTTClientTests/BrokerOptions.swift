import Foundation
import MQTTClient
import TestSupport
import Testing

extension TestBroker {
    /// Options for the client-certificate listener, trusting the test CA.
    func certificateOptions(
        clientID: String = "test-\(UUID().uuidString.prefix(8))", version: MQTTOptions.ProtocolVersion = .v5
    ) -> MQTTOptions {
        MQTTOptions(
            host: "localhost", port: certificatePort, clientID: clientID, protocolVersion: version,
            connectTimeout: .seconds(5),
            tls: .init(
                caFile: certificates.caFile, certFile: certificates.clientCertFile, keyFile: certificates.clientKeyFile))
    }

    /// Options for the password listener, trusting the test CA.
    func passwordOptions(
        clientID: String = "test-\(UUID().uuidString.prefix(8))", password: String? = nil
    ) -> MQTTOptions {
        MQTTOptions(
            host: "localhost", port: passwordPort, clientID: clientID, connectTimeout: .seconds(5),
            username: username, password: .init(password ?? self.password), tls: .init(caFile: certificates.caFile))
    }

    /// Options for the plain Unix-socket listener.
    func unixSocketOptions(clientID: String = "test-\(UUID().uuidString.prefix(8))") -> MQTTOptions {
        MQTTOptions(host: unixSocketPath, port: 0, clientID: clientID, connectTimeout: .seconds(5))
    }
}

/// Runs `body` and returns the MQTTError it threw, or nil when it did not throw.
func mqttError(_ body: () async throws -> Void) async -> MQTTError? {
    do {
        try await body()
        return nil
    } catch let error as MQTTError {
        return error
    } catch {
        Issue.record("expected an MQTTError, got \(error)")
        return nil
    }
}
