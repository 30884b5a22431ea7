//! A student's other records: discipline incidents, health records and the history of earlier
//! years or schools.

use chrono::{NaiveDate, Utc};
use entity::academic_history;
use entity::health_record;
use entity::ids::AcademicHistoryId;
use entity::ids::HealthRecordId;
use entity::ids::IncidentId;
use entity::ids::StudentId;
use entity::ids::TeacherId;
use entity::incident;
use entity::student;
use entity::teacher;
use entity::tenant::TenantTx;
use sea_orm::ActiveValue::Set;
use serde_json::json;

use super::{audit, checks::Fields};
use crate::error::ApiResult;
use crate::rules::Broken;
use crate::rules::clean_text;
use crate::tenant::Actor;

const SEVERITIES: &[&str] = &["LOW", "MEDIUM", "HIGH"];
const HEALTH_KINDS: &[&str] = &["ALLERGY", "CONDITION", "MEDICATION", "VISIT", "OTHER"];

/// A discipline incident, as given.
#[derive(Debug)]
pub struct NewIncident {
    /// The student.
    pub student: StudentId,
    /// When it happened.
    pub occurred_on: NaiveDate,
    /// Its category.
    pub category: String,
    /// LOW (default), MEDIUM or HIGH.
    pub severity: Option<String>,
    /// Whether it counts against the student.
    pub is_negative: bool,
    /// Whether it led to a suspension.
    pub is_suspension: bool,
    /// What happened.
    pub description: Option<String>,
    /// What was done about it.
    pub action_taken: Option<String>,
    /// The reporting teacher.
    pub reported_by: Option<TeacherId>,
}

/// A health record, as given.
#[derive(Debug)]
pub struct NewHealthRecord {
    /// The student.
    pub student: StudentId,
    /// ALLERGY, CONDITION, MEDICATION, VISIT or OTHER.
    pub kind: String,
    /// A short title.
    pub title: String,
    /// Details.
    pub details: Option<String>,
    /// When it was recorded.
    pub recorded_on: Option<NaiveDate>,
}

/// A line of history, as given.
#[derive(Debug)]
pub struct NewHistory {
    /// The student.
    pub student: StudentId,
    /// The year, as the earlier school named it.
    pub year_label: String,
    /// The earlier school.
    pub previous_school: Option<String>,
    /// The grade level then.
    pub grade_level: Option<i32>,
    /// The subject.
    pub subject_name: Option<String>,
    /// The final score, 0–100.
    pub final_score: Option<f64>,
    /// Notes.
    pub notes: Option<String>,
}

/// One of `allowed`, upper-cased.
fn one_of(input: &str, allowed: &[&str], message: &str) -> Result<String, Broken> {
    let value = input.trim().to_uppercase();
    if allowed.contains(&value.as_str()) {
        Ok(value)
    } else {
        Err(Broken::new("INVALID_VALUE", message))
    }
}

/// Records a discipline incident.
pub async fn record_incident(
    tx: &TenantTx,
    actor: &Actor,
    new: NewIncident,
) -> ApiResult<incident::Model> {
    let mut fields = Fields::new();
    fields
        .must_exist::<student::Entity>(tx, "input.studentId", Some(new.student))
        .await?;
    fields
        .must_exist::<teacher::Entity>(tx, "input.reportedByTeacherId", new.reported_by)
        .await?;
    let category = fields.name("input.category", &new.category);
    let severity = fields.take(
        "input.severity",
        one_of(
            new.severity.as_deref().unwrap_or("LOW"),
            SEVERITIES,
            "must be LOW, MEDIUM or HIGH",
        ),
    );
    fields.done()?;
    let now = Utc::now();
    let row = tx
        .insert(incident::ActiveModel {
            id: Set(IncidentId::generate()),
            created_at: Set(now),
            updated_at: Set(now),
            student_id: Set(new.student),
            occurred_on: Set(new.occurred_on),
            category: Set(category),
            severity: Set(severity.unwrap_or_default()),
            is_negative: Set(new.is_negative),
            is_suspension: Set(new.is_suspension),
            description: Set(new.description.as_deref().and_then(clean_text)),
            action_taken: Set(new.action_taken.as_deref().and_then(clean_text)),
            reported_by_teacher_id: Set(new.reported_by),
            ..Default::default()
        })
        .await?;
    let entry = audit::Entry::new("incident.create").on("student", row.student_id);
    audit::write(tx, Some(actor), entry).await?;
    Ok(row)
}

/// Adds a health record.
pub async fn record_health(
    tx: &TenantTx,
    actor: &Actor,
    new: NewHealthRecord,
) -> ApiResult<health_record::Model> {
    let mut fields = Fields::new();
    fields
        .must_exist::<student::Entity>(tx, "input.studentId", Some(new.student))
        .await?;
    let title = fields.name("input.title", &new.title);
    let kind = fields.take(
        "input.kind",
        one_of(
            &new.kind,
            HEALTH_KINDS,
            "must be ALLERGY, CONDITION, MEDICATION, VISIT or OTHER",
        ),
    );
    fields.done()?;
    let now = Utc::now();
    let row = tx
        .insert(health_record::ActiveModel {
            id: Set(HealthRecordId::generate()),
            created_at: Set(now),
            updated_at: Set(now),
            student_id: Set(new.student),
            kind: Set(kind.unwrap_or_default()),
            title: Set(title),
            details: Set(new.details.as_deref().and_then(clean_text)),
            recorded_on: Set(new.recorded_on),
            ..Default::default()
        })
        .await?;
    // The audit entry names the record, never its contents.
    let entry = audit::Entry::new("health.create")
        .on("student", row.student_id)
        .details(json!({ "record": row.id }));
    audit::write(tx, Some(actor), entry).await?;
    Ok(row)
}

/// Adds a line to a student's history.
pub async fn add_history(
    tx: &TenantTx,
    actor: &Actor,
    new: NewHistory,
) -> ApiResult<academic_history::Model> {
    let mut fields = Fields::new();
    fields
        .must_exist::<student::Entity>(tx, "input.studentId", Some(new.student))
        .await?;
    let year_label = fields.name("input.yearLabel", &new.year_label);
    let grade_level = fields.grade_level("input.gradeLevel", new.grade_level);
    if let Some(score) = new.final_score {
        fields.take(
            "input.finalScore",
            crate::rules::MaxScore::new(None).and_then(|m| m.score(score)),
        );
    }
    fields.done()?;
    let now = Utc::now();
    let row = tx
        .insert(academic_history::ActiveModel {
            id: Set(AcademicHistoryId::generate()),
            created_at: Set(now),
            updated_at: Set(now),
            student_id: Set(new.student),
            year_label: Set(year_label),
            previous_school: Set(new.previous_school.as_deref().and_then(clean_text)),
            grade_level: Set(grade_level),
            subject_name: Set(new.subject_name.as_deref().and_then(clean_text)),
            final_score: Set(new.final_score),
            notes: Set(new.notes.as_deref().and_then(clean_text)),
            ..Default::default()
        })
        .await?;
    let entry = audit::Entry::new("history.create")
        .on("student", row.student_id)
        .details(json!({ "line": row.id }));
    audit::write(tx, Some(actor), entry).await?;
    Ok(row)
}
