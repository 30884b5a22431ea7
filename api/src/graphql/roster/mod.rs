//! A school's roster and records: students, guardians, teachers, classes, subjects, the
//! calendar, grades, attendance and a student's other records. One file per area holds its
//! GraphQL types and inputs (and how an input becomes the service's); [`query`] and
//! [`mutation`] hold the thin root resolvers, which call `crate::services`.

mod attendance;
mod calendar;
mod classes;
mod enums;
mod grades;
mod guardians;
pub mod mutation;
pub mod query;
mod records;
mod staff;
mod students;
mod subjects;

pub use attendance::*;
pub use calendar::*;
pub use classes::*;
pub use enums::*;
pub use grades::*;
pub use guardians::*;
pub use records::*;
pub use staff::*;
pub use students::*;
pub use subjects::*;
