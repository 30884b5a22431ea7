//! Resolving who is asking and for which school, once per request, before GraphQL runs
//! (DESIGN §3 steps 1–4). Failures are kept, not raised: `login` and introspection work without
//! credentials, and a protected field answers with the stored error.
//!
//! - `types`: what resolution yields ([`Actor`], [`TenantContext`], [`RequestIdentity`]), plain
//!   data that depends on nothing above it.
//! - `resolution`: reading the request's headers and looking its credentials and school up.

mod resolution;
mod types;

pub use resolution::{SCHOOL_HEADER, Sources, client_address, resolve, resolve_binding};
pub use types::{Actor, RequestIdentity, TenantContext};
