import Logging

/// Turns one event into one line (trailing newline included) in the chosen format.
struct LogLineRenderer: Sendable {
    var format: LogLineFormat
    /// Standard error is the journal: text lines carry a `<N>` priority and no timestamp of their own.
    var journal: Bool

    /// Field names of JSON lines that metadata cannot take; a metadata key equal to one is written as `_key`.
    static let jsonReservedKeys: Set<String> = ["ts", "level", "component", "msg"]

    func render(
        timestamp: LogTimestamp, level: Logger.Level, label: String, message: String, metadata: Logger.Metadata
    ) -> String {
        switch format {
        case .text: renderText(timestamp: timestamp, level: level, label: label, message: message, metadata: metadata)
        case .json: renderJSON(timestamp: timestamp, level: level, label: label, message: message, metadata: metadata)
        }
    }

    /// The syslog priority journald reads from a `<N>` line prefix (sd-daemon(3)).
    static func syslogPriority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    private func renderText(
        timestamp: LogTimestamp, level: Logger.Level, label: String, message: String, metadata: Logger.Metadata
    ) -> String {
        var line = journal ? "<\(Self.syslogPriority(level))>" : timestamp.iso8601 + " "
        line += level.rawValue
        if !label.isEmpty {
            line += " " + LogEscaping.escapingControls(label) + ":"
        }
        line += " " + LogEscaping.escapingControls(message)
        var pairs: [(String, String)] = []
        for (key, value) in metadata {
            Self.flatten(key: LogEscaping.textKey(key), value: value, into: &pairs)
        }
        for (key, value) in pairs.sorted(by: { $0.0 < $1.0 }) {
            line += " " + key + "=" + LogEscaping.textValue(value)
        }
        return line + "\n"
    }

    /// Dictionaries become dotted keys (`peer.uid=0`); arrays become one `[a,b]` value.
    private static func flatten(key: String, value: Logger.MetadataValue, into pairs: inout [(String, String)]) {
        switch value {
        case .dictionary(let dictionary):
            for (subkey, subvalue) in dictionary {
                flatten(key: key + "." + LogEscaping.textKey(subkey), value: subvalue, into: &pairs)
            }
        default:
            pairs.append((key, plainText(value)))
        }
    }

    private static func plainText(_ value: Logger.MetadataValue) -> String {
        switch value {
        case .string(let text): text
        case .stringConvertible(let convertible): convertible.description
        case .array(let items): "[" + items.map(plainText).joined(separator: ",") + "]"
        case .dictionary(let dictionary):
            "{" + dictionary.sorted { $0.key < $1.key }.map { "\($0.key)=\(plainText($0.value))" }
                .joined(separator: ",") + "}"
        }
    }

    private func renderJSON(
        timestamp: LogTimestamp, level: Logger.Level, label: String, message: String, metadata: Logger.Metadata
    ) -> String {
        var line = "{\"ts\":\"" + timestamp.iso8601 + "\",\"level\":\"" + level.rawValue + "\",\"component\":"
        line += LogEscaping.jsonString(label) + ",\"msg\":" + LogEscaping.jsonString(message)
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) {
            let name = Self.jsonReservedKeys.contains(key) ? "_" + key : key
            line += "," + LogEscaping.jsonString(name) + ":" + Self.json(value)
        }
        return line + "}\n"
    }

    private static func json(_ value: Logger.MetadataValue) -> String {
        switch value {
        case .string(let text): LogEscaping.jsonString(text)
        case .stringConvertible(let convertible): LogEscaping.jsonString(convertible.description)
        case .array(let items): "[" + items.map(json).joined(separator: ",") + "]"
        case .dictionary(let dictionary):
            "{" + dictionary.sorted { $0.key < $1.key }.map { LogEscaping.jsonString($0.key) + ":" + json($0.value) }
                .joined(separator: ",") + "}"
        }
    }
}
