//! An invitation of a person into a school: the school asked, the person decides.

use sea_orm::entity::prelude::*;

#[allow(unused_imports)]
use crate::{enums::*, ids::*};

/// An invitation of a person into a school: the school asked, the person decides.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "invitations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: InvitationId,
    pub created_at: DateTimeUtc,
    /// The inviting school.
    pub school_id: SchoolId,
    /// The person invited.
    pub user_id: UserId,
    /// Who invited them (`None` once that user is gone, or for an API token).
    pub invited_by: Option<UserId>,
    /// The role they would have.
    pub role: Role,
    /// `PENDING`, `ACCEPTED` or `DECLINED`.
    pub status: String,
    /// When a pending invitation lapses.
    pub expires_at: DateTimeUtc,
    /// The SHA-256 of the invitation's code (the code itself is shown once, to the school).
    pub code_hash: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
