//! The only room that opens SQLite: the connection, its pragmas, migrations, and typed queries.
//!
//! Each table's migrations sit beside the queries that use it (`posts.rs`, `interactions.rs`,
//! ...). `Store::open` gathers them, orders them by timestamp and applies the missing ones in
//! one transaction, guarded by `PRAGMA user_version` (the number of migrations applied).

pub mod accounts;
pub mod enrichments;
pub mod interactions;
pub mod posts;
pub mod settings;
pub mod sources;

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::{Connection, OpenFlags, Transaction};

use crate::error::{Error, Result};

/// One schema change. `timestamp` (UTC `YYYYMMDDHHMM`) orders migrations across tables; the
/// list is append-only: a released migration is never edited, only followed by a new one.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub timestamp: u64,
    pub name: &'static str,
    pub sql: &'static str,
}

/// Every migration of every table, in application order.
pub fn all_migrations() -> Vec<Migration> {
    let mut migrations: Vec<Migration> = [
        posts::MIGRATIONS,
        interactions::MIGRATIONS,
        enrichments::MIGRATIONS,
        settings::MIGRATIONS,
        sources::MIGRATIONS,
        accounts::MIGRATIONS,
    ]
    .concat();
    migrations.sort_by_key(|migration| migration.timestamp);
    migrations
}

/// A handle on the database, cheap to clone and safe to share between threads.
#[derive(Clone)]
pub struct Store {
    connection: Arc<Mutex<Connection>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("Store").finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (creating if needed) the database file and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Self> {
        let connection = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        connection.pragma_update(None, "journal_mode", "WAL")?;
        connection.pragma_update(None, "synchronous", "NORMAL")?;
        Self::prepare(connection)
    }

    /// A private in-memory database, for tests.
    pub fn open_in_memory() -> Result<Self> {
        Self::prepare(Connection::open_in_memory()?)
    }

    fn prepare(mut connection: Connection) -> Result<Self> {
        connection.busy_timeout(std::time::Duration::from_secs(5))?;
        connection.pragma_update(None, "foreign_keys", "ON")?;
        migrate(&mut connection, &all_migrations())?;
        Ok(Self { connection: Arc::new(Mutex::new(connection)) })
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite half-written (transactions roll
        // back on drop), so a poisoned lock is safe to keep using.
        self.connection.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Runs read-only work on the connection.
    pub fn read<T>(&self, work: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        work(&self.lock())
    }

    /// Runs work in one transaction: all of it lands, or none of it does.
    pub fn write<T>(&self, work: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut connection = self.lock();
        let transaction = connection.transaction()?;
        let value = work(&transaction)?;
        transaction.commit()?;
        Ok(value)
    }
}

impl Store {
    /// What SQLite finds wrong with the file and its foreign keys; empty when all is well.
    pub fn integrity_problems(&self) -> Result<Vec<String>> {
        self.read(|connection| {
            let mut problems: Vec<String> = connection
                .prepare("PRAGMA integrity_check")?
                .query_map([], |row| row.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()?
                .into_iter()
                .filter(|line| line != "ok")
                .collect();
            let mut foreign_keys = connection.prepare("PRAGMA foreign_key_check")?;
            let violations = foreign_keys.query_map([], |row| {
                Ok(format!(
                    "row {} of {} points at a missing {}",
                    row.get::<_, i64>(1)?,
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(2)?
                ))
            })?;
            for violation in violations {
                problems.push(violation?);
            }
            // Derived state must agree with the log it is derived from.
            let mut disagreeing = connection.prepare(
                "SELECT s.post_id FROM post_state s
                 WHERE s.liked <> coalesce((SELECT i.kind = 'like' FROM interactions i
                                            WHERE i.post_id = s.post_id AND i.kind IN ('like', 'unlike')
                                            ORDER BY i.id DESC LIMIT 1), 0)",
            )?;
            let posts = disagreeing.query_map([], |row| row.get::<_, i64>(0))?;
            for post in posts {
                problems.push(format!("post {}: its liked state disagrees with the interaction log", post?));
            }
            Ok(problems)
        })
    }
}

/// Applies the migrations the database has not seen yet, all in one transaction.
pub fn migrate(connection: &mut Connection, migrations: &[Migration]) -> Result<()> {
    let known = i64::try_from(migrations.len()).map_err(|_| Error::Internal("too many migrations".into()))?;
    let transaction = connection.transaction()?;
    let applied: i64 = transaction.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if applied > known {
        return Err(Error::DatabaseTooNew { found: applied, known });
    }
    let pending = usize::try_from(applied).map_err(|_| Error::Internal("negative schema version".into()))?;
    for migration in &migrations[pending..] {
        transaction.execute_batch(migration.sql).map_err(|error| {
            Error::Internal(format!("migration {} {} failed: {error}", migration.timestamp, migration.name))
        })?;
    }
    // PRAGMA does not take bound parameters; `known` is our own integer.
    transaction.execute_batch(&format!("PRAGMA user_version = {known}"))?;
    transaction.commit()?;
    Ok(())
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(now.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_strictly_ordered_by_timestamp() {
        let migrations = all_migrations();
        for pair in migrations.windows(2) {
            assert!(pair[0].timestamp < pair[1].timestamp, "{} then {}", pair[0].name, pair[1].name);
        }
    }

    #[test]
    fn migrating_twice_is_a_no_op() {
        let mut connection = Connection::open_in_memory().unwrap();
        migrate(&mut connection, &all_migrations()).unwrap();
        migrate(&mut connection, &all_migrations()).unwrap();
        let version: i64 = connection.query_row("PRAGMA user_version", [], |row| row.get(0)).unwrap();
        assert_eq!(version, all_migrations().len() as i64);
    }

    #[test]
    fn a_database_from_a_newer_version_is_refused() {
        let mut connection = Connection::open_in_memory().unwrap();
        connection.execute_batch("PRAGMA user_version = 999").unwrap();
        let error = migrate(&mut connection, &all_migrations()).unwrap_err();
        assert!(matches!(error, Error::DatabaseTooNew { found: 999, .. }), "{error}");
        assert!(error.to_string().contains("newer version of Hearth"));
    }

    #[test]
    fn a_failing_migration_leaves_the_database_untouched() {
        let mut connection = Connection::open_in_memory().unwrap();
        let broken = [
            Migration { timestamp: 1, name: "ok", sql: "CREATE TABLE a (x INTEGER);" },
            Migration { timestamp: 2, name: "broken", sql: "CREATE TABLE b (x INTEGER); SELEC nonsense;" },
        ];
        assert!(migrate(&mut connection, &broken).is_err());
        let tables: i64 = connection
            .query_row("SELECT count(*) FROM sqlite_master WHERE type = 'table'", [], |row| row.get(0))
            .unwrap();
        let version: i64 = connection.query_row("PRAGMA user_version", [], |row| row.get(0)).unwrap();
        assert_eq!((tables, version), (0, 0));
    }

    #[test]
    fn file_databases_use_wal_and_foreign_keys() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("hearth.db")).unwrap();
        store
            .read(|connection| {
                let mode: String = connection.query_row("PRAGMA journal_mode", [], |row| row.get(0))?;
                let foreign_keys: i64 = connection.query_row("PRAGMA foreign_keys", [], |row| row.get(0))?;
                assert_eq!((mode.as_str(), foreign_keys), ("wal", 1));
                Ok(())
            })
            .unwrap();
    }
}
