//! One writer at a time on SQLite.
//!
//! SQLite has a single write lock per database. A transaction that begins as a plain (deferred)
//! `BEGIN`, reads, and then writes cannot wait for that lock: if another connection committed in
//! between, SQLite refuses the upgrade at once ("database is locked"), busy timeout or not. So a
//! transaction that may write takes its turn up front: it queues on an async gate (first come,
//! first served, without holding a pooled connection while it waits) and then begins with
//! `BEGIN IMMEDIATE`, which takes the write lock when the transaction starts. Readers are not
//! affected: in WAL mode they read their snapshot while the writer works.
//!
//! On PostgreSQL none of this applies: writers run concurrently and wait on row locks.

use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{Arc, LazyLock, Mutex},
    time::Duration,
};

use sea_orm::{
    ConnAcquireErr, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

/// How long a write waits for its turn before it is refused (as a busy database, not a failure
/// of the write itself).
pub const WRITE_WAIT: Duration = Duration::from_secs(30);

/// The task holding a database's turn, if any.
type Holder = Arc<Mutex<Option<tokio::task::Id>>>;

/// A database's gate: its turn, and the task holding it (to refuse a second turn asked for by
/// the task that holds the first, which would otherwise wait for itself).
#[derive(Debug, Default)]
struct Gate {
    turn: Arc<tokio::sync::Mutex<()>>,
    holder: Holder,
}

/// One gate per SQLite database file in this process.
static GATES: LazyLock<Mutex<HashMap<PathBuf, Gate>>> = LazyLock::new(Default::default);

/// A turn at writing, held until the transaction it was taken for has ended. Empty on
/// PostgreSQL.
#[derive(Debug)]
pub struct WriteTurn(Option<(tokio::sync::OwnedMutexGuard<()>, Holder)>);

impl Drop for WriteTurn {
    fn drop(&mut self) {
        if let Some((_, holder)) = &self.0 {
            *holder.lock().unwrap_or_else(|p| p.into_inner()) = None;
        }
    }
}

/// Waits for this process's turn to write to `db` (SQLite; at once on PostgreSQL). After
/// [`WRITE_WAIT`] the wait ends with [`DbErr::ConnectionAcquire`] (a busy database). A task that
/// already holds the turn and asks again is refused at once: it would wait for itself.
pub async fn turn(db: &DatabaseConnection) -> Result<WriteTurn, DbErr> {
    if db.get_database_backend() != DbBackend::Sqlite {
        return Ok(WriteTurn(None));
    }
    let file = db
        .get_sqlite_connection_pool()
        .connect_options()
        .get_filename()
        .to_path_buf();
    let (turn, holder) = {
        let mut gates = GATES
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let gate = gates.entry(file).or_default();
        (gate.turn.clone(), gate.holder.clone())
    };
    let me = tokio::task::try_id();
    if me.is_some() && *holder.lock().unwrap_or_else(|p| p.into_inner()) == me {
        debug_assert!(
            false,
            "a task asked for SQLite's write turn while holding it"
        );
        return Err(DbErr::Custom(
            "BUG: a second write transaction in the task that holds the write turn".into(),
        ));
    }
    match tokio::time::timeout(WRITE_WAIT, turn.lock_owned()).await {
        Ok(guard) => {
            *holder.lock().unwrap_or_else(|p| p.into_inner()) = me;
            Ok(WriteTurn(Some((guard, holder))))
        }
        Err(_) => Err(DbErr::ConnectionAcquire(ConnAcquireErr::Timeout)),
    }
}

/// A transaction that may write (see the module's documentation). It derefs to the
/// transaction; committing or rolling back ends the turn with it.
#[derive(Debug)]
pub struct WriteTx {
    tx: DatabaseTransaction,
    _turn: WriteTurn,
}

impl std::ops::Deref for WriteTx {
    type Target = DatabaseTransaction;
    fn deref(&self) -> &DatabaseTransaction {
        &self.tx
    }
}

impl WriteTx {
    /// Commits, then gives up the turn.
    pub async fn commit(self) -> Result<(), DbErr> {
        self.tx.commit().await
    }

    /// Rolls back, then gives up the turn.
    pub async fn rollback(self) -> Result<(), DbErr> {
        self.tx.rollback().await
    }

    pub(crate) fn into_parts(self) -> (DatabaseTransaction, WriteTurn) {
        (self.tx, self._turn)
    }
}

/// Begins a transaction that may write: on SQLite it first takes this process's turn, then
/// begins with `BEGIN IMMEDIATE`.
pub async fn begin_write(db: &DatabaseConnection) -> Result<WriteTx, DbErr> {
    let turn = turn(db).await?;
    let tx = db
        .begin_with_options(TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..Default::default()
        })
        .await?;
    Ok(WriteTx { tx, _turn: turn })
}
