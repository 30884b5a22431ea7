//! The roster's root mutations. Each is thin: check the permission and open the school's
//! transaction, hand the input to its service in `crate::services` (which checks it, refuses
//! another school's ids exactly like missing ones, writes, and writes the audit entry), commit,
//! and wrap the row. `school_id` always comes from the request, never from input.
//!
//! The six objects keep the order the fields have in the published schema.

use async_graphql::{Context, Object};
use entity::{ids::*, tenant::TenantTx};
use serde_json::json;
use uuid::Uuid;

use super::*;
use crate::auth::Permission;
use crate::error::ApiError;
use crate::error::ApiResult;
use crate::graphql::context::scoped;
use crate::services::attendance;
use crate::services::audit;
use crate::services::calendar;
use crate::services::classes;
use crate::services::grades;
use crate::services::guardians;
use crate::services::records;
use crate::services::staff;
use crate::services::students;
use crate::services::subjects;

/// Commits the field's transaction and answers `value`.
async fn commit<T>(tx: TenantTx, value: T) -> ApiResult<T> {
    tx.commit().await?;
    Ok(value)
}

/// Students, teachers, subjects, the calendar, classes, grades and attendance.
#[derive(Debug, Default)]
pub struct RosterMutation;

#[Object]
impl RosterMutation {
    /// Adds a student.
    async fn create_student(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The student.")] input: CreateStudentInput,
    ) -> ApiResult<Student> {
        let (tenant, tx) = scoped(ctx, Permission::StudentsWrite).await?;
        let row = students::create(&tx, &tenant.actor, input.into()).await?;
        commit(tx, Student(row)).await
    }

    /// Changes a student.
    async fn update_student(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The student's id.")] id: Uuid,
        #[graphql(desc = "The changes.")] input: UpdateStudentInput,
    ) -> ApiResult<Student> {
        let (tenant, tx) = scoped(ctx, Permission::StudentsWrite).await?;
        let row = students::update(&tx, &tenant.actor, StudentId(id), input.into()).await?;
        commit(tx, Student(row)).await
    }

    /// Deletes a student: marks the record TO_BE_DELETED, or with `hard: true` removes it and
    /// every record of it for good.
    async fn delete_student(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The student's id.")] id: Uuid,
        #[graphql(
            desc = "Remove the record and its grades, attendance and other records for good.",
            default = false
        )]
        hard: bool,
    ) -> ApiResult<bool> {
        let (tenant, tx) = scoped(ctx, Permission::StudentsWrite).await?;
        students::delete(&tx, &tenant.actor, StudentId(id), hard).await?;
        commit(tx, true).await
    }

    /// Adds a teacher.
    async fn create_teacher(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The teacher.")] input: CreateTeacherInput,
    ) -> ApiResult<Teacher> {
        let (tenant, tx) = scoped(ctx, Permission::StudentsWrite).await?;
        let row = staff::create(&tx, &tenant.actor, input.into()).await?;
        commit(tx, Teacher(row)).await
    }

    /// Adds a subject.
    async fn create_subject(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The subject.")] input: CreateSubjectInput,
    ) -> ApiResult<Subject> {
        let (tenant, tx) = scoped(ctx, Permission::StudentsWrite).await?;
        let row = subjects::create(&tx, &tenant.actor, input.into()).await?;
        commit(tx, Subject(row)).await
    }

    /// Adds an academic year.
    async fn create_academic_year(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The year.")] input: CreateAcademicYearInput,
    ) -> ApiResult<AcademicYear> {
        let (tenant, tx) = scoped(ctx, Permission::StudentsWrite).await?;
        let row = calendar::create_year(&tx, &tenant.actor, input.into()).await?;
        commit(tx, AcademicYear(row)).await
    }

    /// Adds a term to an academic year.
    async fn create_term(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The term.")] input: CreateTermInput,
    ) -> ApiResult<Term> {
        let (tenant, tx) = scoped(ctx, Permission::StudentsWrite).await?;
        let row = calendar::create_term(&tx, &tenant.actor, input.into()).await?;
        commit(tx, Term(row)).await
    }

    /// Adds a class, with its teachers.
    async fn create_class(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The class.")] input: CreateClassInput,
    ) -> ApiResult<Class> {
        let (tenant, tx) = scoped(ctx, Permission::StudentsWrite).await?;
        let row = classes::create(&tx, &tenant.actor, input.into()).await?;
        commit(tx, Class(row)).await
    }

    /// Records a grade.
    async fn record_grade(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The grade.")] input: RecordGradeInput,
    ) -> ApiResult<Grade> {
        let (tenant, tx) = scoped(ctx, Permission::GradesWrite).await?;
        let row = grades::record(&tx, &tenant.actor, input.into()).await?;
        commit(tx, Grade(row)).await
    }

    /// Records attendance: one record per student, date and period (recording again replaces
    /// the status).
    async fn record_attendance(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The record.")] input: RecordAttendanceInput,
    ) -> ApiResult<AttendanceRecord> {
        let (tenant, tx) = scoped(ctx, Permission::AttendanceWrite).await?;
        let (slot, mark) = input.into_parts();
        let row = attendance::record(&tx, &tenant.actor, slot, mark).await?;
        commit(tx, AttendanceRecord(row)).await
    }
}

/// Deleting a school's data.
#[derive(Debug, Default)]
pub struct ResetMutation;

#[Object]
impl ResetMutation {
    /// Deletes every record of the active school — roster, calendar, grades, attendance,
    /// discipline, health, imports, models — in one transaction. Users, memberships, the
    /// school's configuration and its audit log stay; other schools are never touched. Admins
    /// only; `confirmSlug` must be the school's slug. Returns how many rows were deleted.
    async fn reset_school_data(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The active school's slug, typed again to confirm.")] confirm_slug: String,
    ) -> ApiResult<u64> {
        let tenant = crate::graphql::context::require(ctx, Permission::DataReset).await?;
        if confirm_slug.trim() != tenant.school.slug {
            return Err(ApiError::bad_field(
                "confirmSlug",
                "does not match the active school's slug",
            ));
        }
        // One transaction for the platform links and the school's rows: all or nothing.
        let outer = entity::writer::begin_write(&crate::graphql::context::state(ctx)?.db).await?;
        crate::platform::unlink_teachers(&*outer, tenant.school_id()).await?;
        let tx = TenantTx::nested(&outer, tenant.school_id()).await?;
        let rows = crate::services::reset::reset_school_data(&tx).await?;
        audit::write(
            &tx,
            Some(&tenant.actor),
            audit::Entry::new("school.reset").details(json!({ "rows": rows })),
        )
        .await?;
        tx.commit().await?;
        outer.commit().await?;
        Ok(rows)
    }
}

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
        let (tenant, tx) = scoped(ctx, Permission::StudentsWrite).await?;
        let row = guardians::create(&tx, &tenant.actor, input.into()).await?;
        commit(tx, Guardian(row)).await
    }

    /// Enrolls a student in a class.
    async fn enroll_student(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The class.")] class_id: Uuid,
        #[graphql(desc = "The student.")] student_id: Uuid,
    ) -> ApiResult<Enrollment> {
        let (tenant, tx) = scoped(ctx, Permission::StudentsWrite).await?;
        let (class, student) = (ClassId(class_id), StudentId(student_id));
        let row = classes::enroll(&tx, &tenant.actor, class, student).await?;
        commit(tx, Enrollment(row)).await
    }

    /// Records a discipline incident.
    async fn record_incident(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The incident.")] input: RecordIncidentInput,
    ) -> ApiResult<Incident> {
        let (tenant, tx) = scoped(ctx, Permission::IncidentsWrite).await?;
        let row = records::record_incident(&tx, &tenant.actor, input.into()).await?;
        commit(tx, Incident(row)).await
    }

    /// Adds a health record (needs `health:read`, the right to see them).
    async fn record_health_record(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The record.")] input: RecordHealthRecordInput,
    ) -> ApiResult<HealthRecord> {
        let (tenant, tx) = scoped(ctx, Permission::HealthRead).await?;
        let row = records::record_health(&tx, &tenant.actor, input.into()).await?;
        commit(tx, HealthRecord(row)).await
    }
}

/// Staff, class, subject and calendar changes, and roll calls.
#[derive(Debug, Default)]
pub struct ManageMutation;

#[Object]
impl ManageMutation {
    /// Changes a teacher.
    async fn update_teacher(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The teacher's id.")] id: Uuid,
        #[graphql(desc = "The changes.")] input: UpdateTeacherInput,
    ) -> ApiResult<Teacher> {
        let (tenant, tx) = scoped(ctx, Permission::StudentsWrite).await?;
        let row = staff::update(&tx, &tenant.actor, TeacherId(id), input.into()).await?;
        commit(tx, Teacher(row)).await
    }

    /// Removes a teacher who no longer has classes, grades or other records.
    async fn delete_teacher(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The teacher's id.")] id: Uuid,
    ) -> ApiResult<bool> {
        let (tenant, tx) = scoped(ctx, Permission::StudentsWrite).await?;
        staff::delete(&tx, &tenant.actor, TeacherId(id)).await?;
        commit(tx, true).await
    }

    /// Changes a class.
    async fn update_class(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The class's id.")] id: Uuid,
        #[graphql(desc = "The changes.")] input: UpdateClassInput,
    ) -> ApiResult<Class> {
        let (tenant, tx) = scoped(ctx, Permission::StudentsWrite).await?;
        let row = classes::update(&tx, &tenant.actor, ClassId(id), input.into()).await?;
        commit(tx, Class(row)).await
    }

    /// Removes a class that no student, grade or record refers to any more.
    async fn delete_class(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The class's id.")] id: Uuid,
    ) -> ApiResult<bool> {
        let (tenant, tx) = scoped(ctx, Permission::StudentsWrite).await?;
        classes::delete(&tx, &tenant.actor, ClassId(id)).await?;
        commit(tx, true).await
    }

    /// Changes a subject.
    async fn update_subject(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The subject's id.")] id: Uuid,
        #[graphql(desc = "The changes.")] input: UpdateSubjectInput,
    ) -> ApiResult<Subject> {
        let (tenant, tx) = scoped(ctx, Permission::StudentsWrite).await?;
        let row = subjects::update(&tx, &tenant.actor, SubjectId(id), input.into()).await?;
        commit(tx, Subject(row)).await
    }

    /// Removes a subject that no class or grade refers to.
    async fn delete_subject(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The subject's id.")] id: Uuid,
    ) -> ApiResult<bool> {
        let (tenant, tx) = scoped(ctx, Permission::StudentsWrite).await?;
        subjects::delete(&tx, &tenant.actor, SubjectId(id)).await?;
        commit(tx, true).await
    }

    /// Removes a term that no grade or assessment refers to.
    async fn delete_term(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The term's id.")] id: Uuid,
    ) -> ApiResult<bool> {
        let (tenant, tx) = scoped(ctx, Permission::StudentsWrite).await?;
        calendar::delete_term(&tx, &tenant.actor, TermId(id)).await?;
        commit(tx, true).await
    }

    /// Removes an academic year (with its terms) that no class refers to.
    async fn delete_academic_year(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The year's id.")] id: Uuid,
    ) -> ApiResult<bool> {
        let (tenant, tx) = scoped(ctx, Permission::StudentsWrite).await?;
        calendar::delete_year(&tx, &tenant.actor, AcademicYearId(id)).await?;
        commit(tx, true).await
    }

    /// Removes a guardian and their links to students.
    async fn delete_guardian(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The guardian's id.")] id: Uuid,
    ) -> ApiResult<bool> {
        let (tenant, tx) = scoped(ctx, Permission::StudentsWrite).await?;
        guardians::delete(&tx, &tenant.actor, GuardianId(id)).await?;
        commit(tx, true).await
    }

    /// Ends a student's enrollment in a class (removes it).
    async fn delete_enrollment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The enrollment's id.")] id: Uuid,
    ) -> ApiResult<bool> {
        let (tenant, tx) = scoped(ctx, Permission::StudentsWrite).await?;
        classes::delete_enrollment(&tx, &tenant.actor, EnrollmentId(id)).await?;
        commit(tx, true).await
    }

    /// Changes a term's name or dates (which must stay inside its academic year).
    async fn update_term(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The term's id.")] id: Uuid,
        #[graphql(desc = "The changes.")] input: UpdateTermInput,
    ) -> ApiResult<Term> {
        let (tenant, tx) = scoped(ctx, Permission::StudentsWrite).await?;
        let row = calendar::update_term(&tx, &tenant.actor, TermId(id), input.into()).await?;
        commit(tx, Term(row)).await
    }

    /// Takes a roll call: sets many students' attendance for one date and period in one
    /// transaction (all or nothing). Recording a student again replaces their status.
    async fn record_attendance_batch(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The roll call.")] input: RecordAttendanceBatchInput,
    ) -> ApiResult<Vec<AttendanceRecord>> {
        let (tenant, tx) = scoped(ctx, Permission::AttendanceWrite).await?;
        let (slot, marks) = input.into_parts();
        let rows = attendance::record_roll_call(&tx, &tenant.actor, slot, marks).await?;
        commit(tx, rows.into_iter().map(AttendanceRecord).collect()).await
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
        let (tenant, tx) = scoped(ctx, Permission::GradesWrite).await?;
        let row = grades::create_assessment(&tx, &tenant.actor, input.into()).await?;
        commit(tx, Assessment(row)).await
    }

    /// Adds a line to a student's history.
    async fn add_academic_history(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The line.")] input: AddAcademicHistoryInput,
    ) -> ApiResult<AcademicHistory> {
        let (tenant, tx) = scoped(ctx, Permission::StudentsWrite).await?;
        let row = records::add_history(&tx, &tenant.actor, input.into()).await?;
        commit(tx, AcademicHistory(row)).await
    }
}

/// Guardian, enrollment and academic-year changes.
#[derive(Debug, Default)]
pub struct UpdatesMutation;

#[Object]
impl UpdatesMutation {
    /// Changes a guardian and, when `studentIds` is given, which students they belong to.
    async fn update_guardian(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The guardian's id.")] id: Uuid,
        #[graphql(desc = "The changes.")] input: UpdateGuardianInput,
    ) -> ApiResult<Guardian> {
        let (tenant, tx) = scoped(ctx, Permission::StudentsWrite).await?;
        let row = guardians::update(&tx, &tenant.actor, GuardianId(id), input.into()).await?;
        commit(tx, Guardian(row)).await
    }

    /// Changes the dates of a student's enrollment in a class.
    async fn update_enrollment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The enrollment's id.")] id: Uuid,
        #[graphql(desc = "The changes.")] input: UpdateEnrollmentInput,
    ) -> ApiResult<Enrollment> {
        let (tenant, tx) = scoped(ctx, Permission::StudentsWrite).await?;
        let dates = (input.begin_date.map(|d| d.0), input.end_date.map(|d| d.0));
        let row = classes::update_enrollment(&tx, &tenant.actor, EnrollmentId(id), dates).await?;
        commit(tx, Enrollment(row)).await
    }

    /// Changes an academic year's name, dates or whether it is the current one. Its terms must
    /// stay inside its dates.
    async fn update_academic_year(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The year's id.")] id: Uuid,
        #[graphql(desc = "The changes.")] input: UpdateAcademicYearInput,
    ) -> ApiResult<AcademicYear> {
        let (tenant, tx) = scoped(ctx, Permission::StudentsWrite).await?;
        let id = AcademicYearId(id);
        let row = calendar::update_year(&tx, &tenant.actor, id, input.into()).await?;
        commit(tx, AcademicYear(row)).await
    }
}
