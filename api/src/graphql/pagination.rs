//! Relay connections over scoped selects: id-ordered (ids are time-ordered UUIDv7), at most
//! [`MAX_PAGE_SIZE`] per page, with `totalCount`.

use async_graphql::connection::{Connection, Edge, EmptyFields};
use entity::tenant::{TenantScoped, TenantSelect, TenantTx};
use sea_orm::{ColumnTrait, ModelTrait, Order, Value};
use uuid::Uuid;

use super::types::{IdCursor, TotalCount};
use crate::error::{ApiError, ApiResult};

/// The largest page a connection returns.
pub const MAX_PAGE_SIZE: i32 = 100;
/// The page size when `first` is not given.
pub const DEFAULT_PAGE_SIZE: i32 = 20;

/// A connection of `N` nodes.
pub type Page<N> = Connection<IdCursor, N, TotalCount, EmptyFields>;

/// Checks a connection's `first`.
pub fn page_size(first: Option<i32>) -> ApiResult<u64> {
    match first.unwrap_or(DEFAULT_PAGE_SIZE) {
        n if (0..=MAX_PAGE_SIZE).contains(&n) => Ok(n as u64),
        _ => Err(ApiError::bad_field(
            "first",
            format!("must be between 0 and {MAX_PAGE_SIZE}"),
        )),
    }
}

/// Reads a connection's `after`.
pub fn after_cursor(after: Option<String>) -> ApiResult<Option<Uuid>> {
    after
        .map(|cursor| {
            cursor
                .parse::<Uuid>()
                .map_err(|_| ApiError::bad_field("after", "is not a cursor from this connection"))
        })
        .transpose()
}

/// One page of `select` after `after`, mapped to nodes by `node`.
pub async fn page<E, N>(
    tx: &TenantTx,
    select: TenantSelect<E>,
    first: Option<i32>,
    after: Option<String>,
    node: impl Fn(E::Model) -> N,
) -> ApiResult<Page<N>>
where
    E: TenantScoped,
    E::Model: Sync,
    N: async_graphql::OutputType,
{
    let limit = page_size(first)?;
    let after = after_cursor(after)?;
    let total = tx.count(select.clone()).await?;
    let mut rows_select = select.order_by(E::id_column(), Order::Asc).limit(limit + 1);
    if let Some(after) = after {
        rows_select = rows_select.filter(E::id_column().gt(after));
    }
    let rows = tx.all(rows_select).await?;
    let has_next = rows.len() as u64 > limit;
    let mut connection = Connection::with_additional_fields(
        after.is_some(),
        has_next,
        TotalCount { total_count: total },
    );
    for row in rows.into_iter().take(limit as usize) {
        let id = match row.get(E::id_column()) {
            Value::Uuid(Some(id)) => id,
            _ => return Err(ApiError::internal("BUG: a tenant table's id is not a UUID")),
        };
        connection.edges.push(Edge::new(IdCursor(id), node(row)));
    }
    Ok(connection)
}

/// A `LIKE` pattern matching text that contains `search` literally: `%`, `_` and the escape
/// character in it match only themselves (so a search for `%` finds names with a `%`, not
/// every name).
pub fn contains(search: &str) -> sea_orm::sea_query::LikeExpr {
    sea_orm::sea_query::LikeExpr::new(format!("%{}%", escape_like(search))).escape('\\')
}

/// A `LIKE` pattern matching text that starts with `search` literally.
pub fn starts_with(search: &str) -> sea_orm::sea_query::LikeExpr {
    sea_orm::sea_query::LikeExpr::new(format!("{}%", escape_like(search))).escape('\\')
}

fn escape_like(search: &str) -> String {
    let mut out = String::with_capacity(search.len());
    for c in search.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
