//! Roles map to permissions; resolvers check permissions (with guards), never role names.

use entity::enums::Role;

/// Something an actor may be allowed to do in a school.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Permission {
    /// Read the roster and school records (`students:read`).
    StudentsRead,
    /// Create, change and delete roster records (`students:write`).
    StudentsWrite,
    /// Record grades (`grades:write`).
    GradesWrite,
    /// Record attendance (`attendance:write`).
    AttendanceWrite,
    /// Record discipline incidents (`incidents:write`).
    IncidentsWrite,
    /// Read health records; every read is audited (`health:read`).
    HealthRead,
    /// Run imports (`imports:run`).
    ImportsRun,
    /// Train prediction models (`ml:train`).
    MlTrain,
    /// Manage the school's users, memberships and API tokens (`users:manage`).
    UsersManage,
    /// Change the school's configuration and domains (`school:configure`).
    SchoolConfigure,
    /// Delete all of the school's data (`data:reset`).
    DataReset,
    /// Create and list every school (`schools:manage`, superadmins only).
    SchoolsManage,
}

impl Permission {
    /// The documented name, e.g. `students:read`.
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::StudentsRead => "students:read",
            Permission::StudentsWrite => "students:write",
            Permission::GradesWrite => "grades:write",
            Permission::AttendanceWrite => "attendance:write",
            Permission::IncidentsWrite => "incidents:write",
            Permission::HealthRead => "health:read",
            Permission::ImportsRun => "imports:run",
            Permission::MlTrain => "ml:train",
            Permission::UsersManage => "users:manage",
            Permission::SchoolConfigure => "school:configure",
            Permission::DataReset => "data:reset",
            Permission::SchoolsManage => "schools:manage",
        }
    }

    /// What `role` may do in its school.
    pub fn of_role(role: Role) -> &'static [Permission] {
        use Permission::*;
        match role {
            Role::Admin => &[
                StudentsRead,
                StudentsWrite,
                GradesWrite,
                AttendanceWrite,
                IncidentsWrite,
                HealthRead,
                ImportsRun,
                MlTrain,
                UsersManage,
                SchoolConfigure,
                DataReset,
            ],
            Role::Teacher => &[StudentsRead, GradesWrite, AttendanceWrite, IncidentsWrite],
            Role::Viewer => &[StudentsRead],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn viewers_only_read_and_teachers_record_but_do_not_administer() {
        assert_eq!(
            Permission::of_role(Role::Viewer),
            &[Permission::StudentsRead]
        );
        let teacher = Permission::of_role(Role::Teacher);
        for p in [
            Permission::GradesWrite,
            Permission::AttendanceWrite,
            Permission::IncidentsWrite,
        ] {
            assert!(teacher.contains(&p));
        }
        for p in [
            Permission::HealthRead,
            Permission::UsersManage,
            Permission::DataReset,
            Permission::StudentsWrite,
        ] {
            assert!(!teacher.contains(&p), "{p:?}");
        }
    }

    #[test]
    fn no_school_role_manages_schools() {
        for role in [Role::Admin, Role::Teacher, Role::Viewer] {
            assert!(!Permission::of_role(role).contains(&Permission::SchoolsManage));
        }
    }
}
