import AgentConfig
import Glibc
import TestSupport

/// A main file and its drop-ins in a fresh temporary directory. Call `remove()` when done.
struct ConfigFixture {
    let directory: TempDirectory

    init() throws {
        directory = try TempDirectory(prefix: "agent-config")
    }

    var mainPath: String { directory.path("gateway-agent.toml") }

    /// Writes the main file.
    @discardableResult
    func main(_ toml: String) throws -> String {
        try directory.file("gateway-agent.toml", contents: toml)
    }

    /// Writes `gateway-agent.d/<name>`.
    @discardableResult
    func dropIn(_ name: String, _ toml: String) throws -> String {
        try directory.file("gateway-agent.d/\(name)", contents: toml)
    }

    /// Writes a secret file (mode 0600 unless told otherwise).
    @discardableResult
    func secret(_ name: String, _ contents: String = "s3cr3t-value\n", mode: UInt32 = 0o600) throws -> String {
        try directory.file(name, contents: contents, mode: mode)
    }

    func load(environment: [String: String] = [:]) throws(ConfigErrors) -> AgentConfiguration {
        try ConfigLoader.load(path: mainPath, environment: environment)
    }

    func check(environment: [String: String] = [:]) -> ConfigCheckReport {
        ConfigLoader.check(path: mainPath, environment: environment)
    }

    /// The problems of the configuration, as printed lines.
    func problems(environment: [String: String] = [:]) -> [String] {
        check(environment: environment).problems.map(\.description)
    }

    func remove() { directory.remove() }
}

/// The smallest valid configuration: a local broker without AWS credentials.
let minimalConfig = """
    [agent]
    module_id = "line-3"

    [credentials]
    source = "none"

    [broker]
    endpoint = "localhost"

    """

/// `minimalConfig` with `extra` TOML appended (later tables may repeat none of its tables).
func minimal(adding extra: String) -> String { minimalConfig + extra }

/// The repository root, found from this source file's path.
let repositoryRoot: String = {
    var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(3)
    return parts.joined(separator: "/")
}()

/// `minimalConfig` with `line` set in `section`, replacing the key if minimalConfig already sets it.
func minimal(setting line: String, in section: String) -> String {
    let key = line.prefix { $0 != " " && $0 != "=" }
    var lines = minimalConfig.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        .filter { !$0.hasPrefix("\(key) =") }
    if let header = lines.firstIndex(of: section) {
        lines.insert(line, at: header + 1)
    } else {
        lines += [section, line, ""]
    }
    return lines.joined(separator: "\n")
}

/// Writes raw bytes (for files that are not valid UTF-8).
func writeBytes(_ bytes: [UInt8], to path: String) throws {
    let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    guard descriptor >= 0 else { throw WriteFailure(path: path) }
    defer { close(descriptor) }
    guard bytes.withUnsafeBytes({ write(descriptor, $0.baseAddress, $0.count) }) == bytes.count else {
        throw WriteFailure(path: path)
    }
}

struct WriteFailure: Error {
    let path: String
}

/// The bytes of a file.
func readAll(_ path: String) throws -> [UInt8] {
    guard let stream = fopen(path, "rb") else { throw WriteFailure(path: path) }
    defer { fclose(stream) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let count = fread(&buffer, 1, buffer.count, stream)
        if count == 0 { return bytes }
        bytes += buffer[0..<count]
    }
}

/// Names in a directory, without `.` and `..`.
func listDirectory(_ path: String) throws -> [String] {
    guard let directory = opendir(path) else { throw WriteFailure(path: path) }
    defer { closedir(directory) }
    var names: [String] = []
    while let entry = readdir(directory) {
        let name = withUnsafePointer(to: entry.pointee.d_name) {
            $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
        }
        if name != "." && name != ".." { names.append(name) }
    }
    return names
}
