import Foundation
import GatewayCore
import Testing

@testable import IdentityStore

@Suite("Opening a store")
struct OpeningTests {
    @Test("opening a missing state_dir creates it 0700 with a WAL database at the current schema version")
    func createsStateDirAndSchema() throws {
        let temp = TemporaryDirectory()
        let store = try IdentityStore.open(stateDir: temp.stateDir)
        defer { store.close() }

        let attributes = try FileManager.default.attributesOfItem(atPath: temp.stateDir)
        #expect((attributes[.posixPermissions] as? Int) == 0o700)
        #expect(store.databasePath == temp.stateDir + "/identities.sqlite3")
        #expect(FileManager.default.fileExists(atPath: store.databasePath))
        #expect(try store.scalar("PRAGMA user_version") == Int64(IdentityStore.schemaVersion))
        #expect(try store.texts("PRAGMA journal_mode") == ["wal"])
        #expect(try store.scalar("PRAGMA synchronous") == 2)  // FULL
        #expect(try store.scalar("PRAGMA foreign_keys") == 1)
        let tables = try store.texts("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        #expect(tables.contains("identities") && tables.contains("requests"))
    }

    @Test("a second open of the same state_dir fails at once, naming the state_dir and the holder's pid")
    func secondOpenFailsFast() throws {
        let temp = TemporaryDirectory()
        let first = try IdentityStore.open(stateDir: temp.stateDir)
        defer { first.close() }

        let started = ContinuousClock.now
        #expect(throws: StoreError.stateDirInUse(stateDir: temp.stateDir, pid: getpid())) {
            try IdentityStore.open(stateDir: temp.stateDir)
        }
        #expect(ContinuousClock.now - started < .seconds(1))
        let message = StoreError.stateDirInUse(stateDir: temp.stateDir, pid: getpid()).description
        #expect(message.contains(temp.stateDir) && message.contains("process \(getpid())"))
        #expect(message.contains("only one gateway-agent may run per state_dir"))
    }

    @Test("a store opened for reading beside its owner sees committed requests, writes nothing and takes no lock")
    func openForReadingBesideTheOwner() throws {
        let temp = TemporaryDirectory()
        let owner = try IdentityStore.open(stateDir: temp.stateDir)
        defer { owner.close() }
        try owner.accept([create(IdentityID.random()), create(IdentityID.random())])

        let reader = try IdentityStore.openForReading(stateDir: temp.stateDir)
        #expect(try reader.integrityProblems().isEmpty)
        #expect(try reader.counts() == RequestCounts(queued: 2))
        #expect(try reader.oldestPendingAcceptedAt() == t0)
        #expect(throws: StoreError.self) { try reader.accept([create(IdentityID.random())]) }
        reader.close()
        // The owner still holds the state_dir, and keeps writing.
        #expect(throws: StoreError.self) { try IdentityStore.open(stateDir: temp.stateDir) }
        try owner.accept([create(IdentityID.random())])
        #expect(try owner.counts().queued == 3)
    }

    @Test("a store whose owner has stopped (no -wal, no -shm left) opens for reading")
    func openForReadingAfterOwnerStopped() throws {
        let temp = TemporaryDirectory()
        let owner = try IdentityStore.open(stateDir: temp.stateDir)
        try owner.accept([create(IdentityID.random())])
        owner.close()
        let reader = try IdentityStore.openForReading(stateDir: temp.stateDir)
        defer { reader.close() }
        #expect(try reader.integrityProblems().isEmpty)
        #expect(try reader.counts() == RequestCounts(queued: 1))
    }

    @Test("opening a store for reading where there is none fails, creating nothing")
    func openForReadingMissing() throws {
        let temp = TemporaryDirectory()
        #expect(throws: StoreError.self) { try IdentityStore.openForReading(stateDir: temp.stateDir) }
        #expect(!FileManager.default.fileExists(atPath: temp.stateDir + "/identities.sqlite3"))
    }

    @Test("closing a store releases the state_dir for the next open")
    func closeReleasesLock() throws {
        let temp = TemporaryDirectory()
        let id = IdentityID.random()
        let first = try IdentityStore.open(stateDir: temp.stateDir)
        try first.accept([create(id)])
        first.close()

        let second = try IdentityStore.open(stateDir: temp.stateDir)
        defer { second.close() }
        #expect(try second.identity(id)?.cloudState == .pending)
    }

    @Test("a closed store refuses further use with a clear error")
    func closedStoreThrows() throws {
        let temp = TemporaryDirectory()
        let store = try IdentityStore.open(stateDir: temp.stateDir)
        store.close()
        #expect(throws: StoreError.closed(path: store.databasePath)) { try store.pendingRequests() }
    }

    @Test("a version 1 database migrates to the current version and keeps its rows")
    func migratesFromVersionOne() throws {
        let temp = TemporaryDirectory()
        let id = IdentityID.random()
        let old = try IdentityStore.open(stateDir: temp.stateDir, schemaVersion: 1)
        #expect(try old.scalar("PRAGMA user_version") == 1)
        #expect(try old.texts("SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE '%_by_%'").isEmpty)
        let accepted = try old.accept([create(id)])
        old.close()

        let store = try IdentityStore.open(stateDir: temp.stateDir)
        defer { store.close() }
        #expect(try store.scalar("PRAGMA user_version") == Int64(IdentityStore.schemaVersion))
        let indexes = try store.texts("SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE '%_by_%'")
        #expect(
            Set(indexes) == ["requests_by_state", "requests_by_identity", "identities_by_parent", "identities_by_origin"])
        #expect(try store.pendingRequests() == accepted)
        #expect(try store.identity(id)?.publicKey == samplePublicKey)
    }

    @Test("reopening a current database runs no migration and changes nothing")
    func reopeningIsIdempotent() throws {
        let temp = TemporaryDirectory()
        let first = try IdentityStore.open(stateDir: temp.stateDir)
        let accepted = try first.accept([create(IdentityID.random())])
        first.close()
        let second = try IdentityStore.open(stateDir: temp.stateDir)
        defer { second.close() }
        #expect(try second.scalar("PRAGMA user_version") == Int64(IdentityStore.schemaVersion))
        #expect(try second.pendingRequests() == accepted)
    }

    @Test("a database written by a newer gateway-agent is refused: downgrade is not supported")
    func refusesNewerSchema() throws {
        let temp = TemporaryDirectory()
        let store = try IdentityStore.open(stateDir: temp.stateDir)
        try store.connection.execute("PRAGMA user_version = 99")
        store.close()

        let expected = StoreError.newerSchema(
            path: temp.stateDir + "/identities.sqlite3", version: 99, supported: IdentityStore.schemaVersion)
        #expect(throws: expected) { try IdentityStore.open(stateDir: temp.stateDir) }
        #expect(expected.description.contains("downgrade is not supported"))
        // The refusal must release the lock, or the operator's next attempt would see "in use".
        #expect(throws: expected) { try IdentityStore.open(stateDir: temp.stateDir) }
    }

    @Test("a file that is not a database is refused with what to do about it")
    func refusesCorruptFile() throws {
        let temp = TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: temp.stateDir, withIntermediateDirectories: true)
        let garbage = Data((0..<8192).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
        try garbage.write(to: URL(fileURLWithPath: temp.stateDir + "/identities.sqlite3"))

        do {
            _ = try IdentityStore.open(stateDir: temp.stateDir)
            Issue.record("opened a corrupt file")
        } catch {
            #expect(error.sqliteCode.map { $0 & 0xFF } == 26)  // SQLITE_NOTADB
            #expect(error.description.contains("corrupt or not a database"))
            #expect(error.description.contains(temp.stateDir + "/identities.sqlite3"))
        }
    }

    @Test("a state_dir path that is a file is refused, naming it")
    func refusesFileAsStateDir() throws {
        let temp = TemporaryDirectory()
        _ = FileManager.default.createFile(atPath: temp.stateDir, contents: Data("x".utf8))
        #expect(throws: StoreError.stateDir(path: temp.stateDir, operation: "use as directory", errno: ENOTDIR)) {
            try IdentityStore.open(stateDir: temp.stateDir)
        }
    }

    @Test("SQLite errors say what to do: disk full, locked, corrupt, read-only")
    func errorAdvice() {
        func message(_ code: Int32) -> String {
            StoreError.sqlite(code: code, message: "m", operation: "COMMIT", path: "/s/identities.sqlite3").description
        }
        #expect(message(13).contains("disk is full"))  // SQLITE_FULL
        #expect(message(5).contains("locked by another process"))  // SQLITE_BUSY
        #expect(message(11).contains("corrupt"))  // SQLITE_CORRUPT
        #expect(message(8).contains("mounted read-write"))  // SQLITE_READONLY
        #expect(message(10 | (4 << 8)).contains("I/O error"))  // SQLITE_IOERR_FSYNC, an extended code
    }
}
