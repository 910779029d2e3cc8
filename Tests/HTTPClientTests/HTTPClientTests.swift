import Foundation
import HTTPClient
import TestSupport
import Testing

/// Requests against a real python HTTPS server with a test CA, and through a real CONNECT proxy.
@Suite("HTTPS requests through libcurl")
struct HTTPClientTests {
    /// One server for the whole suite: it serves requests concurrently, and starting python per test is slow.
    static let sharedServer = Result { () throws(HTTPSFixtureError) in try startHTTPSFixture() }
    static let sharedWrongNameServer = Result { () throws(HTTPSFixtureError) in try startHTTPSFixture(wrongName: true) }

    let server: PythonFixture
    let certificates: HTTPSTestCertificates

    init() throws {
        certificates = try HTTPSTestCertificates.shared.get()
        server = try Self.sharedServer.get()
    }

    /// Trusts the test CA and ignores any proxy the environment names.
    func options(_ change: (inout HTTPClientOptions) -> Void = { _ in }) -> HTTPClientOptions {
        var options = HTTPClientOptions(caFile: certificates.caFile, proxy: "")
        change(&options)
        return options
    }

    func url(_ path: String, host: String = "127.0.0.1") -> String {
        "https://\(host):\(server.port)\(path)"
    }

    func failure(_ request: HTTPRequest, _ options: HTTPClientOptions) async -> HTTPError? {
        do {
            _ = try await perform(request, options: options)
            return nil
        } catch {
            return error
        }
    }

    @Test("a GET returns status, lower-cased headers and the JSON body")
    func getJSON() async throws {
        let response = try await perform(HTTPRequest(url: url("/json")), options: options())
        #expect(response.status == 200)
        #expect(response.header("Content-Type") == "application/json")
        #expect(response.headers.allSatisfy { $0.0 == $0.0.lowercased() })
        #expect(String(decoding: response.body, as: UTF8.self) == #"{"ok": true}"#)
    }

    @Test("the host name localhost verifies as well as the IP address")
    func verifiesByName() async throws {
        let response = try await perform(HTTPRequest(url: url("/json", host: "localhost")), options: options())
        #expect(response.status == 200)
    }

    @Test("headers, Authorization included, and the body arrive at the server")
    func headersAndBodyArrive() async throws {
        let request = HTTPRequest(
            method: "POST", url: url("/echo?x=1"),
            headers: [("Authorization", "Bearer abc.def"), ("Content-Type", "application/json"), ("X-Trace", "7")],
            body: Array(#"{"a":1}"#.utf8))
        let response = try await perform(request, options: options())
        let echo = try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
        let headers = Dictionary(
            ((echo["headers"] as? [[String]]) ?? []).map { ($0[0].lowercased(), $0[1]) },
            uniquingKeysWith: { a, _ in a })
        #expect(echo["method"] as? String == "POST")
        #expect(echo["path"] as? String == "/echo?x=1")
        #expect(headers["authorization"] == "Bearer abc.def")
        #expect(headers["content-type"] == "application/json")
        #expect(headers["x-trace"] == "7")
        #expect(headers["expect"] == nil)
        #expect(headers["user-agent"] == "gateway-agent")
        #expect(echo["body"] as? String == Data(#"{"a":1}"#.utf8).base64EncodedString())
    }

    @Test("PUT, DELETE and an empty POST send the right method")
    func otherMethods() async throws {
        for (method, body) in [("PUT", Array("x".utf8)), ("DELETE", nil), ("POST", nil)] as [(String, [UInt8]?)] {
            let response = try await perform(
                HTTPRequest(method: method, url: url("/echo"), body: body), options: options())
            let echo = try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
            #expect(echo["method"] as? String == method)
        }
    }

    @Test("an error status is a response, not an error")
    func errorStatusIsAResponse() async throws {
        let response = try await perform(HTTPRequest(url: url("/status/503")), options: options())
        #expect(response.status == 503)
        #expect(String(decoding: response.body, as: UTF8.self) == "status page")
    }

    @Test("a server whose certificate another CA signed is refused, pointing at ca_file")
    func wrongCARefused() async throws {
        let error = try #require(
            await failure(HTTPRequest(url: url("/json")), options { $0.caFile = certificates.otherCAFile }))
        guard case .tlsVerificationFailed(let host, let caFile, _) = error else {
            Issue.record("expected a TLS verification failure, got \(error)")
            return
        }
        #expect(host == "127.0.0.1:\(server.port)")
        #expect(caFile == certificates.otherCAFile)
        #expect(error.description.contains("check ca_file (\(certificates.otherCAFile))"))
        #expect(!error.isRetryable)
    }

    @Test("the system store, used when no ca_file is set, does not trust the test CA")
    func systemStoreRefusesTestCA() async throws {
        let error = try #require(await failure(HTTPRequest(url: url("/json")), options { $0.caFile = nil }))
        guard case .tlsVerificationFailed(_, nil, _) = error else {
            Issue.record("expected a TLS verification failure, got \(error)")
            return
        }
        #expect(error.description.contains("system store"))
    }

    @Test("a certificate for another host name is refused")
    func wrongNameRefused() async throws {
        let wrongName = try Self.sharedWrongNameServer.get()
        let error = try #require(
            await failure(HTTPRequest(url: "https://127.0.0.1:\(wrongName.port)/json"), options()))
        guard case .tlsVerificationFailed = error else {
            Issue.record("expected a TLS verification failure, got \(error)")
            return
        }
    }

    @Test("http:// and other schemes are refused before anything is sent")
    func plainHTTPRefused() async throws {
        for target in ["http://127.0.0.1:\(server.port)/json", "ftp://127.0.0.1/x", "127.0.0.1/json"] {
            let error = try #require(await failure(HTTPRequest(url: target), options()))
            guard case .invalidRequest(let reason) = error else {
                Issue.record("expected an invalid request for \(target), got \(error)")
                continue
            }
            #expect(reason.contains("https://"))
            #expect(!error.isRetryable)
        }
    }

    @Test("a header value with a line break is refused without quoting the value")
    func headerInjectionRefused() async throws {
        let request = HTTPRequest(url: url("/json"), headers: [("Authorization", "Bearer s3cret\r\nX-Evil: 1")])
        let error = try #require(await failure(request, options()))
        #expect(error == .invalidRequest(reason: "the value of header Authorization contains a line break or NUL"))
        #expect(!error.description.contains("s3cret"))
    }

    @Test("a hanging endpoint fails with a timeout within the total limit")
    func hangingEndpointTimesOut() async throws {
        let started = ContinuousClock.now
        let error = try #require(
            await failure(HTTPRequest(url: url("/hang")), options { $0.totalTimeout = .milliseconds(800) }))
        guard case .timedOut(let host, let reason) = error else {
            Issue.record("expected a timeout, got \(error)")
            return
        }
        #expect(host == "127.0.0.1:\(server.port)")
        #expect(error.isRetryable)
        // libcurl reports the time it measured; the wall clock also counts waiting for a busy test pool.
        let measured = reason.firstMatch(of: /timed out after (\d+) milliseconds/).flatMap { Int($0.1) }
        #expect((800..<2000).contains(measured ?? -1), "\(reason)")
        #expect(ContinuousClock.now - started < .seconds(20))
    }

    @Test("cancelling the task aborts the transfer long before its timeout")
    func cancellationAborts() async throws {
        let request = HTTPRequest(url: url("/hang"))
        let options = options { $0.totalTimeout = .seconds(60) }
        let started = ContinuousClock.now
        let task = Task { try await perform(request, options: options) }
        try await Task.sleep(for: .milliseconds(300))
        task.cancel()
        let result = await task.result
        #expect(ContinuousClock.now - started < .seconds(30))
        guard case .failure(let error) = result, case .cancelled? = error as? HTTPError else {
            Issue.record("expected cancellation, got \(result)")
            return
        }
    }

    @Test("a body over the limit is refused, with or without Content-Length")
    func oversizedBodyRefused() async throws {
        for path in ["/big?bytes=2000000", "/big-chunked?bytes=2000000"] {
            let error = try #require(
                await failure(HTTPRequest(url: url(path)), options { $0.maxResponseBytes = 65536 }))
            #expect(error == .responseTooLarge(host: "127.0.0.1:\(server.port)", limit: 65536), "\(path)")
            #expect(!error.isRetryable)
        }
        let exact = try await perform(
            HTTPRequest(url: url("/big-chunked?bytes=65536")), options: options { $0.maxResponseBytes = 65536 })
        #expect(exact.body.count == 65536)
    }

    @Test("a closed port fails to connect, naming the host, without the Authorization value")
    func closedPortRefused() async throws {
        let port = unusedLoopbackPort()
        let request = HTTPRequest(
            url: "https://127.0.0.1:\(port)/json", headers: [("Authorization", "Bearer t0ken-value")])
        let error = try #require(await failure(request, options()))
        guard case .connectFailed(let host, _) = error else {
            Issue.record("expected a connect failure, got \(error)")
            return
        }
        #expect(host == "127.0.0.1:\(port)")
        #expect(error.isRetryable)
        #expect(!error.description.contains("t0ken-value"))
    }

    @Test("requests go through an HTTP CONNECT proxy when one is set")
    func throughProxy() async throws {
        let log = certificates.directory + "/proxy-\(UUID().uuidString).log"
        let proxy = try PythonFixture(script: "connect_proxy.py", arguments: [log])
        let response = try await perform(
            HTTPRequest(url: url("/json")),
            options: options {
                $0.proxy = "http://127.0.0.1:\(proxy.port)"
                $0.noProxy = ""
            })
        #expect(response.status == 200)
        #expect(response.headers.allSatisfy { $0.0 != "proxy-agent" })
        let logged = try String(contentsOfFile: log, encoding: .utf8)
        #expect(logged == "CONNECT 127.0.0.1:\(server.port)\n")
    }

    @Test("a proxy demanding credentials gets them, and a refusal says to check them without printing them")
    func proxyCredentials() async throws {
        let log = certificates.directory + "/proxy-\(UUID().uuidString).log"
        let proxy = try PythonFixture(script: "connect_proxy.py", arguments: [log, "agent:pr0xy-pass"])
        let base = options {
            $0.proxy = "http://127.0.0.1:\(proxy.port)"
            $0.noProxy = ""
        }
        let error = try #require(
            await failure(
                HTTPRequest(url: url("/json")),
                {
                    var o = base
                    o.proxyCredentials = "agent:wrong-pass"
                    return o
                }()))
        guard case .proxyFailed(_, 407, _) = error else {
            Issue.record("expected a 407 from the proxy, got \(error)")
            return
        }
        #expect(!error.isRetryable)
        #expect(error.description.contains("proxy.credentials_file"))
        #expect(!error.description.contains("wrong-pass"))

        var good = base
        good.proxyCredentials = "agent:pr0xy-pass"
        #expect(try await perform(HTTPRequest(url: url("/json")), options: good).status == 200)
        #expect(!good.description.contains("pr0xy-pass"))
    }

    @Test("an unreadable ca_file is refused before connecting, naming the file")
    func unreadableCAFile() async throws {
        let error = try #require(
            await failure(HTTPRequest(url: url("/json")), options { $0.caFile = "/nonexistent/ca.pem" }))
        #expect(
            error == .invalidRequest(reason: "ca_file /nonexistent/ca.pem cannot be read: No such file or directory"))
        #expect(!error.isRetryable)
    }

    @Test("an unreachable proxy is a retryable failure naming it")
    func unreachableProxy() async throws {
        let port = unusedLoopbackPort()
        let error = try #require(
            await failure(
                HTTPRequest(url: url("/json")),
                options {
                    $0.proxy = "http://user:hidden-pw@127.0.0.1:\(port)"
                    $0.noProxy = ""
                }))
        guard case .proxyFailed(_, nil, _) = error else {
            Issue.record("expected a proxy failure, got \(error)")
            return
        }
        #expect(error.isRetryable)
        #expect(error.description.contains("\(port)"))
        #expect(!error.description.contains("hidden-pw"))
    }
}
