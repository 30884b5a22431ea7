//! First run: on a database with no users, create a superadmin and a first school. There is no
//! default password: it comes from configuration or is generated and shown once.

use chrono::Utc;
use entity::{enums::Role, ids::*, user};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, DatabaseConnection};

use crate::auth::hash_password;
use crate::auth::random_secret;
use crate::auth::validate_new_password;
use crate::config::Config;
use crate::platform;
use crate::services::schools;

/// What the bootstrap created.
#[derive(Debug)]
pub struct Bootstrapped {
    /// The superadmin's email.
    pub email: String,
    /// The generated password, when none was configured (show it once, then forget it).
    pub generated_password: Option<String>,
    /// The first school's slug.
    pub school_slug: String,
}

/// Creates the superadmin and first school when the database has no users; `None` otherwise.
pub async fn ensure(
    db: &DatabaseConnection,
    config: &Config,
) -> anyhow::Result<Option<Bootstrapped>> {
    if platform::user_count(db).await? > 0 {
        return Ok(None);
    }
    let (password, generated) = match &config.bootstrap_admin_password {
        Some(p) => {
            validate_new_password("BOOTSTRAP_ADMIN_PASSWORD", p)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            (p.clone(), false)
        }
        None => (random_secret()[..24].to_owned(), true),
    };
    let to_hash = password.clone();
    let hash = tokio::task::spawn_blocking(move || hash_password(&to_hash))
        .await?
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let email = platform::normalize_email(&config.bootstrap_admin_email);

    let tx = entity::writer::begin_write(db).await?;
    let now = Utc::now();
    let admin = user::ActiveModel {
        id: Set(UserId::generate()),
        email: Set(email.clone()),
        password_hash: Set(hash),
        full_name: Set("Administrator".into()),
        is_active: Set(true),
        is_superadmin: Set(true),
        token_version: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&*tx)
    .await?;
    let school = schools::create(
        &tx,
        &config.bootstrap_school_name,
        &config.bootstrap_school_slug,
    )
    .await
    .map_err(|e| anyhow::anyhow!("bootstrap school: {e}"))?;
    platform::add_membership(&*tx, school.id, admin.id, Role::Admin).await?;
    tx.commit().await?;
    Ok(Some(Bootstrapped {
        email,
        generated_password: generated.then_some(password),
        school_slug: school.slug,
    }))
}
