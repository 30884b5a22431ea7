//! courses.csv (subjects, and our homeroom course) and classes.csv.

use crate::imports::oneroster::HOMEROOM_COURSE;

use super::{
    Files, Ids, Records,
    csv::{Csv, add, grade_code, name, opt, sourced},
};

/// The school's subjects as courses, with our homeroom course when a class teaches no subject.
pub(super) fn courses(files: &mut Files, records: &Records, org_id: &str) {
    let mut courses = Csv::new(&[
        "sourcedId",
        "status",
        "dateLastModified",
        "schoolYearSourcedId",
        "title",
        "courseCode",
        "grades",
        "orgSourcedId",
        "subjects",
        "subjectCodes",
        "metadata.sds.homeroom",
    ]);
    for s in &records.subjects {
        courses.push(vec![
            sourced(&s.external_id, s.id),
            String::new(),
            String::new(),
            String::new(),
            s.name.clone(),
            opt(s.code.as_ref()),
            String::new(),
            org_id.into(),
            String::new(),
            String::new(),
            String::new(),
        ]);
    }
    if records.classes.iter().any(|c| c.subject_id.is_none()) {
        courses.push(vec![
            HOMEROOM_COURSE.into(),
            String::new(),
            String::new(),
            String::new(),
            "Homeroom".into(),
            String::new(),
            String::new(),
            org_id.into(),
            String::new(),
            String::new(),
            "true".into(),
        ]);
    }
    add(files, "courses.csv", courses);
}

/// The school's classes, each in its school year.
pub(super) fn classes(files: &mut Files, records: &Records, ids: &Ids, org_id: &str) {
    let mut class_rows = Csv::new(&[
        "sourcedId",
        "status",
        "dateLastModified",
        "title",
        "grades",
        "courseSourcedId",
        "classCode",
        "classType",
        "location",
        "schoolSourcedId",
        "termSourcedIds",
        "subjects",
        "subjectCodes",
        "periods",
    ]);
    for c in &records.classes {
        class_rows.push(vec![
            sourced(&c.external_id, c.id),
            String::new(),
            String::new(),
            c.name.clone(),
            grade_code(c.grade_level),
            c.subject_id
                .map_or_else(|| HOMEROOM_COURSE.to_owned(), |s| name(&ids.subjects, s)),
            String::new(),
            match c.kind {
                entity::enums::ClassKind::Homeroom => "homeroom".into(),
                entity::enums::ClassKind::Scheduled => "scheduled".into(),
            },
            String::new(),
            org_id.into(),
            ids.years
                .get(&c.academic_year_id)
                .map(|(s, _)| s.clone())
                .unwrap_or_default(),
            String::new(),
            String::new(),
            String::new(),
        ]);
    }
    add(files, "classes.csv", class_rows);
}
