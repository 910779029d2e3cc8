import Foundation

/// A fresh directory under the system temp dir, removed with everything in it when this goes away.
final class TemporaryDirectory {
    let path: String

    init() {
        path = FileManager.default.temporaryDirectory
            .appendingPathComponent("identity-store-tests-\(UUID().uuidString)").path
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// A state_dir inside this directory that does not exist yet (the store creates it).
    var stateDir: String { path + "/state" }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}
