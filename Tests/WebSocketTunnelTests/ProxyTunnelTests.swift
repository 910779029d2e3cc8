import Testing
import WebSocketTunnel

@Suite("Reaching the endpoint through an HTTP CONNECT proxy", .serialized)
struct ProxyTunnelTests {
    @Test("the tunnel goes through the proxy with Basic credentials and relays as usual")
    func authenticatedProxy() async throws {
        let directory = try makeTemporaryDirectory()
        let endpoint = try await startEndpoint([], in: directory)
        let proxyFixture = try await FixtureProcess.start(
            "connect_proxy_fixture.py", ["--require-auth", "agent:pa55"], in: directory)
        let proxy = try ProxySettings(
            url: "http://127.0.0.1:\(proxyFixture.port)", credentials: ProxyCredentials(user: "agent", password: "pa55"))
        let tunnel = try await WebSocketTunnel.open(
            endpoint: localEndpoint(port: endpoint.port, proxy: proxy), runtimeDirectory: directory + "/run",
            connectTimeout: .seconds(5))
        #expect(proxyFixture.events == ["CONNECT localhost:\(endpoint.port) auth=ok"])
        let client = try UnixClient(path: tunnel.socketPath)
        try client.send([1, 2, 3])
        #expect(try client.receive(exactly: 3) == [1, 2, 3])
        tunnel.close()
        #expect(await tunnel.closeReason == .closedLocally)
    }

    @Test("a proxy demanding credentials that were not given is a permanent 407 error")
    func missingCredentials() async throws {
        let directory = try makeTemporaryDirectory()
        let endpoint = try await startEndpoint([], in: directory)
        let proxyFixture = try await FixtureProcess.start(
            "connect_proxy_fixture.py", ["--require-auth", "agent:pa55"], in: directory)
        for credentials in [nil, ProxyCredentials(user: "agent", password: "wrong")] {
            let proxy = try ProxySettings(url: "http://127.0.0.1:\(proxyFixture.port)", credentials: credentials)
            do {
                _ = try await WebSocketTunnel.open(
                    endpoint: localEndpoint(port: endpoint.port, proxy: proxy), runtimeDirectory: directory + "/run",
                    connectTimeout: .seconds(5))
                Issue.record("the proxy let us through")
            } catch {
                #expect(
                    error
                        == .proxyAuthenticationRequired(
                            proxy: "http proxy 127.0.0.1:\(proxyFixture.port)", credentialsGiven: credentials != nil))
                #expect(error.isPermanent)
                #expect(!error.description.contains("wrong"))
            }
        }
        #expect(proxyFixture.events.map { $0.split(separator: " ").last ?? "" } == ["auth=missing", "auth=wrong"])
        #expect(endpoint.events.isEmpty)
    }

    @Test("a host on the no-proxy list is reached directly")
    func noProxyBypass() async throws {
        let directory = try makeTemporaryDirectory()
        let endpoint = try await startEndpoint([], in: directory)
        let proxyFixture = try await FixtureProcess.start("connect_proxy_fixture.py", [], in: directory)
        let proxy = try ProxySettings(url: "http://127.0.0.1:\(proxyFixture.port)", noProxy: ["localhost"])
        let tunnel = try await WebSocketTunnel.open(
            endpoint: localEndpoint(port: endpoint.port, proxy: proxy), runtimeDirectory: directory + "/run",
            connectTimeout: .seconds(5))
        #expect(proxyFixture.events.isEmpty)
        #expect(endpoint.events.contains("UPGRADED"))
        tunnel.close()
        _ = await tunnel.closeReason
    }
}
