//! Domain logic that is not GraphQL-specific.

pub mod audit;
pub mod bootstrap;
pub mod demo;
pub mod reset;
pub mod schools;
