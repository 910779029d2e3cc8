import Testing
import WebSocketTunnel

@Suite("Proxy settings")
struct ProxySettingsTests {
    @Test("a proxy URL gives host, port and credentials from its user information")
    func parsesURL() throws {
        let proxy = try ProxySettings(url: "http://al%40ice:s3cr%3At@proxy.example:3128/")
        #expect(proxy.host == "proxy.example")
        #expect(proxy.port == 3128)
        #expect(proxy.credentials == ProxyCredentials(user: "al@ice", password: "s3cr:t"))
        #expect(!proxy.description.contains("s3cr"))
    }

    @Test("a URL without scheme or port means http on 1080, as curl reads it")
    func defaults() throws {
        let proxy = try ProxySettings(url: "proxy.example")
        #expect(proxy.host == "proxy.example" && proxy.port == 1080 && proxy.credentials == nil)
        let v6 = try ProxySettings(url: "http://[fd00::1]:8080")
        #expect(v6.host == "fd00::1" && v6.port == 8080)
        #expect(v6.description == "http proxy [fd00::1]:8080")
    }

    @Test("an https proxy or a bad port is refused with a message naming the value")
    func refusesBadURLs() {
        #expect(throws: TunnelError.self) { try ProxySettings(url: "https://proxy.example:443") }
        do {
            _ = try ProxySettings(url: "http://proxy.example:99999")
            Issue.record("port 99999 accepted")
        } catch {
            #expect(error.description.contains("99999"))
            #expect(error.isPermanent)
        }
    }

    @Test("NO_PROXY entries match the host and its subdomains, never a mere suffix")
    func noProxyMatching() throws {
        let proxy = try ProxySettings(url: "http://p:1", noProxy: [".internal.example", "iot.amazonaws.com:443", "10.0.0.5"])
        #expect(proxy.isBypassed(for: "broker.internal.example"))
        #expect(proxy.isBypassed(for: "internal.example"))
        #expect(proxy.isBypassed(for: "a1.iot.amazonaws.com"))
        #expect(proxy.isBypassed(for: "10.0.0.5"))
        #expect(!proxy.isBypassed(for: "notinternal.example"))
        #expect(!proxy.isBypassed(for: "example.com"))
        #expect(try ProxySettings(url: "http://p:1", noProxy: ["*"]).isBypassed(for: "anything"))
    }

    @Test("the environment's HTTPS_PROXY and NO_PROXY are used, https_proxy as a fallback")
    func environment() throws {
        #expect(try ProxySettings.fromEnvironment([:]) == nil)
        let proxy = try #require(
            try ProxySettings.fromEnvironment(["https_proxy": "http://p.example:8080", "NO_PROXY": "a.example, b.example"]))
        #expect(proxy.host == "p.example" && proxy.port == 8080)
        #expect(proxy.noProxy == ["a.example", "b.example"])
    }

    @Test("credentials read from a file need user:password, and never show the password")
    func credentialsFile() throws {
        let credentials = try ProxyCredentials(userColonPassword: "agent:pa:ss\n", source: "/etc/proxy-credentials")
        #expect(credentials == ProxyCredentials(user: "agent", password: "pa:ss"))
        #expect(credentials.description == "agent:<redacted>")
        #expect(throws: TunnelError.self) { try ProxyCredentials(userColonPassword: "nopassword", source: "f") }
    }

    @Test("an endpoint's description leaves out the signed query")
    func endpointDescription() {
        let endpoint = WebSocketEndpoint(host: "a1.iot.eu-west-1.amazonaws.com", pathAndQuery: "/mqtt?X-Amz-Signature=abc")
        #expect(endpoint.description == "wss://a1.iot.eu-west-1.amazonaws.com:443/mqtt")
    }
}
