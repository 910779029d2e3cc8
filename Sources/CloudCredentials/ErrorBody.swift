/// The error bodies credential endpoints send, read into one line of text for a message.
///
/// Understood: `{error, message}` (organization endpoint), `{error, error_description, cause}` (OAuth-style),
/// `{code, message, request_id, type, fields}` (API-key services), a nested `{"error": {…}}`, and plain text.
enum ErrorBody {
    /// What the server said, with `secrets` removed; nil when it said nothing readable.
    static func summary(_ body: [UInt8], contentType: String?, secrets: [String]) -> String? {
        if let json = JSONValue.parse(body) {
            guard let text = summary(json) else { return nil }
            return ServerText.clean(text, secrets: secrets)
        }
        // An HTML page (a proxy's or load balancer's) has no line worth quoting.
        if contentType?.lowercased().contains("html") == true { return nil }
        guard let text = String(validating: body, as: UTF8.self) else { return nil }
        let line = text.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        let cleaned = ServerText.clean(line, secrets: secrets)
        return cleaned.isEmpty ? nil : cleaned
    }

    static func summary(_ json: JSONValue) -> String? {
        guard case .object = json else { return nil }
        if let nested = json["error"], case .object = nested {
            return summary(nested)
        }
        let label = json["error"]?.stringValue ?? json["type"]?.stringValue ?? json["code"]?.stringValue
        let detail = json["message"]?.stringValue ?? json["error_description"]?.stringValue
        var text = [label, detail].compactMap { $0?.isEmpty == false ? $0 : nil }.joined(separator: ": ")
        if let cause = json["cause"]?.stringValue, !cause.isEmpty {
            text += text.isEmpty ? cause : " (\(cause))"
        }
        if case .array(let fields) = json["fields"] {
            let problems = fields.compactMap { field -> String? in
                guard let name = field["name"]?.stringValue else { return nil }
                return field["message"]?.stringValue.map { "\(name): \($0)" } ?? name
            }
            if !problems.isEmpty {
                text += (text.isEmpty ? "" : " ") + "(fields: \(problems.joined(separator: "; ")))"
            }
        }
        if let requestID = json["request_id"]?.stringValue ?? json["requestId"]?.stringValue, !requestID.isEmpty {
            text += (text.isEmpty ? "" : " ") + "[request id \(requestID)]"
        }
        return text.isEmpty ? nil : text
    }
}
