//! A stored file about a student; the bytes live in the object store under the school's prefix.

use sea_orm::entity::prelude::*;

#[allow(unused_imports)]
use crate::{enums::*, ids::*};

/// A stored file about a student; the bytes live in the object store under the school's prefix.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "student_documents")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub school_id: SchoolId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: StudentDocumentId,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub student_id: StudentId,
    pub kind: String,
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub storage_key: String,
    pub uploaded_by: Option<UserId>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
