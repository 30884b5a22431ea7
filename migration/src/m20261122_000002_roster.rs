//! The roster: teachers, subjects, the school calendar, classes, students, guardians, and the
//! memberships that link platform users to a school (and optionally to a teacher record).

use sea_orm_migration::prelude::*;

use crate::dsl::{
    OnDelete::{Cascade, Restrict},
    Table, boolean, date, date_null, drop_tables, int_null, one_of, one_of_null, text, text_null,
    timestamp,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        Table::tenant("teachers")
            .synced()
            .col(text("first_name"))
            .col(text("last_name"))
            .col(text_null("email"))
            .col(text_null("phone"))
            .index(&["last_name", "first_name"])
            .create(manager)
            .await?;

        Table::platform_keyed("memberships", &["school_id", "user_id"])
            .refers_platform("school_id", "schools", false, Cascade)
            .refers_platform("user_id", "users", false, Cascade)
            .col(one_of("role", &["ADMIN", "TEACHER", "VIEWER"]))
            .refers("teacher_id", "teachers", true, Restrict)
            .col(timestamp("created_at"))
            .index(&["user_id"])
            .create(manager)
            .await?;

        Table::tenant("subjects")
            .synced()
            .col(text("name"))
            .col(text_null("code"))
            .unique(&["name"])
            .create(manager)
            .await?;

        Table::tenant("academic_years")
            .synced()
            .col(text("name"))
            .col(date("start_date"))
            .col(date("end_date"))
            .col(boolean("is_current", false))
            .unique(&["name"])
            .create(manager)
            .await?;

        Table::tenant("terms")
            .synced()
            .refers("academic_year_id", "academic_years", false, Cascade)
            .col(text("name"))
            .col(date("start_date"))
            .col(date("end_date"))
            .unique(&["academic_year_id", "name"])
            .create(manager)
            .await?;

        Table::tenant("classes")
            .synced()
            .refers("academic_year_id", "academic_years", false, Restrict)
            .col(text("name"))
            .col(one_of("kind", &["HOMEROOM", "SCHEDULED"]).default("HOMEROOM"))
            .col(int_null("grade_level"))
            .refers("subject_id", "subjects", true, Restrict)
            .unique(&["academic_year_id", "name"])
            .create(manager)
            .await?;

        Table::tenant("class_teachers")
            .refers("class_id", "classes", false, Cascade)
            .refers("teacher_id", "teachers", false, Cascade)
            .col(one_of("role", &["PRIMARY", "ASSISTANT"]).default("PRIMARY"))
            .unique(&["class_id", "teacher_id"])
            .index(&["teacher_id"])
            .create(manager)
            .await?;

        Table::tenant("students")
            .synced()
            .col(text("student_tz"))
            .col(text("first_name"))
            .col(text("last_name"))
            .col(int_null("grade_level"))
            .refers("class_id", "classes", true, Restrict)
            .col(date_null("birth_date"))
            .col(one_of_null("gender", &["FEMALE", "MALE", "OTHER"]))
            .col(text_null("email"))
            .unique(&["student_tz"])
            .index(&["class_id"])
            .index(&["last_name", "first_name"])
            .index(&["updated_at"])
            .create(manager)
            .await?;

        Table::tenant("enrollments")
            .synced()
            .refers("class_id", "classes", false, Cascade)
            .refers("student_id", "students", false, Cascade)
            .col(date_null("begin_date"))
            .col(date_null("end_date"))
            .unique(&["class_id", "student_id"])
            .index(&["student_id"])
            .create(manager)
            .await?;

        Table::tenant("guardians")
            .synced()
            .col(text("first_name"))
            .col(text("last_name"))
            .col(text_null("guardian_tz"))
            .col(text_null("phone"))
            .col(text_null("email"))
            .index(&["last_name", "first_name"])
            .create(manager)
            .await?;

        Table::tenant("student_guardians")
            .refers("student_id", "students", false, Cascade)
            .refers("guardian_id", "guardians", false, Cascade)
            .col(text_null("relationship"))
            .col(boolean("is_primary", false))
            .unique(&["student_id", "guardian_id"])
            .index(&["guardian_id"])
            .create(manager)
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(
            manager,
            &[
                "student_guardians",
                "guardians",
                "enrollments",
                "students",
                "class_teachers",
                "classes",
                "terms",
                "academic_years",
                "subjects",
                "memberships",
                "teachers",
            ],
        )
        .await
    }
}
