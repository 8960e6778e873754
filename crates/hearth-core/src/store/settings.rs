//! A small key-value table for app state that is not a domain row (e.g. whether the demo ran).

use rusqlite::{params, Connection, OptionalExtension};

use super::Migration;
use crate::error::Result;

pub const MIGRATIONS: &[Migration] = &[Migration {
    timestamp: 202_611_221_430,
    name: "settings",
    sql: "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at INTEGER NOT NULL);",
}];

pub fn get(connection: &Connection, key: &str) -> Result<Option<String>> {
    Ok(connection.query_row("SELECT value FROM settings WHERE key = ?1", [key], |row| row.get(0)).optional()?)
}

pub fn set(connection: &Connection, key: &str, value: &str, now_ms: i64) -> Result<()> {
    connection.execute(
        "INSERT INTO settings (key, value, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        params![key, value, now_ms],
    )?;
    Ok(())
}
