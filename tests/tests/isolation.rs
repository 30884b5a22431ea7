//! The database itself refuses rows of one school that point at rows of another.

#![allow(clippy::disallowed_methods, clippy::unwrap_used, clippy::expect_used)] // Tests inspect the database directly, around the tenant layer.

use entity::{enums::*, ids::*};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait, DbErr, SqlErr};
use tests::{TestDb, backend_tests, fixtures};

fn is_foreign_key_violation(result: Result<impl std::fmt::Debug, DbErr>) -> bool {
    match result {
        Ok(row) => panic!("the database accepted a cross-school reference: {row:?}"),
        Err(e) => matches!(e.sql_err(), Some(SqlErr::ForeignKeyConstraintViolation(_))),
    }
}

backend_tests! {
    async fn a_grade_of_school_a_cannot_point_at_a_student_of_school_b(backend) {
        let db = TestDb::new(backend).await;
        let a = fixtures::school(&db.conn, "school-a").await.unwrap();
        let b = fixtures::school(&db.conn, "school-b").await.unwrap();
        let (_, term_a, subject_a) = fixtures::calendar(&db.conn, a).await.unwrap();
        let student_a = fixtures::student(&db.conn, a, "000000018").await.unwrap();
        let student_b = fixtures::student(&db.conn, b, "000000026").await.unwrap();

        // Control: the same row pointing at school A's own student is accepted.
        fixtures::grade(&db.conn, a, student_a, subject_a, term_a).await.unwrap();

        let cross = fixtures::grade(&db.conn, a, student_b, subject_a, term_a).await;
        assert!(is_foreign_key_violation(cross));
    }

    async fn links_between_two_schools_rows_are_refused_for_every_kind_of_reference(backend) {
        let db = TestDb::new(backend).await;
        let a = fixtures::school(&db.conn, "school-a").await.unwrap();
        let b = fixtures::school(&db.conn, "school-b").await.unwrap();
        let (year_a, _, _) = fixtures::calendar(&db.conn, a).await.unwrap();
        let (year_b, term_b, subject_b) = fixtures::calendar(&db.conn, b).await.unwrap();
        let class_a = fixtures::class(&db.conn, a, year_a, "ז'1").await.unwrap();
        let teacher_b = fixtures::teacher(&db.conn, b).await.unwrap();
        let student_b = fixtures::student(&db.conn, b, "000000026").await.unwrap();

        // A class of school A taught by a teacher of school B.
        let assignment = entity::class_teacher::ActiveModel {
            school_id: Set(a),
            id: Set(ClassTeacherId::generate()),
            class_id: Set(class_a),
            teacher_id: Set(teacher_b),
            role: Set("PRIMARY".into()),
            ..Default::default()
        }
        .insert(&db.conn)
        .await;
        assert!(is_foreign_key_violation(assignment));

        // School B's student enrolled in school A's class, filed under either school.
        for school in [a, b] {
            let enrollment = entity::enrollment::ActiveModel {
                school_id: Set(school),
                id: Set(EnrollmentId::generate()),
                class_id: Set(class_a),
                student_id: Set(student_b),
                status: Set(RecordStatus::Active),
                ..Default::default()
            }
            .insert(&db.conn)
            .await;
            assert!(is_foreign_key_violation(enrollment));
        }

        // A class of school A in school B's academic year.
        let class = fixtures::class(&db.conn, a, year_b, "ח'2").await;
        assert!(is_foreign_key_violation(class));

        // School B's student's grade filed under school A with B's subject and term.
        let grade = fixtures::grade(&db.conn, a, student_b, subject_b, term_b).await;
        assert!(is_foreign_key_violation(grade));

        // A membership in school A tied to school B's teacher record.
        let user = UserId::generate();
        entity::user::ActiveModel {
            id: Set(user),
            email: Set("dana@example.org".into()),
            password_hash: Set("x".into()),
            full_name: Set("Dana".into()),
            is_active: Set(true),
            is_superadmin: Set(false),
            token_version: Set(0),
            ..Default::default()
        }
        .insert(&db.conn)
        .await
        .unwrap();
        let membership = entity::membership::ActiveModel {
            school_id: Set(a),
            user_id: Set(user),
            role: Set(Role::Teacher),
            teacher_id: Set(Some(teacher_b)),
            ..Default::default()
        }
        .insert(&db.conn)
        .await;
        assert!(is_foreign_key_violation(membership));
    }

    async fn the_same_national_id_may_exist_once_in_each_school_but_not_twice_in_one(backend) {
        let db = TestDb::new(backend).await;
        let a = fixtures::school(&db.conn, "school-a").await.unwrap();
        let b = fixtures::school(&db.conn, "school-b").await.unwrap();
        fixtures::student(&db.conn, a, "000000018").await.unwrap();
        fixtures::student(&db.conn, b, "000000018").await.unwrap();
        let twice = fixtures::student(&db.conn, a, "000000018").await;
        assert!(matches!(twice.unwrap_err().sql_err(), Some(SqlErr::UniqueConstraintViolation(_))));
    }

    async fn one_attendance_record_per_student_date_and_period(backend) {
        let db = TestDb::new(backend).await;
        let a = fixtures::school(&db.conn, "school-a").await.unwrap();
        let student = fixtures::student(&db.conn, a, "000000018").await.unwrap();
        let record = |period: i32| entity::attendance_record::ActiveModel {
            school_id: Set(a),
            id: Set(AttendanceRecordId::generate()),
            student_id: Set(student),
            date: Set(chrono::NaiveDate::from_ymd_opt(2025, 11, 3).unwrap()),
            period: Set(period),
            status: Set(AttendanceStatus::Present),
            ..Default::default()
        };
        record(0).insert(&db.conn).await.unwrap();
        record(1).insert(&db.conn).await.unwrap();
        let again = record(0).insert(&db.conn).await;
        assert!(matches!(again.unwrap_err().sql_err(), Some(SqlErr::UniqueConstraintViolation(_))));
    }

    async fn status_columns_accept_only_their_closed_set(backend) {
        let db = TestDb::new(backend).await;
        let a = fixtures::school(&db.conn, "school-a").await.unwrap();
        let student = fixtures::student(&db.conn, a, "000000018").await.unwrap();
        let sql = format!(
            "UPDATE students SET status = 'DELETED' WHERE id = {}",
            match backend {
                tests::Backend::Postgres => format!("'{student}'"),
                tests::Backend::Sqlite => format!("X'{}'", student.into_uuid().simple()),
            }
        );
        let err = db.conn.execute_unprepared(&sql).await.unwrap_err();
        assert!(err.to_string().to_lowercase().contains("check"), "{err}");
    }

    async fn deleting_a_school_removes_its_rows_and_only_its_rows(backend) {
        use sea_orm::{EntityTrait, ModelTrait, PaginatorTrait};
        let db = TestDb::new(backend).await;
        let a = fixtures::school(&db.conn, "school-a").await.unwrap();
        let b = fixtures::school(&db.conn, "school-b").await.unwrap();
        for school in [a, b] {
            let (_, term, subject) = fixtures::calendar(&db.conn, school).await.unwrap();
            let student = fixtures::student(&db.conn, school, "000000018").await.unwrap();
            fixtures::grade(&db.conn, school, student, subject, term).await.unwrap();
        }
        let school_a = entity::school::Entity::find_by_id(a).one(&db.conn).await.unwrap().unwrap();
        school_a.delete(&db.conn).await.unwrap();
        assert_eq!(entity::student::Entity::find().count(&db.conn).await.unwrap(), 1);
        assert_eq!(entity::grade::Entity::find().count(&db.conn).await.unwrap(), 1);
        let left = entity::grade::Entity::find().one(&db.conn).await.unwrap().unwrap();
        assert_eq!(left.school_id, b);
    }
}
