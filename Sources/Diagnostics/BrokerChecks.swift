import AgentConfig
import CloudCredentials
import CryptoSupport
import FoundationEssentials
import GatewayCore
import Glibc
import Synchronization
import WebSocketTunnel

/// `broker.*` and `clock.broker`: DNS, TCP (through the proxy where the agent uses one), the verified TLS
/// handshake with the configured CA, the certificates' remaining days, and the broker's `Date` header.
///
/// The steps run on a thread of their own, one after the other, recording each line as it is decided, so that
/// when the deadline passes the lines so far stand and the step in progress is the one that timed out.
final class BrokerChecks: Sendable {
    /// Certificates closer to expiry than this warn.
    static let warnDays: Int64 = 14

    private struct Progress {
        var results: [CheckResult] = []
        var facts = CheckFacts.Broker()
        var stage = "broker.dns"
        var skew: ClockSkew?
    }

    private let progress = Mutex(Progress())
    private let configuration: AgentConfiguration
    private let proxy: TunnelProxySettings?

    init(configuration: AgentConfiguration, proxy: TunnelProxySettings?) {
        self.configuration = configuration
        self.proxy = proxy
        progress.withLock {
            $0.facts.transport = configuration.broker.transport.rawValue
            $0.facts.port = configuration.broker.port
        }
    }

    /// The lines and facts so far; the step in progress fails as timed out when `timedOutAfter` is given.
    func snapshot(timedOutAfter limit: Duration?) -> (results: [CheckResult], facts: CheckFacts.Broker, skew: ClockSkew?) {
        progress.withLock { state in
            var results = state.results
            if let limit {
                results.append(
                    CheckResult(
                        state.stage, .fail,
                        "timed out: no outcome within --timeout \(DurationText.format(limit)); the broker or the network path "
                            + "hangs (firewall dropping packets?)"))
            }
            return (results, state.facts, state.skew)
        }
    }

    /// `broker.client-certificate` for mqtt-tls with `cert_file`: a local file, so checked before any network.
    func checkClientCertificate() {
        let broker = configuration.broker
        guard broker.transport == .mqttTLS, !broker.certFile.isEmpty else { return }
        do {
            let validity = try CertificateValidity.ofPEMFile(broker.certFile)
            let days = validity.daysLeft(now: Int64(Date().timeIntervalSince1970))
            record(
                Self.expiry(
                    "broker.client-certificate", what: "client certificate \(broker.certFile)", validity: validity,
                    days: days, renew: "renew cert_file: the broker refuses an expired certificate"))
            progress.withLock {
                $0.facts.clientCertificateExpiresAt = Self.iso(validity.notAfter)
                $0.facts.clientCertificateDaysLeft = Int(days)
            }
        } catch {
            record(CheckResult("broker.client-certificate", .fail, "\(error); check broker.cert_file"))
        }
    }

    /// Runs every network step against `host` until one fails or `deadline` passes.
    func probe(host: String, deadline: ContinuousClock.Instant) {
        let broker = configuration.broker
        let endpoint = WebSocketEndpoint(
            host: host, port: broker.port, pathAndQuery: "/mqtt", caFile: broker.caFile.isEmpty ? nil : broker.caFile,
            proxy: broker.transport == .awsWebSocket ? proxy : nil)
        progress.withLock {
            $0.facts.host = host
            $0.facts.viaProxy = endpoint.usesProxy
        }
        let authority = host.contains(":") ? "[\(host)]:\(broker.port)" : "\(host):\(broker.port)"
        func remaining() -> Duration { max(.milliseconds(1), deadline - ContinuousClock.now) }

        let proxy = endpoint.usesProxy ? endpoint.proxy : nil
        if let proxy {
            record(CheckResult("broker.dns", .ok, "\(host) is resolved by the proxy (\(proxy.description))"))
        } else {
            let (addresses, failure) = Self.resolve(host)
            guard failure == nil else {
                record(
                    CheckResult("broker.dns", .fail, "cannot resolve \(host): \(failure!); check broker.endpoint and DNS"))
                return
            }
            progress.withLock { $0.facts.addresses = addresses }
            record(CheckResult("broker.dns", .ok, "\(host) resolves to \(addresses.joined(separator: ", "))"))
        }

        begin("broker.tcp")
        let started = ContinuousClock.now
        let socket: Int32
        do {
            socket = try EndpointProbe.openTCP(to: endpoint, timeout: remaining())
        } catch {
            record(CheckResult("broker.tcp", .fail, "\(error)"))
            return
        }
        let through = proxy.map { " through \($0.description)" } ?? ""
        record(
            CheckResult(
                "broker.tcp", .ok, "connected to \(authority)\(through) in \((ContinuousClock.now - started).milliseconds) ms"))

        begin("broker.tls")
        let alpn = broker.transport == .mqttTLS && broker.port == 443 ? ["x-amzn-mqtt-ca"] : []
        // As the agent connects: with the client certificate, so that a broker requiring one does not refuse us.
        let client = clientCertificate
        let stream: TLSClientStream
        let presented: String
        do {
            stream = try EndpointProbe.startTLS(
                on: socket, endpoint: endpoint, alpnProtocols: alpn, clientCertificate: client, timeout: remaining())
            progress.withLock { $0.facts.tlsVersion = stream.protocolVersion }
            presented = try client.map { try Self.presented($0, over: stream, timeout: min(remaining(), Self.verdictWait)) } ?? ""
        } catch {
            progress.withLock { $0.facts.tlsVerified = false }
            record(CheckResult("broker.tls", .fail, client.flatMap { Self.refusal(of: $0, error) } ?? "\(error)"))
            return
        }
        defer { stream.close() }
        progress.withLock { $0.facts.tlsVerified = true }
        let trust = broker.caFile.isEmpty ? "the system CA store" : broker.caFile
        record(
            CheckResult(
                "broker.tls", .ok,
                "TLS verified: the chain leads to a CA in \(trust) and the certificate is valid for \(host)\(presented)"))

        begin("broker.server-certificate")
        if let validity = stream.peerCertificateValidity {
            let days = validity.daysLeft(now: Int64(Date().timeIntervalSince1970))
            progress.withLock {
                $0.facts.serverCertificateExpiresAt = Self.iso(validity.notAfter)
                $0.facts.serverCertificateDaysLeft = Int(days)
            }
            record(
                Self.expiry(
                    "broker.server-certificate", what: "the broker's certificate", validity: validity, days: days,
                    renew: "the broker's operator must renew it"))
        } else {
            record(CheckResult("broker.server-certificate", .warn, "the broker's certificate dates cannot be read"))
        }

        guard broker.transport == .awsWebSocket else { return }
        begin("clock.broker")
        do {
            let answer = try EndpointProbe.unsignedGet(over: stream, endpoint: endpoint, timeout: remaining())
            if let skew = ClockSkew(serverDate: answer.date, receivedAt: Date()) {
                progress.withLock { $0.skew = skew }
                record(ClockCheck.result("clock.broker", server: "the broker", skew: skew))
            } else {
                record(ClockCheck.notMeasured("clock.broker", server: "broker.tls", why: "the broker's answer has no Date header"))
            }
        } catch {
            record(CheckResult("clock.broker", .warn, "not measured: \(error)"))
        }
    }

    /// `broker.cert_file` and `broker.key_file` for mqtt-tls, when both are set.
    private var clientCertificate: TLSClientCertificate? {
        let broker = configuration.broker
        guard broker.transport == .mqttTLS, !broker.certFile.isEmpty, let key = broker.keyFile else { return nil }
        return TLSClientCertificate(certificateFile: broker.certFile, privateKeyFile: key.path)
    }

    /// How long to wait, under TLS 1.3, for the broker to accept or refuse the client certificate.
    static let verdictWait: Duration = .seconds(3)

    /// What the TLS line adds about the client certificate once the broker has taken it; throws its refusal.
    static func presented(
        _ client: TLSClientCertificate, over stream: TLSClientStream, timeout: Duration
    ) throws(TLSError) -> String {
        if try stream.awaitClientCertificateVerdict(timeout: timeout) {
            return "; the broker accepted the client certificate \(client.certificateFile)"
        }
        return "; client certificate \(client.certificateFile) presented (\(stream.protocolVersion): the broker gave no "
            + "verdict within \(DurationText.format(timeout)))"
    }

    /// The TLS line when the broker turned the client certificate away with an alert, nil for other failures.
    static func refusal(of client: TLSClientCertificate, _ error: any Error) -> String? {
        var tls = error as? TLSError
        if case .tls(let failure)? = error as? TunnelError { tls = failure }
        let reason: String
        switch tls {
        case .handshakeFailed(_, let text)?, .ioFailed(_, let text)?:
            // Alerts such as "tlsv1 alert unknown ca" or "tlsv13 alert certificate required".
            guard text.contains("certificate") || text.contains("unknown ca") else { return nil }
            reason = text
        case .connectionClosed?: reason = "it closed the connection"
        default: return nil
        }
        return "the broker refused the client certificate \(client.certificateFile) (\(reason)): check broker.cert_file "
            + "and broker.key_file, and that the broker trusts the CA that signed the certificate"
    }

    private func begin(_ stage: String) {
        progress.withLock { $0.stage = stage }
    }

    private func record(_ result: CheckResult) {
        progress.withLock { $0.results.append(result) }
    }

    static func expiry(
        _ check: String, what: String, validity: CertificateValidity, days: Int64, renew: String
    ) -> CheckResult {
        let until = iso(validity.notAfter)
        if days < 0 { return CheckResult(check, .fail, "\(what) expired at \(until): \(renew)") }
        if days < warnDays {
            return CheckResult(check, .warn, "\(what) expires in \(days) days (\(until)): \(renew) soon")
        }
        return CheckResult(check, .ok, "\(what) expires in \(days) days (\(until))")
    }

    static func iso(_ seconds: Int64) -> String {
        isoTimestamp(Date(timeIntervalSince1970: Double(seconds)))
    }

    /// Every address `host` resolves to, numeric, without repeats; or why it does not resolve.
    static func resolve(_ host: String) -> (addresses: [String], failure: String?) {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, nil, &hints, &list)
        guard status == 0, let list else { return ([], String(cString: gai_strerror(status))) }
        defer { freeaddrinfo(list) }
        var addresses: [String] = []
        var entry: UnsafeMutablePointer<addrinfo>? = list
        while let current = entry {
            var text = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            if getnameinfo(
                current.pointee.ai_addr, current.pointee.ai_addrlen, &text, socklen_t(text.count), nil, 0,
                NI_NUMERICHOST) == 0
            {
                let address = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                if !addresses.contains(address) { addresses.append(address) }
            }
            entry = current.pointee.ai_next
        }
        return (addresses, nil)
    }
}
