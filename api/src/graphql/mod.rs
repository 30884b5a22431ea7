//! The GraphQL layer: the schema and its resolvers. Only this module knows async-graphql.

pub mod context;
mod graphiql;
mod identity;
mod members;
mod schools;
mod system;
pub mod types;

use async_graphql::{EmptySubscription, MergedObject, Schema, SchemaBuilder};

pub use graphiql::graphiql_page;

/// The root query: one object per area, merged.
#[derive(MergedObject, Default, Debug)]
pub struct Query(
    system::SystemQuery,
    identity::IdentityQuery,
    schools::SchoolsQuery,
    members::MembersQuery,
);

/// The root mutation: one object per area, merged.
#[derive(MergedObject, Default, Debug)]
pub struct Mutation(
    identity::IdentityMutation,
    schools::SchoolsMutation,
    members::MembersMutation,
);

/// The service's GraphQL schema.
pub type AppSchema = Schema<Query, Mutation, EmptySubscription>;

/// A schema builder with every resolver registered and no per-process data; the server adds its
/// state, `api schema` prints the SDL.
pub fn schema_builder() -> SchemaBuilder<Query, Mutation, EmptySubscription> {
    Schema::build(Query::default(), Mutation::default(), EmptySubscription)
}

/// The published contract, as checked into `schema.graphql`.
pub fn sdl() -> String {
    schema_builder().finish().sdl()
}
