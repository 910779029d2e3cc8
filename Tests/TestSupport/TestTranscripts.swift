import Glibc
import Synchronization

/// Everything the agent and its CLI print during a test run, and every secret the tests hand them, kept for the
/// secrets audit (`SecretsAudit`, run by scripts/test after every other suite).
///
/// Recording is on when `$GATEWAY_AGENT_TEST_TRANSCRIPTS` names a directory (scripts/test empties it first).
/// `ChildProcess` records every `gateway-agent` it starts: output that would be discarded goes to a transcript
/// file instead, captured output is copied as it is read, and a log file the agent writes is copied when the agent
/// is reaped. Secrets are registered from the files the agent's configuration names (`token_file`, `password_file`,
/// `key_file`, `secret_access_key_file`, `session_token_file`) and by fixtures that mint credentials.
public enum TestTranscripts {
    /// The variable scripts/test sets; fixtures written in Python read it too.
    public static let environmentVariable = "GATEWAY_AGENT_TEST_TRANSCRIPTS"

    /// The transcript directory, or nil when nothing is recorded.
    public static let directory: String? = {
        guard let value = getenv(environmentVariable).map({ String(cString: $0) }), !value.isEmpty else { return nil }
        mkdir(value, 0o700)
        mkdir(value + "/output", 0o700)
        mkdir(value + "/secrets", 0o700)
        return value
    }()

    /// Adds `value` to the secrets the audit looks for; `kind` names it in a finding ("session token"…).
    /// Values shorter than `SecretScanner.minimumLength` are ignored (they would match ordinary words).
    public static func registerSecret(_ value: String, kind: String) {
        guard let directory, value.utf8.count >= SecretScanner.minimumLength,
            !value.contains("\t"), !value.contains("\n"), !kind.contains("\t"), !kind.contains("\n")
        else { return }
        let fresh = registered.withLock { $0.insert(value).inserted }
        guard fresh else { return }
        append("\(kind)\t\(value)\n", to: "\(directory)/secrets/\(getpid()).tsv")
    }

    /// The keys whose file holds a secret, with the kind a finding names.
    static let secretFileKeys = [
        "token_file": "organization token", "password_file": "MQTT password", "key_file": "private key",
        "secret_access_key_file": "secret access key", "session_token_file": "session token",
    ]

    private static let registered = Mutex<Set<String>>([])
    private static let sequence = Atomic<Int>(0)

    /// What one audited child's output becomes; nil for programs that are not audited or when not recording.
    static func recording(
        executable: String, arguments: [String], environment: [String: String]
    ) -> ChildRecording? {
        guard let directory, executable.split(separator: "/").last == "gateway-agent" else { return nil }
        let number = sequence.add(1, ordering: .relaxed).newValue
        let command = arguments.first { !$0.hasPrefix("-") } ?? "gateway-agent"
        return ChildRecording(
            base: "\(directory)/output/\(getpid())-\(number)-\(command)", arguments: arguments,
            credentialsDirectory: environment["CREDENTIALS_DIRECTORY"]
                ?? getenv("CREDENTIALS_DIRECTORY").map { String(cString: $0) })
    }

    /// Appends `text` to `path` (created 0600).
    static func append(_ text: String, to path: String) {
        append(Array(text.utf8)[...], to: path)
    }

    static func append(_ bytes: ArraySlice<UInt8>, to path: String) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { return }
        defer { close(descriptor) }
        var rest = bytes
        while !rest.isEmpty {
            let written = rest.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            if written < 0, errno == EINTR { continue }
            guard written > 0 else { return }
            rest = rest.dropFirst(written)
        }
    }

    /// The names in `directory` (without `.` and `..`), sorted; none when it cannot be read.
    static func entries(of directory: String) -> [String] {
        guard let handle = opendir(directory) else { return [] }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// The whole of a small file, or nil.
    static func contents(of path: String) -> [UInt8]? {
        guard let file = fopen(path, "re") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = fread(&buffer, 1, buffer.count, file)
            if count <= 0 { break }
            bytes += buffer[..<count]
        }
        return bytes
    }
}

/// One audited child: where its output is recorded, and the configuration whose secret files it was given.
final class ChildRecording: Sendable {
    private let base: String
    private let configFiles: [String]
    private let credentialsDirectory: String?

    init(base: String, arguments: [String], credentialsDirectory: String?) {
        self.base = base
        self.credentialsDirectory = credentialsDirectory
        var files: [String] = []
        if let flag = arguments.firstIndex(where: { $0 == "--config" || $0 == "-c" }), flag + 1 < arguments.count {
            let main = arguments[flag + 1]
            files.append(main)
            let directory = main.split(separator: "/", omittingEmptySubsequences: false).dropLast()
                .joined(separator: "/")
            files += Self.dropIns(in: (directory.isEmpty ? "." : directory) + "/gateway-agent.d")
        }
        configFiles = files
        registerConfiguredSecrets()
    }

    /// `.discard` becomes a transcript file; the rest is kept (captured and file output are copied).
    func output(_ output: ChildProcess.Output, stream: String) -> ChildProcess.Output {
        if case .discard = output { return .file("\(base).\(stream)") }
        return output
    }

    /// Where bytes captured from `stream` are copied.
    func capturePath(stream: String) -> String { "\(base).\(stream)" }

    /// Once the child ended: copies the log files it wrote and registers its secrets again (a test may have
    /// replaced a token file meanwhile).
    func finish(stdout: ChildProcess.Output, stderr: ChildProcess.Output) {
        var copied: Set<String> = []
        for (output, stream) in [(stdout, "stdout"), (stderr, "stderr")] {
            guard case .file(let path) = output, !path.hasPrefix(base), copied.insert(path).inserted,
                let bytes = TestTranscripts.contents(of: path)
            else { continue }
            TestTranscripts.append(bytes[...], to: "\(base).\(stream)-file")
        }
        registerConfiguredSecrets()
    }

    private func registerConfiguredSecrets() {
        for file in configFiles {
            guard let bytes = TestTranscripts.contents(of: file) else { continue }
            let directory = file.split(separator: "/", omittingEmptySubsequences: false).dropLast()
                .joined(separator: "/")
            for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
                guard let (key, value) = Self.stringSetting(line), let kind = TestTranscripts.secretFileKeys[key],
                    let path = resolve(value, relativeTo: directory), let secret = TestTranscripts.contents(of: path)
                else { continue }
                Self.register(String(decoding: secret, as: UTF8.self), kind: kind)
            }
        }
    }

    /// A secret file's content: a PEM private key by each line of its body, anything else as one trimmed value.
    static func register(_ text: String, kind: String) {
        if text.contains("-----BEGIN") {
            for line in text.split(separator: "\n") where !line.hasPrefix("-----") {
                TestTranscripts.registerSecret(String(line), kind: kind)
            }
        } else {
            var trimmed = Substring(text)
            while let last = trimmed.last, last.isWhitespace { trimmed = trimmed.dropLast() }
            TestTranscripts.registerSecret(String(trimmed), kind: kind)
        }
    }

    /// `key = "value"` (a TOML basic string without escapes), or nil.
    static func stringSetting(_ line: Substring) -> (String, String)? {
        guard let equals = line.firstIndex(of: "=") else { return nil }
        let key = line[..<equals].trimmingSpaces
        let value = line[line.index(after: equals)...].trimmingSpaces
        guard value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") else { return nil }
        return (String(key), String(value.dropFirst().dropLast()))
    }

    private func resolve(_ value: String, relativeTo directory: String) -> String? {
        if value.hasPrefix("credential:") {
            return credentialsDirectory.map { "\($0)/\(value.dropFirst("credential:".count))" }
        }
        return value.hasPrefix("/") ? value : "\(directory)/\(value)"
    }

    private static func dropIns(in directory: String) -> [String] {
        TestTranscripts.entries(of: directory).filter { $0.hasSuffix(".toml") }.map { "\(directory)/\($0)" }
    }
}

extension Substring {
    fileprivate var trimmingSpaces: Substring {
        var text = self
        while let first = text.first, first == " " || first == "\t" { text = text.dropFirst() }
        while let last = text.last, last == " " || last == "\t" || last == "\r" { text = text.dropLast() }
        return text
    }
}
