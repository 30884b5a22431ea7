//! orgs.csv (the school) and academicSessions.csv (school years and terms).

use super::{
    Files, Ids, Records,
    csv::{Csv, add, sourced},
};

/// The school's org: its sourcedId and name.
pub(super) fn orgs(files: &mut Files, (org_id, org_name): (&str, &str)) {
    let mut orgs = Csv::new(&[
        "sourcedId",
        "status",
        "dateLastModified",
        "name",
        "type",
        "identifier",
        "parentSourcedId",
    ]);
    orgs.push(vec![
        org_id.into(),
        String::new(),
        String::new(),
        org_name.into(),
        "school".into(),
        String::new(),
        String::new(),
    ]);
    add(files, "orgs.csv", orgs);
}

/// School years, then terms (each under its year).
pub(super) fn academic_sessions(files: &mut Files, records: &Records, ids: &Ids) {
    let mut sessions = Csv::new(&[
        "sourcedId",
        "status",
        "dateLastModified",
        "title",
        "type",
        "startDate",
        "endDate",
        "parentSourcedId",
        "schoolYear",
        "metadata.sds.isCurrent",
    ]);
    for y in &records.years {
        sessions.push(vec![
            sourced(&y.external_id, y.id),
            String::new(),
            String::new(),
            y.name.clone(),
            "schoolYear".into(),
            y.start_date.to_string(),
            y.end_date.to_string(),
            String::new(),
            chrono::Datelike::year(&y.end_date).to_string(),
            y.is_current.to_string(),
        ]);
    }
    for t in &records.terms {
        let (parent, end) = ids
            .years
            .get(&t.academic_year_id)
            .cloned()
            .unwrap_or_else(|| (String::new(), t.end_date));
        sessions.push(vec![
            sourced(&t.external_id, t.id),
            String::new(),
            String::new(),
            t.name.clone(),
            "term".into(),
            t.start_date.to_string(),
            t.end_date.to_string(),
            parent,
            chrono::Datelike::year(&end).to_string(),
            String::new(),
        ]);
    }
    add(files, "academicSessions.csv", sessions);
}
