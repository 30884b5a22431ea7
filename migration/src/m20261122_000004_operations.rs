//! Per-school operations: import logs, trained models, the audit log, configuration and usage.

use sea_orm_migration::prelude::*;

use crate::dsl::{
    OnDelete::Restrict, Table, big_int, boolean, double, drop_tables, int, json, json_null, one_of,
    text, text_null, timestamp, timestamp_null, uuid_null,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        Table::tenant("import_logs")
            .col(one_of(
                "kind",
                &["STUDENTS", "GRADES", "ATTENDANCE", "ONE_ROSTER"],
            ))
            .col(text("file_name"))
            .col(
                one_of(
                    "status",
                    &["PENDING", "RUNNING", "SUCCEEDED", "PARTIAL", "FAILED"],
                )
                .default("PENDING"),
            )
            .col(boolean("dry_run", false))
            .col(one_of("mode", &["ALL_OR_NOTHING", "VALID_ROWS"]).default("ALL_OR_NOTHING"))
            .col(int("rows_total").default(0))
            .col(int("rows_processed").default(0))
            .col(int("rows_ok").default(0))
            .col(int("rows_failed").default(0))
            .col(int("rows_unchanged").default(0))
            .col(json("errors"))
            .col(text_null("message"))
            .refers_platform("started_by", "users", true, Restrict)
            .col(timestamp_null("started_at"))
            .col(timestamp_null("finished_at"))
            .index(&["created_at"])
            .index(&["status"])
            .create(manager)
            .await?;

        Table::tenant("ml_models")
            .col(one_of("target", &["FINAL_SCORE"]))
            .col(json("coefficients"))
            .col(double("intercept"))
            .col(int("n_train"))
            .col(json("metrics"))
            .col(json("dropped_features"))
            .col(timestamp("trained_at"))
            .refers_platform("trained_by", "users", true, Restrict)
            .index(&["target", "trained_at"])
            .create(manager)
            .await?;

        Table::tenant("audit_log")
            .col(one_of("actor_kind", &["USER", "API_TOKEN", "SYSTEM"]))
            .col(uuid_null("actor_id"))
            .col(boolean("actor_is_superadmin", false))
            .col(text("action"))
            .col(text_null("entity_type"))
            .col(uuid_null("entity_id"))
            .col(json_null("details"))
            .col(timestamp("at"))
            .index(&["at"])
            .index(&["entity_type", "entity_id"])
            .create(manager)
            .await?;

        Table::tenant("school_configurations")
            .col(double("score_min").default(0.0))
            .col(double("score_max").default(100.0))
            .col(double("pass_mark").default(55.0))
            .col(double("chronic_absence_pct").default(10.0))
            .col(int("chronic_absence_min_days").default(20))
            .col(json("risk_thresholds"))
            .col(json("branding"))
            .col(one_of("subscription_tier", &["FREE", "STANDARD", "PREMIUM"]).default("STANDARD"))
            .col(json("feature_flags"))
            .col(text("timezone").default("Asia/Jerusalem"))
            // Bumped by every write to the school's data; analytics caches key on it (moved to
            // `school_data_versions` by a later migration).
            .col(big_int("data_version").default(0))
            .unique(&[])
            .create(manager)
            .await?;

        Table::tenant("feature_usage")
            .col(text("feature"))
            .col(text("month"))
            .col(big_int("count").default(0))
            .unique(&["feature", "month"])
            .create(manager)
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(
            manager,
            &[
                "feature_usage",
                "school_configurations",
                "audit_log",
                "ml_models",
                "import_logs",
            ],
        )
        .await
    }
}
