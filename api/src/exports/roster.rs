//! users.csv, roles.csv and demographics.csv (students, teachers, guardians), and
//! enrollments.csv (students' enrollments and classes' teachers).

use std::collections::HashMap;

use entity::student_guardian;

use super::{
    Files, Ids, Records,
    csv::{Csv, add, grade_code, name, opt, sourced},
};

/// users.csv, roles.csv and demographics.csv while they are written.
struct People<'a> {
    users: Csv,
    roles: Csv,
    demographics: Csv,
    org_id: &'a str,
}

impl People<'_> {
    /// The user's role at the school.
    fn role(&mut self, user: &str, role: &str) {
        self.roles.push(vec![
            format!("{user}.role"),
            String::new(),
            String::new(),
            user.to_owned(),
            "primary".into(),
            role.to_owned(),
            String::new(),
            String::new(),
            self.org_id.into(),
            String::new(),
        ]);
    }
}

/// Students, teachers and guardians as users, each with a role (and a student's demographics).
pub(super) fn users(files: &mut Files, records: &Records, ids: &Ids, org_id: &str) {
    let mut people = People {
        users: Csv::new(&[
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
        ]),
        roles: Csv::new(&[
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
        ]),
        demographics: Csv::new(&[
            "sourcedId",
            "status",
            "dateLastModified",
            "birthDate",
            "sex",
        ]),
        org_id,
    };
    students(&mut people, records, ids);
    teachers(&mut people, records, ids);
    guardians(&mut people, records, ids);
    add(files, "users.csv", people.users);
    add(files, "roles.csv", people.roles);
    add(files, "demographics.csv", people.demographics);
}

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

/// Students, with their guardians (by sourcedId) and demographics.
fn students(people: &mut People<'_>, records: &Records, ids: &Ids) {
    let mut links_of: HashMap<_, Vec<&student_guardian::Model>> = HashMap::new();
    for l in &records.links {
        links_of.entry(l.student_id).or_default().push(l);
    }
    for s in &records.students {
        let id = name(&ids.students, s.id);
        let mut own = links_of.get(&s.id).cloned().unwrap_or_default();
        own.sort_by_key(|l| name(&ids.guardians, l.guardian_id));
        let agents: Vec<String> = own
            .iter()
            .map(|l| name(&ids.guardians, l.guardian_id))
            .collect();
        let primaries: Vec<String> = own
            .iter()
            .filter(|l| l.is_primary)
            .map(|l| name(&ids.guardians, l.guardian_id))
            .collect();
        people.users.push(user(
            id.clone(),
            Some(&s.student_tz),
            &s.first_name,
            &s.last_name,
            s.email.as_ref(),
            None,
            agents.join(","),
            grade_code(s.grade_level),
            [
                s.class_id
                    .map(|c| name(&ids.classes, c))
                    .unwrap_or_default(),
                primaries.join(","),
                String::new(),
            ],
            people.org_id,
        ));
        people.role(&id, "student");
        if s.birth_date.is_some() || s.gender.is_some() {
            people.demographics.push(vec![
                id,
                String::new(),
                String::new(),
                opt(s.birth_date),
                opt(s.gender.as_ref().map(|g| g.to_lowercase())),
            ]);
        }
    }
}

/// Teachers.
fn teachers(people: &mut People<'_>, records: &Records, ids: &Ids) {
    for t in &records.teachers {
        let id = name(&ids.teachers, t.id);
        people.users.push(user(
            id.clone(),
            None,
            &t.first_name,
            &t.last_name,
            t.email.as_ref(),
            t.phone.as_ref(),
            String::new(),
            String::new(),
            Default::default(),
            people.org_id,
        ));
        people.role(&id, "teacher");
    }
}

/// Guardians, each with the relationship of their first link to a student.
fn guardians(people: &mut People<'_>, records: &Records, ids: &Ids) {
    let mut relationship_of: HashMap<_, Option<String>> = HashMap::new();
    for l in &records.links {
        relationship_of
            .entry(l.guardian_id)
            .or_insert_with(|| l.relationship.clone());
    }
    for g in &records.guardians {
        let id = name(&ids.guardians, g.id);
        people.users.push(user(
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
            people.org_id,
        ));
        people.role(&id, "guardian");
    }
}

/// Students' enrollments and classes' teachers.
pub(super) fn enrollments(files: &mut Files, records: &Records, ids: &Ids, org_id: &str) {
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
    for e in &records.enrollments {
        enrollment_rows.push(vec![
            sourced(&e.external_id, e.id),
            String::new(),
            String::new(),
            name(&ids.classes, e.class_id),
            org_id.into(),
            name(&ids.students, e.student_id),
            "student".into(),
            String::new(),
            opt(e.begin_date),
            opt(e.end_date),
        ]);
    }
    for t in &records.class_teachers {
        let (class, teacher) = (
            name(&ids.classes, t.class_id),
            name(&ids.teachers, t.teacher_id),
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
    add(files, "enrollments.csv", enrollment_rows);
}
