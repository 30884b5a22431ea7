//! Domain logic that is not GraphQL-specific.

pub mod audit;
pub mod bootstrap;
pub mod reset;
pub mod schools;
