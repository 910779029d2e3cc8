import GatewayCore

extension ConfigBuilder {
    /// The rules between keys: what each credential source and transport needs, and what contradicts them.
    /// A rule is skipped when one of its keys already has a problem, so one mistake gives one message.
    mutating func checkConsistency() {
        checkCredentialSource()
        checkTransport()
        checkBrokerEndpoint()
        checkBackoff()
        checkGroups()
    }

    private mutating func checkCredentialSource() {
        guard !reader.isInvalid("credentials.source") else { return }
        let credentials = configuration.credentials
        let because = "credentials.source = \(quoted(credentials.source.rawValue))\(setIn("credentials.source"))"
        func require(_ key: String, _ present: Bool, expected: String) {
            if !present && !reader.isInvalid(key) {
                reader.reportMissing(key, expected: expected, requiredBecause: because)
            }
        }
        let secretExpected = "a path to a file readable by its owner only, or credential:NAME"
        switch credentials.source {
        case .organization:
            let org = credentials.organization
            require("credentials.organization.base_url", !org.baseURL.isEmpty,
                expected: "an https:// URL such as \"https://api.example.com/v1\"")
            require("credentials.organization.organization_id", !org.organizationID.isEmpty,
                expected: "the organization's id")
            require("credentials.organization.token_file", org.tokenFile != nil,
                expected: secretExpected + " holding the bearer token")
        case .assumeRole:
            let role = credentials.assumeRole
            require("credentials.assume_role.role_arn", !role.roleARN.isEmpty,
                expected: "an IAM role ARN such as \"arn:aws:iam::123456789012:role/gateway\"")
            require("credentials.assume_role.region", !role.region.isEmpty, expected: regionExpected)
            require("credentials.assume_role.access_key_id_file", role.accessKeyIDFile != nil,
                expected: secretExpected + " holding the source access key id")
            require("credentials.assume_role.secret_access_key_file", role.secretAccessKeyFile != nil,
                expected: secretExpected + " holding the source secret access key")
        case .static:
            let keys = credentials.staticKeys
            require("credentials.static.access_key_id_file", keys.accessKeyIDFile != nil,
                expected: secretExpected + " holding the access key id")
            require("credentials.static.secret_access_key_file", keys.secretAccessKeyFile != nil,
                expected: secretExpected + " holding the secret access key")
            require("credentials.static.region", !keys.region.isEmpty, expected: regionExpected)
        case .none:
            break
        }
    }

    private mutating func checkTransport() {
        guard !reader.isInvalid("broker.transport"), !reader.isInvalid("credentials.source") else { return }
        let source = configuration.credentials.source
        let broker = configuration.broker
        // Blame the key the operator wrote: the transport when it was set, else the source.
        let blamed = reader.isSet("broker.transport") ? "broker.transport" : "credentials.source"
        switch broker.transport {
        case .awsWebSocket:
            if source == .none {
                reader.report(blamed,
                    "broker.transport = \"aws-websocket\"\(setIn("broker.transport")) signs with AWS credentials, "
                        + "but credentials.source = \"none\"\(setIn("credentials.source")); "
                        + "choose a credentials source, or use broker.transport = \"mqtt-tls\"")
            }
            for key in ["broker.cert_file", "broker.key_file", "broker.username", "broker.password_file"]
            where hasValue(key) {
                reader.report(key,
                    "is used only with broker.transport = \"mqtt-tls\"; aws-websocket\(setIn("broker.transport")) "
                        + "authenticates with AWS credentials (remove this key or switch transport)")
            }
        case .mqttTLS:
            if source == .assumeRole || source == .static {
                reader.report(blamed,
                    "credentials.source = \(quoted(source.rawValue))\(setIn("credentials.source")) gives AWS credentials, "
                        + "which only broker.transport = \"aws-websocket\" uses; with mqtt-tls\(setIn("broker.transport")) "
                        + "use credentials.source = \"none\" and a client certificate or user name")
            }
            if hasValue("broker.key_file") != hasValue("broker.cert_file") {
                let (present, absent) = hasValue("broker.key_file")
                    ? ("broker.key_file", "broker.cert_file") : ("broker.cert_file", "broker.key_file")
                let what = absent == "broker.key_file" ? "the client certificate's private key" : "the client certificate"
                reader.reportMissing(absent, expected: "a path to \(what) (PEM)",
                    requiredBecause: "\(present) is set\(setIn(present)): a client certificate needs both")
            }
            if hasValue("broker.password_file") && broker.username.isEmpty && !reader.isInvalid("broker.username") {
                reader.reportMissing("broker.username", expected: "the user name for the password",
                    requiredBecause: "broker.password_file is set\(setIn("broker.password_file"))")
            }
        }
    }

    private mutating func checkBrokerEndpoint() {
        let source = configuration.credentials.source
        if configuration.broker.host.isEmpty, source != .organization, !reader.isInvalid("broker.endpoint"),
            !reader.isInvalid("credentials.source")
        {
            reader.reportMissing("broker.endpoint", expected: "\"host\" or \"host:port\"",
                requiredBecause: "credentials.source = \(quoted(source.rawValue))\(setIn("credentials.source")), "
                    + "as only the organization endpoint can supply one")
        }
        if let endpointPort = brokerPortFromEndpoint, reader.isSet("broker.port"), !reader.isInvalid("broker.port"),
            case .integer(let port)? = reader.lookup("broker.port")?.value, port != endpointPort
        {
            reader.report("broker.port",
                "is \(port) but broker.endpoint\(setIn("broker.endpoint")) already names port \(endpointPort); "
                    + "remove one of them")
        }
    }

    private mutating func checkBackoff() {
        let broker = configuration.broker
        guard !reader.isInvalid("broker.reconnect_min"), !reader.isInvalid("broker.reconnect_max"),
            broker.reconnectMin > broker.reconnectMax
        else { return }
        let blamed = reader.isSet("broker.reconnect_min") ? "broker.reconnect_min" : "broker.reconnect_max"
        reader.report(blamed,
            "broker.reconnect_min = \(quoted(DurationText.format(broker.reconnectMin)))\(setIn("broker.reconnect_min")) "
                + "is longer than broker.reconnect_max = \(quoted(DurationText.format(broker.reconnectMax)))"
                + "\(setIn("broker.reconnect_max")); expected reconnect_min <= reconnect_max")
    }

    private mutating func checkGroups() {
        let agent = configuration.agent
        guard !agent.readersGroup.isEmpty, agent.readersGroup == agent.controlGroup else { return }
        reader.report("agent.readers_group",
            "is the same group as agent.control_group (\(quoted(agent.controlGroup))), which already has full access; "
                + "expected a different group or \"\"")
    }

    /// Whether `key` holds a non-empty string (the empty string means "unset" for optional keys).
    private func hasValue(_ key: String) -> Bool {
        if case .string(let text)? = reader.lookup(key)?.value { return !text.isEmpty }
        return false
    }

    /// " (set in FILE)" when `key` was set in a file other than the main file, else "".
    private func setIn(_ key: String) -> String {
        guard reader.isSet(key) else { return " (the default)" }
        let file = reader.file(of: key)
        return file == reader.mainFile ? "" : " (set in \(file))"
    }
}
