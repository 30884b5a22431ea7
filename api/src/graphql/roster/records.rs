//! A student's other records: incidents, health records and history; types and inputs.

use crate::graphql::scalars::Date;
use async_graphql::{InputObject, Object};
use chrono::{DateTime, Utc};
use entity::{health_record, ids::*, incident};
use uuid::Uuid;

use crate::services;

/// A discipline incident.
#[derive(Debug, Clone)]
pub struct Incident(pub incident::Model);

/// A discipline incident.
#[Object]
impl Incident {
    /// The incident's id.
    async fn id(&self) -> Uuid {
        self.0.id.into_uuid()
    }
    /// When it happened.
    async fn occurred_on(&self) -> Date {
        Date(self.0.occurred_on)
    }
    /// Its category, e.g. disruption.
    async fn category(&self) -> &str {
        &self.0.category
    }
    /// LOW, MEDIUM or HIGH.
    async fn severity(&self) -> &str {
        &self.0.severity
    }
    /// Whether it counts against the student (early-warning behaviour points).
    async fn is_negative(&self) -> bool {
        self.0.is_negative
    }
    /// Whether it led to a suspension.
    async fn is_suspension(&self) -> bool {
        self.0.is_suspension
    }
    /// What happened.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// What was done about it.
    async fn action_taken(&self) -> Option<&str> {
        self.0.action_taken.as_deref()
    }
}

/// A health record. Reading health records needs `health:read` and is audited.
#[derive(Debug, Clone)]
pub struct HealthRecord(pub health_record::Model);

/// A health record. Reading health records needs `health:read` and is audited.
#[Object]
impl HealthRecord {
    /// The record's id.
    async fn id(&self) -> Uuid {
        self.0.id.into_uuid()
    }
    /// ALLERGY, CONDITION, MEDICATION, VISIT or OTHER.
    async fn kind(&self) -> &str {
        &self.0.kind
    }
    /// A short title.
    async fn title(&self) -> &str {
        &self.0.title
    }
    /// Details.
    async fn details(&self) -> Option<&str> {
        self.0.details.as_deref()
    }
    /// When it was recorded.
    async fn recorded_on(&self) -> Option<Date> {
        self.0.recorded_on.map(Date)
    }
    /// When the record was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A line of a student's history from earlier years or schools.
#[derive(Debug, Clone)]
pub struct AcademicHistory(pub entity::academic_history::Model);

/// A line of a student's history from earlier years or schools.
#[Object]
impl AcademicHistory {
    /// The line's id.
    async fn id(&self) -> Uuid {
        self.0.id.into_uuid()
    }
    /// The year, as the earlier school named it.
    async fn year_label(&self) -> &str {
        &self.0.year_label
    }
    /// The earlier school, if it was another one.
    async fn previous_school(&self) -> Option<&str> {
        self.0.previous_school.as_deref()
    }
    /// The grade level then.
    async fn grade_level(&self) -> Option<i32> {
        self.0.grade_level
    }
    /// The subject.
    async fn subject_name(&self) -> Option<&str> {
        self.0.subject_name.as_deref()
    }
    /// The final score, 0–100.
    async fn final_score(&self) -> Option<f64> {
        self.0.final_score
    }
    /// Notes.
    async fn notes(&self) -> Option<&str> {
        self.0.notes.as_deref()
    }
}

/// Which incidents to list.
#[derive(Debug, Default, InputObject)]
pub struct IncidentFilter {
    /// Only this student's.
    pub student_id: Option<Uuid>,
    /// Only on or after this date.
    pub from: Option<Date>,
    /// Only on or before this date.
    pub to: Option<Date>,
}

/// A discipline incident to record.
#[derive(Debug, InputObject)]
pub struct RecordIncidentInput {
    /// The student.
    pub student_id: Uuid,
    /// When it happened.
    pub occurred_on: Date,
    /// Its category.
    pub category: String,
    /// LOW (default), MEDIUM or HIGH.
    pub severity: Option<String>,
    /// Whether it counts against the student (default true).
    pub is_negative: Option<bool>,
    /// Whether it led to a suspension (default false).
    pub is_suspension: Option<bool>,
    /// What happened.
    pub description: Option<String>,
    /// What was done about it.
    pub action_taken: Option<String>,
    /// The reporting teacher.
    pub reported_by_teacher_id: Option<Uuid>,
}

/// A health record to add.
#[derive(Debug, InputObject)]
pub struct RecordHealthRecordInput {
    /// The student.
    pub student_id: Uuid,
    /// ALLERGY, CONDITION, MEDICATION, VISIT or OTHER.
    pub kind: String,
    /// A short title.
    pub title: String,
    /// Details.
    pub details: Option<String>,
    /// When it was recorded.
    pub recorded_on: Option<Date>,
}

/// A line of history to add to a student.
#[derive(Debug, InputObject)]
pub struct AddAcademicHistoryInput {
    /// The student.
    pub student_id: Uuid,
    /// The year, e.g. 2023-2024.
    pub year_label: String,
    /// The earlier school.
    pub previous_school: Option<String>,
    /// The grade level then, 1–12.
    pub grade_level: Option<i32>,
    /// The subject.
    pub subject_name: Option<String>,
    /// The final score, 0–100.
    pub final_score: Option<f64>,
    /// Notes.
    pub notes: Option<String>,
}

impl From<RecordIncidentInput> for services::records::NewIncident {
    fn from(input: RecordIncidentInput) -> Self {
        Self {
            student: StudentId(input.student_id),
            occurred_on: input.occurred_on.0,
            category: input.category,
            severity: input.severity,
            is_negative: input.is_negative.unwrap_or(true),
            is_suspension: input.is_suspension.unwrap_or(false),
            description: input.description,
            action_taken: input.action_taken,
            reported_by: input.reported_by_teacher_id.map(TeacherId),
        }
    }
}

impl From<RecordHealthRecordInput> for services::records::NewHealthRecord {
    fn from(input: RecordHealthRecordInput) -> Self {
        Self {
            student: StudentId(input.student_id),
            kind: input.kind,
            title: input.title,
            details: input.details,
            recorded_on: input.recorded_on.map(|d| d.0),
        }
    }
}

impl From<AddAcademicHistoryInput> for services::records::NewHistory {
    fn from(input: AddAcademicHistoryInput) -> Self {
        Self {
            student: StudentId(input.student_id),
            year_label: input.year_label,
            previous_school: input.previous_school,
            grade_level: input.grade_level,
            subject_name: input.subject_name,
            final_score: input.final_score,
            notes: input.notes,
        }
    }
}
