//! The school data service: one GraphQL API over many schools.
//!
//! - [`config`]: configuration, read once from the environment.
//! - [`app`]: state, router and server ([`app::Application`]); tests build it on port 0.
//! - [`db`]: opening SQLite or PostgreSQL.
//! - [`error`]: [`error::ApiError`], the one error type, with the closed list of codes.
//! - [`graphql`]: the schema and resolvers (the only module that knows async-graphql).
//! - [`auth`]: passwords, session tokens, API tokens, roles and permissions.
//! - [`tenant`]: resolving each request's actor and school, once, before GraphQL runs.
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
pub mod telemetry;
pub mod tenant;
