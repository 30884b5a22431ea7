//! SeaORM entities for every table, the id newtypes used as their column types, and the closed
//! value sets stored as text.
//!
//! Platform tables (not owned by a school): [`school`], [`user`], [`membership`],
//! [`school_domain`], [`api_token`]. Every other table is tenant-owned: its primary key is
//! `(school_id, id)` and every reference to another tenant table is a composite foreign key that
//! includes `school_id`, so the database refuses cross-school links.

pub mod enums;
pub mod ids;
pub mod tenant;
pub mod writer;

pub mod academic_history;
pub mod academic_year;
pub mod api_token;
pub mod assessment;
pub mod attendance_record;
pub mod audit_log;
pub mod class;
pub mod class_teacher;
pub mod enrollment;
pub mod feature_usage;
pub mod grade;
pub mod guardian;
pub mod health_record;
pub mod import_log;
pub mod incident;
pub mod invitation;
pub mod membership;
pub mod ml_model;
pub mod school;
pub mod school_configuration;
pub mod school_data_version;
pub mod school_domain;
pub mod student;
pub mod student_document;
pub mod student_guardian;
pub mod subject;
pub mod teacher;
pub mod term;
pub mod user;
