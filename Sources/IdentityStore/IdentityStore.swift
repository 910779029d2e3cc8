import CSQLite
import FoundationEssentials
import GatewayCore

/// The agent's durable state: the identities it manages and the outbox of requests, in one SQLite file.
///
/// One agent per state_dir: `open` takes an exclusive lock that lasts until `close()` (or the process dies).
/// Not `Sendable`: one owner (the agent's store actor) is the only writer, so no two transactions ever race.
public final class IdentityStore {
    /// The directory given to `open`.
    public let stateDir: String
    /// `state_dir/identities.sqlite3`.
    public let databasePath: String
    /// The schema version this build migrates databases to.
    public static var schemaVersion: Int { Schema.currentVersion }

    let connection: SQLiteConnection
    /// Nil for a store opened for reading only.
    private let lock: StateDirectoryLock?
    /// Whether the schema has the `counters` table (only a test opens a store at an older version).
    let keepsCounters: Bool

    private init(stateDir: String, connection: SQLiteConnection, lock: StateDirectoryLock?, keepsCounters: Bool) {
        self.stateDir = stateDir
        self.keepsCounters = keepsCounters
        self.databasePath = connection.path
        self.connection = connection
        self.lock = lock
    }

    deinit { close() }

    /// Opens (creating if needed) the store in `stateDir`, migrating its schema to the current version.
    ///
    /// Fails fast with `stateDirInUse` when another process holds the state_dir, and with `newerSchema`
    /// when a newer gateway-agent wrote the database.
    public static func open(stateDir: String) throws(StoreError) -> IdentityStore {
        try open(stateDir: stateDir, schemaVersion: Schema.currentVersion)
    }

    /// `open`, migrating only up to `schemaVersion` (tests of migrations).
    static func open(stateDir: String, schemaVersion: Int) throws(StoreError) -> IdentityStore {
        let lock = try StateDirectoryLock(stateDir: stateDir)
        let connection = try SQLiteConnection(path: stateDir + "/identities.sqlite3")
        // busy_timeout first: nothing else should hold the file, but a backup tool reading it must not fail us.
        try connection.execute("PRAGMA busy_timeout = 5000")
        let mode = try connection.statement("PRAGMA journal_mode = WAL").firstRow { $0.text(0) } ?? nil
        guard mode == "wal" else {
            throw StoreError.sqlite(
                code: SQLITE_CANTOPEN, message: "journal mode is '\(mode ?? "unknown")', not 'wal'",
                operation: "set WAL mode", path: connection.path)
        }
        // FULL: a commit is on disk before `accept` returns, even if the gateway loses power right after.
        try connection.execute("PRAGMA synchronous = FULL")
        try connection.execute("PRAGMA foreign_keys = ON")
        // Gateways have small disks: truncate the WAL back to 4 MiB after each checkpoint.
        try connection.execute("PRAGMA journal_size_limit = 4194304")
        try Schema.migrate(connection, upTo: schemaVersion)
        return IdentityStore(
            stateDir: stateDir, connection: connection, lock: lock, keepsCounters: schemaVersion >= Schema.countersVersion)
    }

    /// Opens the existing store in `stateDir` for reading only (`gateway-agent check`): no state_dir lock, no
    /// migration, no write, so it is safe while the agent runs. Fails when there is no store yet.
    public static func openForReading(stateDir: String) throws(StoreError) -> IdentityStore {
        let connection = try SQLiteConnection(path: stateDir + "/identities.sqlite3", readOnly: true)
        // The agent may be committing: wait for it rather than fail.
        try connection.execute("PRAGMA busy_timeout = 5000")
        let version = try Schema.userVersion(connection)
        return IdentityStore(
            stateDir: stateDir, connection: connection, lock: nil, keepsCounters: version >= Schema.countersVersion)
    }

    /// Closes the database and releases the state_dir lock; every later call throws `closed`.
    public func close() {
        connection.close()
        lock?.release()
    }

    /// Gives back the page cache, rebuilt from the file on the next reads: for when the outbox has drained.
    public func releaseMemory() {
        connection.releaseMemory()
    }

    /// Problems `PRAGMA integrity_check` finds; empty when the database is sound.
    public func integrityProblems() throws(StoreError) -> [String] {
        let problems = try connection.statement("PRAGMA integrity_check").rows { $0.text(0) ?? "" }
        return problems == ["ok"] ? [] : problems
    }
}
