//! enrollments.csv → enrollments (students) and class teachers (teachers).

use std::collections::HashMap;

use entity::class_teacher;
use entity::enrollment;
use entity::enums::RecordStatus;
use entity::ids::ClassId;
use entity::ids::ClassTeacherId;
use entity::ids::EnrollmentId;
use sea_orm::DbErr;

use super::Run;
use super::index::Index;
use super::index::external_id;
use super::sheet::Sheet;
use crate::imports::RowAction;

/// The enrollments file while it is checked, with the school's enrollments and class teachers.
struct Enrollments<'a> {
    sheet: Sheet<'a>,
    seen: HashMap<String, usize>,
    /// `class/student` and `class/teacher` keys of the file, by the row that has them.
    keys: HashMap<String, usize>,
    enrollments: Index<enrollment::Model>,
    class_teachers: Index<class_teacher::Model>,
}

/// Enrollments → enrollments (students) and class teachers (teachers).
pub(super) async fn check(run: &mut Run<'_>) -> Result<(), DbErr> {
    let tx = run.tx;
    let enrollments = Index::new(
        tx.all(tx.find::<enrollment::Entity>()).await?,
        |m| m.id.to_string(),
        |m| m.external_id.as_deref(),
        |m| Some(format!("{}/{}", m.class_id, m.student_id)),
    );
    let class_teachers = Index::new(
        tx.all(tx.find::<class_teacher::Entity>()).await?,
        |m| m.id.to_string(),
        |_| None,
        |m| Some(format!("{}/{}", m.class_id, m.teacher_id)),
    );
    let mut file = Enrollments {
        sheet: Sheet::new(run.source, "enrollments.csv"),
        seen: HashMap::new(),
        keys: HashMap::new(),
        enrollments,
        class_teachers,
    };
    for i in 0..file.sheet.height() {
        file.row(run, i);
    }
    run.done(file.sheet);
    Ok(())
}

impl Enrollments<'_> {
    /// One enrollment row (another school's, and other roles than student and teacher, are
    /// skipped).
    fn row(&mut self, run: &mut Run<'_>, i: usize) {
        let role = self.sheet.cell("role", i);
        if self.sheet.cell("schoolSourcedId", i) != Some(run.org.as_str())
            || !matches!(role, Some("student" | "teacher"))
        {
            self.sheet.act(i, RowAction::Skipped);
            return;
        }
        let Some(sourced) = self.sheet.sourced_id(i, &mut self.seen) else {
            return;
        };
        let class = self
            .sheet
            .required(i, "classSourcedId")
            .and_then(|c| run.classes.get(c).map(|(id, _, _)| *id));
        if class.is_none()
            && let Some(c) = self.sheet.cell("classSourcedId", i)
        {
            self.sheet.bad(
                i,
                "classSourcedId",
                "UNKNOWN_REFERENCE",
                format!("{c} is no valid class of this package or school"),
            );
        }
        let user = self.sheet.required(i, "userSourcedId");
        if role == Some("student") {
            self.student(run, i, (sourced, class, user));
        } else {
            self.teacher(run, i, (sourced, class, user));
        }
    }

    /// A student's enrollment in a class: the row's sourcedId, class and user.
    fn student(
        &mut self,
        run: &mut Run<'_>,
        i: usize,
        (sourced, class, user): (String, Option<ClassId>, Option<&str>),
    ) {
        let now = run.now;
        let student = user.and_then(|u| run.students.get(u).copied());
        if student.is_none()
            && let Some(u) = user
        {
            self.sheet.bad(
                i,
                "userSourcedId",
                "UNKNOWN_REFERENCE",
                format!("{u} is no valid student of this package or school"),
            );
        }
        let begin = self.sheet.date(i, "beginDate");
        let end = self.sheet.date(i, "endDate");
        let (Some(class), Some(student), Some(begin), Some(end)) = (class, student, begin, end)
        else {
            return;
        };
        if let (Some(b), Some(e)) = (begin, end)
            && e < b
        {
            self.sheet
                .bad(i, "endDate", "INVALID_RANGE", "ends before it begins");
            return;
        }
        let key = format!("{class}/{student}");
        if let Some(first) = self.keys.insert(key.clone(), i) {
            self.sheet.bad(
                i,
                "userSourcedId",
                "DUPLICATE_ROW",
                format!(
                    "row {} enrols the same student in the same class",
                    first + 2
                ),
            );
            return;
        }
        if self.sheet.deleted(i) {
            let action = run
                .plan
                .enrollments
                .retire(&self.enrollments, &sourced, now);
            self.sheet.act(i, action);
            return;
        }
        let Ok(current) = self.enrollments.find(&sourced, Some(&key)) else {
            self.sheet.bad(
                i,
                "sourcedId",
                "CONFLICT",
                "names another enrollment of this school",
            );
            return;
        };
        let next = enrollment::Model {
            school_id: run.tx.school_id(),
            id: current.map_or_else(EnrollmentId::generate, |c| c.id),
            created_at: current.map_or(now, |c| c.created_at),
            updated_at: current.map_or(now, |c| c.updated_at),
            external_id: external_id(current, &sourced),
            status: RecordStatus::Active,
            class_id: class,
            student_id: student,
            begin_date: begin,
            end_date: end,
        };
        let action = run
            .plan
            .enrollments
            .decide(current, next, |m| m.updated_at = now);
        self.sheet.act(i, action);
    }

    /// A teacher of a class: the row's sourcedId, class and user.
    fn teacher(
        &mut self,
        run: &mut Run<'_>,
        i: usize,
        (sourced, class, user): (String, Option<ClassId>, Option<&str>),
    ) {
        let now = run.now;
        let teacher = user.and_then(|u| run.teachers.get(u).copied());
        if teacher.is_none()
            && let Some(u) = user
        {
            self.sheet.bad(
                i,
                "userSourcedId",
                "UNKNOWN_REFERENCE",
                format!("{u} is no valid teacher of this package or school"),
            );
        }
        let (Some(class), Some(teacher)) = (class, teacher) else {
            return;
        };
        let key = format!("{class}/{teacher}");
        if let Some(first) = self.keys.insert(key.clone(), i) {
            self.sheet.bad(
                i,
                "userSourcedId",
                "DUPLICATE_ROW",
                format!("row {} names the same teacher of the same class", first + 2),
            );
            return;
        }
        if self.sheet.deleted(i) {
            self.sheet.act(i, RowAction::Skipped);
            return;
        }
        let current = self
            .class_teachers
            .find(&sourced, Some(&key))
            .ok()
            .flatten();
        let role = if self.sheet.cell("primary", i) == Some("false") {
            "SECONDARY"
        } else {
            "PRIMARY"
        };
        let next = class_teacher::Model {
            school_id: run.tx.school_id(),
            id: current.map_or_else(ClassTeacherId::generate, |c| c.id),
            created_at: current.map_or(now, |c| c.created_at),
            updated_at: current.map_or(now, |c| c.updated_at),
            class_id: class,
            teacher_id: teacher,
            role: role.to_owned(),
        };
        let action = run
            .plan
            .class_teachers
            .decide(current, next, |m| m.updated_at = now);
        self.sheet.act(i, action);
    }
}
