/// A secret file that could not be read at run time. Names the key and the path, never the content.
public struct SecretFileError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The key that named the file, e.g. `credentials.organization.token_file`.
    public let key: String
    /// The resolved path.
    public let path: String
    /// What is wrong and what to do.
    public let reason: String

    /// `<key>: secret file <path> <reason>`.
    public var description: String { "\(key): secret file \(path) \(reason)" }
}

/// Largest secret accepted: tokens, keys and passwords are far smaller; anything bigger is the wrong file.
private let secretSizeLimit = 64 * 1024

/// Reads the secret in `file`, checking again that it is a regular file readable by its owner only
/// (on the opened file, so a file swapped in since the configuration was loaded is caught too).
///
/// Returns the content without trailing line breaks; an empty or non-UTF-8 secret is an error.
public func readSecret(_ file: SecretFile) throws(SecretFileError) -> String {
    func failure(_ reason: String) -> SecretFileError {
        SecretFileError(key: file.key, path: file.path, reason: reason)
    }
    let bytes: [UInt8]
    do {
        bytes = try FileAccess.read(file.path, limit: secretSizeLimit) { status in
            FileChecks.secretRefusal(status, path: file.path)
        }
    } catch {
        switch error {
        case .system(let error) where error.isMissing:
            throw failure("does not exist; create it holding only the secret, then run: chmod 600 \(file.path)")
        case .system(let error):
            throw failure("cannot be read: \(error.reason); it must be owned by the user the agent runs as")
        case .refused(let reason):
            throw failure(reason)
        }
    }
    var end = bytes.endIndex
    while end > bytes.startIndex, bytes[end - 1] == UInt8(ascii: "\n") || bytes[end - 1] == UInt8(ascii: "\r") {
        end -= 1
    }
    guard end > bytes.startIndex else { throw failure("is empty; write the secret into it") }
    guard let text = String(validating: bytes[..<end], as: UTF8.self) else {
        throw failure("is not UTF-8 text")
    }
    return text
}
