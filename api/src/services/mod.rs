//! The domain: what each area of a school's records allows and how it is written. Functions
//! take the school's transaction (`entity::tenant::TenantTx`), the actor and typed input, check
//! the input against [`crate::rules`] and the school's records, write, and write their own audit
//! entry; the caller commits. Nothing here knows GraphQL.

pub mod attendance;
pub mod audit;
pub mod bootstrap;
pub mod calendar;
pub mod checks;
pub mod classes;
pub mod demo;
pub mod grades;
pub mod guardians;
pub mod records;
pub mod reset;
pub mod schools;
pub mod staff;
pub mod students;
pub mod subjects;
