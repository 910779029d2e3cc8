import AgentLogging
import Foundation
import Logging
import Testing

@Suite("standard error output and journald detection")
struct OutputTests {
    private func withTemporaryFile(_ body: (String, Int32) throws -> Void) throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("agentlogging-\(UUID().uuidString)")
            .path
        let descriptor = open(path, O_CREAT | O_RDWR | O_APPEND | O_CLOEXEC, 0o600)
        try #require(descriptor >= 0)
        defer {
            close(descriptor)
            unlink(path)
        }
        try body(path, descriptor)
    }

    @Test("JOURNAL_STREAM counts only when it names the descriptor's own device and inode")
    func journalDetection() throws {
        try withTemporaryFile { path, descriptor in
            let identity = try #require(JournalStream.identity(of: descriptor))
            #expect(JournalStream.isConnected(descriptor: descriptor, environment: ["JOURNAL_STREAM": identity]))
            #expect(!JournalStream.isConnected(descriptor: descriptor, environment: [:]))
            #expect(!JournalStream.isConnected(descriptor: descriptor, environment: ["JOURNAL_STREAM": "1:2"]))
            #expect(!JournalStream.isConnected(descriptor: descriptor, environment: ["JOURNAL_STREAM": "garbage"]))
            #expect(!JournalStream.isConnected(descriptor: -1, environment: ["JOURNAL_STREAM": identity]))
        }
    }

    @Test("lines written from many threads at once arrive whole, one per event")
    func concurrentWritesStayWhole() throws {
        try withTemporaryFile { path, descriptor in
            let output = FileDescriptorLogOutput(descriptor: descriptor)
            let control = LogLevelControl(level: .info)
            // Longer than PIPE_BUF, so only the handler's own serialisation keeps lines apart.
            let payload = String(repeating: "x", count: 10_000)
            DispatchQueue.concurrentPerform(iterations: 8) { worker in
                let logger = Logger(label: "w\(worker)") { label in
                    AgentLogHandler(label: label, format: .json, journal: false, levelControl: control, output: output)
                }
                for index in 0..<25 {
                    logger.info("event", metadata: ["n": "\(index)", "payload": "\(payload)"])
                }
            }
            let text = try String(contentsOfFile: path, encoding: .utf8)
            let lines = text.split(separator: "\n")
            #expect(lines.count == 200)
            for line in lines {
                let parsed = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
                #expect(parsed?["payload"] as? String == payload)
            }
        }
    }

    @Test("timestamps are UTC with milliseconds and zero padding")
    func timestampFormat() {
        #expect(fixedTimestamp.iso8601 == "2024-02-29T12:34:56.789Z")
        #expect(LogTimestamp(seconds: 0, nanoseconds: 5_000_000).iso8601 == "1970-01-01T00:00:00.005Z")
    }
}
