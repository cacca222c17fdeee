//! The two databases a ledger lives in, behind one small interface: the embedded SQLite
//! file (the default) and a shared PostgreSQL server (`[fleet] database`, several machines
//! on one ledger).
//!
//! The ledger's queries are written once, in the SQL both understand, with `?1`-style
//! placeholders (rewritten to `$1` for PostgreSQL). Values cross as [`Val`] and come back
//! as [`Cell`]: integers (every integer column is 64-bit in both), text and NULL, which is
//! all the ledger stores. Each database's schema is a list of numbered migrations, applied
//! in order at start-up and recorded, so a newer realskin upgrades an older ledger in place.

use std::borrow::Cow;
use std::time::Duration;

use postgres::types::{IsNull, ToSql, Type};

/// A value bound to a placeholder.
#[derive(Debug, Clone, Copy)]
pub enum Val<'a> {
    Int(i64),
    Text(&'a str),
    Null,
}

impl From<i64> for Val<'_> {
    fn from(v: i64) -> Self {
        Val::Int(v)
    }
}

impl<'a> From<&'a str> for Val<'a> {
    fn from(v: &'a str) -> Self {
        Val::Text(v)
    }
}

impl<'a, T: Into<Val<'a>>> From<Option<T>> for Val<'a> {
    fn from(v: Option<T>) -> Self {
        v.map_or(Val::Null, Into::into)
    }
}

/// One value of a result row.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Int(i64),
    Text(String),
    Null,
}

impl Cell {
    pub fn int(&self) -> Option<i64> {
        match self {
            Cell::Int(v) => Some(*v),
            _ => None,
        }
    }

    pub fn text(&self) -> Option<&str> {
        match self {
            Cell::Text(s) => Some(s),
            _ => None,
        }
    }
}

/// Result rows.
pub type Rows = Vec<Vec<Cell>>;

/// What either database said when a statement failed.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("{0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("{}", pg_message(.0))]
    Postgres(#[from] postgres::Error),
    /// The ledger's schema is newer than this realskin knows.
    #[error("{0}")]
    Schema(String),
}

impl DbError {
    /// The server could not be reached or the connection broke (not a bad statement):
    /// the work waits for it to come back.
    pub fn is_unreachable(&self) -> bool {
        let DbError::Postgres(e) = self else {
            return false;
        };
        match e.as_db_error() {
            // Class 08: connection exceptions; 57P01-03: the server is shutting down,
            // crashed or starting; 57014: a statement timed out; 53300: too many connections.
            Some(d) => {
                let code = d.code().code();
                code.starts_with("08")
                    || code.starts_with("57P")
                    || code == "57014"
                    || code == "53300"
            }
            // Not the server's answer: the connection is gone, or the socket failed (an
            // io error somewhere in the chain). A conversion error is a bug, not an outage.
            None => e.is_closed() || io_in_chain(e),
        }
    }
}

fn io_in_chain(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = std::error::Error::source(e);
    while let Some(c) = cur {
        if c.is::<std::io::Error>() {
            return true;
        }
        cur = c.source();
    }
    false
}

/// What PostgreSQL said, in full: the driver's own text for a server error is only "db error".
fn pg_message(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(d) => format!("{} {}: {}", d.severity(), d.code().code(), d.message()),
        None => match std::error::Error::source(e) {
            Some(src) => format!("{e}: {src}"),
            None => e.to_string(),
        },
    }
}

/// Runs statements: a connection, or a transaction on one.
pub trait Exec {
    /// Runs one statement; returns the rows it changed.
    fn exec(&mut self, sql: &str, params: &[Val]) -> Result<u64, DbError>;
    /// Runs one query; returns its rows.
    fn rows(&mut self, sql: &str, params: &[Val]) -> Result<Rows, DbError>;

    /// The first row, if any.
    fn row(&mut self, sql: &str, params: &[Val]) -> Result<Option<Vec<Cell>>, DbError> {
        Ok(self.rows(sql, params)?.into_iter().next())
    }

    /// The first row's first value (NULL when there is no row).
    fn value(&mut self, sql: &str, params: &[Val]) -> Result<Cell, DbError> {
        Ok(self
            .row(sql, params)?
            .and_then(|r| r.into_iter().next())
            .unwrap_or(Cell::Null))
    }
}

/// An open database.
pub enum Conn {
    Sqlite(rusqlite::Connection),
    Postgres(Box<Pg>),
}

impl Conn {
    /// Runs `f` on the connection (reconnecting to a server first if the connection broke).
    pub fn with<T>(
        &mut self,
        f: impl FnOnce(&mut dyn Exec) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        match self {
            Conn::Sqlite(c) => f(&mut Lite(c)),
            Conn::Postgres(pg) => f(pg.client()?),
        }
    }

    /// Runs `f` in a transaction: all of it or nothing.
    pub fn atomically<T>(
        &mut self,
        f: impl FnOnce(&mut dyn Exec) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        match self {
            Conn::Sqlite(c) => {
                let tx = c.unchecked_transaction()?;
                let out = f(&mut Lite(&tx))?;
                tx.commit()?;
                Ok(out)
            }
            Conn::Postgres(pg) => {
                let mut tx = pg.client()?.transaction()?;
                let out = f(&mut tx)?;
                tx.commit()?;
                Ok(out)
            }
        }
    }
}

/// Statements on a SQLite connection (or on a transaction, which derefs to one).
struct Lite<'c>(&'c rusqlite::Connection);

impl rusqlite::ToSql for Val<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(ToSqlOutput::Borrowed(match self {
            Val::Int(v) => ValueRef::Integer(*v),
            Val::Text(s) => ValueRef::Text(s.as_bytes()),
            Val::Null => ValueRef::Null,
        }))
    }
}

impl Exec for Lite<'_> {
    fn exec(&mut self, sql: &str, params: &[Val]) -> Result<u64, DbError> {
        let mut stmt = self.0.prepare_cached(sql)?;
        Ok(stmt.execute(rusqlite::params_from_iter(params))? as u64)
    }

    fn rows(&mut self, sql: &str, params: &[Val]) -> Result<Rows, DbError> {
        use rusqlite::types::ValueRef;
        let mut stmt = self.0.prepare_cached(sql)?;
        let n = stmt.column_count();
        let rows = stmt.query_map(rusqlite::params_from_iter(params), |r| {
            (0..n)
                .map(|i| {
                    Ok(match r.get_ref(i)? {
                        ValueRef::Integer(v) => Cell::Int(v),
                        ValueRef::Real(v) => Cell::Int(v as i64),
                        ValueRef::Text(t) | ValueRef::Blob(t) => {
                            Cell::Text(String::from_utf8_lossy(t).into_owned())
                        }
                        ValueRef::Null => Cell::Null,
                    })
                })
                .collect::<rusqlite::Result<Vec<Cell>>>()
        })?;
        Ok(rows.collect::<rusqlite::Result<Rows>>()?)
    }
}

/// The SQLite schema, by version: `PRAGMA user_version` records the last one applied.
/// Version 1 had no crash columns, version 2 no lease columns (`node` is the instance
/// that claimed the job, a single machine's ledger holds only its own; `needs` is the
/// capability its stages need, see [`super::Ledger::take_over`]).
pub(crate) const SQLITE_MIGRATIONS: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS jobs (
        id              INTEGER PRIMARY KEY AUTOINCREMENT,
        hotfolder       TEXT NOT NULL,
        rel_path        TEXT NOT NULL,
        original_path   TEXT NOT NULL,
        staged_path     TEXT NOT NULL DEFAULT '',
        size            INTEGER,
        hash            TEXT,
        state           TEXT NOT NULL,
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER,
        output_path     TEXT,
        report_path     TEXT,
        final_path      TEXT,
        outcome         TEXT,
        error           TEXT,
        created_at      INTEGER NOT NULL,
        updated_at      INTEGER NOT NULL,
        finished_at     INTEGER
    );
    CREATE INDEX IF NOT EXISTS jobs_by_hash ON jobs(hash, state);
    CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs(state);
    CREATE INDEX IF NOT EXISTS jobs_by_finish ON jobs(hotfolder, finished_at);
    CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS kept (
        path     TEXT PRIMARY KEY,
        size     INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        job      INTEGER NOT NULL
    );",
    "ALTER TABLE jobs ADD COLUMN rendering INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE jobs ADD COLUMN crashes INTEGER NOT NULL DEFAULT 0;",
    "ALTER TABLE jobs ADD COLUMN node TEXT NOT NULL DEFAULT '';
    ALTER TABLE jobs ADD COLUMN lease_until INTEGER;
    ALTER TABLE jobs ADD COLUMN needs TEXT NOT NULL DEFAULT '';
    CREATE INDEX IF NOT EXISTS jobs_by_node ON jobs(node, state);",
];

/// The schema version this realskin writes to a SQLite ledger.
pub const SQLITE_VERSION: i64 = SQLITE_MIGRATIONS.len() as i64;

/// Opens (or creates) a SQLite ledger and brings its schema up to date.
pub fn open_sqlite(path: &std::path::Path) -> Result<Conn, DbError> {
    let conn = rusqlite::Connection::open(path)?;
    // WAL survives a killed process; FULL also survives power loss at a small cost
    // (a handful of transactions per image).
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.busy_timeout(Duration::from_secs(10))?;
    let recorded: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    // Up to version 3 the columns tell: ledgers from before versions were recorded have
    // none, and an older realskin that opened a newer ledger wrote its own version back.
    let version = if recorded > 3 {
        recorded
    } else {
        let has = |col: &str| -> rusqlite::Result<bool> {
            conn.query_row(
                "SELECT COUNT(*) FROM pragma_table_info('jobs') WHERE name = ?1",
                [col],
                |r| r.get::<_, i64>(0).map(|n| n > 0),
            )
        };
        if has("needs")? {
            3
        } else if has("crashes")? {
            2
        } else if has("id")? {
            1
        } else {
            0
        }
    };
    if version > SQLITE_VERSION {
        return Err(DbError::Schema(format!(
            "the ledger was written by a newer realskin (schema {version}, this one knows up to {SQLITE_VERSION}); update realskin"
        )));
    }
    for (i, sql) in SQLITE_MIGRATIONS.iter().enumerate().skip(version as usize) {
        let tx = conn.unchecked_transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
        tx.commit()?;
    }
    Ok(Conn::Sqlite(conn))
}

// ---- PostgreSQL ---------------------------------------------------------------------

/// A PostgreSQL connection that reconnects when it breaks (a server restart, a network
/// cut): each call finds out and tries once more to connect.
pub struct Pg {
    url: String,
    client: Option<postgres::Client>,
    timeout: Duration,
}

impl Pg {
    fn client(&mut self) -> Result<&mut postgres::Client, DbError> {
        if self.client.as_ref().is_some_and(|c| !c.is_closed()) {
            return Ok(self.client.as_mut().expect("checked"));
        }
        self.client = None;
        let client = connect(&self.url, self.timeout)?;
        Ok(self.client.insert(client))
    }
}

fn connect(url: &str, timeout: Duration) -> Result<postgres::Client, DbError> {
    let mut cfg: postgres::Config = url.parse()?;
    if cfg.get_connect_timeout().is_none() {
        cfg.connect_timeout(timeout);
    }
    if cfg.get_application_name().is_none() {
        cfg.application_name("realskin");
    }
    // A silent network cut must fail a call within seconds, not after TCP's quarter hour
    // of retransmissions: keepalives, a send timeout and a statement timeout.
    cfg.keepalives(true)
        .keepalives_idle(Duration::from_secs(5))
        .keepalives_interval(Duration::from_secs(2))
        .keepalives_retries(3)
        .tcp_user_timeout(Duration::from_secs(10));
    if cfg.get_options().is_none() {
        cfg.options("-c statement_timeout=15000");
    }
    Ok(cfg.connect(postgres::NoTls)?)
}

/// The PostgreSQL schema, by version, recorded in `realskin_schema`. Every node applies
/// what is missing at start-up under an advisory lock, so nodes starting together do not
/// race. `node` and `lease_until` make a claim a lease: the node renews it while it works,
/// and once it lapses another node takes the job over.
const PG_MIGRATIONS: &[&str] = &["CREATE TABLE jobs (
        id              BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        hotfolder       TEXT NOT NULL,
        rel_path        TEXT NOT NULL,
        original_path   TEXT NOT NULL,
        staged_path     TEXT NOT NULL DEFAULT '',
        size            BIGINT,
        hash            TEXT,
        state           TEXT NOT NULL,
        attempts        BIGINT NOT NULL DEFAULT 0,
        next_attempt_at BIGINT,
        output_path     TEXT,
        report_path     TEXT,
        final_path      TEXT,
        outcome         TEXT,
        error           TEXT,
        created_at      BIGINT NOT NULL,
        updated_at      BIGINT NOT NULL,
        finished_at     BIGINT,
        rendering       BIGINT NOT NULL DEFAULT 0,
        crashes         BIGINT NOT NULL DEFAULT 0,
        node            TEXT NOT NULL DEFAULT '',
        lease_until     BIGINT,
        needs           TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX jobs_by_hash ON jobs(hash, state);
    CREATE INDEX jobs_by_state ON jobs(state);
    CREATE INDEX jobs_by_finish ON jobs(hotfolder, finished_at);
    CREATE INDEX jobs_by_node ON jobs(node, state);
    CREATE TABLE kept (
        path     TEXT PRIMARY KEY,
        size     BIGINT NOT NULL,
        mtime_ns BIGINT NOT NULL,
        job      BIGINT NOT NULL
    );
    CREATE TABLE nodes (
        node         TEXT PRIMARY KEY,
        host         TEXT NOT NULL,
        version      TEXT NOT NULL,
        workers      BIGINT NOT NULL,
        capabilities TEXT NOT NULL DEFAULT '',
        started_at   BIGINT NOT NULL,
        heartbeat_at BIGINT NOT NULL,
        stopped_at   BIGINT
    );"];

/// The schema version this realskin writes to a PostgreSQL ledger.
pub const PG_VERSION: i64 = PG_MIGRATIONS.len() as i64;

/// An arbitrary constant: the advisory lock the migrations run under.
const MIGRATION_LOCK: i64 = 0x7265_616c_736b_696e; // "realskin"

/// Connects to a PostgreSQL ledger and brings its schema up to date.
pub fn open_postgres(url: &str, timeout: Duration) -> Result<Conn, DbError> {
    let mut client = connect(url, timeout)?;
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS realskin_schema (version BIGINT NOT NULL, applied_at BIGINT NOT NULL)",
    )?;
    let version: i64 = tx
        .query_one("SELECT COALESCE(MAX(version), 0) FROM realskin_schema", &[])?
        .get(0);
    if version > PG_VERSION {
        return Err(DbError::Schema(format!(
            "the fleet database was written by a newer realskin (schema {version}, this one knows up to {PG_VERSION}); update realskin on this machine"
        )));
    }
    for (i, sql) in PG_MIGRATIONS.iter().enumerate().skip(version as usize) {
        tx.batch_execute(sql)?;
        tx.execute(
            "INSERT INTO realskin_schema (version, applied_at) VALUES ($1, $2)",
            &[&(i as i64 + 1), &super::now_ms()],
        )?;
    }
    tx.commit()?;
    Ok(Conn::Postgres(Box::new(Pg {
        url: url.to_string(),
        client: Some(client),
        timeout,
    })))
}

/// The client holds a small runtime of its own, which must not be dropped on an async
/// thread (the daemon's last reference may go there): it is closed on a thread of its own.
impl Drop for Pg {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            let _ = std::thread::Builder::new()
                .name("ledger-close".into())
                .spawn(move || drop(client));
        }
    }
}

/// `?1`-style placeholders as PostgreSQL's `$1`.
fn pg_sql(sql: &str) -> Cow<'_, str> {
    if !sql.contains('?') {
        return Cow::Borrowed(sql);
    }
    Cow::Owned(sql.replace('?', "$"))
}

impl ToSql for Val<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match *self {
            Val::Null => Ok(IsNull::Yes),
            Val::Int(v) => match *ty {
                Type::INT2 => i16::try_from(v)?.to_sql(ty, out),
                Type::INT4 => i32::try_from(v)?.to_sql(ty, out),
                Type::BOOL => (v != 0).to_sql(ty, out),
                _ => v.to_sql(ty, out),
            },
            Val::Text(s) => s.to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}

fn pg_params<'p>(params: &'p [Val<'p>]) -> Vec<&'p (dyn ToSql + Sync)> {
    params.iter().map(|v| v as &(dyn ToSql + Sync)).collect()
}

fn pg_rows(rows: Vec<postgres::Row>) -> Result<Rows, DbError> {
    rows.iter()
        .map(|r| {
            (0..r.len())
                .map(|i| {
                    Ok(match *r.columns()[i].type_() {
                        Type::INT8 => r.try_get::<_, Option<i64>>(i)?.map(Cell::Int),
                        Type::INT4 => r.try_get::<_, Option<i32>>(i)?.map(|v| Cell::Int(v.into())),
                        Type::INT2 => r.try_get::<_, Option<i16>>(i)?.map(|v| Cell::Int(v.into())),
                        Type::BOOL => r
                            .try_get::<_, Option<bool>>(i)?
                            .map(|v| Cell::Int(v.into())),
                        _ => r.try_get::<_, Option<String>>(i)?.map(Cell::Text),
                    }
                    .unwrap_or(Cell::Null))
                })
                .collect()
        })
        .collect()
}

/// Statements on a PostgreSQL client or transaction.
macro_rules! pg_exec {
    ($t:ty) => {
        impl Exec for $t {
            fn exec(&mut self, sql: &str, params: &[Val]) -> Result<u64, DbError> {
                Ok(self.execute(pg_sql(sql).as_ref(), &pg_params(params))?)
            }

            fn rows(&mut self, sql: &str, params: &[Val]) -> Result<Rows, DbError> {
                pg_rows(self.query(pg_sql(sql).as_ref(), &pg_params(params))?)
            }
        }
    };
}
pg_exec!(postgres::Client);
pg_exec!(postgres::Transaction<'_>);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_rewritten_for_postgres() {
        assert_eq!(
            pg_sql("UPDATE jobs SET a = ?1 WHERE id = ?2"),
            "UPDATE jobs SET a = $1 WHERE id = $2"
        );
        assert!(matches!(pg_sql("SELECT 1"), Cow::Borrowed(_)));
    }
}
