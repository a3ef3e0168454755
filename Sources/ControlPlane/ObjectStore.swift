// The control plane's object store: one SQLite database per cluster. Every object is a row
// (kind, namespace, name, its JSON document, creation time); every change is one transaction,
// so an apply is stored whole or not at all.
import ClusterAPI
import CSQLite
import Foundation

public final class ObjectStore {
    private var db: OpaquePointer?
    public let path: String

    public init(path: String) throws {
        self.path = path
        guard sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nil) == SQLITE_OK else {
            throw ClusterError("cannot open the object store \(path): \(String(cString: sqlite3_errmsg(db)))")
        }
        try exec("PRAGMA journal_mode=WAL")
        try exec("PRAGMA synchronous=NORMAL")
        try exec("""
            CREATE TABLE IF NOT EXISTS objects (kind TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
              document TEXT NOT NULL, created REAL NOT NULL, PRIMARY KEY (kind, namespace, name));
            CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            """)
        chmod(path, 0o600)
    }

    deinit { sqlite3_close_v2(db) }

    private func exec(_ sql: String) throws {
        var err: UnsafeMutablePointer<CChar>?
        guard sqlite3_exec(db, sql, nil, nil, &err) == SQLITE_OK else {
            let m = err.map { String(cString: $0) } ?? "unknown error"
            sqlite3_free(err)
            throw ClusterError("object store: \(m)")
        }
    }

    private func prepare(_ sql: String) throws -> OpaquePointer {
        var stmt: OpaquePointer?
        guard sqlite3_prepare_v2(db, sql, -1, &stmt, nil) == SQLITE_OK, let stmt else {
            throw ClusterError("object store: \(String(cString: sqlite3_errmsg(db)))")
        }
        return stmt
    }

    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    public func all() throws -> [StoredObject] {
        let s = try prepare("SELECT kind, namespace, name, document, created FROM objects ORDER BY created, kind, namespace, name")
        defer { sqlite3_finalize(s) }
        var out: [StoredObject] = []
        while sqlite3_step(s) == SQLITE_ROW {
            out.append(StoredObject(kind: String(cString: sqlite3_column_text(s, 0)), namespace: String(cString: sqlite3_column_text(s, 1)),
                                    name: String(cString: sqlite3_column_text(s, 2)), document: String(cString: sqlite3_column_text(s, 3)),
                                    created: sqlite3_column_double(s, 4)))
        }
        return out
    }

    /// Resets a statement and binds an object's kind, namespace and name to parameters 1-3.
    private func bindKey(_ stmt: OpaquePointer, _ o: StoredObject) {
        sqlite3_reset(stmt)
        sqlite3_bind_text(stmt, 1, o.kind, -1, Self.transient)
        sqlite3_bind_text(stmt, 2, o.namespace, -1, Self.transient)
        sqlite3_bind_text(stmt, 3, o.name, -1, Self.transient)
    }

    /// Writes and deletes in one transaction.
    public func commit(upserts: [StoredObject], deletes: [StoredObject]) throws {
        try exec("BEGIN IMMEDIATE")
        do {
            let up = try prepare("INSERT OR REPLACE INTO objects (kind, namespace, name, document, created) VALUES (?, ?, ?, ?, ?)")
            defer { sqlite3_finalize(up) }
            for o in upserts {
                bindKey(up, o)
                sqlite3_bind_text(up, 4, o.document, -1, Self.transient)
                sqlite3_bind_double(up, 5, o.created)
                guard sqlite3_step(up) == SQLITE_DONE else { throw ClusterError("object store: \(String(cString: sqlite3_errmsg(db)))") }
            }
            let del = try prepare("DELETE FROM objects WHERE kind = ? AND namespace = ? AND name = ?")
            defer { sqlite3_finalize(del) }
            for o in deletes {
                bindKey(del, o)
                guard sqlite3_step(del) == SQLITE_DONE else { throw ClusterError("object store: \(String(cString: sqlite3_errmsg(db)))") }
            }
            try exec("COMMIT")
        } catch {
            try? exec("ROLLBACK")
            throw error
        }
    }

    public func setting(_ key: String) throws -> String? {
        let s = try prepare("SELECT value FROM settings WHERE key = ?")
        defer { sqlite3_finalize(s) }
        sqlite3_bind_text(s, 1, key, -1, Self.transient)
        return sqlite3_step(s) == SQLITE_ROW ? String(cString: sqlite3_column_text(s, 0)) : nil
    }

    public func setSetting(_ key: String, _ value: String) throws {
        let s = try prepare("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)")
        defer { sqlite3_finalize(s) }
        sqlite3_bind_text(s, 1, key, -1, Self.transient)
        sqlite3_bind_text(s, 2, value, -1, Self.transient)
        guard sqlite3_step(s) == SQLITE_DONE else { throw ClusterError("object store: \(String(cString: sqlite3_errmsg(db)))") }
    }
}
