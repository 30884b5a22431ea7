//! Guardians, enrollments, discipline incidents and health records: types and mutations.

use async_graphql::{Context, InputObject, Object};
use chrono::{DateTime, NaiveDate, Utc};
use entity::{
    class, enrollment, enums, guardian, health_record, ids::*, incident, student, student_guardian,
    teacher,
};
use sea_orm::{ActiveValue::Set, SqlErr};
use serde_json::json;
use uuid::Uuid;

use super::{
    mutation::{
        ScoredWork, check_scored_work, date_in_term, done, must_exist, optional_email,
        required_text,
    },
    types::{Class, Student},
};
use crate::{
    auth::Permission,
    domain::{StudentTz, clean_text},
    error::{ApiError, ApiResult, FieldError},
    graphql::{
        context::{loaders, scoped},
        loaders::load_error,
    },
    services::audit,
};

/// A guardian (parent) of students.
#[derive(Debug, Clone)]
pub struct Guardian(pub guardian::Model);

/// A guardian (parent) of students.
#[Object]
impl Guardian {
    /// The guardian's id.
    async fn id(&self) -> Uuid {
        self.0.id.into_uuid()
    }
    /// First name.
    async fn first_name(&self) -> &str {
        &self.0.first_name
    }
    /// Last name.
    async fn last_name(&self) -> &str {
        &self.0.last_name
    }
    /// Phone number.
    async fn phone(&self) -> Option<&str> {
        self.0.phone.as_deref()
    }
    /// Email address.
    async fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }
}

/// A student's link to a guardian.
#[derive(Debug, Clone)]
pub struct StudentGuardian {
    /// The link.
    pub link: student_guardian::Model,
    /// The guardian.
    pub guardian: guardian::Model,
}

/// A student's link to a guardian.
#[Object]
impl StudentGuardian {
    /// The guardian.
    async fn guardian(&self) -> Guardian {
        Guardian(self.guardian.clone())
    }
    /// How the guardian is related, e.g. mother.
    async fn relationship(&self) -> Option<&str> {
        self.link.relationship.as_deref()
    }
    /// Whether this is the primary contact.
    async fn is_primary(&self) -> bool {
        self.link.is_primary
    }
}

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
    async fn occurred_on(&self) -> NaiveDate {
        self.0.occurred_on
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
    async fn recorded_on(&self) -> Option<NaiveDate> {
        self.0.recorded_on
    }
    /// When the record was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A student's enrollment in a (scheduled) class.
#[derive(Debug, Clone)]
pub struct Enrollment(pub enrollment::Model);

/// A student's enrollment in a (scheduled) class.
#[Object]
impl Enrollment {
    /// The enrollment's id.
    async fn id(&self) -> Uuid {
        self.0.id.into_uuid()
    }
    /// The class.
    async fn class(&self, ctx: &Context<'_>) -> ApiResult<Option<Class>> {
        Ok(loaders(ctx)?
            .class
            .load_one(self.0.class_id)
            .await
            .map_err(load_error)?
            .map(Class))
    }
    /// The student.
    async fn student(&self, ctx: &Context<'_>) -> ApiResult<Option<Student>> {
        Ok(loaders(ctx)?
            .student
            .load_one(self.0.student_id)
            .await
            .map_err(load_error)?
            .map(Student))
    }
    /// First day.
    async fn begin_date(&self) -> Option<NaiveDate> {
        self.0.begin_date
    }
    /// Last day.
    async fn end_date(&self) -> Option<NaiveDate> {
        self.0.end_date
    }
}

/// A new guardian, linked to students.
#[derive(Debug, InputObject)]
pub struct CreateGuardianInput {
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// National id.
    pub guardian_tz: Option<String>,
    /// Phone number.
    pub phone: Option<String>,
    /// Email address.
    pub email: Option<String>,
    /// The students to link.
    pub student_ids: Vec<Uuid>,
    /// How the guardian is related, e.g. mother.
    pub relationship: Option<String>,
}

/// A discipline incident to record.
#[derive(Debug, InputObject)]
pub struct RecordIncidentInput {
    /// The student.
    pub student_id: Uuid,
    /// When it happened.
    pub occurred_on: NaiveDate,
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
    pub recorded_on: Option<NaiveDate>,
}

const SEVERITIES: &[&str] = &["LOW", "MEDIUM", "HIGH"];
const HEALTH_KINDS: &[&str] = &["ALLERGY", "CONDITION", "MEDICATION", "VISIT", "OTHER"];

/// Guardian, enrollment, incident and health mutations.
#[derive(Debug, Default)]
pub struct RecordsMutation;

#[Object]
impl RecordsMutation {
    /// Adds a guardian and links them to students.
    async fn create_guardian(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The guardian.")] input: CreateGuardianInput,
    ) -> ApiResult<Guardian> {
        let (_, tx) = scoped(ctx, Permission::StudentsWrite).await?;
        let mut errors = Vec::new();
        let first_name = required_text(&mut errors, "input.firstName", &input.first_name);
        let last_name = required_text(&mut errors, "input.lastName", &input.last_name);
        let tz = match input.guardian_tz.as_deref().and_then(clean_text) {
            Some(tz) => StudentTz::parse(&tz)
                .map(|t| Some(t.into_string()))
                .unwrap_or_else(|e| {
                    errors.push(FieldError::new("input.guardianTz", e.to_string()));
                    None
                }),
            None => None,
        };
        let email = optional_email(&mut errors, "input.email", input.email.as_deref());
        if input.student_ids.is_empty() {
            errors.push(FieldError::new(
                "input.studentIds",
                "a guardian belongs to at least one student",
            ));
        }
        for (i, student) in input.student_ids.iter().enumerate() {
            must_exist::<student::Entity>(
                &tx,
                &mut errors,
                &format!("input.studentIds[{i}]"),
                Some(StudentId(*student)),
            )
            .await?;
        }
        done(errors)?;
        let now = Utc::now();
        let row = tx
            .insert(guardian::ActiveModel {
                id: Set(GuardianId::generate()),
                created_at: Set(now),
                updated_at: Set(now),
                status: Set(enums::RecordStatus::Active),
                first_name: Set(first_name),
                last_name: Set(last_name),
                guardian_tz: Set(tz),
                phone: Set(input.phone.as_deref().and_then(clean_text)),
                email: Set(email),
                ..Default::default()
            })
            .await?;
        for student in &input.student_ids {
            tx.insert(student_guardian::ActiveModel {
                id: Set(StudentGuardianId::generate()),
                created_at: Set(now),
                updated_at: Set(now),
                student_id: Set(StudentId(*student)),
                guardian_id: Set(row.id),
                relationship: Set(input.relationship.as_deref().and_then(clean_text)),
                is_primary: Set(false),
                ..Default::default()
            })
            .await
            .map_err(|e| match e.sql_err() {
                Some(SqlErr::UniqueConstraintViolation(_)) => {
                    ApiError::bad_field("input.studentIds", "lists a student twice")
                }
                _ => ApiError::from(e),
            })?;
        }
        tx.commit().await?;
        Ok(Guardian(row))
    }

    /// Enrolls a student in a class.
    async fn enroll_student(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The class.")] class_id: Uuid,
        #[graphql(desc = "The student.")] student_id: Uuid,
    ) -> ApiResult<Enrollment> {
        let (_, tx) = scoped(ctx, Permission::StudentsWrite).await?;
        let mut errors = Vec::new();
        must_exist::<class::Entity>(&tx, &mut errors, "classId", Some(ClassId(class_id))).await?;
        must_exist::<student::Entity>(&tx, &mut errors, "studentId", Some(StudentId(student_id)))
            .await?;
        done(errors)?;
        let now = Utc::now();
        let row = tx
            .insert(enrollment::ActiveModel {
                id: Set(EnrollmentId::generate()),
                created_at: Set(now),
                updated_at: Set(now),
                status: Set(enums::RecordStatus::Active),
                class_id: Set(ClassId(class_id)),
                student_id: Set(StudentId(student_id)),
                ..Default::default()
            })
            .await
            .map_err(|e| match e.sql_err() {
                Some(SqlErr::UniqueConstraintViolation(_)) => ApiError::Conflict {
                    field: "studentId".into(),
                    message: "the student is already enrolled in this class".into(),
                },
                _ => ApiError::from(e),
            })?;
        tx.commit().await?;
        Ok(Enrollment(row))
    }

    /// Records a discipline incident.
    async fn record_incident(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The incident.")] input: RecordIncidentInput,
    ) -> ApiResult<Incident> {
        let (tenant, tx) = scoped(ctx, Permission::IncidentsWrite).await?;
        let mut errors = Vec::new();
        must_exist::<student::Entity>(
            &tx,
            &mut errors,
            "input.studentId",
            Some(StudentId(input.student_id)),
        )
        .await?;
        must_exist::<teacher::Entity>(
            &tx,
            &mut errors,
            "input.reportedByTeacherId",
            input.reported_by_teacher_id.map(TeacherId),
        )
        .await?;
        let category = required_text(&mut errors, "input.category", &input.category);
        let severity = input
            .severity
            .as_deref()
            .map(str::trim)
            .map(str::to_uppercase)
            .unwrap_or_else(|| "LOW".into());
        if !SEVERITIES.contains(&severity.as_str()) {
            errors.push(FieldError::new(
                "input.severity",
                "must be LOW, MEDIUM or HIGH",
            ));
        }
        done(errors)?;
        let now = Utc::now();
        let row = tx
            .insert(incident::ActiveModel {
                id: Set(IncidentId::generate()),
                created_at: Set(now),
                updated_at: Set(now),
                student_id: Set(StudentId(input.student_id)),
                occurred_on: Set(input.occurred_on),
                category: Set(category),
                severity: Set(severity),
                is_negative: Set(input.is_negative.unwrap_or(true)),
                is_suspension: Set(input.is_suspension.unwrap_or(false)),
                description: Set(input.description.as_deref().and_then(clean_text)),
                action_taken: Set(input.action_taken.as_deref().and_then(clean_text)),
                reported_by_teacher_id: Set(input.reported_by_teacher_id.map(TeacherId)),
                ..Default::default()
            })
            .await?;
        audit::write(
            &tx,
            Some(&tenant.actor),
            audit::Entry::new("incident.create").on("student", row.student_id),
        )
        .await?;
        tx.commit().await?;
        Ok(Incident(row))
    }

    /// Adds a health record (needs `health:read`, the right to see them).
    async fn record_health_record(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The record.")] input: RecordHealthRecordInput,
    ) -> ApiResult<HealthRecord> {
        let (tenant, tx) = scoped(ctx, Permission::HealthRead).await?;
        let mut errors = Vec::new();
        must_exist::<student::Entity>(
            &tx,
            &mut errors,
            "input.studentId",
            Some(StudentId(input.student_id)),
        )
        .await?;
        let title = required_text(&mut errors, "input.title", &input.title);
        let kind = input.kind.trim().to_uppercase();
        if !HEALTH_KINDS.contains(&kind.as_str()) {
            errors.push(FieldError::new(
                "input.kind",
                "must be ALLERGY, CONDITION, MEDICATION, VISIT or OTHER",
            ));
        }
        done(errors)?;
        let now = Utc::now();
        let row = tx
            .insert(health_record::ActiveModel {
                id: Set(HealthRecordId::generate()),
                created_at: Set(now),
                updated_at: Set(now),
                student_id: Set(StudentId(input.student_id)),
                kind: Set(kind),
                title: Set(title),
                details: Set(input.details.as_deref().and_then(clean_text)),
                recorded_on: Set(input.recorded_on),
                ..Default::default()
            })
            .await?;
        // The audit entry names the record, never its contents.
        let entry = audit::Entry::new("health.create")
            .on("student", row.student_id)
            .details(json!({ "record": row.id }));
        audit::write(&tx, Some(&tenant.actor), entry).await?;
        tx.commit().await?;
        Ok(HealthRecord(row))
    }
}

/// An assessment (an exam, a quiz, …) that grades can belong to.
#[derive(Debug, Clone)]
pub struct Assessment(pub entity::assessment::Model);

/// An assessment (an exam, a quiz, …) that grades can belong to.
#[Object]
impl Assessment {
    /// The assessment's id.
    async fn id(&self) -> Uuid {
        self.0.id.into_uuid()
    }
    /// Its title.
    async fn title(&self) -> &str {
        &self.0.title
    }
    /// The kind of work.
    async fn category(&self) -> super::types::GradeCategory {
        self.0.category.into()
    }
    /// The most a score can be.
    async fn max_score(&self) -> f64 {
        self.0.max_score
    }
    /// When it takes place.
    async fn assessment_date(&self) -> Option<NaiveDate> {
        self.0.assessment_date
    }
    /// The subject.
    async fn subject(&self, ctx: &Context<'_>) -> ApiResult<Option<super::types::Subject>> {
        Ok(loaders(ctx)?
            .subject
            .load_one(self.0.subject_id)
            .await
            .map_err(load_error)?
            .map(super::types::Subject))
    }
    /// The term.
    async fn term(&self, ctx: &Context<'_>) -> ApiResult<Option<super::types::Term>> {
        Ok(loaders(ctx)?
            .term
            .load_one(self.0.term_id)
            .await
            .map_err(load_error)?
            .map(super::types::Term))
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

/// A new assessment.
#[derive(Debug, InputObject)]
pub struct CreateAssessmentInput {
    /// The subject.
    pub subject_id: Uuid,
    /// The term.
    pub term_id: Uuid,
    /// The class it is for.
    pub class_id: Option<Uuid>,
    /// Its title.
    pub title: String,
    /// The kind of work.
    pub category: super::types::GradeCategory,
    /// The most a score can be (default 100).
    pub max_score: Option<f64>,
    /// When it takes place (inside the term).
    pub assessment_date: Option<NaiveDate>,
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

/// Which incidents to list.
#[derive(Debug, Default, InputObject)]
pub struct IncidentFilter {
    /// Only this student's.
    pub student_id: Option<Uuid>,
    /// Only on or after this date.
    pub from: Option<NaiveDate>,
    /// Only on or before this date.
    pub to: Option<NaiveDate>,
}

/// Which assessments to list.
#[derive(Debug, Default, InputObject)]
pub struct AssessmentFilter {
    /// Only this subject's.
    pub subject_id: Option<Uuid>,
    /// Only this term's.
    pub term_id: Option<Uuid>,
    /// Only this class's.
    pub class_id: Option<Uuid>,
}

/// Lists of guardians, incidents and assessments.
#[derive(Debug, Default)]
pub struct RecordsQuery;

#[Object]
impl RecordsQuery {
    /// The school's guardians.
    #[graphql(complexity = "crate::graphql::limits::connection_cost(first, child_complexity)")]
    async fn guardians(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many to return (at most 100, default 20).")] first: Option<i32>,
        #[graphql(desc = "The cursor after which to start.")] after: Option<String>,
        #[graphql(desc = "Part of the first or last name.")] search: Option<String>,
    ) -> ApiResult<crate::graphql::pagination::Page<Guardian>> {
        use sea_orm::{ColumnTrait, Condition};
        let (_, tx) = scoped(ctx, Permission::StudentsRead).await?;
        let mut select = tx.find::<guardian::Entity>();
        if let Some(search) = search.as_deref().and_then(clean_text) {
            let pattern = crate::graphql::pagination::contains(&search);
            select = select.filter(
                Condition::any()
                    .add(guardian::Column::FirstName.like(pattern.clone()))
                    .add(guardian::Column::LastName.like(pattern)),
            );
        }
        crate::graphql::pagination::page(&tx, select, first, after, Guardian).await
    }

    /// The school's discipline incidents.
    #[graphql(complexity = "crate::graphql::limits::connection_cost(first, child_complexity)")]
    async fn incidents(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many to return (at most 100, default 20).")] first: Option<i32>,
        #[graphql(desc = "The cursor after which to start.")] after: Option<String>,
        #[graphql(desc = "Which incidents.")] filter: Option<IncidentFilter>,
    ) -> ApiResult<crate::graphql::pagination::Page<Incident>> {
        use sea_orm::ColumnTrait;
        let (_, tx) = scoped(ctx, Permission::StudentsRead).await?;
        let f = filter.unwrap_or_default();
        let mut select = tx.find::<incident::Entity>();
        if let Some(id) = f.student_id {
            select = select.filter(incident::Column::StudentId.eq(StudentId(id)));
        }
        if let Some(from) = f.from {
            select = select.filter(incident::Column::OccurredOn.gte(from));
        }
        if let Some(to) = f.to {
            select = select.filter(incident::Column::OccurredOn.lte(to));
        }
        crate::graphql::pagination::page(&tx, select, first, after, Incident).await
    }

    /// The school's assessments.
    #[graphql(complexity = "crate::graphql::limits::connection_cost(first, child_complexity)")]
    async fn assessments(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many to return (at most 100, default 20).")] first: Option<i32>,
        #[graphql(desc = "The cursor after which to start.")] after: Option<String>,
        #[graphql(desc = "Which assessments.")] filter: Option<AssessmentFilter>,
    ) -> ApiResult<crate::graphql::pagination::Page<Assessment>> {
        use entity::assessment;
        use sea_orm::ColumnTrait;
        let (_, tx) = scoped(ctx, Permission::StudentsRead).await?;
        let f = filter.unwrap_or_default();
        let mut select = tx.find::<assessment::Entity>();
        if let Some(id) = f.subject_id {
            select = select.filter(assessment::Column::SubjectId.eq(SubjectId(id)));
        }
        if let Some(id) = f.term_id {
            select = select.filter(assessment::Column::TermId.eq(TermId(id)));
        }
        if let Some(id) = f.class_id {
            select = select.filter(assessment::Column::ClassId.eq(ClassId(id)));
        }
        crate::graphql::pagination::page(&tx, select, first, after, Assessment).await
    }
}

/// Assessment and history mutations.
#[derive(Debug, Default)]
pub struct HistoryMutation;

#[Object]
impl HistoryMutation {
    /// Adds an assessment.
    async fn create_assessment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The assessment.")] input: CreateAssessmentInput,
    ) -> ApiResult<Assessment> {
        use entity::assessment;
        let (_, tx) = scoped(ctx, Permission::GradesWrite).await?;
        let mut errors = Vec::new();
        let title = required_text(&mut errors, "input.title", &input.title);
        let (max_score, term) = check_scored_work(
            &tx,
            &mut errors,
            ScoredWork {
                subject: input.subject_id,
                term: input.term_id,
                class: input.class_id,
                max_score: input.max_score,
            },
        )
        .await?;
        date_in_term(
            &mut errors,
            "input.assessmentDate",
            term.as_ref(),
            input.assessment_date,
        );
        done(errors)?;
        let now = Utc::now();
        let row = tx
            .insert(assessment::ActiveModel {
                id: Set(AssessmentId::generate()),
                created_at: Set(now),
                updated_at: Set(now),
                status: Set(enums::RecordStatus::Active),
                subject_id: Set(SubjectId(input.subject_id)),
                term_id: Set(TermId(input.term_id)),
                class_id: Set(input.class_id.map(ClassId)),
                title: Set(title),
                category: Set(input.category.into()),
                max_score: Set(max_score),
                assessment_date: Set(input.assessment_date),
                ..Default::default()
            })
            .await?;
        tx.commit().await?;
        Ok(Assessment(row))
    }

    /// Adds a line to a student's history.
    async fn add_academic_history(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The line.")] input: AddAcademicHistoryInput,
    ) -> ApiResult<AcademicHistory> {
        use entity::academic_history;
        let (_, tx) = scoped(ctx, Permission::StudentsWrite).await?;
        let mut errors = Vec::new();
        must_exist::<student::Entity>(
            &tx,
            &mut errors,
            "input.studentId",
            Some(StudentId(input.student_id)),
        )
        .await?;
        let year_label = required_text(&mut errors, "input.yearLabel", &input.year_label);
        if input.grade_level.is_some_and(|l| !(1..=12).contains(&l)) {
            errors.push(FieldError::new(
                "input.gradeLevel",
                "must be between 1 and 12",
            ));
        }
        if input
            .final_score
            .is_some_and(|s| !(s.is_finite() && (0.0..=100.0).contains(&s)))
        {
            errors.push(FieldError::new(
                "input.finalScore",
                "must be between 0 and 100",
            ));
        }
        done(errors)?;
        let now = Utc::now();
        let row = tx
            .insert(academic_history::ActiveModel {
                id: Set(AcademicHistoryId::generate()),
                created_at: Set(now),
                updated_at: Set(now),
                student_id: Set(StudentId(input.student_id)),
                year_label: Set(year_label),
                previous_school: Set(input.previous_school.as_deref().and_then(clean_text)),
                grade_level: Set(input.grade_level),
                subject_name: Set(input.subject_name.as_deref().and_then(clean_text)),
                final_score: Set(input.final_score),
                notes: Set(input.notes.as_deref().and_then(clean_text)),
                ..Default::default()
            })
            .await?;
        tx.commit().await?;
        Ok(AcademicHistory(row))
    }
}
