import CryptoSupport
import Foundation
import TestSupport
import Testing
import WebSocketTunnel

@Suite("Opening the tunnel: TLS verification and the WebSocket upgrade", .serialized)
struct UpgradeHandshakeTests {
    @Test("a verified endpoint answering 101 with sub-protocol mqtt opens the tunnel")
    func opens() async throws {
        let directory = try makeTemporaryDirectory()
        let endpoint = try await startEndpoint(["--require-signature", "good"], in: directory)
        let tunnel = try await WebSocketTunnel.open(
            endpoint: localEndpoint(port: endpoint.port), runtimeDirectory: directory + "/run",
            connectTimeout: .seconds(5))
        #expect(tunnel.socketPath.hasPrefix(directory + "/run/tunnel-"))
        #expect(tunnel.endpointDescription == "wss://localhost:\(endpoint.port)/mqtt")
        let request = try #require(endpoint.events.first)
        #expect(request == "REQUEST method=GET path=/mqtt host=localhost:\(endpoint.port) protocol=mqtt")
        tunnel.close()
        #expect(await tunnel.closeReason == .closedLocally)
    }

    @Test("a 403 answer is handshakeForbidden, asks for fresh credentials, and never shows the query")
    func forbidden() async throws {
        let directory = try makeTemporaryDirectory()
        let endpoint = try await startEndpoint(["--require-signature", "good"], in: directory)
        do {
            _ = try await WebSocketTunnel.open(
                endpoint: localEndpoint(port: endpoint.port, signature: "expired-signature"),
                runtimeDirectory: directory + "/run", connectTimeout: .seconds(5))
            Issue.record("a forbidden upgrade opened the tunnel")
        } catch {
            guard case .handshakeForbidden(let endpointName, let status, _) = error else {
                Issue.record("expected handshakeForbidden, got \(error)")
                return
            }
            #expect(endpointName == "wss://localhost:\(endpoint.port)/mqtt")
            #expect(status == 403)
            #expect(error.needsFreshCredentials)
            #expect(!error.isPermanent)
            for secret in ["expired-signature", "SECRET-SESSION-TOKEN", "X-Amz", "?"] {
                #expect(!error.description.contains(secret))
            }
        }
        // Nothing is left behind in the runtime directory.
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory + "/run").isEmpty)
    }

    @Test("another refusal carries its status; 5xx is worth retrying, other 4xx are not")
    func otherRefusals() async throws {
        let directory = try makeTemporaryDirectory()
        for status in [404, 503] {
            let endpoint = try await startEndpoint(["--status", String(status)], in: directory)
            do {
                _ = try await WebSocketTunnel.open(
                    endpoint: localEndpoint(port: endpoint.port), runtimeDirectory: directory + "/run",
                    connectTimeout: .seconds(5))
                Issue.record("status \(status) opened the tunnel")
            } catch {
                #expect(error == .handshakeRejected(endpoint: "wss://localhost:\(endpoint.port)/mqtt", status: status, reason: "Refused"))
                #expect(error.isPermanent == (status == 404))
            }
        }
    }

    @Test("a server not agreeing to sub-protocol mqtt, or with a wrong accept key, is refused")
    func invalidUpgradeAnswers() async throws {
        let directory = try makeTemporaryDirectory()
        for option in ["--omit-protocol", "--bad-accept"] {
            let endpoint = try await startEndpoint([option], in: directory)
            do {
                _ = try await WebSocketTunnel.open(
                    endpoint: localEndpoint(port: endpoint.port), runtimeDirectory: directory + "/run",
                    connectTimeout: .seconds(5))
                Issue.record("\(option) accepted")
            } catch {
                guard case .handshakeInvalid = error else {
                    Issue.record("\(option): unexpected \(error)")
                    continue
                }
                #expect(error.isPermanent)
            }
        }
    }

    @Test("a server certificate from an untrusted CA is refused as a permanent verification failure")
    func wrongCA() async throws {
        let directory = try makeTemporaryDirectory()
        let endpoint = try await startEndpoint([], in: directory)
        do {
            _ = try await WebSocketTunnel.open(
                endpoint: localEndpoint(port: endpoint.port, caFile: tunnelCertificates.otherCAFile),
                runtimeDirectory: directory + "/run", connectTimeout: .seconds(5))
            Issue.record("an untrusted certificate was accepted")
        } catch {
            guard case .tls(.certificateRejected(let server, _, let trust)) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(server == "localhost")
            #expect(trust == "the CA file \(tunnelCertificates.otherCAFile)")
            #expect(error.isPermanent)
            #expect(error.description.contains("certificate verify failed"))
            #expect(error.description.contains("check ca_file"))
        }
        #expect(await endpoint.waitForEvent("TLS-FAILED SSLError"))
    }

    @Test("a certificate valid for another host name is refused")
    func wrongHostName() async throws {
        let directory = try makeTemporaryDirectory()
        let endpoint = try await startEndpoint([], in: directory)
        // The certificate names localhost only, not 127.0.0.1.
        do {
            _ = try await WebSocketTunnel.open(
                endpoint: localEndpoint(port: endpoint.port, host: "127.0.0.1"), runtimeDirectory: directory + "/run",
                connectTimeout: .seconds(5))
            Issue.record("a certificate for another name was accepted")
        } catch {
            guard case .tls(.hostNameMismatch(let server, _)) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(server == "127.0.0.1")
            #expect(error.isPermanent)
        }
    }

    @Test("a server offering nothing newer than TLS 1.1 is refused")
    func oldTLSRefused() async throws {
        let directory = try makeTemporaryDirectory()
        let endpoint = try await startEndpoint(["--max-tls11"], in: directory)
        do {
            _ = try await WebSocketTunnel.open(
                endpoint: localEndpoint(port: endpoint.port), runtimeDirectory: directory + "/run",
                connectTimeout: .seconds(5))
            Issue.record("TLS 1.1 was accepted")
        } catch {
            guard case .tls(.handshakeFailed(let server, _)) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(server == "localhost")
        }
        #expect(!endpoint.events.contains("UPGRADED"))
    }

    @Test("an unreadable CA file is a configuration error naming the file")
    func missingCAFile() async throws {
        let directory = try makeTemporaryDirectory()
        let endpoint = try await startEndpoint([], in: directory)
        do {
            _ = try await WebSocketTunnel.open(
                endpoint: localEndpoint(port: endpoint.port, caFile: directory + "/missing.pem"),
                runtimeDirectory: directory + "/run", connectTimeout: .seconds(5))
            Issue.record("a missing CA file was accepted")
        } catch {
            #expect(error.isPermanent)
            #expect(error.description.contains(directory + "/missing.pem"))
        }
    }

    @Test("a port nobody listens on fails fast as a retryable connect error")
    func connectRefused() async throws {
        let directory = try makeTemporaryDirectory()
        do {
            _ = try await WebSocketTunnel.open(
                endpoint: localEndpoint(port: 1, host: "127.0.0.1"), runtimeDirectory: directory + "/run",
                connectTimeout: .seconds(5))
            Issue.record("connected to port 1")
        } catch {
            guard case .connectFailed(let target, _) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(target == "127.0.0.1:1")
            #expect(!error.isPermanent)
        }
    }
}
