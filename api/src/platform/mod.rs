//! Access to the platform tables (schools, users, memberships, school domains, API tokens).
//! These tables are not owned by one school: they are what a request's school is resolved
//! from, so they are read before any tenant context exists. School-owned tables are never
//! touched here; they go through `entity::tenant::TenantTx`.
//!
//! One submodule per table, plus `resolve` for the one-statement reads that resolve a
//! request; everything is re-exported here, so callers name `crate::platform::…`.
#![allow(clippy::disallowed_methods)] // Platform tables only: see the module comment.

mod api_tokens;
mod domains;
mod invitations;
mod memberships;
mod resolve;
mod schools;
mod users;

pub use api_tokens::{api_token, api_token_by_hash, api_tokens_of, touch_api_token};
pub use domains::{domains_of, remove_domain};
pub use invitations::{
    INVITATION_PENDING, UNCLAIMED, invitation_by_code, invitation_of, invitations_of, invite,
    pending_invitation, set_invitation_status,
};
pub use memberships::{
    add_membership, admin_count, members_of, membership, memberships_of, remove_membership,
    set_membership_role, unlink_teachers,
};
pub use resolve::{SchoolChoice, SeenSchool, school_seen, user_in_school, user_in_school_binding};
pub use schools::{
    school, school_by_host, school_by_slug, school_ids, schools_by_ids, schools_page,
};
pub use users::{
    bump_token_version, create_user, normalize_email, set_password, set_user_active, user,
    user_by_email, user_count,
};
