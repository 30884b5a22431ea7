//! The GraphQL layer: the schema and its resolvers. Only this module knows async-graphql.

pub mod analytics;
pub mod configuration;
pub mod context;
mod depth;
mod errors;
pub mod exports;
mod flat;
mod graphiql;
pub mod http;
mod identity;
pub mod import_options;
pub mod imports;
pub mod insights;
pub mod limits;
mod lines;
pub mod loaders;
mod members;
pub mod pagination;
pub mod polls;
mod roster;
pub mod scalars;
mod schools;
mod system;
mod text;
pub mod types;
pub mod ws;

use async_graphql::{MergedObject, Schema, SchemaBuilder};

pub use flat::answered as lists_answered_in_one_pass;
pub use graphiql::{GRAPHIQL_CSP, graphiql_asset, graphiql_page};

/// The root query: one object per area, merged.
#[derive(MergedObject, Default, Debug)]
pub struct Query(
    system::SystemQuery,
    identity::IdentityQuery,
    schools::SchoolsQuery,
    members::MembersQuery,
    roster::query::RosterQuery,
    roster::query::RecordsQuery,
    imports::ImportsQuery,
    insights::InsightsQuery,
    analytics::AnalyticsQuery,
);

/// The root mutation: one object per area, merged.
#[derive(MergedObject, Default, Debug)]
pub struct Mutation(
    identity::IdentityMutation,
    schools::SchoolsMutation,
    members::MembersMutation,
    roster::mutation::RosterMutation,
    roster::mutation::ResetMutation,
    roster::mutation::RecordsMutation,
    roster::mutation::ManageMutation,
    roster::mutation::HistoryMutation,
    roster::mutation::UpdatesMutation,
    imports::ImportsMutation,
    exports::ExportsMutation,
    insights::InsightsMutation,
    configuration::ConfigurationMutation,
);

/// The root subscription (over `GET /graphql/ws`, graphql-transport-ws or graphql-ws).
pub type Subscription = imports::ImportsSubscription;

/// The service's GraphQL schema.
pub type GqlSchema = Schema<Query, Mutation, Subscription>;

/// The schema the server runs, built twice from the same resolvers.
///
/// `checked` carries the [`limits::CostGuard`] extension: it parses, validates and prices every
/// request (and runs subscriptions). `run` has no extension and executes a query or mutation
/// only after `checked` priced it: an extension, even one that only watches validation, puts
/// every resolved field and list item through a boxed hook, which on a big answer was most of
/// the execution. `run` still refuses anything over the same price on its own.
#[derive(Clone)]
pub struct AppSchema {
    /// Parses, validates and prices; runs subscriptions.
    pub checked: GqlSchema,
    /// Executes what `checked` priced.
    pub run: GqlSchema,
}

impl std::fmt::Debug for AppSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppSchema").finish_non_exhaustive()
    }
}

/// Describes each connection type: what it pages, and how.
macro_rules! describe_pages {
    ($builder:expr, $($node:ty => $what:literal),* $(,)?) => {
        $builder$(.override_output_type_description::<pagination::Page<$node>>(concat!(
            "A page of ", $what, ": the items (`nodes`, or `edges` with a cursor each), ",
            "`pageInfo` (pass its `endCursor` as `after` for the next page) and `totalCount`, ",
            "how many there are in all."
        )))*
    };
}

/// A schema builder with every resolver registered and no per-process data; the server adds its
/// state, `api schema` prints the SDL.
pub fn schema_builder() -> SchemaBuilder<Query, Mutation, Subscription> {
    let builder = Schema::build(
        Query::default(),
        Mutation::default(),
        Subscription::default(),
    )
    .limit_recursive_depth(limits::MAX_RECURSIVE_DEPTH)
    .limit_directives(limits::MAX_DIRECTIVES)
    .override_output_type_description::<chrono::DateTime<chrono::Utc>>(
        "An instant, written in RFC 3339 with its offset, e.g. `2026-09-01T07:45:00Z`; \
         answers are in UTC.",
    );
    describe_pages!(
        builder,
        roster::Assessment => "assessments",
        roster::AttendanceRecord => "attendance records",
        roster::Class => "classes",
        roster::Grade => "grades",
        roster::Guardian => "guardians",
        imports::ImportLog => "import logs",
        roster::Incident => "incidents",
        types::School => "schools",
        roster::Student => "students",
        roster::Subject => "subjects",
        roster::Teacher => "teachers",
    )
}

/// The schema the server runs: every resolver, and queries priced over `max_cost` refused.
pub fn schema(max_cost: usize) -> AppSchema {
    AppSchema {
        checked: schema_builder()
            .extension(limits::CostGuard::new(max_cost))
            .finish(),
        run: schema_builder().limit_complexity(max_cost).finish(),
    }
}

/// The published contract, as checked into `schema.graphql`.
pub fn sdl() -> String {
    schema_builder().finish().sdl()
}
