//! Access to the platform tables (schools, users, memberships, school domains, API tokens).
//! These tables are not owned by one school: they are what a request's school is resolved
//! from, so they are read before any tenant context exists. School-owned tables are never
//! touched here; they go through `entity::tenant::TenantTx`.
#![allow(clippy::disallowed_methods)] // Platform tables only: see the module comment.

use chrono::Utc;
use entity::{
    api_token, enums::Role, ids::*, invitation, membership, school, school_data_version,
    school_domain, user,
};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, FromQueryResult,
    IdenStatic, Iterable, PaginatorTrait, QueryFilter, QueryOrder, QueryResult, QuerySelect, Value,
    sea_query::{Alias, Condition, Expr, ExprTrait, JoinType, Query, SelectStatement},
};

/// A user by id.
pub async fn user(db: &impl ConnectionTrait, id: UserId) -> Result<Option<user::Model>, DbErr> {
    user::Entity::find_by_id(id).one(db).await
}

/// How a request names its school: an id or a slug in the `X-School-Id` header, or the host
/// name it was sent to.
#[derive(Debug, Clone)]
pub enum SchoolChoice {
    /// A school id.
    Id(SchoolId),
    /// A school slug (compared lower-case).
    Slug(String),
    /// A host name mapped to a school in `school_domains`.
    Host(String),
}

/// A school as a request resolves it: the row, the acting user's role there (if a member) and
/// the school's data version, all read by one statement.
#[derive(Debug, Clone)]
pub struct SeenSchool {
    /// The school.
    pub school: school::Model,
    /// The user's membership role (`None` for no membership, and for API tokens).
    pub role: Option<Role>,
    /// The school's data version.
    pub data_version: i64,
}

/// Selects every column of `E` (table alias `table`) as `{table}_{column}`, for
/// `FromQueryResult::from_query_result(row, "{table}_")`.
fn select_prefixed<E: EntityTrait>(query: &mut SelectStatement, table: &str) {
    for column in E::Column::iter() {
        query.expr_as(
            Expr::col((Alias::new(table), column)),
            Alias::new(format!("{table}_{}", column.as_str())),
        );
    }
}

/// The condition that picks the chosen school (alias `s`).
fn school_condition(choice: &SchoolChoice) -> Expr {
    let id = Expr::col((Alias::new("s"), school::Column::Id));
    match choice {
        SchoolChoice::Id(school) => id.eq(Value::from(*school)),
        SchoolChoice::Slug(slug) => {
            Expr::col((Alias::new("s"), school::Column::Slug)).eq(slug.trim().to_lowercase())
        }
        SchoolChoice::Host(host) => id.in_subquery(
            Query::select()
                .column(school_domain::Column::SchoolId)
                .from(school_domain::Entity)
                .and_where(Expr::col(school_domain::Column::Host).eq(host.as_str()))
                .to_owned(),
        ),
    }
}

/// Adds the columns of the school aliased `s` (`s_…`, already in the FROM list) and its data
/// version (`v_data_version`).
fn with_school_columns(query: &mut SelectStatement) {
    select_prefixed::<school::Entity>(query, "s");
    query.expr_as(
        Expr::col((Alias::new("v"), school_data_version::Column::DataVersion)),
        Alias::new("v_data_version"),
    );
    query.join_as(
        JoinType::LeftJoin,
        school_data_version::Entity,
        Alias::new("v"),
        Expr::col((Alias::new("v"), school_data_version::Column::SchoolId))
            .equals((Alias::new("s"), school::Column::Id)),
    );
}

/// Reads the school columns [`with_school_columns`] added, if a school was found.
fn seen_school(row: &QueryResult, role: Option<Role>) -> Result<Option<SeenSchool>, DbErr> {
    let Some(school) = school::Model::from_query_result_optional(row, "s_")? else {
        return Ok(None);
    };
    let data_version = row
        .try_get::<Option<i64>>("", "v_data_version")?
        .unwrap_or(0);
    Ok(Some(SeenSchool {
        school,
        role,
        data_version,
    }))
}

/// A user by id and, when `choice` names a school, that school with the user's role there and
/// its data version: one statement, so a signed-in request is resolved in one round trip.
pub async fn user_in_school(
    db: &impl ConnectionTrait,
    id: UserId,
    choice: Option<&SchoolChoice>,
) -> Result<Option<(user::Model, Option<SeenSchool>)>, DbErr> {
    let mut query = Query::select();
    select_prefixed::<user::Entity>(&mut query, "u");
    query.from_as(user::Entity, Alias::new("u"));
    if let Some(choice) = choice {
        query.join_as(
            JoinType::LeftJoin,
            school::Entity,
            Alias::new("s"),
            school_condition(choice),
        );
        with_school_columns(&mut query);
        query.expr_as(
            Expr::col((Alias::new("m"), membership::Column::Role)),
            Alias::new("m_role"),
        );
        query.join_as(
            JoinType::LeftJoin,
            membership::Entity,
            Alias::new("m"),
            Condition::all()
                .add(
                    Expr::col((Alias::new("m"), membership::Column::SchoolId))
                        .equals((Alias::new("s"), school::Column::Id)),
                )
                .add(
                    Expr::col((Alias::new("m"), membership::Column::UserId))
                        .equals((Alias::new("u"), user::Column::Id)),
                ),
        );
    }
    query.and_where(Expr::col((Alias::new("u"), user::Column::Id)).eq(Value::from(id)));
    let Some(row) = db
        .query_one_raw(db.get_database_backend().build(&query))
        .await?
    else {
        return Ok(None);
    };
    let user = user::Model::from_query_result(&row, "u_")?;
    let school = match choice {
        Some(_) => seen_school(&row, row.try_get::<Option<Role>>("", "m_role")?)?,
        None => None,
    };
    Ok(Some((user, school)))
}

/// The chosen school with its data version (no role: for API tokens), in one statement.
pub async fn school_seen(
    db: &impl ConnectionTrait,
    choice: &SchoolChoice,
) -> Result<Option<SeenSchool>, DbErr> {
    let mut query = Query::select();
    query.from_as(school::Entity, Alias::new("s"));
    with_school_columns(&mut query);
    query.and_where(school_condition(choice));
    let Some(row) = db
        .query_one_raw(db.get_database_backend().build(&query))
        .await?
    else {
        return Ok(None);
    };
    seen_school(&row, None)
}

/// A user by email (emails are stored lower-case).
pub async fn user_by_email(
    db: &impl ConnectionTrait,
    email: &str,
) -> Result<Option<user::Model>, DbErr> {
    user::Entity::find()
        .filter(user::Column::Email.eq(normalize_email(email)))
        .one(db)
        .await
}

/// How many users exist (bootstrap runs only on zero).
pub async fn user_count(db: &impl ConnectionTrait) -> Result<u64, DbErr> {
    user::Entity::find().count(db).await
}

/// Emails compare case-insensitively.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// A school by id.
pub async fn school(
    db: &impl ConnectionTrait,
    id: SchoolId,
) -> Result<Option<school::Model>, DbErr> {
    school::Entity::find_by_id(id).one(db).await
}

/// A school by slug.
pub async fn school_by_slug(
    db: &impl ConnectionTrait,
    slug: &str,
) -> Result<Option<school::Model>, DbErr> {
    school::Entity::find()
        .filter(school::Column::Slug.eq(slug.trim().to_lowercase()))
        .one(db)
        .await
}

/// The school a host name is mapped to.
pub async fn school_by_host(
    db: &impl ConnectionTrait,
    host: &str,
) -> Result<Option<school::Model>, DbErr> {
    let Some(domain) = school_domain::Entity::find()
        .filter(school_domain::Column::Host.eq(host))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    school(db, domain.school_id).await
}

/// Schools by id, in id order.
pub async fn schools_by_ids(
    db: &impl ConnectionTrait,
    ids: Vec<SchoolId>,
) -> Result<Vec<school::Model>, DbErr> {
    school::Entity::find()
        .filter(school::Column::Id.is_in(ids))
        .order_by_asc(school::Column::Id)
        .all(db)
        .await
}

/// A page of schools after `after` (by id), optionally limited to `only`.
pub async fn schools_page(
    db: &impl ConnectionTrait,
    only: Option<Vec<SchoolId>>,
    after: Option<SchoolId>,
    limit: u64,
) -> Result<(Vec<school::Model>, u64), DbErr> {
    let mut base = school::Entity::find();
    if let Some(ids) = only {
        base = base.filter(school::Column::Id.is_in(ids));
    }
    let total = base.clone().count(db).await?;
    let mut page = base.order_by_asc(school::Column::Id);
    if let Some(after) = after {
        page = page.filter(school::Column::Id.gt(after));
    }
    Ok((page.limit(limit).all(db).await?, total))
}

/// The user's membership in the school.
pub async fn membership(
    db: &impl ConnectionTrait,
    school: SchoolId,
    user: UserId,
) -> Result<Option<membership::Model>, DbErr> {
    membership::Entity::find_by_id((school, user)).one(db).await
}

/// Every membership of the user.
pub async fn memberships_of(
    db: &impl ConnectionTrait,
    user: UserId,
) -> Result<Vec<membership::Model>, DbErr> {
    membership::Entity::find()
        .filter(membership::Column::UserId.eq(user))
        .order_by_asc(membership::Column::SchoolId)
        .all(db)
        .await
}

/// Every membership in the school, with its user.
pub async fn members_of(
    db: &impl ConnectionTrait,
    school: SchoolId,
) -> Result<Vec<(membership::Model, user::Model)>, DbErr> {
    let rows = membership::Entity::find()
        .filter(membership::Column::SchoolId.eq(school))
        .order_by_asc(membership::Column::UserId)
        .all(db)
        .await?;
    let ids: Vec<UserId> = rows.iter().map(|m| m.user_id).collect();
    let users = user::Entity::find()
        .filter(user::Column::Id.is_in(ids))
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|m| {
            users
                .iter()
                .find(|u| u.id == m.user_id)
                .cloned()
                .map(|u| (m, u))
        })
        .collect())
}

/// Adds a membership.
pub async fn add_membership(
    db: &impl ConnectionTrait,
    school: SchoolId,
    user: UserId,
    role: Role,
) -> Result<membership::Model, DbErr> {
    membership::ActiveModel {
        school_id: Set(school),
        user_id: Set(user),
        role: Set(role),
        teacher_id: Set(None),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await
}

/// Changes a member's role; `None` when the user is not a member of the school.
pub async fn set_membership_role(
    db: &impl ConnectionTrait,
    school: SchoolId,
    user: UserId,
    role: Role,
) -> Result<Option<membership::Model>, DbErr> {
    let result = membership::Entity::update_many()
        .col_expr(
            membership::Column::Role,
            sea_orm::sea_query::Expr::value(role),
        )
        .filter(membership::Column::SchoolId.eq(school))
        .filter(membership::Column::UserId.eq(user))
        .exec(db)
        .await?;
    if result.rows_affected == 0 {
        return Ok(None);
    }
    membership(db, school, user).await
}

/// Removes a membership; false when there was none.
pub async fn remove_membership(
    db: &impl ConnectionTrait,
    school: SchoolId,
    user: UserId,
) -> Result<bool, DbErr> {
    let result = membership::Entity::delete_many()
        .filter(membership::Column::SchoolId.eq(school))
        .filter(membership::Column::UserId.eq(user))
        .exec(db)
        .await?;
    Ok(result.rows_affected > 0)
}

/// How many admins the school has.
pub async fn admin_count(db: &impl ConnectionTrait, school: SchoolId) -> Result<u64, DbErr> {
    membership::Entity::find()
        .filter(membership::Column::SchoolId.eq(school))
        .filter(membership::Column::Role.eq(Role::Admin))
        .count(db)
        .await
}

/// Bumps the user's token version: every token issued before stops working.
pub async fn bump_token_version(db: &impl ConnectionTrait, user: UserId) -> Result<(), DbErr> {
    user::Entity::update_many()
        .col_expr(user::Column::TokenVersion, next_token_version())
        .col_expr(
            user::Column::UpdatedAt,
            sea_orm::sea_query::Expr::value(Utc::now()),
        )
        .filter(user::Column::Id.eq(user))
        .exec(db)
        .await?;
    Ok(())
}

/// `token_version + 1`: every token issued before stops working.
fn next_token_version() -> sea_orm::sea_query::Expr {
    sea_orm::sea_query::ExprTrait::add(sea_orm::sea_query::Expr::col(user::Column::TokenVersion), 1)
}

/// An API token by the hash of its secret.
pub async fn api_token_by_hash(
    db: &impl ConnectionTrait,
    hash: &str,
) -> Result<Option<api_token::Model>, DbErr> {
    api_token::Entity::find()
        .filter(api_token::Column::TokenHash.eq(hash))
        .one(db)
        .await
}

/// The school's API tokens, newest first.
pub async fn api_tokens_of(
    db: &impl ConnectionTrait,
    school: SchoolId,
) -> Result<Vec<api_token::Model>, DbErr> {
    api_token::Entity::find()
        .filter(api_token::Column::SchoolId.eq(school))
        .order_by_desc(api_token::Column::Id)
        .all(db)
        .await
}

/// The school's API token with `id` (`None` for a missing id and for another school's token).
pub async fn api_token(
    db: &impl ConnectionTrait,
    school: SchoolId,
    id: ApiTokenId,
) -> Result<Option<api_token::Model>, DbErr> {
    api_token::Entity::find()
        .filter(api_token::Column::SchoolId.eq(school))
        .filter(api_token::Column::Id.eq(id))
        .one(db)
        .await
}

/// Records that a token was used (at most once a minute per token, to spare the database).
pub async fn touch_api_token(
    db: &DatabaseConnection,
    token: &api_token::Model,
) -> Result<(), DbErr> {
    let now = Utc::now();
    if token
        .last_used_at
        .is_some_and(|t| now.signed_duration_since(t).num_seconds() < 60)
    {
        return Ok(());
    }
    let tx = entity::writer::begin_write(db).await?;
    api_token::Entity::update_many()
        .col_expr(
            api_token::Column::LastUsedAt,
            sea_orm::sea_query::Expr::value(now),
        )
        .filter(api_token::Column::Id.eq(token.id))
        .exec(&*tx)
        .await?;
    tx.commit().await
}

/// The school's domains.
pub async fn domains_of(
    db: &impl ConnectionTrait,
    school: SchoolId,
) -> Result<Vec<school_domain::Model>, DbErr> {
    school_domain::Entity::find()
        .filter(school_domain::Column::SchoolId.eq(school))
        .order_by_asc(school_domain::Column::Host)
        .all(db)
        .await
}

/// Removes the school's domain `host`; false when the school has no such domain.
pub async fn remove_domain(
    db: &impl ConnectionTrait,
    school: SchoolId,
    host: &str,
) -> Result<bool, DbErr> {
    let result = school_domain::Entity::delete_many()
        .filter(school_domain::Column::SchoolId.eq(school))
        .filter(school_domain::Column::Host.eq(host))
        .exec(db)
        .await?;
    Ok(result.rows_affected > 0)
}

/// Replaces the user's password hash and bumps their token version (other sessions end).
pub async fn set_password(
    db: &impl ConnectionTrait,
    user: UserId,
    hash: String,
) -> Result<(), DbErr> {
    // One statement, so the new password and the end of old sessions land together.
    user::Entity::update_many()
        .col_expr(
            user::Column::PasswordHash,
            sea_orm::sea_query::Expr::value(hash),
        )
        .col_expr(user::Column::TokenVersion, next_token_version())
        .col_expr(
            user::Column::UpdatedAt,
            sea_orm::sea_query::Expr::value(Utc::now()),
        )
        .filter(user::Column::Id.eq(user))
        .exec(db)
        .await?;
    Ok(())
}

/// Creates a user.
pub async fn create_user(
    db: &impl ConnectionTrait,
    email: &str,
    full_name: &str,
    password_hash: String,
) -> Result<user::Model, DbErr> {
    let now = Utc::now();
    user::ActiveModel {
        id: Set(UserId::generate()),
        email: Set(normalize_email(email)),
        password_hash: Set(password_hash),
        full_name: Set(full_name.trim().to_owned()),
        is_active: Set(true),
        is_superadmin: Set(false),
        token_version: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await
}

/// Activates or deactivates a user.
pub async fn set_user_active(
    db: &impl ConnectionTrait,
    user: UserId,
    active: bool,
) -> Result<(), DbErr> {
    user::Entity::update_many()
        .col_expr(
            user::Column::IsActive,
            sea_orm::sea_query::Expr::value(active),
        )
        .col_expr(
            user::Column::UpdatedAt,
            sea_orm::sea_query::Expr::value(Utc::now()),
        )
        .filter(user::Column::Id.eq(user))
        .exec(db)
        .await?;
    Ok(())
}

/// Clears the teacher links of the school's memberships (before its teachers are deleted).
pub async fn unlink_teachers(db: &impl ConnectionTrait, school: SchoolId) -> Result<(), DbErr> {
    membership::Entity::update_many()
        .col_expr(
            membership::Column::TeacherId,
            sea_orm::sea_query::Expr::value(Option::<uuid::Uuid>::None),
        )
        .filter(membership::Column::SchoolId.eq(school))
        .exec(db)
        .await?;
    Ok(())
}

/// The id of every school.
pub async fn school_ids(db: &impl ConnectionTrait) -> Result<Vec<SchoolId>, DbErr> {
    Ok(school::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|s| s.id)
        .collect())
}

/// Invites `user` into `school` as `role` (a pending invitation replaces an earlier one of the
/// same school and person). Returns the invitation.
pub async fn invite(
    db: &impl ConnectionTrait,
    school: SchoolId,
    user: UserId,
    role: Role,
    invited_by: Option<UserId>,
    expires_at: chrono::DateTime<Utc>,
    code_hash: String,
) -> Result<invitation::Model, DbErr> {
    let now = Utc::now();
    let existing = invitation::Entity::find()
        .filter(invitation::Column::SchoolId.eq(school))
        .filter(invitation::Column::UserId.eq(user))
        .one(db)
        .await?;
    let row = match existing {
        Some(row) => {
            let mut row: invitation::ActiveModel = row.into();
            row.role = Set(role);
            row.status = Set(INVITATION_PENDING.to_owned());
            row.invited_by = Set(invited_by);
            row.expires_at = Set(expires_at);
            row.created_at = Set(now);
            row.code_hash = Set(code_hash);
            row.update(db).await?
        }
        None => {
            invitation::ActiveModel {
                id: Set(InvitationId::generate()),
                created_at: Set(now),
                school_id: Set(school),
                user_id: Set(user),
                invited_by: Set(invited_by),
                role: Set(role),
                status: Set(INVITATION_PENDING.to_owned()),
                expires_at: Set(expires_at),
                code_hash: Set(code_hash),
            }
            .insert(db)
            .await?
        }
    };
    Ok(row)
}

/// A pending invitation.
pub const INVITATION_PENDING: &str = "PENDING";

/// The user's pending, unexpired invitations, newest first.
pub async fn invitations_of(
    db: &impl ConnectionTrait,
    user: UserId,
) -> Result<Vec<invitation::Model>, DbErr> {
    invitation::Entity::find()
        .filter(invitation::Column::UserId.eq(user))
        .filter(invitation::Column::Status.eq(INVITATION_PENDING))
        .filter(invitation::Column::ExpiresAt.gt(Utc::now()))
        .order_by_desc(invitation::Column::CreatedAt)
        .all(db)
        .await
}

/// The user's pending, unexpired invitation `id` (another person's is `None`).
pub async fn pending_invitation(
    db: &impl ConnectionTrait,
    user: UserId,
    id: InvitationId,
) -> Result<Option<invitation::Model>, DbErr> {
    Ok(invitations_of(db, user)
        .await?
        .into_iter()
        .find(|i| i.id == id))
}

/// Sets an invitation's status.
pub async fn set_invitation_status(
    db: &impl ConnectionTrait,
    row: invitation::Model,
    status: &str,
) -> Result<invitation::Model, DbErr> {
    let mut row: invitation::ActiveModel = row.into();
    row.status = Set(status.to_owned());
    row.update(db).await
}

/// The pending, unexpired invitation whose code hashes to `code_hash`.
pub async fn invitation_by_code(
    db: &impl ConnectionTrait,
    code_hash: &str,
) -> Result<Option<invitation::Model>, DbErr> {
    invitation::Entity::find()
        .filter(invitation::Column::CodeHash.eq(code_hash))
        .filter(invitation::Column::Status.eq(INVITATION_PENDING))
        .filter(invitation::Column::ExpiresAt.gt(Utc::now()))
        .one(db)
        .await
}

/// The mark on the password hash of an account made by an invitation and not yet claimed by
/// its person: no password verifies against it.
pub const UNCLAIMED: &str = "unclaimed:";

/// The school's invitation of the user, whatever its status.
pub async fn invitation_of(
    db: &impl ConnectionTrait,
    school: SchoolId,
    user: UserId,
) -> Result<Option<invitation::Model>, DbErr> {
    invitation::Entity::find()
        .filter(invitation::Column::SchoolId.eq(school))
        .filter(invitation::Column::UserId.eq(user))
        .one(db)
        .await
}
