//! Teachers: the GraphQL type and its inputs.

use async_graphql::{Context, InputObject, Object};
use entity::teacher;
use uuid::Uuid;

use super::*;
use crate::error::ApiResult;
use crate::graphql::context::loaders;
use crate::graphql::limits;
use crate::graphql::limits::nested;
use crate::graphql::loaders::load_error;
use crate::services;

/// A teacher of the school.
#[derive(Debug, Clone)]
pub struct Teacher(pub teacher::Model);

/// A teacher of the school.
#[Object]
impl Teacher {
    /// The teacher's id.
    async fn id(&self) -> Uuid {
        self.0.id.into_uuid()
    }
    /// The id in the school's source system, if any.
    async fn external_id(&self) -> Option<&str> {
        self.0.external_id.as_deref()
    }
    /// First name.
    async fn first_name(&self) -> &str {
        &self.0.first_name
    }
    /// Last name.
    async fn last_name(&self) -> &str {
        &self.0.last_name
    }
    /// Email address.
    async fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }
    /// Phone number.
    async fn phone(&self) -> Option<&str> {
        self.0.phone.as_deref()
    }
    /// The classes the teacher teaches.
    #[graphql(complexity = "limits::list_cost(first, nested::TEACHER_CLASSES, child_complexity)")]
    async fn classes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many to return (at most 1,000; default 50).")] first: Option<i32>,
    ) -> ApiResult<Vec<Class>> {
        let first = limits::nested_first(first, nested::TEACHER_CLASSES)?;
        let loaders = loaders(ctx)?;
        let links = loaders
            .classes_of_teacher
            .load_one(self.0.id)
            .await
            .map_err(load_error)?
            .unwrap_or_default();
        let links = &links[..links.len().min(first)];
        let classes = loaders
            .class
            .load_many(links.iter().map(|l| l.class_id))
            .await
            .map_err(load_error)?;
        Ok(links
            .iter()
            .filter_map(|l| classes.get(&l.class_id).cloned().map(Class))
            .collect())
    }
}

/// A new teacher.
#[derive(Debug, InputObject)]
pub struct CreateTeacherInput {
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Email address.
    pub email: Option<String>,
    /// Phone number.
    pub phone: Option<String>,
}

/// Changes to a teacher; fields left out stay as they are.
#[derive(Debug, InputObject)]
pub struct UpdateTeacherInput {
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Email address.
    pub email: Option<String>,
    /// Phone number.
    pub phone: Option<String>,
}

impl From<CreateTeacherInput> for services::staff::TeacherFields {
    fn from(input: CreateTeacherInput) -> Self {
        Self {
            first_name: Some(input.first_name),
            last_name: Some(input.last_name),
            email: input.email,
            phone: input.phone,
        }
    }
}

impl From<UpdateTeacherInput> for services::staff::TeacherFields {
    fn from(input: UpdateTeacherInput) -> Self {
        Self {
            first_name: input.first_name,
            last_name: input.last_name,
            email: input.email,
            phone: input.phone,
        }
    }
}
