import CSQLite
import Glibc

/// Why the identity store could not do what was asked, and what the operator can do about it.
public enum StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Another process (normally another gateway-agent) holds `state_dir/agent.lock`.
    case stateDirInUse(stateDir: String, pid: Int32?)
    /// The state directory or its lock file could not be created or opened (`errno` from the system call).
    case stateDir(path: String, operation: String, errno: Int32)
    /// The database's schema version is newer than this build knows: it was written by a newer gateway-agent.
    case newerSchema(path: String, version: Int, supported: Int)
    /// A schema migration failed; the database stays at the version before it.
    case migrationFailed(path: String, version: Int, name: String, code: Int32, message: String)
    /// A request's correlation id is already stored; the whole batch was refused.
    case duplicateCorrelationID(String)
    /// A request names an identity (or a parent) the store has no row for; the whole batch was refused.
    case unknownIdentity(IdentityReference)
    /// A stored value this build cannot read (a state or action it does not know, a malformed UUID).
    case unreadableRow(table: String, column: String, value: String)
    /// The store was used after `close()`.
    case closed(path: String)
    /// SQLite reported an error; `code` is its (extended) result code, `message` its text.
    case sqlite(code: Int32, message: String, operation: String, path: String)

    /// Which reference of a request pointed at a missing identity.
    public enum IdentityReference: Sendable, Equatable {
        /// The request's own identity (update, delete).
        case identity(String)
        /// The request's parent (create).
        case parent(String)
    }

    /// SQLite's extended result code, when SQLite reported the error.
    public var sqliteCode: Int32? {
        switch self {
        case .sqlite(let code, _, _, _), .migrationFailed(_, _, _, let code, _): code
        default: nil
        }
    }

    /// What failed, why, and what to do.
    public var description: String {
        switch self {
        case .stateDirInUse(let stateDir, let pid):
            let holder = pid.map { "process \($0)" } ?? "another process"
            return "state_dir '\(stateDir)' is in use by \(holder) (lock '\(stateDir)/agent.lock'): "
                + "only one gateway-agent may run per state_dir; "
                + "stop the other one or give this one its own agent.state_dir"
        case .stateDir(let path, let operation, let errno):
            return "cannot \(operation) '\(path)': \(String(cString: strerror(errno))); "
                + "check that the directory exists or can be created and belongs to the agent's user"
        case .newerSchema(let path, let version, let supported):
            return "database '\(path)' has schema version \(version) but this gateway-agent knows up to \(supported): "
                + "it was written by a newer gateway-agent and downgrade is not supported; install that version again"
        case .migrationFailed(let path, let version, let name, let code, let message):
            return "database '\(path)': migration \(version) '\(name)' failed (\(message), sqlite code \(code)); "
                + "the database is unchanged at version \(version - 1). \(Self.advice(code: code, path: path))"
        case .duplicateCorrelationID(let id):
            return "correlation id '\(id)' is already stored; nothing of this batch was stored"
        case .unknownIdentity(.identity(let id)):
            return "identity '\(id)' is not in the store (create it first); nothing of this batch was stored"
        case .unknownIdentity(.parent(let id)):
            return "parent '\(id)' is not an identity in the store (create it first, or omit parent for the gateway); "
                + "nothing of this batch was stored"
        case .unreadableRow(let table, let column, let value):
            return "cannot read \(table).\(column) value '\(value.prefix(64))': the database was changed by a newer "
                + "or foreign program; restore a backup or move it aside"
        case .closed(let path):
            return "identity store '\(path)' is closed"
        case .sqlite(let code, let message, let operation, let path):
            let what = operation.count > 80 ? operation.prefix(77) + "..." : Substring(operation)
            return "database '\(path)': \(message) (sqlite code \(code), during \(what)). "
                + Self.advice(code: code, path: path)
        }
    }

    /// What to do about a SQLite result code, in an operator's words.
    static func advice(code: Int32, path: String) -> String {
        let primary = code & 0xFF
        // A disk error makes the kernel remount ext4 read-only under an open database: writes then fail as I/O
        // errors, and only the mount flag tells the operator what happened.
        if primary == SQLITE_IOERR || primary == SQLITE_READONLY, isOnReadOnlyFilesystem(path) {
            return "The filesystem holding \(path) is read-only (mounted so, or remounted read-only by the kernel "
                + "after a disk error: see dmesg): check the storage, mount it read-write and restart the agent; "
                + "stored requests are safe."
        }
        return switch primary {
        case SQLITE_FULL:
            "The disk is full: free space on the filesystem holding \(path); stored requests are safe."
        case SQLITE_BUSY, SQLITE_LOCKED:
            "The database is locked by another process: only one gateway-agent may use a state_dir; stop the other."
        case SQLITE_CORRUPT, SQLITE_NOTADB:
            "The file is corrupt or not a database: stop the agent, move \(path) and its -wal and -shm files aside "
                + "(the requests in them are lost) and start again, or restore a backup."
        case SQLITE_READONLY, SQLITE_PERM, SQLITE_CANTOPEN, SQLITE_AUTH:
            "The file cannot be opened for writing: check that the agent's user owns the state_dir and its files "
                + "and that the filesystem is mounted read-write."
        case SQLITE_IOERR:
            "The storage device reported an I/O error: check it (dmesg) before restarting the agent."
        case SQLITE_CONSTRAINT:
            "A stored-data rule was broken: this is a bug, report it with this message."
        default:
            "Report this error if it persists."
        }
    }

    /// Whether the filesystem holding `path` refuses writes as read-only: mounted so, or (newer kernels, after a
    /// disk error) marked "emergency read-only" without the mount flag, which only a write attempt shows.
    static func isOnReadOnlyFilesystem(_ path: String) -> Bool {
        var info = statvfs()
        if statvfs(path, &info) == 0, info.f_flag & UInt(ST_RDONLY) != 0 { return true }
        // Opening the existing file for writing changes nothing and fails with EROFS on such a filesystem.
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        if fd >= 0 {
            close(fd)
            return false
        }
        return errno == EROFS
    }
}
