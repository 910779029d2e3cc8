import CSQLite

/// The one seam to SQLite's C API: owns the `sqlite3*` handle and its prepared statements.
///
/// Every return code goes through `check`, which turns it into a `StoreError` naming the
/// database file and the operation that failed.
final class SQLiteConnection {
    let path: String
    private var handle: OpaquePointer?
    /// Statements are prepared once per SQL text and reused: `accept` runs the same few statements per request.
    private var statements: [String: Statement] = [:]

    /// Opens `path`; `readOnly` never creates or writes the database (WAL readers still share its -shm file).
    init(path: String, readOnly: Bool = false) throws(StoreError) {
        self.path = path
        var db: OpaquePointer?
        let access = readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
        let flags = access | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(rc))
            sqlite3_close_v2(db)
            throw StoreError.sqlite(code: rc, message: message, operation: "open", path: path)
        }
        handle = db
    }

    deinit { close() }

    /// Finalizes every statement and closes the handle; later calls throw `closed`.
    func close() {
        for statement in statements.values { statement.finalize() }
        statements.removeAll()
        if let handle { sqlite3_close_v2(handle) }
        handle = nil
    }

    var isOpen: Bool { handle != nil }

    /// Frees the page cache SQLite can rebuild from the file.
    func releaseMemory() {
        if let handle { sqlite3_db_release_memory(handle) }
    }

    /// The open handle, or `closed` after `close()`.
    private func db() throws(StoreError) -> OpaquePointer {
        guard let handle else { throw StoreError.closed(path: path) }
        return handle
    }

    /// Turns a SQLite result code into a typed error; the one place that reads `sqlite3_errmsg`.
    func check(_ rc: Int32, _ operation: @autoclosure () -> String) throws(StoreError) {
        guard rc != SQLITE_OK, rc != SQLITE_ROW, rc != SQLITE_DONE else { return }
        throw error(rc, operation())
    }

    /// The typed error for a failed call, with SQLite's own message for it.
    func error(_ rc: Int32, _ operation: String) -> StoreError {
        let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(rc))
        return StoreError.sqlite(code: rc, message: message, operation: operation, path: path)
    }

    /// Runs SQL that returns no rows the caller needs (DDL, pragmas, BEGIN/COMMIT).
    func execute(_ sql: String) throws(StoreError) {
        let db = try db()
        try check(sqlite3_exec(db, sql, nil, nil, nil), sql)
    }

    /// A cached prepared statement, reset and unbound, ready for `bind` and `step`.
    func statement(_ sql: String) throws(StoreError) -> Statement {
        if let cached = statements[sql] {
            cached.reset()
            return cached
        }
        let db = try db()
        var raw: OpaquePointer?
        try check(sqlite3_prepare_v3(db, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &raw, nil), "prepare \(sql)")
        guard let raw else {
            throw StoreError.sqlite(code: SQLITE_MISUSE, message: "empty SQL", operation: sql, path: path)
        }
        let statement = Statement(raw, connection: self, sql: sql)
        statements[sql] = statement
        return statement
    }

    /// Row id of the last INSERT on this connection.
    func lastInsertRowID() throws(StoreError) -> Int64 {
        sqlite3_last_insert_rowid(try db())
    }

    /// Rows changed by the last INSERT/UPDATE/DELETE.
    func changes() throws(StoreError) -> Int {
        Int(sqlite3_changes(try db()))
    }

    /// Runs `body` inside `BEGIN IMMEDIATE … COMMIT`; any error rolls the whole transaction back.
    func transaction<T>(_ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            // A failed COMMIT may already have rolled back; ROLLBACK then fails harmlessly.
            if let handle, sqlite3_get_autocommit(handle) == 0 { sqlite3_exec(handle, "ROLLBACK", nil, nil, nil) }
            throw error
        }
    }
}

/// A prepared statement: bind parameters (1-based), step, read columns (0-based).
final class Statement {
    private let raw: OpaquePointer
    private unowned let connection: SQLiteConnection
    let sql: String

    fileprivate init(_ raw: OpaquePointer, connection: SQLiteConnection, sql: String) {
        self.raw = raw
        self.connection = connection
        self.sql = sql
    }

    fileprivate func finalize() { sqlite3_finalize(raw) }

    fileprivate func reset() {
        sqlite3_reset(raw)
        sqlite3_clear_bindings(raw)
    }

    /// Binds values in order to parameters 1…n.
    @discardableResult
    func bind(_ values: SQLValue...) throws(StoreError) -> Statement {
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            let rc: Int32
            switch value {
            case .null: rc = sqlite3_bind_null(raw, index)
            case .integer(let number): rc = sqlite3_bind_int64(raw, index, number)
            case .text(let text): rc = sqlite3_bind_text(raw, index, text, -1, gateway_sqlite_transient())
            }
            try connection.check(rc, "bind parameter \(index) of \(sql)")
        }
        return self
    }

    /// Advances to the next row; false when done.
    func step() throws(StoreError) -> Bool {
        let rc = sqlite3_step(raw)
        if rc == SQLITE_ROW { return true }
        if rc == SQLITE_DONE { return false }
        let failure = connection.error(rc, sql)
        sqlite3_reset(raw)
        throw failure
    }

    /// Steps through to the end, for statements that return no rows.
    func run() throws(StoreError) {
        defer { sqlite3_reset(raw) }
        while try step() {}
    }

    /// Collects every row through `read`.
    func rows<T>(_ read: (Statement) throws(StoreError) -> T) throws(StoreError) -> [T] {
        defer { sqlite3_reset(raw) }
        var result: [T] = []
        while try step() { result.append(try read(self)) }
        return result
    }

    /// The first row through `read`, or nil when there is none.
    func firstRow<T>(_ read: (Statement) throws(StoreError) -> T) throws(StoreError) -> T? {
        defer { sqlite3_reset(raw) }
        guard try step() else { return nil }
        return try read(self)
    }

    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(raw, column) == SQLITE_NULL }

    func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(raw, column) }

    func text(_ column: Int32) -> String? {
        guard let bytes = sqlite3_column_text(raw, column) else { return nil }
        let count = Int(sqlite3_column_bytes(raw, column))
        return String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self)
    }
}

/// A value bound to a statement parameter.
enum SQLValue {
    case null
    case integer(Int64)
    case text(String)

    static func optional(_ text: String?) -> SQLValue { text.map(SQLValue.text) ?? .null }
}
