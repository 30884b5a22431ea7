//! Exporting a school as a OneRoster 1.2 bulk CSV package, which [`super::oneroster`] reads
//! back losslessly. Records are named by their external id (the sourcedId they came with), else
//! by our id; rows are sorted by sourcedId, so the same data gives the same files. Facts
//! OneRoster has no column for travel in `metadata.sds.*` columns.

use std::{
    collections::{BTreeMap, HashMap},
    io::{Cursor, Write},
};

use entity::{
    academic_year, assessment, class, class_teacher, enrollment, enums::GradeCategory, grade,
    guardian, student, student_guardian, subject, teacher, tenant::TenantTx, term,
};
use sea_orm::DbErr;

use super::oneroster::HOMEROOM_COURSE;

/// One CSV file: its header and rows.
struct Csv {
    header: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Csv {
    fn new(header: &[&'static str]) -> Self {
        Self {
            header: header.to_vec(),
            rows: Vec::new(),
        }
    }

    fn push(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }

    fn render(mut self) -> Vec<u8> {
        self.rows.sort();
        let mut out = String::new();
        line(&mut out, self.header.iter().map(|h| (*h).to_owned()));
        for row in self.rows {
            line(&mut out, row.into_iter());
        }
        out.into_bytes()
    }
}

/// Adds a file with rows (OneRoster allows no file that has only its header).
fn add(files: &mut BTreeMap<&'static str, Vec<u8>>, name: &'static str, csv: Csv) {
    if !csv.rows.is_empty() {
        files.insert(name, csv.render());
    }
}

/// One RFC 4180 line: fields with a comma, quote or line break are quoted.
fn line(out: &mut String, fields: impl Iterator<Item = String>) {
    for (n, field) in fields.enumerate() {
        if n > 0 {
            out.push(',');
        }
        if field.contains([',', '"', '\n', '\r']) {
            out.push('"');
            out.push_str(&field.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(&field);
        }
    }
    out.push_str("\r\n");
}

fn sourced(external: &Option<String>, id: impl ToString) -> String {
    external.clone().unwrap_or_else(|| id.to_string())
}

/// The sourcedId of record `id` in `map`.
fn name<K: std::hash::Hash + Eq>(map: &HashMap<K, String>, id: K) -> String {
    map.get(&id).cloned().unwrap_or_default()
}

fn opt(value: Option<impl ToString>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

fn category(c: GradeCategory) -> &'static str {
    match c {
        GradeCategory::Exam => "exam",
        GradeCategory::Quiz => "quiz",
        GradeCategory::Homework => "homework",
        GradeCategory::Project => "project",
        GradeCategory::Final => "final",
    }
}

fn grade_code(level: Option<i32>) -> String {
    level.map(|g| format!("{g:02}")).unwrap_or_default()
}

/// The school's roster and gradebook as a OneRoster 1.2 bulk zip; `org` is the school's org
/// (its sourcedId and name).
pub async fn package(tx: &TenantTx, org: (&str, &str)) -> Result<Vec<u8>, DbErr> {
    let (org_id, org_name) = org;
    let years = tx.all(tx.find::<academic_year::Entity>()).await?;
    let terms = tx.all(tx.find::<term::Entity>()).await?;
    let subjects = tx.all(tx.find::<subject::Entity>()).await?;
    let classes = tx.all(tx.find::<class::Entity>()).await?;
    let students = tx.all(tx.find::<student::Entity>()).await?;
    let teachers = tx.all(tx.find::<teacher::Entity>()).await?;
    let guardians = tx.all(tx.find::<guardian::Entity>()).await?;
    let links = tx.all(tx.find::<student_guardian::Entity>()).await?;
    let enrollments = tx.all(tx.find::<enrollment::Entity>()).await?;
    let class_teachers = tx.all(tx.find::<class_teacher::Entity>()).await?;
    let assessments = tx.all(tx.find::<assessment::Entity>()).await?;
    let grades = tx.all(tx.find::<grade::Entity>()).await?;

    let year_ids: HashMap<_, _> = years
        .iter()
        .map(|y| (y.id, (sourced(&y.external_id, y.id), y.end_date)))
        .collect();
    let term_ids: HashMap<_, _> = terms
        .iter()
        .map(|t| (t.id, sourced(&t.external_id, t.id)))
        .collect();
    let subject_ids: HashMap<_, _> = subjects
        .iter()
        .map(|s| (s.id, sourced(&s.external_id, s.id)))
        .collect();
    let class_ids: HashMap<_, _> = classes
        .iter()
        .map(|c| (c.id, sourced(&c.external_id, c.id)))
        .collect();
    let student_ids: HashMap<_, _> = students
        .iter()
        .map(|s| (s.id, sourced(&s.external_id, s.id)))
        .collect();
    let teacher_ids: HashMap<_, _> = teachers
        .iter()
        .map(|t| (t.id, sourced(&t.external_id, t.id)))
        .collect();
    let guardian_ids: HashMap<_, _> = guardians
        .iter()
        .map(|g| (g.id, sourced(&g.external_id, g.id)))
        .collect();

    let mut files: BTreeMap<&'static str, Vec<u8>> = BTreeMap::new();

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
    add(&mut files, "orgs.csv", orgs);

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
    for y in &years {
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
    for t in &terms {
        let (parent, end) = year_ids
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
    add(&mut files, "academicSessions.csv", sessions);

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
    for s in &subjects {
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
    if classes.iter().any(|c| c.subject_id.is_none()) {
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
    add(&mut files, "courses.csv", courses);

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
    for c in &classes {
        class_rows.push(vec![
            sourced(&c.external_id, c.id),
            String::new(),
            String::new(),
            c.name.clone(),
            grade_code(c.grade_level),
            c.subject_id
                .map_or_else(|| HOMEROOM_COURSE.to_owned(), |s| name(&subject_ids, s)),
            String::new(),
            match c.kind {
                entity::enums::ClassKind::Homeroom => "homeroom".into(),
                entity::enums::ClassKind::Scheduled => "scheduled".into(),
            },
            String::new(),
            org_id.into(),
            year_ids
                .get(&c.academic_year_id)
                .map(|(s, _)| s.clone())
                .unwrap_or_default(),
            String::new(),
            String::new(),
            String::new(),
        ]);
    }
    add(&mut files, "classes.csv", class_rows);

    let mut users = Csv::new(&[
        "sourcedId",
        "status",
        "dateLastModified",
        "enabledUser",
        "username",
        "userIds",
        "givenName",
        "familyName",
        "middleName",
        "identifier",
        "email",
        "sms",
        "phone",
        "agentSourcedIds",
        "grades",
        "password",
        "userMasterIdentifier",
        "preferredGivenName",
        "preferredMiddleName",
        "preferredFamilyName",
        "primaryOrgSourcedId",
        "pronouns",
        "metadata.sds.classSourcedId",
        "metadata.sds.primaryAgentSourcedIds",
        "metadata.sds.relationship",
    ]);
    let mut roles = Csv::new(&[
        "sourcedId",
        "status",
        "dateLastModified",
        "userSourcedId",
        "roleType",
        "role",
        "beginDate",
        "endDate",
        "orgSourcedId",
        "userProfileSourcedId",
    ]);
    let mut demographics = Csv::new(&[
        "sourcedId",
        "status",
        "dateLastModified",
        "birthDate",
        "sex",
    ]);
    let mut role = |user: &str, role: &str| {
        roles.push(vec![
            format!("{user}.role"),
            String::new(),
            String::new(),
            user.to_owned(),
            "primary".into(),
            role.to_owned(),
            String::new(),
            String::new(),
            org_id.into(),
            String::new(),
        ]);
    };
    #[allow(clippy::too_many_arguments)]
    fn user(
        id: String,
        tz: Option<&str>,
        first: &str,
        last: &str,
        email: Option<&String>,
        phone: Option<&String>,
        agents: String,
        grades: String,
        extra: [String; 3],
        org: &str,
    ) -> Vec<String> {
        let [class, primaries, relationship] = extra;
        vec![
            id.clone(),
            String::new(),
            String::new(),
            "true".into(),
            email.cloned().unwrap_or_else(|| id.clone()),
            tz.map(|tz| format!("{{tz:{tz}}}")).unwrap_or_default(),
            first.to_owned(),
            last.to_owned(),
            String::new(),
            String::new(),
            opt(email),
            String::new(),
            opt(phone),
            agents,
            grades,
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            org.to_owned(),
            String::new(),
            class,
            primaries,
            relationship,
        ]
    }
    let mut links_of: HashMap<_, Vec<&student_guardian::Model>> = HashMap::new();
    for l in &links {
        links_of.entry(l.student_id).or_default().push(l);
    }
    let mut relationship_of: HashMap<_, Option<String>> = HashMap::new();
    for l in &links {
        relationship_of
            .entry(l.guardian_id)
            .or_insert_with(|| l.relationship.clone());
    }
    for s in &students {
        let id = name(&student_ids, s.id);
        let mut own = links_of.get(&s.id).cloned().unwrap_or_default();
        own.sort_by_key(|l| name(&guardian_ids, l.guardian_id));
        let agents: Vec<String> = own
            .iter()
            .map(|l| name(&guardian_ids, l.guardian_id))
            .collect();
        let primaries: Vec<String> = own
            .iter()
            .filter(|l| l.is_primary)
            .map(|l| name(&guardian_ids, l.guardian_id))
            .collect();
        users.push(user(
            id.clone(),
            Some(&s.student_tz),
            &s.first_name,
            &s.last_name,
            s.email.as_ref(),
            None,
            agents.join(","),
            grade_code(s.grade_level),
            [
                s.class_id.map(|c| name(&class_ids, c)).unwrap_or_default(),
                primaries.join(","),
                String::new(),
            ],
            org_id,
        ));
        role(&id, "student");
        if s.birth_date.is_some() || s.gender.is_some() {
            demographics.push(vec![
                id,
                String::new(),
                String::new(),
                opt(s.birth_date),
                opt(s.gender.as_ref().map(|g| g.to_lowercase())),
            ]);
        }
    }
    for t in &teachers {
        let id = name(&teacher_ids, t.id);
        users.push(user(
            id.clone(),
            None,
            &t.first_name,
            &t.last_name,
            t.email.as_ref(),
            t.phone.as_ref(),
            String::new(),
            String::new(),
            Default::default(),
            org_id,
        ));
        role(&id, "teacher");
    }
    for g in &guardians {
        let id = name(&guardian_ids, g.id);
        users.push(user(
            id.clone(),
            g.guardian_tz.as_deref(),
            &g.first_name,
            &g.last_name,
            g.email.as_ref(),
            g.phone.as_ref(),
            String::new(),
            String::new(),
            [
                String::new(),
                String::new(),
                relationship_of
                    .get(&g.id)
                    .cloned()
                    .flatten()
                    .unwrap_or_default(),
            ],
            org_id,
        ));
        role(&id, "guardian");
    }
    add(&mut files, "users.csv", users);
    add(&mut files, "roles.csv", roles);
    add(&mut files, "demographics.csv", demographics);

    let mut enrollment_rows = Csv::new(&[
        "sourcedId",
        "status",
        "dateLastModified",
        "classSourcedId",
        "schoolSourcedId",
        "userSourcedId",
        "role",
        "primary",
        "beginDate",
        "endDate",
    ]);
    for e in &enrollments {
        enrollment_rows.push(vec![
            sourced(&e.external_id, e.id),
            String::new(),
            String::new(),
            name(&class_ids, e.class_id),
            org_id.into(),
            name(&student_ids, e.student_id),
            "student".into(),
            String::new(),
            opt(e.begin_date),
            opt(e.end_date),
        ]);
    }
    for t in &class_teachers {
        let (class, teacher) = (
            name(&class_ids, t.class_id),
            name(&teacher_ids, t.teacher_id),
        );
        enrollment_rows.push(vec![
            format!("{class}.{teacher}"),
            String::new(),
            String::new(),
            class,
            org_id.into(),
            teacher,
            "teacher".into(),
            (t.role == "PRIMARY").to_string(),
            String::new(),
            String::new(),
        ]);
    }
    add(&mut files, "enrollments.csv", enrollment_rows);

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
    add(&mut files, "categories.csv", categories);

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
    let assessment_ids: HashMap<_, _> = assessments
        .iter()
        .map(|a| (a.id, sourced(&a.external_id, a.id)))
        .collect();
    for a in &assessments {
        items.push(vec![
            name(&assessment_ids, a.id),
            String::new(),
            String::new(),
            a.title.clone(),
            String::new(),
            opt(a.assessment_date),
            opt(a.assessment_date),
            a.class_id.map(|c| name(&class_ids, c)).unwrap_or_default(),
            category(a.category).into(),
            name(&term_ids, a.term_id),
            "0".into(),
            a.max_score.to_string(),
            org_id.into(),
            name(&subject_ids, a.subject_id),
            String::new(),
        ]);
    }
    // Grades without an assessment hang on one line item of ours per subject and term.
    let virtual_item = |g: &grade::Model| {
        format!(
            "sds.grades.{}.{}",
            name(&subject_ids, g.subject_id),
            name(&term_ids, g.term_id)
        )
    };
    let mut virtual_items: BTreeMap<String, &grade::Model> = BTreeMap::new();
    for g in grades.iter().filter(|g| g.assessment_id.is_none()) {
        virtual_items.entry(virtual_item(g)).or_insert(g);
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
            name(&term_ids, g.term_id),
            "0".into(),
            "100".into(),
            org_id.into(),
            name(&subject_ids, g.subject_id),
            "true".into(),
        ]);
    }
    add(&mut files, "lineItems.csv", items);

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
    for g in &grades {
        results.push(vec![
            sourced(&g.external_id, g.id),
            String::new(),
            String::new(),
            g.assessment_id
                .map_or_else(|| virtual_item(g), |a| name(&assessment_ids, a)),
            name(&student_ids, g.student_id),
            "fully graded".into(),
            g.score.to_string(),
            g.graded_on.to_string(),
            opt(g.comment.as_ref()),
            String::new(),
            g.class_id.map(|c| name(&class_ids, c)).unwrap_or_default(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            g.is_final.to_string(),
            g.category.map(category).unwrap_or_default().into(),
            g.max_score.to_string(),
            g.teacher_id
                .map(|t| name(&teacher_ids, t))
                .unwrap_or_default(),
        ]);
    }
    add(&mut files, "results.csv", results);

    let mut manifest = Csv::new(&["propertyName", "value"]);
    manifest.push(vec!["manifest.version".into(), "1.0".into()]);
    manifest.push(vec!["oneroster.version".into(), "1.2".into()]);
    manifest.push(vec![
        "source.systemName".into(),
        "school data service".into(),
    ]);
    for name in super::package::FILES {
        let key = format!("file.{}", name.trim_end_matches(".csv"));
        let mode = if files.contains_key(name) {
            "bulk"
        } else {
            "absent"
        };
        manifest.push(vec![key, mode.into()]);
    }
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let zip_error = |e: zip::result::ZipError| DbErr::Custom(format!("the zip: {e}"));
    writer
        .start_file("manifest.csv", options)
        .map_err(zip_error)?;
    writer
        .write_all(&manifest.render())
        .map_err(|e| DbErr::Custom(e.to_string()))?;
    for (name, bytes) in files {
        writer.start_file(name, options).map_err(zip_error)?;
        writer
            .write_all(&bytes)
            .map_err(|e| DbErr::Custom(e.to_string()))?;
    }
    Ok(writer.finish().map_err(zip_error)?.into_inner())
}
