import Foundation
import MQTTClient

/// Command line of `identity-responder`:
///
///     identity-responder --host H --port P --state-file PATH
///         [--cafile CA] [--cert CERT --key KEY] [--username U --password-file F]
///         [--client-id ID] [--protocol mqtt5|mqtt311] [--records-only]
///
/// `--port 0` makes `--host` a Unix socket path (plain MQTT). With `--cafile` the connection uses TLS.
/// `--records-only` (the benchmark): the state file is written once subscribed, not after every change;
/// the records file still gets every request.
struct ResponderArguments {
    var options: MQTTOptions
    var stateFile: String
    var recordsOnly = false

    struct UsageError: Error, CustomStringConvertible {
        let description: String
    }

    init(_ arguments: [String]) throws {
        var values: [String: String] = [:]
        var iterator = arguments.makeIterator()
        while let flag = iterator.next() {
            if flag == "--records-only" {
                recordsOnly = true
                continue
            }
            let known = [
                "--host", "--port", "--cafile", "--cert", "--key", "--username", "--password-file", "--state-file",
                "--client-id", "--protocol",
            ]
            guard known.contains(flag) else { throw UsageError(description: "unknown flag \(flag)") }
            guard let value = iterator.next() else { throw UsageError(description: "\(flag) needs a value") }
            values[flag] = value
        }
        guard let host = values["--host"], let portText = values["--port"], let port = Int(portText) else {
            throw UsageError(description: "--host and --port are required")
        }
        guard let stateFile = values["--state-file"] else { throw UsageError(description: "--state-file is required") }

        var options = MQTTOptions(
            host: host, port: port, clientID: values["--client-id"] ?? "identity-responder",
            protocolVersion: values["--protocol"] == "mqtt311" ? .v311 : .v5, keepalive: .seconds(30),
            connectTimeout: .seconds(5))
        if let caFile = values["--cafile"] {
            options.tls = .init(caFile: caFile, certFile: values["--cert"], keyFile: values["--key"])
        }
        if let username = values["--username"] {
            options.username = username
            if let passwordFile = values["--password-file"] {
                let password = try String(contentsOfFile: passwordFile, encoding: .utf8)
                options.password = .init(password.trimmingCharacters(in: .newlines))
            }
        }
        self.options = options
        self.stateFile = stateFile
    }
}
