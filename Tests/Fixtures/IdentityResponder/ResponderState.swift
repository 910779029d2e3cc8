import Foundation

/// What the responder knows, written as JSON to `--state-file` (to a temporary file, then renamed, so a
/// reader never sees half of it). Every received request is also appended, as one JSON line, to
/// `<state-file>.records.jsonl` the moment it arrives: rewriting a growing list on every change would make
/// a 1,000-request test quadratic.
///
/// The state file is always written before the acks it accounts for are published, so an agent that has
/// seen an ack can read a state file that already shows its effect.
struct ResponderState: Codable {
    struct RegisteredIdentity: Codable, Equatable {
        var publicKey: String?
        var parent: String?
    }

    /// Identity → what the cloud holds for it.
    var registry: [String: RegisteredIdentity] = [:]
    /// How many times each correlation id was received.
    var requestCounts: [String: Int] = [:]
    /// Correlation ids whose request changed the registry, in order (never twice).
    var applied: [String] = []
    /// Lines in the records file.
    var recordCount = 0
    /// Acks published (counted when queued, just before the state file that includes them is written).
    var acksSent = 0
    /// Control messages applied so far.
    var controlCount = 0
    var behaviour = ResponderBehaviour()
    /// True while the responder is connected and subscribed (tests wait for it).
    var subscribed = false
    /// Connections made so far.
    var connections = 0

    /// One request as received: a line of the records file.
    struct Record: Codable {
        var topic: String
        var action: String?
        /// Topic properties, percent-decoded.
        var properties: [String: String]
        /// Payload as UTF-8 text (invalid bytes replaced).
        var payload: String
        var userProperties: [[String]]
        var correlationData: String?
        /// When it arrived, milliseconds since the epoch (rate measurements).
        var receivedAtMs: Int64
    }

    /// The state left by an earlier run (so correlation ids stay deduplicated across restarts), or a fresh one.
    static func load(from path: String) -> ResponderState {
        guard let data = FileManager.default.contents(atPath: path),
            var state = try? JSONDecoder().decode(ResponderState.self, from: data)
        else { return ResponderState() }
        state.subscribed = false
        return state
    }

    func write(to path: String) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            let temporary = "\(path).tmp"
            try encoder.encode(self).write(to: URL(fileURLWithPath: temporary))
            guard rename(temporary, path) == 0 else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
            }
        } catch {
            FileHandle.standardError.write(Data("identity-responder: cannot write \(path): \(error)\n".utf8))
        }
    }
}

/// Appends records to `<state-file>.records.jsonl`.
final class RecordLog {
    private let handle: FileHandle?

    init(path: String) {
        if !FileManager.default.fileExists(atPath: path) {
            _ = FileManager.default.createFile(atPath: path, contents: nil)
        }
        handle = FileHandle(forWritingAtPath: path)
        _ = try? handle?.seekToEnd()
    }

    func append(_ record: ResponderState.Record) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let line = try? encoder.encode(record) else { return }
        handle?.write(line + Data("\n".utf8))
    }
}
