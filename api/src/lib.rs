//! The school data service: one GraphQL API over many schools.
//!
//! The modules, lowest first (each imports only modules above it in this list, never one
//! below; `graphql`'s own object types refer to each other freely):
//!
//! - [`config`]: configuration, read once from the environment.
//! - [`rules`]: the rules a school's records obey (names, grade levels, national ids, emails,
//!   periods, scores, dates in terms) as parse-don't-validate newtypes, used by the API and by
//!   every importer alike; a refusal carries the same code whichever way the value came in.
//! - [`error`]: [`error::ApiError`], the one error type, with the closed list of codes.
//! - [`db`]: opening SQLite or PostgreSQL.
//! - [`auth`]: passwords, session tokens, API tokens, roles and permissions.
//! - [`budget`]: per-school cost budgets and heavy-work permits.
//! - [`platform`]: the platform tables (schools, users, memberships, invitations, domains, API
//!   tokens). School-owned tables are reached only through `entity::tenant::TenantTx`.
//! - [`tenant`]: resolving each request's actor and school, once, before GraphQL runs; its
//!   value types ([`tenant::Actor`], [`tenant::TenantContext`]) are plain data that import only
//!   entities, [`auth`] permissions and [`error`].
//! - [`services`]: the domain, one file per area (students, guardians, staff, classes,
//!   subjects, calendar, grades, attendance, records, schools, the audit log, reset, demo):
//!   functions on the school's `TenantTx` with typed input, checked with [`rules`], each
//!   writing its own audit entry. Nothing here knows GraphQL.
//! - [`imports`]: reading school files (CSV, XLSX, OneRoster packages) and writing them with
//!   the same rules; one module per file kind, and per OneRoster CSV file.
//! - [`exports`]: writing a school's records as a OneRoster package.
//! - [`insights`]: per-student features, the per-school model, and school analytics (overview,
//!   grade and attendance figures, ABC risk scores), computed in SQL in the school's scope.
//! - [`state`]: [`state::AppState`], the shared state (configuration, database pool, keys,
//!   caches, counters), without the schema.
//! - [`graphql`]: the schema and resolvers, the only module that knows async-graphql; one
//!   module per area with thin resolvers (check the permission, call the service, wrap the
//!   row), the HTTP and WebSocket transports, the GraphQL twins of [`insights`] figures and
//!   of [`error::ApiError`], and the one-pass answers of big lists of plain records.
//! - [`app`]: router and server ([`app::Application`]); tests build it on port 0. The GraphQL
//!   schema is router state of its own, handed to the GraphQL handlers.
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
