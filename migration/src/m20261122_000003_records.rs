//! What happens to students: assessments and grades, attendance, discipline, health, documents
//! and the history they bring from earlier schools.

use sea_orm_migration::prelude::*;

use crate::dsl::{
    OnDelete::{Cascade, Restrict},
    Table, big_int, boolean, date, date_null, double, double_null, drop_tables, int, int_null,
    one_of, one_of_null, text, text_null,
};

const CATEGORIES: &[&str] = &["EXAM", "QUIZ", "HOMEWORK", "PROJECT", "FINAL"];

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        Table::tenant("assessments")
            .synced()
            .refers("subject_id", "subjects", false, Restrict)
            .refers("term_id", "terms", false, Restrict)
            .refers("class_id", "classes", true, Cascade)
            .col(text("title"))
            .col(one_of("category", CATEGORIES))
            .col(double("max_score").default(100.0))
            .col(date_null("assessment_date"))
            .index(&["subject_id", "term_id"])
            .index(&["class_id"])
            .create(manager)
            .await?;

        Table::tenant("grades")
            .synced()
            .refers("student_id", "students", false, Cascade)
            .refers("subject_id", "subjects", false, Restrict)
            .refers("term_id", "terms", false, Restrict)
            .refers("assessment_id", "assessments", true, Cascade)
            .refers("class_id", "classes", true, Restrict)
            .refers("teacher_id", "teachers", true, Restrict)
            .col(one_of_null("category", CATEGORIES))
            .col(double("score"))
            .col(double("max_score").default(100.0))
            .col(date("graded_on"))
            .col(boolean("is_final", false))
            .col(text_null("comment"))
            .index(&["student_id", "subject_id", "term_id"])
            .index(&["subject_id", "term_id"])
            .index(&["assessment_id"])
            .index(&["class_id"])
            .index(&["updated_at"])
            .create(manager)
            .await?;

        Table::tenant("attendance_records")
            .refers("student_id", "students", false, Cascade)
            .refers("class_id", "classes", true, Restrict)
            .col(date("date"))
            // 0 is the whole day; a period number otherwise. Not NULL, so that the unique key
            // below really holds one record per student, date and period.
            .col(int("period").default(0))
            .col(one_of("status", &["PRESENT", "LATE", "ABSENT", "EXCUSED"]))
            .col(text_null("note"))
            .refers("recorded_by_teacher_id", "teachers", true, Restrict)
            .unique(&["student_id", "date", "period"])
            .index(&["date"])
            .index(&["class_id", "date"])
            .create(manager)
            .await?;

        Table::tenant("incidents")
            .refers("student_id", "students", false, Cascade)
            .col(date("occurred_on"))
            .col(text("category"))
            .col(one_of("severity", &["LOW", "MEDIUM", "HIGH"]).default("LOW"))
            .col(boolean("is_negative", true))
            .col(boolean("is_suspension", false))
            .col(text_null("description"))
            .col(text_null("action_taken"))
            .refers("reported_by_teacher_id", "teachers", true, Restrict)
            .index(&["student_id", "occurred_on"])
            .index(&["occurred_on"])
            .create(manager)
            .await?;

        Table::tenant("health_records")
            .refers("student_id", "students", false, Cascade)
            .col(one_of(
                "kind",
                &["ALLERGY", "CONDITION", "MEDICATION", "VISIT", "OTHER"],
            ))
            .col(text("title"))
            .col(text_null("details"))
            .col(date_null("recorded_on"))
            .index(&["student_id"])
            .create(manager)
            .await?;

        Table::tenant("student_documents")
            .refers("student_id", "students", false, Cascade)
            .col(text("kind"))
            .col(text("file_name"))
            .col(text("content_type"))
            .col(big_int("size_bytes"))
            .col(text("storage_key"))
            .refers_platform("uploaded_by", "users", true, Restrict)
            .unique(&["storage_key"])
            .index(&["student_id"])
            .create(manager)
            .await?;

        Table::tenant("academic_history")
            .refers("student_id", "students", false, Cascade)
            .col(text("year_label"))
            .col(text_null("previous_school"))
            .col(int_null("grade_level"))
            .col(text_null("subject_name"))
            .col(double_null("final_score"))
            .col(text_null("notes"))
            .index(&["student_id"])
            .create(manager)
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(
            manager,
            &[
                "academic_history",
                "student_documents",
                "health_records",
                "incidents",
                "attendance_records",
                "grades",
                "assessments",
            ],
        )
        .await
    }
}
