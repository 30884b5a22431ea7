//! Subjects: the GraphQL type and its inputs.

use async_graphql::{InputObject, Object, ScalarType, Value};
use entity::subject;
use uuid::Uuid;

use crate::graphql::flat::{Flat, or_null};
use crate::services;

/// A subject taught at the school.
#[derive(Debug, Clone)]
pub struct Subject(pub subject::Model);

/// A subject taught at the school.
#[Object]
impl Subject {
    /// The subject's id.
    async fn id(&self) -> Uuid {
        self.0.id.into_uuid()
    }
    /// The subject's name, e.g. מתמטיקה.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// A short code, e.g. MATH.
    async fn code(&self) -> Option<&str> {
        self.0.code.as_deref()
    }
}

impl Flat for subject::Model {
    const TYPE: &'static str = "Subject";

    fn field(&self, name: &str) -> Option<Value> {
        Some(match name {
            "id" => self.id.into_uuid().to_value(),
            "name" => Value::String(self.name.clone()),
            "code" => or_null(self.code.as_ref(), |c| Value::String(c.clone())),
            _ => return None,
        })
    }
}

/// A new subject.
#[derive(Debug, InputObject)]
pub struct CreateSubjectInput {
    /// The subject's name (unique in the school).
    pub name: String,
    /// A short code.
    pub code: Option<String>,
}

/// Changes to a subject; fields left out stay as they are.
#[derive(Debug, InputObject)]
pub struct UpdateSubjectInput {
    /// The subject's name (unique in the school).
    pub name: Option<String>,
    /// A short code.
    pub code: Option<String>,
}

impl From<CreateSubjectInput> for services::subjects::SubjectFields {
    fn from(input: CreateSubjectInput) -> Self {
        Self {
            name: Some(input.name),
            code: input.code,
        }
    }
}

impl From<UpdateSubjectInput> for services::subjects::SubjectFields {
    fn from(input: UpdateSubjectInput) -> Self {
        Self {
            name: input.name,
            code: input.code,
        }
    }
}
