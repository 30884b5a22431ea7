//! The application wall on its own (the only wall on SQLite): `TenantTx` reads, writes and
//! deletes only the rows of its school, and no caller can set or change `school_id`.

#![allow(clippy::disallowed_methods, clippy::unwrap_used, clippy::expect_used)] // Tests inspect the database directly, around the tenant layer.

use entity::{
    enums::RecordStatus,
    ids::*,
    student,
    tenant::{TenantError, TenantTx},
};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, IntoActiveModel, Order};
use tests::{TestDb, backend_tests, fixtures};

backend_tests! {
    async fn a_tenant_transaction_sees_and_touches_only_its_school(backend) {
        let db = TestDb::new(backend).await;
        let a = fixtures::school(&db.conn, "school-a").await.unwrap();
        let b = fixtures::school(&db.conn, "school-b").await.unwrap();
        let mine = fixtures::student(&db.conn, a, "000000018").await.unwrap();
        let theirs = fixtures::student(&db.conn, b, "000000026").await.unwrap();

        let tx = TenantTx::begin_write(&db.conn, a).await.unwrap();
        let all = tx.all(tx.find::<student::Entity>().order_by(student::Column::Id, Order::Asc)).await.unwrap();
        assert_eq!(all.iter().map(|s| s.id).collect::<Vec<_>>(), [mine]);
        // Narrowing cannot widen: a filter naming school B still finds nothing.
        let widened = tx.all(tx.find::<student::Entity>().filter(student::Column::SchoolId.eq(b))).await.unwrap();
        assert!(widened.is_empty());
        assert_eq!(tx.count(tx.find::<student::Entity>()).await.unwrap(), 1);
        assert!(tx.get::<student::Entity>(mine).await.unwrap().is_some());
        assert!(tx.get::<student::Entity>(theirs).await.unwrap().is_none(), "another school's id is missing");

        // Update and delete of another school's row: NotFound, and nothing changes.
        let theirs_row = student::Entity::find_by_id((b, theirs)).one(&db.conn).await.unwrap().unwrap();
        let mut change = theirs_row.clone().into_active_model();
        change.first_name = Set("changed".into());
        assert!(matches!(tx.update(change).await, Err(TenantError::NotFound)));
        assert!(matches!(tx.delete::<student::Entity>(theirs).await, Err(TenantError::NotFound)));
        assert!(matches!(tx.delete::<student::Entity>(StudentId::generate()).await, Err(TenantError::NotFound)));

        // Insert naming school B lands in school A.
        let inserted = tx
            .insert(student::ActiveModel {
                school_id: Set(b),
                id: Set(StudentId::generate()),
                student_tz: Set("000000034".into()),
                first_name: Set("יעל".into()),
                last_name: Set("מזרחי".into()),
                status: Set(RecordStatus::Active),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(inserted.school_id, a);

        // Update cannot move a row to another school.
        let mut moved = inserted.clone().into_active_model();
        moved.school_id = Set(b);
        moved.first_name = Set("נועה".into());
        let updated = tx.update(moved).await.unwrap();
        assert_eq!((updated.school_id, updated.first_name.as_str()), (a, "נועה"));

        tx.delete::<student::Entity>(mine).await.unwrap();
        tx.commit().await.unwrap();

        let b_row = student::Entity::find_by_id((b, theirs)).one(&db.conn).await.unwrap().unwrap();
        assert_eq!(b_row, theirs_row, "school B's row is untouched");
        assert_eq!(student::Entity::find().all(&db.conn).await.unwrap().len(), 2);
    }
}
