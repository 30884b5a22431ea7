//! categories.csv, lineItems.csv (assessments, and one virtual line item per subject and term
//! for grades without an assessment) and results.csv (grades).

use std::collections::BTreeMap;

use entity::{enums::GradeCategory, grade};

use super::{
    Files, Ids, Records,
    csv::{Csv, add, name, opt, sourced},
};

fn category(c: GradeCategory) -> &'static str {
    match c {
        GradeCategory::Exam => "exam",
        GradeCategory::Quiz => "quiz",
        GradeCategory::Homework => "homework",
        GradeCategory::Project => "project",
        GradeCategory::Final => "final",
    }
}

/// Grades without an assessment hang on one line item of ours per subject and term.
fn virtual_item(ids: &Ids, g: &grade::Model) -> String {
    format!(
        "sds.grades.{}.{}",
        name(&ids.subjects, g.subject_id),
        name(&ids.terms, g.term_id)
    )
}

/// Our grade categories.
pub(super) fn categories(files: &mut Files) {
    let mut categories = Csv::new(&["sourcedId", "status", "dateLastModified", "title", "weight"]);
    for c in ["exam", "quiz", "homework", "project", "final"] {
        categories.push(vec![
            c.into(),
            String::new(),
            String::new(),
            c.into(),
            String::new(),
        ]);
    }
    add(files, "categories.csv", categories);
}

/// Assessments, and the virtual line items of grades without an assessment.
pub(super) fn line_items(files: &mut Files, records: &Records, ids: &Ids, org_id: &str) {
    let mut items = Csv::new(&[
        "sourcedId",
        "status",
        "dateLastModified",
        "title",
        "description",
        "assignDate",
        "dueDate",
        "classSourcedId",
        "categorySourcedId",
        "academicSessionSourcedId",
        "resultValueMin",
        "resultValueMax",
        "schoolSourcedId",
        "metadata.sds.subjectSourcedId",
        "metadata.sds.virtual",
    ]);
    for a in &records.assessments {
        items.push(vec![
            name(&ids.assessments, a.id),
            String::new(),
            String::new(),
            a.title.clone(),
            String::new(),
            opt(a.assessment_date),
            opt(a.assessment_date),
            a.class_id
                .map(|c| name(&ids.classes, c))
                .unwrap_or_default(),
            category(a.category).into(),
            name(&ids.terms, a.term_id),
            "0".into(),
            a.max_score.to_string(),
            org_id.into(),
            name(&ids.subjects, a.subject_id),
            String::new(),
        ]);
    }
    // Grades without an assessment hang on one line item of ours per subject and term.
    let mut virtual_items: BTreeMap<String, &grade::Model> = BTreeMap::new();
    for g in records.grades.iter().filter(|g| g.assessment_id.is_none()) {
        virtual_items.entry(virtual_item(ids, g)).or_insert(g);
    }
    for (id, g) in &virtual_items {
        items.push(vec![
            id.clone(),
            String::new(),
            String::new(),
            "Grades without an assessment".into(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            name(&ids.terms, g.term_id),
            "0".into(),
            "100".into(),
            org_id.into(),
            name(&ids.subjects, g.subject_id),
            "true".into(),
        ]);
    }
    add(files, "lineItems.csv", items);
}

/// Grades, each on its assessment's line item or its subject and term's virtual one.
pub(super) fn results(files: &mut Files, records: &Records, ids: &Ids) {
    let mut results = Csv::new(&[
        "sourcedId",
        "status",
        "dateLastModified",
        "lineItemSourcedId",
        "studentSourcedId",
        "scoreStatus",
        "score",
        "scoreDate",
        "comment",
        "textScore",
        "classSourcedId",
        "inProgress",
        "incomplete",
        "late",
        "missing",
        "metadata.sds.isFinal",
        "metadata.sds.category",
        "metadata.sds.maxScore",
        "metadata.sds.teacherSourcedId",
    ]);
    for g in &records.grades {
        results.push(vec![
            sourced(&g.external_id, g.id),
            String::new(),
            String::new(),
            g.assessment_id
                .map_or_else(|| virtual_item(ids, g), |a| name(&ids.assessments, a)),
            name(&ids.students, g.student_id),
            "fully graded".into(),
            g.score.to_string(),
            g.graded_on.to_string(),
            opt(g.comment.as_ref()),
            String::new(),
            g.class_id
                .map(|c| name(&ids.classes, c))
                .unwrap_or_default(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            g.is_final.to_string(),
            g.category.map(category).unwrap_or_default().into(),
            g.max_score.to_string(),
            g.teacher_id
                .map(|t| name(&ids.teachers, t))
                .unwrap_or_default(),
        ]);
    }
    add(files, "results.csv", results);
}
