//! First run: a superadmin and a first school, never a default password.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code may panic on the unexpected.

use api::{config::Config, services::bootstrap};
use tests::{TestDb, backend_tests};

backend_tests! {
    async fn an_empty_database_gets_a_superadmin_with_a_generated_password_shown_once(backend) {
        let db = TestDb::new(backend).await;
        let config = Config::from_lookup(|name| (name == "DATABASE_URL").then(|| db.url.clone())).unwrap();
        let runtime = api::db::connect_runtime(&config).await.unwrap();
        let created = bootstrap::ensure(&runtime, &config).await.unwrap().expect("created on an empty database");
        assert_eq!(created.email, "admin@localhost");
        assert_eq!(created.school_slug, "first-school");
        let password = created.generated_password.expect("a generated password");
        assert!(password.len() >= 20);

        let stored = api::platform::user_by_email(&runtime, "admin@localhost").await.unwrap().unwrap();
        assert!(stored.is_superadmin);
        assert!(api::auth::verify_password(&password, &stored.password_hash));
        assert!(!stored.password_hash.contains(&password));

        // Only once.
        assert!(bootstrap::ensure(&runtime, &config).await.unwrap().is_none());
    }

    async fn a_configured_password_is_used_and_never_echoed(backend) {
        let db = TestDb::new(backend).await;
        let url = db.url.clone();
        let config = Config::from_lookup(|name| match name {
            "DATABASE_URL" => Some(url.clone()),
            "BOOTSTRAP_ADMIN_EMAIL" => Some("Ops@Example.org".into()),
            "BOOTSTRAP_ADMIN_PASSWORD" => Some("configured-password".into()),
            "BOOTSTRAP_SCHOOL_SLUG" => Some("herzl-high".into()),
            _ => None,
        })
        .unwrap();
        let runtime = api::db::connect_runtime(&config).await.unwrap();
        let created = bootstrap::ensure(&runtime, &config).await.unwrap().unwrap();
        assert_eq!((created.email.as_str(), created.school_slug.as_str()), ("ops@example.org", "herzl-high"));
        assert!(created.generated_password.is_none());
        let stored = api::platform::user_by_email(&runtime, "ops@example.org").await.unwrap().unwrap();
        assert!(api::auth::verify_password("configured-password", &stored.password_hash));
    }
}
