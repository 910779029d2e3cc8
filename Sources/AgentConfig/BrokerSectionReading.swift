import GatewayCore

extension ConfigBuilder {
    /// `[broker]`: where and how to connect. Reads after `[credentials]`, whose source sets the default transport.
    mutating func readBrokerSection() {
        var broker = BrokerSection()
        broker.transport =
            reader.choice("broker.transport", as: BrokerTransport.self)?.value
            ?? (configuration.credentials.source == .none ? .mqttTLS : .awsWebSocket)
        let usesTLSClientAuth = broker.transport == .mqttTLS

        let endpointExpected = "\"host\" or \"host:port\" (port 1 to 65535), without a scheme, or \"\""
        var endpointPort: Int?
        if let setting = reader.string("broker.endpoint", expected: endpointExpected), !setting.value.isEmpty {
            if setting.value.contains("://") {
                reader.reject(setting, expected: endpointExpected, got: quoted(setting.value))
            } else {
                switch HostPort.parse(setting.value) {
                case .success(let parsed):
                    broker.host = parsed.host
                    endpointPort = parsed.port
                case .failure(.port):
                    reader.report(setting.key, file: setting.file,
                        "the port in \(quoted(setting.value)) is not a number from 1 to 65535; expected \(endpointExpected)")
                case .failure(.host):
                    reader.reject(setting, expected: endpointExpected, got: quoted(setting.value))
                }
            }
        }
        let defaultPort = broker.transport == .awsWebSocket ? 443 : 8883
        let portExpected = "an integer from 1 to 65535"
        var port: Int?
        if let setting = reader.integer("broker.port", expected: portExpected) {
            if (1...65535).contains(setting.value) {
                port = setting.value
            } else {
                reader.reject(setting, expected: portExpected, got: String(setting.value))
            }
        }
        broker.port = endpointPort ?? port ?? defaultPort

        if let setting = reader.string("broker.client_id", expected: clientIDExpected) {
            if let problem = clientIDProblem(setting.value) {
                reader.reject(setting, expected: clientIDExpected, got: problem)
            } else {
                broker.clientID = setting.value
            }
        }
        if broker.clientID.isEmpty, let moduleID = configuration.agent.moduleID {
            broker.clientID = "gateway-agent-\(moduleID.rawValue)"
        }

        broker.protocolVersion = choice("broker.protocol", default: broker.protocolVersion)
        // MQTT keepalive is whole seconds; AWS IoT Core accepts 30 to 1200.
        broker.keepalive = duration(
            "broker.keepalive", default: broker.keepalive, minimum: .seconds(30), maximum: .seconds(1200),
            wholeSeconds: true)
        broker.connectTimeout = duration("broker.connect_timeout", default: broker.connectTimeout)
        broker.reconnectMin = duration("broker.reconnect_min", default: broker.reconnectMin)
        broker.reconnectMax = duration("broker.reconnect_max", default: broker.reconnectMax)

        broker.caFile = publicFile("broker.ca_file", checkFiles: true)
        // Client authentication is for mqtt-tls only; with aws-websocket these keys are a contradiction
        // (reported by the consistency check), so their files are not checked as well.
        broker.certFile = publicFile("broker.cert_file", checkFiles: usesTLSClientAuth)
        broker.keyFile = secretFile("broker.key_file", checkFiles: usesTLSClientAuth)
        broker.username = text("broker.username", expected: "a user name, or \"\" for none")
        broker.passwordFile = secretFile("broker.password_file", checkFiles: usesTLSClientAuth)
        configuration.broker = broker
        brokerPortFromEndpoint = endpointPort
    }
}

private let clientIDExpected = "an MQTT client id of 1 to 128 bytes without spaces or control characters"

private func clientIDProblem(_ clientID: String) -> String? {
    if clientID.isEmpty { return "\"\"" }
    if clientID.utf8.count > 128 { return "\(clientID.utf8.count) bytes" }
    if clientID.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F }) { return quoted(clientID) }
    return nil
}
