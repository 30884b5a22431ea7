//! Attendance: the GraphQL type, filter and inputs (one record, or a roll call).

use crate::graphql::scalars::Date;
use async_graphql::{Context, InputObject, Object};
use entity::{attendance_record, ids::*};
use uuid::Uuid;

use super::*;
use crate::graphql::loaders::one;
use crate::{error::ApiResult, graphql::context::loaders, services};

/// One student's attendance on one date (and period).
#[derive(Debug, Clone)]
pub struct AttendanceRecord(pub attendance_record::Model);

/// One student's attendance on one date (and period).
#[Object]
impl AttendanceRecord {
    /// The record's id.
    async fn id(&self) -> Uuid {
        self.0.id.into_uuid()
    }
    /// The date.
    async fn date(&self) -> Date {
        Date(self.0.date)
    }
    /// The period (0 = the whole day).
    async fn period(&self) -> i32 {
        self.0.period
    }
    /// The status.
    async fn status(&self) -> AttendanceStatus {
        self.0.status.into()
    }
    /// A note.
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
    /// The student.
    async fn student(&self, ctx: &Context<'_>) -> ApiResult<Option<Student>> {
        one(&loaders(ctx)?.student, Some(self.0.student_id), Student).await
    }
}

/// Which attendance records to list.
#[derive(Debug, Default, InputObject)]
pub struct AttendanceFilter {
    /// Only this student.
    pub student_id: Option<Uuid>,
    /// Only this class.
    pub class_id: Option<Uuid>,
    /// Only on or after this date.
    pub from: Option<Date>,
    /// Only on or before this date.
    pub to: Option<Date>,
    /// Only this status.
    pub status: Option<AttendanceStatus>,
}

/// An attendance record to set (one per student, date and period).
#[derive(Debug, InputObject)]
pub struct RecordAttendanceInput {
    /// The student.
    pub student_id: Uuid,
    /// The date.
    pub date: Date,
    /// The period, 0 (the whole day, default) to 12.
    pub period: Option<i32>,
    /// The status.
    pub status: AttendanceStatus,
    /// The class.
    pub class_id: Option<Uuid>,
    /// A note.
    pub note: Option<String>,
}

/// One student's line of a roll call.
#[derive(Debug, InputObject)]
pub struct RollCallEntry {
    /// The student.
    pub student_id: Uuid,
    /// The status.
    pub status: AttendanceStatus,
    /// A note.
    pub note: Option<String>,
}

/// A roll call: many students' attendance on one date and period.
#[derive(Debug, InputObject)]
pub struct RecordAttendanceBatchInput {
    /// The date.
    pub date: Date,
    /// The period, 0 (the whole day, default) to 12.
    pub period: Option<i32>,
    /// The class.
    pub class_id: Option<Uuid>,
    /// One entry per student (at most 200).
    pub records: Vec<RollCallEntry>,
}

impl RecordAttendanceInput {
    /// Where and when, and the student's mark.
    pub fn into_parts(self) -> (services::attendance::Slot, services::attendance::Mark) {
        let slot = services::attendance::Slot {
            date: self.date.0,
            period: self.period,
            class: self.class_id.map(ClassId),
        };
        let mark = services::attendance::Mark {
            student: StudentId(self.student_id),
            status: self.status.into(),
            note: self.note,
        };
        (slot, mark)
    }
}

impl RecordAttendanceBatchInput {
    /// Where and when, and each student's mark.
    pub fn into_parts(self) -> (services::attendance::Slot, Vec<services::attendance::Mark>) {
        let slot = services::attendance::Slot {
            date: self.date.0,
            period: self.period,
            class: self.class_id.map(ClassId),
        };
        let marks = self
            .records
            .into_iter()
            .map(|r| services::attendance::Mark {
                student: StudentId(r.student_id),
                status: r.status.into(),
                note: r.note,
            })
            .collect();
        (slot, marks)
    }
}
