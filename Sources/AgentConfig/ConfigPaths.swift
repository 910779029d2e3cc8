/// Turns path values into absolute paths: `credential:NAME` via `$CREDENTIALS_DIRECTORY`, relative paths
/// against the directory of the file that names them.
enum ConfigPaths {
    static let credentialPrefix = "credential:"

    /// The absolute form of `value`, written in `file`; or why it has none.
    static func resolve(
        _ value: String, writtenIn file: String, environment: [String: String], allowCredential: Bool
    ) -> Result<String, PathProblem> {
        if value.hasPrefix(credentialPrefix) {
            guard allowCredential else { return .failure(.invalid("credential:NAME is only for keys ending in _file")) }
            let name = String(value.dropFirst(credentialPrefix.count))
            guard !name.isEmpty, name != ".", name != "..", !name.contains("/") else {
                return .failure(.invalid("expected credential:NAME with a plain file name, got \(quoted(value))"))
            }
            guard let directory = environment["CREDENTIALS_DIRECTORY"], !directory.isEmpty else {
                return .failure(.noCredentialsDirectory(
                    "\(value) needs $CREDENTIALS_DIRECTORY, which is not set; "
                        + "run under systemd with LoadCredential=\(name):/path or use a file path instead"))
            }
            return .success(normalize(directory + "/" + name))
        }
        if let problem = pathTextProblem(value) { return .failure(.invalid(problem)) }
        if value.hasPrefix("/") { return .success(normalize(value)) }
        return .success(normalize(directory(of: file) + "/" + value))
    }

    /// Why `value` can't be a path, or nil.
    static func pathTextProblem(_ value: String) -> String? {
        if value.hasPrefix("~") {
            return "expected an absolute path or one relative to this file, got \(quoted(value)) (~ is not expanded)"
        }
        if value.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            return "expected a path, got text with control characters"
        }
        return nil
    }

    /// `path` made absolute against the working directory.
    static func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? normalize(path) : normalize(FileAccess.currentDirectory() + "/" + path)
    }

    static func directory(of file: String) -> String {
        guard let slash = file.lastIndex(of: "/") else { return "." }
        let directory = String(file[..<slash])
        return directory.isEmpty ? "/" : directory
    }

    /// Removes empty and `.` components; keeps `..`, which a symbolic link may give another meaning.
    static func normalize(_ path: String) -> String {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true).filter { $0 != "." }
        let joined = parts.joined(separator: "/")
        return path.hasPrefix("/") ? "/" + joined : joined
    }
}

/// Why a path value could not be resolved.
enum PathProblem: Error {
    /// The text itself is wrong: always reported.
    case invalid(String)
    /// `credential:` without `$CREDENTIALS_DIRECTORY`: reported only where the file is needed.
    case noCredentialsDirectory(String)

    var message: String {
        switch self {
        case .invalid(let message), .noCredentialsDirectory(let message): return message
        }
    }
}

/// The file checks of the loader: secrets must be owner-only, other files must exist and be readable.
enum FileChecks {
    /// Why the secret at `path` is unusable, or nil. Never reads the content.
    static func secretProblem(_ path: String, origin: String) -> String? {
        switch FileAccess.status(path) {
        case .failure(let error) where error.isMissing:
            return "secret file \(origin) does not exist; create it holding only the secret, then run: chmod 600 \(path)"
        case .failure(let error):
            return "cannot check secret file \(origin): \(error.reason); the agent's user must be able to reach it"
        case .success(let status):
            if let refusal = secretRefusal(status, path: path) { return "secret file \(origin) \(refusal)" }
            guard FileAccess.isReadable(path) else {
                return "secret file \(origin) is not readable by this user (uid \(FileAccess.effectiveUser)); "
                    + "make it owned by the user the agent runs as, with chmod 600"
            }
            return nil
        }
    }

    /// Why a secret file with `status` must not be used, or nil: not a regular file, or open to group or others.
    static func secretRefusal(_ status: FileStatus, path: String) -> String? {
        if status.isDirectory { return "is a directory, not a file" }
        if !status.isRegularFile { return "is not a regular file" }
        if status.permissions & 0o077 != 0 {
            return "is accessible by group or others (mode \(octal(status.permissions))); "
                + "secrets must be readable by their owner only: run chmod 600 \(path)"
        }
        return nil
    }

    /// Why the non-secret file at `path` (a certificate or CA bundle) is unusable, or nil.
    static func publicFileProblem(_ path: String, origin: String) -> String? {
        switch FileAccess.status(path) {
        case .failure(let error):
            return "file \(origin) \(error.reason)"
        case .success(let status):
            if status.isDirectory { return "\(origin) is a directory, expected a PEM file" }
            if !status.isRegularFile { return "\(origin) is not a regular file" }
            guard FileAccess.isReadable(path) else {
                return "file \(origin) is not readable by this user (uid \(FileAccess.effectiveUser))"
            }
            return nil
        }
    }

    /// `0644`-style permission bits.
    static func octal(_ permissions: UInt32) -> String {
        let digits = String(permissions, radix: 8)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}
