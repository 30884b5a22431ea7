//! Fields about the service itself.

use async_graphql::Object;

/// Queries about the service itself (no school data).
#[derive(Default, Debug)]
pub struct SystemQuery;

#[Object]
impl SystemQuery {
    /// The version of this service (the `api` crate's version).
    async fn api_version(&self) -> &'static str {
        env!("CARGO_PKG_VERSION")
    }
}
