import Glibc

/// Finds registered secrets, and PEM private key blocks, in the transcripts `TestTranscripts` recorded.
///
/// A secret is found as written, percent-encoded (as in a URL) and with `/` escaped as `\/` (as in JSON).
/// Findings name the transcript file and the kind of secret, never the secret itself.
public enum SecretScanner {
    /// Shorter values are not registered: they would match ordinary words.
    public static let minimumLength = 8

    /// One secret to look for.
    public struct Secret: Sendable, Equatable {
        public let kind: String
        public let value: String
        public init(kind: String, value: String) {
            self.kind = kind
            self.value = value
        }
    }

    /// A secret found in a transcript.
    public struct Finding: Sendable, Equatable, CustomStringConvertible {
        /// The transcript's file name.
        public let file: String
        /// What was found: a secret's kind, or "PEM private key block".
        public let kind: String
        public var description: String { "\(kind) in \(file)" }
    }

    /// What an audit of a transcript directory saw.
    public struct Report: Sendable {
        public var transcripts = 0
        public var transcriptBytes = 0
        public var secrets = 0
        public var findings: [Finding] = []
    }

    /// Scans every transcript under `directory/output` for every secret registered under `directory/secrets`.
    public static func audit(directory: String) -> Report {
        var report = Report()
        let secrets = files(in: directory + "/secrets").flatMap { file in
            String(decoding: TestTranscripts.contents(of: file) ?? [], as: UTF8.self).split(separator: "\n")
                .compactMap { line -> Secret? in
                    guard let tab = line.firstIndex(of: "\t") else { return nil }
                    return Secret(kind: String(line[..<tab]), value: String(line[line.index(after: tab)...]))
                }
        }
        report.secrets = Set(secrets.map(\.value)).count
        let index = SecretIndex(secrets)
        for file in files(in: directory + "/output") {
            let bytes = TestTranscripts.contents(of: file) ?? []
            report.transcripts += 1
            report.transcriptBytes += bytes.count
            let name = String(file.split(separator: "/").last ?? "")
            report.findings += index.findings(in: bytes, file: name)
        }
        return report
    }

    /// What fails the audit: each finding, and an audit that saw no transcript or no secret (it would pass
    /// vacuously: recording is off, or the suites that record did not run first).
    public static func problems(_ report: Report) -> [String] {
        var problems: [String] = []
        if report.transcripts == 0 || report.transcriptBytes == 0 {
            problems.append(
                "no transcript was recorded: run the other suites first, with $\(TestTranscripts.environmentVariable) set")
        }
        if report.secrets == 0 {
            problems.append("no secret was registered: the transcripts were checked against nothing")
        }
        return problems + report.findings.map(\.description)
    }

    /// The secrets (and PEM private key blocks) found in `text`, each kind once.
    public static func findings(in text: [UInt8], file: String, secrets: [Secret]) -> [Finding] {
        SecretIndex(secrets).findings(in: text, file: file)
    }

    private static func files(in directory: String) -> [String] {
        TestTranscripts.entries(of: directory).map { "\(directory)/\($0)" }
    }
}

/// Every form of every secret, indexed by its first 8 bytes, so a transcript is read once whatever their number.
private struct SecretIndex {
    private var forms: [UInt64: [(bytes: [UInt8], kind: String)]] = [:]
    private var filter = [Bool](repeating: false, count: 1 << 16)
    private static let pemMarker = Array("PRIVATE KEY-----".utf8)

    init(_ secrets: [SecretScanner.Secret]) {
        var kinds: [String: String] = [:]
        for secret in secrets { kinds[secret.value] = secret.kind }
        for (value, kind) in kinds {
            let raw = Array(value.utf8)
            let variants = [raw, Self.percentEncoded(raw), Self.jsonEscaped(raw)]
            for form in Set(variants) where form.count >= 8 {
                let key = Self.key(form[...])
                forms[key, default: []].append((form, kind))
                filter[Self.slot(key)] = true
            }
        }
        let pemKey = Self.key(Self.pemMarker[...])
        forms[pemKey, default: []].append((Self.pemMarker, "PEM private key block"))
        filter[Self.slot(pemKey)] = true
    }

    func findings(in text: [UInt8], file: String) -> [SecretScanner.Finding] {
        guard text.count >= 8 else { return [] }
        var kinds: [String] = []
        text.withUnsafeBytes { buffer in
            for offset in 0...(buffer.count - 8) {
                let key = buffer.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
                guard filter[Self.slot(key)], let candidates = forms[key] else { continue }
                for candidate in candidates where !kinds.contains(candidate.kind) {
                    let end = offset + candidate.bytes.count
                    if end <= buffer.count, buffer[offset..<end].elementsEqual(candidate.bytes) {
                        kinds.append(candidate.kind)
                    }
                }
            }
        }
        return kinds.map { SecretScanner.Finding(file: file, kind: $0) }
    }

    private static func key(_ bytes: ArraySlice<UInt8>) -> UInt64 {
        bytes.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
    }

    private static func slot(_ key: UInt64) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 48)
    }

    /// RFC 3986: everything but unreserved characters as %XX (upper-case hex, as SigV4 query strings have it).
    private static func percentEncoded(_ bytes: [UInt8]) -> [UInt8] {
        let hex = Array("0123456789ABCDEF".utf8)
        return bytes.flatMap { byte -> [UInt8] in
            let unreserved =
                (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
                || byte == 0x2D || byte == 0x2E || byte == 0x5F || byte == 0x7E
            return unreserved ? [byte] : [0x25, hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
        }
    }

    private static func jsonEscaped(_ bytes: [UInt8]) -> [UInt8] {
        bytes.flatMap { $0 == 0x2F ? [0x5C, 0x2F] : [$0] }
    }
}
