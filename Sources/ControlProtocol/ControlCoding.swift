import FoundationEssentials

/// JSON lines: one message per line, no pretty printing, stable key order.
public enum ControlCoding {
    public static func encodeLine(_ value: some Encodable) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // The protocol's types hold only strings, numbers and booleans.
        var bytes = Array(try! encoder.encode(value))
        bytes.append(UInt8(ascii: "\n"))
        return bytes
    }

    /// Decodes a request line; the error is what the agent answers.
    public static func decodeRequest(_ line: [UInt8]) -> Result<ControlRequest, ControlError> {
        struct Envelope: Decodable {
            var v: Int?
            var id: String?
            var verb: String?
        }
        guard let envelope = try? JSONDecoder().decode(Envelope.self, from: Data(line)) else {
            return .failure(ControlError(.malformed, "request is not a JSON object with v, id, verb and args"))
        }
        guard envelope.v == controlProtocolVersion else {
            return .failure(
                ControlError(
                    .unsupportedVersion,
                    "protocol version \(envelope.v.map(String.init) ?? "missing"), this agent speaks \(controlProtocolVersion)"))
        }
        guard let verbText = envelope.verb, ControlVerb(rawValue: verbText) != nil else {
            let known = ControlVerb.allCases.map(\.rawValue).joined(separator: ", ")
            return .failure(ControlError(.malformed, "unknown verb '\(envelope.verb ?? "")': expected one of \(known)"))
        }
        do {
            return .success(try JSONDecoder().decode(ControlRequest.self, from: Data(line)))
        } catch {
            return .failure(ControlError(.malformed, "bad arguments: \(describe(error))"))
        }
    }

    /// The request id of a line that failed to decode, when it can still be read.
    public static func requestID(of line: [UInt8]) -> String {
        struct OnlyID: Decodable { var id: String? }
        return (try? JSONDecoder().decode(OnlyID.self, from: Data(line)))?.id ?? ""
    }

    public static func decodeResponse(_ line: [UInt8]) throws -> ControlResponse {
        try JSONDecoder().decode(ControlResponse.self, from: Data(line))
    }

    /// A short description of a decoding error: which field, what was wrong.
    static func describe(_ error: any Error) -> String {
        guard let decoding = error as? DecodingError else { return "invalid JSON" }
        func path(_ context: DecodingError.Context) -> String {
            context.codingPath.map(\.stringValue).joined(separator: ".")
        }
        switch decoding {
        case .typeMismatch(let type, let context): return "\(path(context)): expected \(type)"
        case .valueNotFound(_, let context): return "\(path(context)): missing value"
        case .keyNotFound(let key, let context): return "\(path(context)).\(key.stringValue): missing"
        case .dataCorrupted(let context): return "\(path(context)): \(context.debugDescription)"
        @unknown default: return "invalid JSON"
        }
    }
}
