//! Deleting all of one school's data (not its users, memberships, configuration or audit log).

use entity::academic_history;
use entity::academic_year;
use entity::assessment;
use entity::attendance_record;
use entity::class;
use entity::class_teacher;
use entity::enrollment;
use entity::feature_usage;
use entity::grade;
use entity::guardian;
use entity::health_record;
use entity::import_log;
use entity::incident;
use entity::ml_model;
use entity::student;
use entity::student_document;
use entity::student_guardian;
use entity::subject;
use entity::teacher;
use entity::tenant::TenantScoped;
use entity::tenant::TenantTx;
use entity::term;
use sea_orm::{DbErr, sea_query::Condition};

async fn wipe<E: TenantScoped>(tx: &TenantTx) -> Result<u64, DbErr> {
    tx.delete_where::<E>(Condition::all()).await
}

/// Deletes every data row of `tx`'s school, children before parents; returns how many rows.
/// Nothing else is touched: the deletes are scoped to the school, and there is no DDL.
pub async fn reset_school_data(tx: &TenantTx) -> Result<u64, DbErr> {
    let mut rows = 0;
    rows += wipe::<grade::Entity>(tx).await?;
    rows += wipe::<assessment::Entity>(tx).await?;
    rows += wipe::<attendance_record::Entity>(tx).await?;
    rows += wipe::<incident::Entity>(tx).await?;
    rows += wipe::<health_record::Entity>(tx).await?;
    rows += wipe::<student_document::Entity>(tx).await?;
    rows += wipe::<academic_history::Entity>(tx).await?;
    rows += wipe::<student_guardian::Entity>(tx).await?;
    rows += wipe::<guardian::Entity>(tx).await?;
    rows += wipe::<enrollment::Entity>(tx).await?;
    rows += wipe::<student::Entity>(tx).await?;
    rows += wipe::<class_teacher::Entity>(tx).await?;
    rows += wipe::<class::Entity>(tx).await?;
    rows += wipe::<term::Entity>(tx).await?;
    rows += wipe::<academic_year::Entity>(tx).await?;
    rows += wipe::<subject::Entity>(tx).await?;
    rows += wipe::<import_log::Entity>(tx).await?;
    rows += wipe::<ml_model::Entity>(tx).await?;
    rows += wipe::<feature_usage::Entity>(tx).await?;
    // Memberships may point at teacher records: the platform module clears those links first.
    rows += wipe::<teacher::Entity>(tx).await?;
    Ok(rows)
}
