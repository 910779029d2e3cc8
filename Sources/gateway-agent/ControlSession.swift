import ArgumentParser
import ControlProtocol
import FoundationEssentials
import GatewayCore

#if canImport(Glibc)
import Glibc
#endif

/// One conversation with the running agent: send a request, print the answers, pick the exit code.
struct ControlSession {
    let options: ClientOptions

    /// The socket to use: `--socket`, else `agent.control_socket` from the configuration.
    var socketPath: String {
        options.socket ?? ConfigLookup.controlSocket(configPath: options.common.config)
    }

    /// Sends `request`; prints each answer with `render`; returns the exit code.
    func perform(_ request: ControlRequest, render: (ControlResponse) -> Void) -> Int32 {
        do {
            let client = try ControlClient(socketPath: socketPath)
            try client.send(request)
            var lastResult: ControlResponse?
            while true {
                let response = try client.receive()
                if let error = response.error, !response.ok {
                    printError(error.code == .busy ? "the agent is busy, retry shortly: \(error.message)" : error.message)
                    if options.json { printJSON(response) }
                    return error.code.exitCode
                }
                lastResult = response
                if !(request.args.wait == true && response.event == .accepted) { break }
                render(response)
            }
            if let lastResult { render(lastResult) }
            if request.args.wait == true, let outcome = lastResult?.result?.requests?.first, lastResult?.event == .outcome {
                return Self.exitCode(forOutcome: outcome)
            }
            return 0
        } catch {
            printError(error.description)
            return error.exitCode
        }
    }

    /// DESIGN.md §6: acked 0; cloud error or parent-failed 3; no-ack, expired or still pending (timeout) 4:
    /// the cloud gave no outcome.
    static func exitCode(forOutcome request: RequestView) -> Int32 {
        switch request.state {
        case RequestState.acked.rawValue: 0
        case RequestState.failed.rawValue:
            request.lastError == FailureReason.noAck || request.lastError == FailureReason.expired ? 4 : 3
        case RequestState.dismissed.rawValue: 3
        default: 4
        }
    }
}

func printError(_ message: String) {
    let line = Array("gateway-agent: \(message)\n".utf8)
    _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}

func printJSON(_ value: some Encodable) {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
    if let data = try? encoder.encode(value) { print(String(decoding: data, as: UTF8.self)) }
}

/// Reads a whole file, or standard input for "-".
func readInput(_ path: String, what: String) throws -> String {
    let fd = path == "-" ? 0 : open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else {
        throw ValidationError("\(what): cannot read '\(path)': \(String(cString: strerror(errno)))")
    }
    defer { if fd != 0 { close(fd) } }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        guard n >= 0 else { throw ValidationError("\(what): cannot read '\(path)': \(String(cString: strerror(errno)))") }
        if n == 0 { break }
        bytes += chunk[..<n]
        guard bytes.count <= 256 * 1024 else { throw ValidationError("\(what): '\(path)' is larger than 256 KiB") }
    }
    guard let text = String(validating: bytes, as: UTF8.self) else {
        throw ValidationError("\(what): '\(path)' is not UTF-8 text (a PEM file is expected)")
    }
    return text
}

/// Left-aligned columns for terminal output.
func printTable(_ header: [String], _ rows: [[String]]) {
    var widths = header.map(\.count)
    for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
    func line(_ cells: [String]) -> String {
        cells.enumerated().map { i, cell in
            i == cells.count - 1 ? cell : cell + String(repeating: " ", count: widths[i] - cell.count)
        }.joined(separator: "  ")
    }
    print(line(header))
    for row in rows { print(line(row)) }
}
