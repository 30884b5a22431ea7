//! users.csv (with roles.csv, demographics.csv and the homerooms of enrollments.csv) →
//! students, teachers and guardians.

use std::collections::HashMap;

use chrono::NaiveDate;
use entity::enums::ClassKind;
use entity::guardian;
use entity::ids::ClassId;
use entity::ids::GuardianId;
use entity::ids::StudentId;
use entity::ids::TeacherId;
use entity::student;
use entity::teacher;
use sea_orm::DbErr;

use super::Run;
use super::Source;
use super::guardians::Agents;
use super::guardians::Pending;
use super::index::Index;
use super::index::record;
use super::sheet::Sheet;
use super::sheet::grade_level;
use super::sheet::list;
use super::sheet::user_ids;
use crate::imports::RowAction;
use crate::imports::parse;
use crate::imports::table::header_key;
use crate::rules::Email;
use crate::rules::StudentTz;

/// A student's birth date and sex cells (each `None` when demographics.csv lacks the column).
type Demographics<'a> = (Option<Option<&'a str>>, Option<Option<&'a str>>);

/// What kind of person a user is at the school.
#[derive(Clone, Debug, PartialEq)]
enum Person {
    Student,
    Teacher,
    Guardian(String),
}

/// The users file while it is checked, with what it is checked against and what it leaves for
/// linking guardians.
struct Users<'a> {
    sheet: Sheet<'a>,
    seen: HashMap<String, usize>,
    /// The file's national ids, by the row that has them.
    tzs: HashMap<String, usize>,
    /// Each user's role at the school: (whether it is the primary role, the role).
    roles: HashMap<String, (bool, String)>,
    demographics: HashMap<String, Demographics<'a>>,
    homeroom_of: HashMap<String, ClassId>,
    students: Index<student::Model>,
    teachers: Index<teacher::Model>,
    guardian_index: Index<guardian::Model>,
    guardians: HashMap<String, (GuardianId, Option<String>)>,
    agents: Vec<Agents>,
}

/// The cells every kind of user has, checked.
struct User {
    sourced: String,
    first_name: String,
    last_name: String,
    email: Option<Option<String>>,
    phone: Option<Option<String>>,
    /// The national id, when valid.
    tz: Option<String>,
    /// The national id as the file has it, valid or not.
    tz_text: Option<String>,
    /// The field the national id was found in.
    tz_source: Option<&'static str>,
}

/// Users → students, teachers, guardians; what is left is linking students to their guardians.
pub(super) async fn check<'a>(run: &mut Run<'a>) -> Result<Pending<'a>, DbErr> {
    let source = run.source;
    let roles = roles(run);
    let demographics = demographics(source);
    let homeroom_of = homerooms(run);
    let tx = run.tx;
    let students = Index::new(
        tx.all(tx.find::<student::Entity>()).await?,
        |m| m.id.to_string(),
        |m| m.external_id.as_deref(),
        |m| Some(m.student_tz.clone()),
    );
    let teachers = Index::new(
        tx.all(tx.find::<teacher::Entity>()).await?,
        |m| m.id.to_string(),
        |m| m.external_id.as_deref(),
        |_| None,
    );
    let guardian_index = Index::new(
        tx.all(tx.find::<guardian::Entity>()).await?,
        |m| m.id.to_string(),
        |m| m.external_id.as_deref(),
        |m| m.guardian_tz.clone(),
    );
    run.students = students
        .models
        .iter()
        .map(|s| {
            (
                s.external_id.clone().unwrap_or_else(|| s.id.to_string()),
                s.id,
            )
        })
        .collect();
    run.teachers = teachers
        .models
        .iter()
        .map(|s| {
            (
                s.external_id.clone().unwrap_or_else(|| s.id.to_string()),
                s.id,
            )
        })
        .collect();
    let mut users = Users {
        sheet: Sheet::new(source, "users.csv"),
        seen: HashMap::new(),
        tzs: HashMap::new(),
        roles,
        demographics,
        homeroom_of,
        students,
        teachers,
        guardian_index,
        guardians: HashMap::new(),
        agents: Vec::new(),
    };
    for i in 0..users.sheet.height() {
        users.row(run, i);
    }
    Ok(Pending {
        sheet: users.sheet,
        guardians: users.guardians,
        index: users.guardian_index,
        agents: users.agents,
    })
}

/// Who is what at the school: roles.csv (1.2) or the user's own role (1.1).
fn roles(run: &Run<'_>) -> HashMap<String, (bool, String)> {
    let mut roles: HashMap<String, (bool, String)> = HashMap::new();
    let sheet = Sheet::new(run.source, "roles.csv");
    for i in 0..sheet.height() {
        let (Some(user), Some(role)) = (sheet.cell("userSourcedId", i), sheet.cell("role", i))
        else {
            continue;
        };
        if sheet.cell("orgSourcedId", i) != Some(run.org.as_str()) || sheet.deleted(i) {
            continue;
        }
        let primary = sheet.cell("roleType", i) == Some("primary");
        let entry = roles
            .entry(user.to_owned())
            .or_insert((primary, role.to_owned()));
        if primary && !entry.0 {
            *entry = (true, role.to_owned());
        }
    }
    roles
}

/// Each student's birth date and sex cells in demographics.csv, by sourcedId.
fn demographics(source: &Source) -> HashMap<String, Demographics<'_>> {
    let sheet = Sheet::new(source, "demographics.csv");
    (0..sheet.height())
        .filter_map(|i| {
            Some((
                sheet.cell("sourcedId", i)?.to_owned(),
                (sheet.field("birthDate", i), sheet.field("sex", i)),
            ))
        })
        .collect()
}

/// Homerooms by enrollment, for students whose class the file does not name otherwise.
fn homerooms(run: &Run<'_>) -> HashMap<String, ClassId> {
    let sheet = Sheet::new(run.source, "enrollments.csv");
    (0..sheet.height())
        .filter(|i| sheet.cell("role", *i) == Some("student") && !sheet.deleted(*i))
        .filter_map(|i| {
            let (class, kind, _) = run.classes.get(sheet.cell("classSourcedId", i)?)?;
            (*kind == ClassKind::Homeroom)
                .then(|| Some((sheet.cell("userSourcedId", i)?.to_owned(), *class)))
                .flatten()
        })
        .collect()
}

impl Users<'_> {
    /// One user row: a student, teacher or guardian of the school, else skipped.
    fn row(&mut self, run: &mut Run<'_>, i: usize) {
        let role = if run.source.version == "1.1" {
            let orgs = list(self.sheet.cell("orgSourcedIds", i));
            orgs.contains(&run.org.as_str())
                .then(|| self.sheet.cell("role", i).map(str::to_owned))
                .flatten()
        } else {
            self.sheet
                .cell("sourcedId", i)
                .and_then(|u| self.roles.get(u))
                .map(|(_, r)| r.clone())
        };
        let person = match role.as_deref() {
            Some("student") => Person::Student,
            Some("teacher") => Person::Teacher,
            Some(r @ ("guardian" | "parent" | "relative")) => Person::Guardian(r.to_owned()),
            // Administrators, aides, counsellors… and users of other orgs are not kept.
            _ => {
                self.sheet.act(i, RowAction::Skipped);
                return;
            }
        };
        let Some(sourced) = self.sheet.sourced_id(i, &mut self.seen) else {
            return;
        };
        if self.sheet.deleted(i) {
            let now = run.now;
            let action = match person {
                Person::Student => run.plan.students.retire(&self.students, &sourced, now),
                Person::Teacher => run.plan.teachers.retire(&self.teachers, &sourced, now),
                Person::Guardian(_) => {
                    run.plan
                        .guardians
                        .retire(&self.guardian_index, &sourced, now)
                }
            };
            self.sheet.act(i, action);
            return;
        }
        let Some(user) = self.user(i, sourced) else {
            return;
        };
        match person {
            Person::Student => self.student(run, i, user),
            Person::Teacher => self.teacher(run, i, user),
            Person::Guardian(role) => self.guardian(run, i, user, role),
        }
    }

    /// The cells every kind of user has; `None` when a name is missing or too long.
    fn user(&mut self, i: usize, sourced: String) -> Option<User> {
        let sheet = &mut self.sheet;
        let first_name = sheet.name(i, "givenName");
        let last_name = sheet.name(i, "familyName");
        let email = sheet.field("email", i).map(|e| {
            sheet
                .take(i, "email", Email::optional(e))
                .flatten()
                .map(Email::into_string)
        });
        let phone = sheet.field("phone", i).map(|p| p.map(str::to_owned));
        let (tz_text, tz_source) = national_id(sheet, i).unzip();
        let tz = tz_text.as_deref().and_then(|text| {
            sheet
                .take(i, "userIds", StudentTz::checked(text))
                .map(StudentTz::into_string)
        });
        if let Some(tz) = &tz
            && let Some(first) = self.tzs.insert(tz.clone(), i)
        {
            sheet.bad(
                i,
                "userIds",
                "DUPLICATE_ROW",
                format!("row {} has the same national id", first + 2),
            );
        }
        let (Some(first_name), Some(last_name)) = (first_name, last_name) else {
            return None;
        };
        Some(User {
            sourced,
            first_name,
            last_name,
            email,
            phone,
            tz,
            tz_text,
            tz_source,
        })
    }

    /// A student (who needs a national id), with the guardians the row names.
    fn student(&mut self, run: &mut Run<'_>, i: usize, user: User) {
        let now = run.now;
        let User {
            sourced,
            first_name,
            last_name,
            email,
            tz,
            tz_text,
            tz_source,
            ..
        } = user;
        let Some(tz) = tz else {
            if tz_text.is_none() {
                self.sheet.bad(
                    i,
                    "userIds",
                    "REQUIRED",
                    "a student needs a national id: {tz:123456782} in userIds, or a valid id in \
                     identifier",
                );
            }
            return;
        };
        if let Some(field) = tz_source {
            *run.id_sources.entry(field).or_default() += 1;
        }
        let Ok(current) = self.students.find(&sourced, Some(&tz)) else {
            self.sheet.bad(
                i,
                "userIds",
                "CONFLICT",
                "another student of this school has this national id",
            );
            return;
        };
        let grade = match list(self.sheet.cell("grades", i)).first() {
            Some(g) => match grade_level(g) {
                Ok(level) => Some(level),
                Err(broken) => {
                    self.sheet.take::<()>(i, "grades", Err(broken));
                    return;
                }
            },
            None if self.sheet.has("grades") => None,
            None => current.and_then(|c| c.grade_level),
        };
        let class_id = match self.sheet.cell("metadata.sds.classSourcedId", i) {
            Some(c) => match run.classes.get(c) {
                Some((id, _, _)) => Some(*id),
                None => {
                    self.sheet.bad(
                        i,
                        "metadata.sds.classSourcedId",
                        "UNKNOWN_REFERENCE",
                        format!("{c} is no valid class of this package or school"),
                    );
                    return;
                }
            },
            None if self.sheet.has("metadata.sds.classSourcedId") => None,
            None => self
                .homeroom_of
                .get(&sourced)
                .copied()
                .or_else(|| current.and_then(|c| c.class_id)),
        };
        let cells = self
            .demographics
            .get(&sourced)
            .copied()
            .unwrap_or((None, None));
        let Some((birth_date, gender)) = birth_and_gender(&mut self.sheet, i, cells, current)
        else {
            return;
        };
        let next = record!(student::Model, StudentId, current, (run.tx.school_id(), now, &sourced), {
            student_tz: tz,
            first_name,
            last_name,
            grade_level: grade,
            class_id,
            birth_date,
            gender,
            email: email.unwrap_or_else(|| current.and_then(|c| c.email.clone())),
        });
        let id = next.id;
        let action = run
            .plan
            .students
            .decide(current, next, |m| m.updated_at = now);
        run.students.insert(sourced, id);
        let listed: Vec<String> = list(self.sheet.cell("agentSourcedIds", i))
            .into_iter()
            .map(str::to_owned)
            .collect();
        let primaries = self
            .sheet
            .field("metadata.sds.primaryAgentSourcedIds", i)
            .map(|p| list(p).into_iter().map(str::to_owned).collect::<Vec<_>>());
        if self.sheet.has("agentSourcedIds") {
            self.agents.push((i, id, listed, primaries));
        }
        self.sheet.act(i, action);
    }

    /// A teacher.
    fn teacher(&mut self, run: &mut Run<'_>, i: usize, user: User) {
        let now = run.now;
        let User {
            sourced,
            first_name,
            last_name,
            email,
            phone,
            ..
        } = user;
        let Ok(current) = self.teachers.find(&sourced, None) else {
            return;
        };
        let next = record!(teacher::Model, TeacherId, current, (run.tx.school_id(), now, &sourced), {
            first_name,
            last_name,
            email: email.unwrap_or_else(|| current.and_then(|c| c.email.clone())),
            phone: phone.unwrap_or_else(|| current.and_then(|c| c.phone.clone())),
        });
        let id = next.id;
        let action = run
            .plan
            .teachers
            .decide(current, next, |m| m.updated_at = now);
        run.teachers.insert(sourced, id);
        self.sheet.act(i, action);
    }

    /// A guardian (a parent or relative too), with how they are related to their students.
    fn guardian(&mut self, run: &mut Run<'_>, i: usize, user: User, role: String) {
        let now = run.now;
        let User {
            sourced,
            first_name,
            last_name,
            email,
            phone,
            tz,
            tz_text,
            ..
        } = user;
        if tz.is_none() && tz_text.is_some() {
            return;
        }
        let Ok(current) = self.guardian_index.find(&sourced, tz.as_deref()) else {
            self.sheet.bad(
                i,
                "userIds",
                "CONFLICT",
                "another guardian of this school has this national id",
            );
            return;
        };
        let next = record!(guardian::Model, GuardianId, current, (run.tx.school_id(), now, &sourced), {
            first_name,
            last_name,
            guardian_tz: if self.sheet.has("userIds") {
            tz
            } else {
            current.and_then(|c| c.guardian_tz.clone())
            },
            phone: phone.unwrap_or_else(|| current.and_then(|c| c.phone.clone())),
            email: email.unwrap_or_else(|| current.and_then(|c| c.email.clone())),
        });
        let id = next.id;
        let action = run
            .plan
            .guardians
            .decide(current, next, |m| m.updated_at = now);
        // Our own column says it exactly (also "none"); else the role says it.
        let relationship = self
            .sheet
            .field("metadata.sds.relationship", i)
            .map_or(Some(role), |r| r.map(str::to_owned));
        self.guardians.insert(sourced, (id, relationship));
        self.sheet.act(i, action);
    }
}

/// A student's birth date and gender: demographics.csv's `cells`, else what the record has;
/// `None` when a cell is invalid.
fn birth_and_gender(
    sheet: &mut Sheet<'_>,
    i: usize,
    cells: Demographics<'_>,
    current: Option<&student::Model>,
) -> Option<(Option<NaiveDate>, Option<String>)> {
    let (birth, sex) = cells;
    let birth_date = match birth {
        None => current.and_then(|c| c.birth_date),
        Some(None) => None,
        Some(Some(text)) => match parse::date(text) {
            Some(d) => Some(d),
            None => {
                sheet.bad(
                    i,
                    "demographics.birthDate",
                    "INVALID_DATE",
                    "must be YYYY-MM-DD",
                );
                return None;
            }
        },
    };
    let gender = match sex {
        None => current.and_then(|c| c.gender.clone()),
        Some(None) => None,
        Some(Some(s)) => match s.to_lowercase().as_str() {
            "female" => Some("FEMALE".to_owned()),
            "male" => Some("MALE".to_owned()),
            "other" | "unspecified" => Some("OTHER".to_owned()),
            _ => {
                sheet.bad(
                    i,
                    "demographics.sex",
                    "INVALID_VALUE",
                    "must be female, male, other or unspecified",
                );
                return None;
            }
        },
    };
    Some((birth_date, gender))
}

/// The labels of a national id in `userIds` (compared after [`header_key`]).
const ID_LABELS: &[&str] = &[
    "tz",
    "national_id",
    "nationalid",
    "teudat_zehut",
    "תז",
    "ת_ז",
];

/// A user's national id as the row gives it, and the field it came from: a labelled `userIds`
/// entry (`{tz:…}`, also `{national_id:…}`, `{teudat_zehut:…}`, `{ת.ז:…}`), valid or not;
/// else the `identifier` cell, or a bare `userIds` value, when it is nine digits that pass the
/// check digit.
fn national_id(sheet: &Sheet<'_>, i: usize) -> Option<(String, &'static str)> {
    let cell = sheet.cell("userIds", i);
    let labelled = user_ids(cell)
        .into_iter()
        .find(|(label, _)| ID_LABELS.contains(&header_key(label).as_str()));
    if let Some((_, value)) = labelled {
        return Some((value, "userIds {tz:…}"));
    }
    // Unlabelled, only a full nine-digit id counts: a short local number could pass the check
    // digit once zero-padded.
    let valid = |text: &str| {
        let text = text.trim();
        text.len() == 9
            && text.bytes().all(|b| b.is_ascii_digit())
            && StudentTz::parse(text).is_ok()
    };
    if let Some(identifier) = sheet.cell("identifier", i).filter(|t| valid(t)) {
        return Some((identifier.to_owned(), "identifier"));
    }
    list(cell)
        .into_iter()
        .find(|item| !item.contains(':') && valid(item))
        .map(|bare| {
            (
                bare.trim_matches(['{', '}']).to_owned(),
                "userIds (a bare id)",
            )
        })
}
