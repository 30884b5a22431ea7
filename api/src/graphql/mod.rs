//! The GraphQL layer: the schema and its resolvers. Only this module knows async-graphql.

mod graphiql;
mod system;

use async_graphql::{EmptyMutation, EmptySubscription, MergedObject, Schema, SchemaBuilder};

pub use graphiql::graphiql_page;

/// The root query: one object per area, merged.
#[derive(MergedObject, Default, Debug)]
pub struct Query(system::SystemQuery);

/// The service's GraphQL schema.
pub type AppSchema = Schema<Query, EmptyMutation, EmptySubscription>;

/// A schema builder with every resolver registered and no per-process data; the server adds its
/// state, `api schema` prints the SDL.
pub fn schema_builder() -> SchemaBuilder<Query, EmptyMutation, EmptySubscription> {
    Schema::build(Query::default(), EmptyMutation, EmptySubscription)
}

/// The published contract, as checked into `schema.graphql`.
pub fn sdl() -> String {
    schema_builder().finish().sdl()
}
