//! Resolving a request's school (and signed-in user) from the platform tables: the school
//! named by id, slug or host, with the user's role there and the school's data version, each
//! read by one statement.

use entity::{
    enums::Role, ids::*, membership, school, school_data_version, school_domain, tenant::TenantTx,
    user,
};
use sea_orm::{
    ConnectionTrait, DbErr, EntityTrait, FromQueryResult, IdenStatic, Iterable, QueryResult, Value,
    sea_query::{Alias, Condition, Expr, ExprTrait, JoinType, Query, SelectStatement},
};

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
    user_and_school(db, id, choice, false).await
}

/// [`user_in_school`] as the first statement of a PostgreSQL transaction `tx`, which the same
/// statement binds to the school it finds (see `TenantTx::adopt`).
pub async fn user_in_school_binding(
    tx: &sea_orm::DatabaseTransaction,
    id: UserId,
    choice: &SchoolChoice,
) -> Result<Option<(user::Model, Option<SeenSchool>)>, DbErr> {
    user_and_school(tx, id, Some(choice), true).await
}

async fn user_and_school(
    db: &impl ConnectionTrait,
    id: UserId,
    choice: Option<&SchoolChoice>,
    bind: bool,
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
        if bind {
            query.expr_as(
                TenantTx::binding_expression(Expr::col((Alias::new("s"), school::Column::Id))),
                Alias::new("bound"),
            );
        }
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
