import Foundation
import Glibc
import Metrics
import Synchronization
import TestSupport
import Testing

@Suite("Prometheus text format")
struct PrometheusTextTests {
    @Test("families render with HELP, TYPE, escaped labels and a cumulative histogram, and parse strictly")
    func rendersParsableText() throws {
        var histogram = Histogram(bounds: [0.1, 1])
        for value in [0.05, 0.5, 0.7, 3] { histogram.observe(value) }
        let text = PrometheusText.render([
            .single("demo_total", .counter, "A counter\nwith a \\ in its help.", 42),
            MetricFamily(
                name: "demo_state", help: "A gauge with labels.", kind: .gauge,
                samples: [.init(labels: [.init("name", "quote \" and \\ and\nline")], value: 1.5)]),
            .histogram(
                "demo_seconds", "A histogram.", bounds: histogram.bounds, cumulativeCounts: histogram.cumulativeCounts,
                count: histogram.count, sum: histogram.sum),
        ])
        #expect(text.contains("# HELP demo_total A counter\\nwith a \\\\ in its help.\n# TYPE demo_total counter\ndemo_total 42\n"))
        #expect(text.contains("demo_state{name=\"quote \\\" and \\\\ and\\nline\"} 1.5\n"))
        let parsed = try PrometheusExposition(text)
        #expect(parsed["demo_total"] == 42)
        #expect(parsed["demo_state{name=\"quote \" and \\ and\nline\"}"] == 1.5)
        #expect(parsed["demo_seconds_bucket{le=\"0.1\"}"] == 1)
        #expect(parsed["demo_seconds_bucket{le=\"1\"}"] == 3)
        #expect(parsed["demo_seconds_bucket{le=\"+Inf\"}"] == 4)
        #expect(parsed["demo_seconds_count"] == 4)
        #expect(parsed["demo_seconds_sum"] == 4.25)
        #expect(parsed.types == ["demo_total": "counter", "demo_state": "gauge", "demo_seconds": "histogram"])
    }

    @Test("the strict reader refuses what a scraper would misread")
    func strictReaderRefuses() {
        for bad in [
            "demo 1\n",  // no TYPE
            "# TYPE demo gauge\ndemo 1",  // no final newline
            "# TYPE demo gauge\ndemo{a=\"x} 1\n",
            "# TYPE demo gauge\ndemo one\n",
            "# TYPE demo gauge\n# TYPE demo gauge\ndemo 1\n",
        ] {
            #expect(throws: PrometheusExposition.Problem.self, "\(bad)") { try PrometheusExposition(bad) }
        }
    }
}

@Suite("Metrics listener and textfile", .serialized, .blockingWaits)
struct MetricsEndpointTests {
    @Test("GET /metrics answers the rendered text; other paths 404, other methods 405, garbage 400")
    func answersOnlyMetrics() throws {
        let listener = try MetricsListener(host: "127.0.0.1", port: 0) { "# TYPE demo gauge\ndemo 7\n" }
        startListener(listener)
        defer { listener.stop() }
        let scrape = try httpGet(port: listener.port)
        #expect(scrape.status == 200)
        #expect(scrape.head.contains("Content-Type: text/plain; version=0.0.4; charset=utf-8"))
        #expect(try PrometheusExposition(scrape.body)["demo"] == 7)
        #expect(try httpGet(port: listener.port, path: "/").status == 404)
        #expect(try httpGet(port: listener.port, path: "/metrics/../etc").status == 404)
        #expect(try httpExchange(port: listener.port, request: "POST /metrics HTTP/1.1\r\n\r\n").status == 405)
        #expect(try httpExchange(port: listener.port, request: "hello\r\n\r\n").status == 400)
    }

    @Test("a client that sends nothing is cut off, and the next scrape is answered")
    func silentClientIsBounded() throws {
        let listener = try MetricsListener(host: "127.0.0.1", port: 0) { "# TYPE demo gauge\ndemo 1\n" }
        startListener(listener)
        defer { listener.stop() }
        let silent = try connectLoopback(port: listener.port)
        defer { close(silent) }
        #expect(try httpGet(port: listener.port).status == 200)
        // The listener closed the silent connection after its timeout instead of leaving it open.
        var buffer = [UInt8](repeating: 0, count: 512)
        #expect(recv(silent, &buffer, buffer.count, 0) == 0)
    }

    @Test("a port in use is refused naming the address")
    func portInUse() throws {
        let first = try MetricsListener(host: "127.0.0.1", port: 0) { "" }
        defer { first.stop() }
        #expect(throws: MetricsListenerError.self) { try MetricsListener(host: "127.0.0.1", port: first.port) { "" } }
    }

    @Test("the textfile is replaced by rename: a reader of the old file sees it whole, no temporary file stays")
    func textfileReplacedAtomically() throws {
        let directory = try TempDirectory(prefix: "textfile")
        defer { directory.remove() }
        let writer = TextfileWriter(path: directory.path("agent.prom"))
        try writer.write("# TYPE demo gauge\ndemo 1\n")
        let old = open(writer.path, O_RDONLY)
        defer { close(old) }
        try writer.write("# TYPE demo gauge\ndemo 2\n")
        var buffer = [UInt8](repeating: 0, count: 256)
        let count = read(old, &buffer, buffer.count)
        #expect(String(decoding: buffer[..<count], as: UTF8.self) == "# TYPE demo gauge\ndemo 1\n")
        #expect(try PrometheusExposition(try String(contentsOfFile: writer.path, encoding: .utf8))["demo"] == 2)
        var info = stat()
        #expect(stat(writer.path, &info) == 0 && info.st_mode & 0o777 == 0o644)
        #expect(try directoryEntries(directory.path) == ["agent.prom"])
    }

    @Test("a textfile in a missing directory fails with the path and the reason")
    func textfileErrorNamesPath() {
        let writer = TextfileWriter(path: "/nonexistent-dir/agent.prom")
        #expect(throws: TextfileError.self) { try writer.write("x\n") }
        do {
            try writer.write("x\n")
        } catch {
            #expect(error.description.contains("/nonexistent-dir/") && error.description.contains("No such file"))
        }
    }

    private func startListener(_ listener: MetricsListener) {
        let thread = Thread { listener.run() }
        thread.start()
    }

    private func directoryEntries(_ path: String) throws -> [String] {
        guard let dir = opendir(path) else { throw ChildProcessError("opendir \(path)") }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) { String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self)) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }
}
