import Agent
import AgentConfig
import WebSocketTunnel

/// `proxy`: which proxy is in use and whether each endpoint goes through it, decided as the agent decides:
/// `[proxy]` first, else `HTTPS_PROXY`/`NO_PROXY` (libcurl for the organization endpoint, the tunnel for the
/// aws-websocket broker; mqtt-tls never uses a proxy).
enum ProxyCheck {
    struct Decision {
        var results: [CheckResult] = []
        /// The broker tunnel's proxy (nil: direct), for the broker steps.
        var tunnel: ProxySettings?
        var facts = CheckFacts.Proxy()
    }

    static func decide(_ configuration: AgentConfiguration) -> Decision {
        var decision = Decision()
        let section = configuration.proxy
        do {
            decision.tunnel = try TunnelProxy.settings(section)
        } catch {
            decision.results = [CheckResult("proxy", .fail, "\(error)")]
            return decision
        }
        guard let proxy = decision.tunnel else {
            decision.facts.organizationEndpointViaProxy = false
            decision.facts.brokerViaProxy = false
            decision.results = [CheckResult("proxy", .ok, "none (no proxy.url, no HTTPS_PROXY): every endpoint is reached directly")]
            return decision
        }
        decision.facts.url = "http://" + proxy.description.dropFirst("http proxy ".count)
        return decision
    }

    /// The `proxy` line once the endpoints' hosts are known (the broker's may come from the organization endpoint).
    static func line(
        _ decision: inout Decision, configuration: AgentConfiguration, environment: [String: String],
        organizationHost: String?, brokerHost: String?
    ) {
        guard decision.results.isEmpty, let proxy = decision.tunnel else { return }
        let origin = configuration.proxy.url.isEmpty ? "HTTPS_PROXY" : "proxy.url"
        var parts: [String] = []
        if let organizationHost {
            // libcurl takes NO_PROXY from the environment unless proxy.no_proxy is set.
            let noProxy =
                configuration.proxy.noProxy.isEmpty
                ? (environment["NO_PROXY"] ?? environment["no_proxy"] ?? "") : configuration.proxy.noProxy
            let bypassed = (try? ProxySettings(url: "http://\(proxy.host):\(proxy.port)", noProxy: ProxySettings.noProxyList(noProxy)))?
                .isBypassed(for: organizationHost) ?? false
            decision.facts.organizationEndpointViaProxy = !bypassed
            parts.append("organization endpoint \(organizationHost) \(bypassed ? "direct (no_proxy)" : "through it")")
        }
        if configuration.broker.transport == .mqttTLS {
            decision.facts.brokerViaProxy = false
            parts.append("broker direct (mqtt-tls does not use a proxy)")
        } else if let brokerHost {
            let bypassed = proxy.isBypassed(for: brokerHost)
            decision.facts.brokerViaProxy = !bypassed
            parts.append("broker \(brokerHost) \(bypassed ? "direct (no_proxy)" : "through it")")
        }
        let credentials = proxy.credentials == nil ? "" : " with credentials"
        decision.results = [
            CheckResult("proxy", .ok, "\(proxy.description)\(credentials) (from \(origin)): \(parts.joined(separator: "; "))")
        ]
    }
}

/// The tunnel's proxy settings, named apart from CloudCredentials' type of the same name.
typealias TunnelProxySettings = ProxySettings
