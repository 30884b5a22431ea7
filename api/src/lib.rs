//! The school data service: one GraphQL API over many schools.
//!
//! - [`config`]: configuration, read once from the environment.
//! - [`app`]: state, router and server ([`app::Application`]); tests build it on port 0.
//! - [`db`]: opening SQLite or PostgreSQL.
//! - [`error`]: [`error::ApiError`], the one error type, with the closed list of codes.
//! - [`graphql`]: the schema and resolvers (the only module that knows async-graphql).
//! - [`telemetry`]: log output.
//! - [`cli`]: the `api` binary's subcommands.

pub mod app;
pub mod cli;
pub mod config;
pub mod db;
pub mod error;
pub mod graphql;
pub mod telemetry;
