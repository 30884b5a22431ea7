//! The school data service: one GraphQL API over many schools.
//!
//! - [`config`]: configuration, read once from the environment.
//! - [`app`]: router and server ([`app::Application`]); tests build it on port 0. The GraphQL
//!   schema is router state of its own, handed to the GraphQL handlers.
//! - [`state`]: [`state::AppState`], the shared state (configuration, database pool, keys,
//!   caches, counters), without the schema; it imports nothing from [`graphql`].
//! - [`db`]: opening SQLite or PostgreSQL.
//! - [`error`]: [`error::ApiError`], the one error type, with the closed list of codes.
//! - [`graphql`]: the schema and resolvers (the only module that knows async-graphql): the
//!   HTTP and WebSocket handlers, and the GraphQL twins of [`insights`] figures and of
//!   [`error::ApiError`] (how it becomes a GraphQL error).
//! - [`auth`]: passwords, session tokens, API tokens, roles and permissions.
//! - [`tenant`]: resolving each request's actor and school, once, before GraphQL runs; its
//!   value types ([`tenant::Actor`], [`tenant::TenantContext`]) depend on nothing above them.
//! - [`insights`]: per-student features, the per-school model, and school analytics (overview,
//!   grade and attendance figures, ABC risk scores), computed in SQL in the school's scope.
//! - [`platform`]: the platform tables (schools, users, memberships, domains, API tokens).
//!   School-owned tables are reached only through `entity::tenant::TenantTx`.
//! - [`services`]: domain logic (audit log, schools, first-run bootstrap).
//! - [`exports`]: writing a school's records as a OneRoster package.
//! - [`telemetry`]: log output.
//! - [`cli`]: the `api` binary's subcommands.

pub mod app;
pub mod auth;
pub mod budget;
pub mod cli;
pub mod config;
pub mod db;
pub mod error;
pub mod exports;
pub mod graphql;
pub mod imports;
pub mod insights;
pub mod platform;
pub mod rules;
pub mod services;
pub mod state;
pub mod telemetry;
pub mod tenant;
