/// A named, forward-only schema change; its position in `Schema.migrations` is the version it brings the database to.
struct Migration {
    let name: String
    let sql: String
}

/// The store's schema, as the list of every migration ever shipped. Append only: never edit or reorder one.
enum Schema {
    static let migrations: [Migration] = [
        Migration(
            name: "create identities and requests",
            sql: """
                CREATE TABLE identities (
                    uuid TEXT PRIMARY KEY NOT NULL,
                    parent TEXT REFERENCES identities(uuid),
                    public_key TEXT,
                    cloud_state TEXT NOT NULL
                        CHECK (cloud_state IN ('pending', 'present', 'failed', 'deleting', 'deleted')),
                    origin TEXT,
                    created_at INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL
                );
                CREATE TABLE requests (
                    sequence INTEGER PRIMARY KEY AUTOINCREMENT,
                    correlation_id TEXT NOT NULL UNIQUE,
                    action TEXT NOT NULL CHECK (action IN ('create', 'update', 'delete')),
                    identity TEXT NOT NULL REFERENCES identities(uuid),
                    parent TEXT,
                    public_key TEXT,
                    ack TEXT NOT NULL CHECK (ack IN ('all', 'none')),
                    target TEXT,
                    context TEXT,
                    timestamp TEXT,
                    state TEXT NOT NULL CHECK (state IN ('queued', 'in-flight', 'acked', 'failed', 'dismissed')),
                    attempts INTEGER NOT NULL DEFAULT 0,
                    last_error TEXT,
                    last_error_message TEXT,
                    accepted_at INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL
                );
                """),
        Migration(
            name: "index requests by state and identity, identities by parent and origin",
            sql: """
                CREATE INDEX requests_by_state ON requests(state, sequence);
                CREATE INDEX requests_by_identity ON requests(identity, sequence);
                CREATE INDEX identities_by_parent ON identities(parent);
                CREATE INDEX identities_by_origin ON identities(origin);
                """),
        Migration(
            name: "outbox counters, seeded from the requests already stored",
            sql: """
                CREATE TABLE counters (name TEXT PRIMARY KEY NOT NULL, value INTEGER NOT NULL) WITHOUT ROWID;
                INSERT INTO counters (name, value) VALUES
                    ('accepted', (SELECT count(*) FROM requests)),
                    ('published', (SELECT coalesce(sum(attempts), 0) FROM requests)),
                    ('retried', (SELECT coalesce(sum(max(attempts - 1, 0)), 0) FROM requests)),
                    ('acked', (SELECT count(*) FROM requests WHERE state = 'acked')),
                    ('failed', (SELECT count(*) FROM requests WHERE state IN ('failed', 'dismissed'))),
                    ('rejected', (SELECT count(*) FROM requests WHERE state IN ('failed', 'dismissed')
                        AND last_error NOT IN ('no-ack', 'parent-failed', 'child-not-deleted', 'expired'))),
                    ('expired', 0);
                """),
    ]

    /// The first version with the `counters` table.
    static let countersVersion = 3

    /// The version a database has once every migration ran.
    static var currentVersion: Int { migrations.count }

    /// Brings the database from its `user_version` up to `version`, one transaction per migration.
    ///
    /// `user_version` is set inside each migration's transaction, so a crash leaves the database at a version
    /// whose migrations all committed.
    static func migrate(_ connection: SQLiteConnection, upTo version: Int = currentVersion) throws(StoreError) {
        let found = try userVersion(connection)
        guard found <= currentVersion else {
            throw StoreError.newerSchema(path: connection.path, version: found, supported: currentVersion)
        }
        guard found < version else { return }
        for index in found..<version {
            let migration = migrations[index]
            do {
                try connection.transaction { () throws(StoreError) in
                    try connection.execute(migration.sql)
                    try connection.execute("PRAGMA user_version = \(index + 1)")
                }
            } catch .sqlite(let code, let message, _, _) {
                throw StoreError.migrationFailed(
                    path: connection.path, version: index + 1, name: migration.name, code: code, message: message)
            }
        }
    }

    /// `PRAGMA user_version`: 0 for a new file.
    static func userVersion(_ connection: SQLiteConnection) throws(StoreError) -> Int {
        let statement = try connection.statement("PRAGMA user_version")
        return Int(try statement.firstRow { $0.int64(0) } ?? 0)
    }
}
