//! A school's roster and records: students, teachers, classes, subjects, the calendar, grades
//! and attendance.

pub mod manage;
pub mod mutation;
pub mod query;
pub mod records;
pub mod types;
pub mod updates;
