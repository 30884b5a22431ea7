//! Guardians: the GraphQL types and their inputs.

use async_graphql::{InputObject, Object};
use entity::{guardian, ids::*, student_guardian};
use uuid::Uuid;

use crate::services;

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

/// Changes to a guardian; fields left out stay as they are. An empty string clears an optional
/// field.
#[derive(Debug, InputObject)]
pub struct UpdateGuardianInput {
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// National id (check digit verified).
    pub guardian_tz: Option<String>,
    /// Phone number.
    pub phone: Option<String>,
    /// Email address.
    pub email: Option<String>,
    /// The students this guardian belongs to (replaces the list; at least one).
    pub student_ids: Option<Vec<Uuid>>,
    /// How the guardian is related, e.g. mother; applies to every link.
    pub relationship: Option<String>,
}

fn student_ids(ids: Vec<Uuid>) -> Vec<StudentId> {
    ids.into_iter().map(StudentId).collect()
}

impl From<CreateGuardianInput> for services::guardians::NewGuardian {
    fn from(input: CreateGuardianInput) -> Self {
        Self {
            first_name: input.first_name,
            last_name: input.last_name,
            guardian_tz: input.guardian_tz,
            phone: input.phone,
            email: input.email,
            students: student_ids(input.student_ids),
            relationship: input.relationship,
        }
    }
}

impl From<UpdateGuardianInput> for services::guardians::GuardianChanges {
    fn from(input: UpdateGuardianInput) -> Self {
        Self {
            first_name: input.first_name,
            last_name: input.last_name,
            guardian_tz: input.guardian_tz,
            phone: input.phone,
            email: input.email,
            students: input.student_ids.map(student_ids),
            relationship: input.relationship,
        }
    }
}
