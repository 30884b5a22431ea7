//! Closed sets of values stored as text (each column also has a CHECK constraint).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// OneRoster record status.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum RecordStatus {
    /// In use.
    #[sea_orm(string_value = "ACTIVE")]
    Active,
    /// Marked for deletion (soft-deleted).
    #[sea_orm(string_value = "TO_BE_DELETED")]
    ToBeDeleted,
}

/// A member's role in a school; roles map to permissions.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum Role {
    /// Runs the school's account.
    #[sea_orm(string_value = "ADMIN")]
    Admin,
    /// Teaches: records grades, attendance, incidents.
    #[sea_orm(string_value = "TEACHER")]
    Teacher,
    /// Reads only.
    #[sea_orm(string_value = "VIEWER")]
    Viewer,
}

/// Whether a class is a homeroom or a scheduled (subject) class.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum ClassKind {
    /// A homeroom class (students belong to one).
    #[sea_orm(string_value = "HOMEROOM")]
    Homeroom,
    /// A scheduled class for one subject.
    #[sea_orm(string_value = "SCHEDULED")]
    Scheduled,
}

/// The kind of work a grade is for.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum GradeCategory {
    /// An exam.
    #[sea_orm(string_value = "EXAM")]
    Exam,
    /// A quiz.
    #[sea_orm(string_value = "QUIZ")]
    Quiz,
    /// Homework.
    #[sea_orm(string_value = "HOMEWORK")]
    Homework,
    /// A project.
    #[sea_orm(string_value = "PROJECT")]
    Project,
    /// A final (report-card) grade.
    #[sea_orm(string_value = "FINAL")]
    Final,
}

/// Attendance status. Attended = PRESENT or LATE; absent = ABSENT or EXCUSED.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum AttendanceStatus {
    /// Present.
    #[sea_orm(string_value = "PRESENT")]
    Present,
    /// Present, late.
    #[sea_orm(string_value = "LATE")]
    Late,
    /// Absent without excuse.
    #[sea_orm(string_value = "ABSENT")]
    Absent,
    /// Absent with an excuse.
    #[sea_orm(string_value = "EXCUSED")]
    Excused,
}

/// Where an import run stands.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum ImportStatus {
    /// Accepted, not started.
    #[sea_orm(string_value = "PENDING")]
    Pending,
    /// In progress.
    #[sea_orm(string_value = "RUNNING")]
    Running,
    /// Every row loaded.
    #[sea_orm(string_value = "SUCCEEDED")]
    Succeeded,
    /// Valid rows loaded, others reported.
    #[sea_orm(string_value = "PARTIAL")]
    Partial,
    /// Nothing loaded.
    #[sea_orm(string_value = "FAILED")]
    Failed,
}
