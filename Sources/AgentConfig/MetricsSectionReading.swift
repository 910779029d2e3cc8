import GatewayCore

extension ConfigBuilder {
    /// `[metrics]`: a Prometheus listener and/or a node_exporter textfile; both off by default.
    mutating func readMetricsSection() {
        var metrics = MetricsSection()
        let listenExpected = "\"host:port\" such as \"127.0.0.1:9464\" or \"[::1]:9464\", or \"\" for no listener"
        metrics.listen = text("metrics.listen", expected: listenExpected) { text in
            guard case .success(let parsed) = HostPort.parse(text), parsed.port != nil else { return "got \(quoted(text))" }
            return nil
        }
        if case .success(let parsed) = HostPort.parse(metrics.listen), let port = parsed.port {
            metrics.listenHost = parsed.host
            metrics.listenPort = port
        } else {
            metrics.listen = ""
        }
        metrics.textfile = textfilePath()
        metrics.interval = duration("metrics.interval", default: metrics.interval, minimum: .seconds(1), maximum: .seconds(3600))
        configuration.metrics = metrics
    }

    /// `metrics.textfile`: "" (off) or a path ending in `.prom`, the only files node_exporter's collector reads.
    private mutating func textfilePath() -> String {
        let expected = "a path ending in .prom (absolute, or relative to the file that sets it), or \"\""
        guard let setting = reader.string("metrics.textfile", expected: expected), !setting.value.isEmpty else { return "" }
        guard setting.value.hasSuffix(".prom"), !setting.value.hasSuffix("/.prom") else {
            reader.reject(setting, expected: expected, got: quoted(setting.value))
            return ""
        }
        switch ConfigPaths.resolve(setting.value, writtenIn: setting.file, environment: environment, allowCredential: false) {
        case .failure(let problem):
            reader.report(setting.key, file: setting.file, problem.message)
            return ""
        case .success(let path):
            return path
        }
    }
}
