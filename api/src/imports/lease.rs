//! Leases on running imports: the instance running one renews its lease; an import whose lease
//! ran out (its instance stopped) is marked failed by the next start or by the sweeper.

use chrono::Utc;
use entity::enums::ImportStatus;
use entity::ids::ImportLogId;
use entity::ids::SchoolId;
use entity::import_log;
use entity::tenant::TenantTx;
use sea_orm::{DatabaseConnection, DbErr};

use super::*;

/// How long an import's lease lasts without renewal.
pub const LEASE: std::time::Duration = std::time::Duration::from_secs(60);

/// How often a running import renews its lease.
pub const LEASE_RENEWAL: std::time::Duration = std::time::Duration::from_secs(15);

pub(crate) async fn record_failure(
    db: &DatabaseConnection,
    school: SchoolId,
    failed: import_log::ActiveModel,
) -> Result<import_log::Model, DbErr> {
    let tx = TenantTx::begin_write(db, school).await?;
    let log = tx.update(failed).await.map_err(db_error("import log"))?;
    tx.commit().await?;
    Ok(log)
}

pub(crate) fn lease() -> chrono::Duration {
    chrono::Duration::from_std(LEASE).unwrap_or_else(|_| chrono::Duration::minutes(1))
}

/// Renews the lease of the import `log` every [`LEASE_RENEWAL`] for as long as it runs here
/// (the caller aborts this task when the import ends).
pub(crate) async fn renew_lease(
    db: DatabaseConnection,
    school: SchoolId,
    log: ImportLogId,
    instance: String,
) {
    use sea_orm::{ColumnTrait, sea_query::Expr};
    loop {
        tokio::time::sleep(LEASE_RENEWAL).await;
        let renewed = async {
            let tx = TenantTx::begin_write(&db, school).await?;
            tx.update_where::<import_log::Entity>(
                vec![(
                    import_log::Column::LeaseExpiresAt,
                    Expr::value(Utc::now() + lease()),
                )],
                sea_orm::Condition::all()
                    .add(import_log::Column::Id.eq(log))
                    .add(import_log::Column::Status.eq(ImportStatus::Running))
                    .add(import_log::Column::LeaseOwner.eq(instance.clone())),
            )
            .await?;
            tx.commit().await
        };
        if let Err(e) = renewed.await {
            tracing::warn!(error = %e, "an import's lease could not be renewed");
        }
    }
}

/// Marks imports left `RUNNING` by a stopped instance as failed: those whose lease has expired
/// (an import another live instance runs renews its lease and is left alone). School by school,
/// each in its own scope, so it runs under row-level security as the runtime role. Called at
/// start-up, before the server takes requests, and every minute while it serves; returns how
/// many there were. Such an import's rows were never committed: they commit only together with
/// the log's final state.
///
/// `restarted` is this instance's own name at start-up (the imports it left before a restart
/// are failed too); `None` while serving, when its own imports are running.
pub async fn fail_interrupted(
    db: &DatabaseConnection,
    restarted: Option<&str>,
) -> Result<u64, DbErr> {
    use sea_orm::{ColumnTrait, Condition, sea_query::Expr};
    let left_behind = |now: chrono::DateTime<Utc>| {
        let expired = Condition::any()
            .add(import_log::Column::LeaseExpiresAt.is_null())
            .add(import_log::Column::LeaseExpiresAt.lt(now));
        Condition::all()
            .add(import_log::Column::Status.eq(ImportStatus::Running))
            .add(match restarted {
                // This instance's own from before a restart: it runs none yet.
                Some(me) => expired.add(import_log::Column::LeaseOwner.eq(me)),
                None => expired,
            })
    };
    let mut failed = 0;
    for school in crate::platform::school_ids(db).await? {
        // Read first: a school with nothing left behind costs no write (on SQLite, no turn).
        let read = TenantTx::begin(db, school).await?;
        let found = read
            .count(
                read.find::<import_log::Entity>()
                    .filter(left_behind(Utc::now())),
            )
            .await?;
        read.commit().await?;
        if found == 0 {
            continue;
        }
        let tx = TenantTx::begin_write(db, school).await?;
        let now = Utc::now();
        failed += tx
            .update_where::<import_log::Entity>(
                vec![
                    (
                        import_log::Column::Status,
                        Expr::value(ImportStatus::Failed),
                    ),
                    (
                        import_log::Column::Message,
                        Expr::value(
                            "the server stopped while this import ran; nothing of it was written",
                        ),
                    ),
                    (import_log::Column::FinishedAt, Expr::value(now)),
                    (import_log::Column::UpdatedAt, Expr::value(now)),
                ],
                left_behind(now),
            )
            .await?;
        tx.commit().await?;
    }
    Ok(failed)
}
