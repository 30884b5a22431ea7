//! Id newtypes: one per table, so a `StudentId` can never be passed where a `ClassId` is meant.
//! Ids are UUIDv7, made by the application (time-ordered, and they leak no school's size).

use std::{fmt, str::FromStr};

use sea_orm::{DbErr, DeriveValueType, TryFromU64};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_types {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, DeriveValueType, Serialize, Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A fresh time-ordered id.
            pub fn generate() -> Self {
                Self(Uuid::now_v7())
            }

            /// The underlying UUID.
            pub fn into_uuid(self) -> Uuid {
                self.0
            }
        }

        impl From<Uuid> for $name {
            fn from(value: Uuid) -> Self {
                Self(value)
            }
        }

        impl From<$name> for Uuid {
            fn from(value: $name) -> Self {
                value.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }

        // Ids are never database-generated integers, so SeaORM's "last insert id" path must
        // never be asked to make one up.
        impl TryFromU64 for $name {
            fn try_from_u64(_: u64) -> Result<Self, DbErr> {
                Err(DbErr::ConvertFromU64(stringify!($name)))
            }
        }
    )*};
}

id_types! {
    /// A school: the tenant.
    SchoolId;
    /// A platform user (may belong to several schools).
    UserId;
    /// A host name mapped to a school.
    SchoolDomainId;
    /// An invitation of a person into a school.
    InvitationId;
    /// An integrator API token.
    ApiTokenId;
    /// A teacher of one school.
    TeacherId;
    /// A subject taught at one school.
    SubjectId;
    /// An academic year of one school.
    AcademicYearId;
    /// A term within an academic year.
    TermId;
    /// A class (homeroom or scheduled).
    ClassId;
    /// A teacher's assignment to a class.
    ClassTeacherId;
    /// A student of one school.
    StudentId;
    /// A student's enrollment in a class.
    EnrollmentId;
    /// A guardian (parent) of students.
    GuardianId;
    /// A link between a student and a guardian.
    StudentGuardianId;
    /// An assessment (exam, quiz, ...).
    AssessmentId;
    /// A grade.
    GradeId;
    /// An attendance record.
    AttendanceRecordId;
    /// A discipline incident.
    IncidentId;
    /// A health record.
    HealthRecordId;
    /// A stored student document.
    StudentDocumentId;
    /// A line of a student's academic history.
    AcademicHistoryId;
    /// An import run.
    ImportLogId;
    /// A trained model.
    MlModelId;
    /// An audit log entry.
    AuditLogId;
    /// A school's configuration row.
    SchoolConfigurationId;
    /// A feature usage counter.
    FeatureUsageId;
}
