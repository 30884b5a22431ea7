//! The enums of a school's records, mirrored from the entities'.

use async_graphql::Enum;
use entity::enums;

macro_rules! mirror_enum {
    ($(#[$doc:meta])* $name:ident = $source:path { $($(#[$vdoc:meta])* $variant:ident),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
        pub enum $name { $($(#[$vdoc])* $variant),* }

        impl From<$source> for $name {
            fn from(value: $source) -> Self {
                match value { $(<$source>::$variant => $name::$variant),* }
            }
        }

        impl From<$name> for $source {
            fn from(value: $name) -> Self {
                match value { $($name::$variant => <$source>::$variant),* }
            }
        }
    };
}

mirror_enum! {
    /// Whether a record is in use (OneRoster `status`).
    RecordStatus = enums::RecordStatus {
        /// In use.
        Active,
        /// Marked for deletion (soft-deleted).
        ToBeDeleted,
    }
}

mirror_enum! {
    /// Homeroom or scheduled class.
    ClassKind = enums::ClassKind {
        /// A homeroom: each student belongs to one.
        Homeroom,
        /// A scheduled class of one subject.
        Scheduled,
    }
}

mirror_enum! {
    /// The kind of work a grade is for.
    GradeCategory = enums::GradeCategory {
        /// An exam.
        Exam,
        /// A quiz.
        Quiz,
        /// Homework.
        Homework,
        /// A project.
        Project,
        /// A final (report-card) grade.
        Final,
    }
}

mirror_enum! {
    /// Attendance status. Attended = PRESENT or LATE; absent = ABSENT or EXCUSED.
    AttendanceStatus = enums::AttendanceStatus {
        /// Present.
        Present,
        /// Present, late.
        Late,
        /// Absent without an excuse.
        Absent,
        /// Absent with an excuse.
        Excused,
    }
}
