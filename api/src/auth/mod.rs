//! Identities: password hashing, session tokens (JWT), integrator API tokens, roles and
//! permissions, and throttling of failed logins.

pub mod permissions;
pub mod throttle;

use std::sync::OnceLock;

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use chrono::{DateTime, Duration, Utc};
use entity::ids::UserId;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::ApiError;

pub use permissions::Permission;

/// The shortest password accepted.
pub const MIN_PASSWORD_LEN: usize = 10;
/// The longest password accepted (hashing cost grows with length).
pub const MAX_PASSWORD_LEN: usize = 256;
/// API token secrets start with this, so they are told apart from JWTs and found by scanners.
pub const API_TOKEN_PREFIX: &str = "sds_";

/// Hashes `password` with argon2id (the crate's defaults are OWASP's: m = 19 MiB, t = 2, p = 1)
/// and a fresh salt. CPU-heavy: call from a blocking task.
pub fn hash_password(password: &str) -> Result<String, ApiError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(ApiError::internal)
}

/// Whether `password` matches the stored hash. Runs in constant time for a given hash.
pub fn verify_password(password: &str, stored: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), stored)
        .is_ok()
}

/// A hash of a random password, verified against when a login names an unknown email so that
/// the failure costs the same time as a wrong password.
pub fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_password(&random_secret()).unwrap_or_default())
}

/// Checks a new password's length.
pub fn validate_new_password(field: &str, password: &str) -> Result<(), ApiError> {
    let len = password.chars().count();
    if len < MIN_PASSWORD_LEN {
        return Err(ApiError::bad_field(
            field,
            format!("must be at least {MIN_PASSWORD_LEN} characters"),
        ));
    }
    if len > MAX_PASSWORD_LEN {
        return Err(ApiError::bad_field(
            field,
            format!("must be at most {MAX_PASSWORD_LEN} characters"),
        ));
    }
    Ok(())
}

/// 244 random bits from the OS generator, as 64 hex digits.
pub fn random_secret() -> String {
    let a = uuid::Uuid::new_v4();
    let b = uuid::Uuid::new_v4();
    format!("{}{}", a.simple(), b.simple())
}

/// The SHA-256 of an API token secret: what is stored. (A fast hash is right here: the secret
/// is random and long, not a human password.)
pub fn hash_api_token(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A new API token secret.
pub fn new_api_token_secret() -> String {
    format!("{API_TOKEN_PREFIX}{}", random_secret())
}

/// The claims of a session token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    /// Issued at (Unix seconds).
    pub iat: i64,
    /// Expires at (Unix seconds).
    pub exp: i64,
    /// The user's token version when issued; bumping it revokes the token.
    pub ver: i32,
}

/// Signs and checks session tokens (HS256).
#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    ttl: Duration,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtKeys")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl JwtKeys {
    /// Keys from `secret`; tokens live `ttl`.
    pub fn new(secret: &[u8], ttl: Duration) -> Self {
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            ttl,
        }
    }

    /// A token for `user` at `token_version`, and when it expires.
    pub fn issue(
        &self,
        user: UserId,
        token_version: i32,
    ) -> Result<(String, DateTime<Utc>), ApiError> {
        self.issue_for(user, token_version, self.ttl)
    }

    /// A session token for `user` that lives `ttl` (the service's own tokens live the
    /// configured time; tests make short-lived ones).
    pub fn issue_for(
        &self,
        user: UserId,
        token_version: i32,
        ttl: Duration,
    ) -> Result<(String, DateTime<Utc>), ApiError> {
        let now = Utc::now();
        let expires = now + ttl;
        let claims = Claims {
            sub: user.to_string(),
            iat: now.timestamp(),
            exp: expires.timestamp(),
            ver: token_version,
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(ApiError::internal)?;
        Ok((token, expires))
    }

    /// The claims of a valid token: HS256 only (so `alg: none` and other algorithms are
    /// refused), signature checked, not expired.
    pub fn verify(&self, token: &str) -> Option<Claims> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp", "sub", "iat"]);
        validation.leeway = 5;
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .ok()
            .map(|data| data.claims)
    }
}

/// The claims of a download link: one file of one school, for a few minutes.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DownloadClaims {
    /// Who asked for it (`USER:<id>` or `API_TOKEN:<id>`).
    pub sub: String,
    /// The school whose data it is.
    pub school: String,
    /// What may be downloaded, e.g. `oneroster-export`.
    pub aud: String,
    /// Issued at (Unix seconds).
    pub iat: i64,
    /// Expires at (Unix seconds).
    pub exp: i64,
    /// The asking user's token version when issued (for a user): revoking the user's sessions
    /// or changing the password ends the link too.
    #[serde(default)]
    pub ver: Option<i32>,
    /// The link's own id: each link is used once.
    #[serde(default)]
    pub jti: String,
}

impl JwtKeys {
    /// A link token for `what` of `school`, asked for by `subject` (whose token version is
    /// `ver`, for a user), valid for `ttl`.
    pub fn issue_download(
        &self,
        subject: String,
        ver: Option<i32>,
        school: entity::ids::SchoolId,
        what: &str,
        ttl: Duration,
    ) -> Result<(String, DateTime<Utc>), ApiError> {
        let now = Utc::now();
        let expires = now + ttl;
        let claims = DownloadClaims {
            sub: subject,
            school: school.to_string(),
            aud: what.to_owned(),
            iat: now.timestamp(),
            exp: expires.timestamp(),
            ver,
            jti: uuid::Uuid::new_v4().to_string(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(ApiError::internal)?;
        Ok((token, expires))
    }

    /// The claims of a valid link token for `what` (a session token is not one: it has no
    /// audience, and a link token is no session token: it has no token version).
    pub fn verify_download(&self, token: &str, what: &str) -> Option<DownloadClaims> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp", "sub", "iat", "aud"]);
        validation.set_audience(&[what]);
        validation.leeway = 5;
        jsonwebtoken::decode::<DownloadClaims>(token, &self.decoding, &validation)
            .ok()
            .map(|data| data.claims)
    }
}

/// Download links already used (by their id, until they expire): a link works once.
#[derive(Debug, Default)]
pub struct UsedLinks(std::sync::Mutex<std::collections::HashMap<String, i64>>);

impl UsedLinks {
    /// Marks the link `id` (expiring at `exp`, Unix seconds) used; false if it already was.
    pub fn claim(&self, id: &str, exp: i64) -> bool {
        let mut used = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let now = Utc::now().timestamp();
        if used.len() > 10_000 {
            used.retain(|_, expires| *expires >= now);
        }
        used.insert(id.to_owned(), exp).is_none()
    }

    /// Makes the link `id` usable again (its download did not happen).
    pub fn release(&self, id: &str) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).remove(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_against_their_own_hash() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("correct horse batterY", &hash));
        assert!(!verify_password("anything", "not a hash"));
    }

    #[test]
    fn tokens_round_trip_and_other_keys_are_refused() {
        let keys = JwtKeys::new(b"0123456789abcdef0123456789abcdef", Duration::hours(8));
        let user = UserId::generate();
        let (token, expires) = keys.issue(user, 3).unwrap();
        let claims = keys.verify(&token).unwrap();
        assert_eq!(claims.sub, user.to_string());
        assert_eq!(claims.ver, 3);
        assert_eq!(claims.exp, expires.timestamp());
        let other = JwtKeys::new(b"another-secret-another-secret-xx", Duration::hours(8));
        assert!(other.verify(&token).is_none());
    }

    #[test]
    fn api_token_secrets_are_long_random_and_stored_hashed() {
        let a = new_api_token_secret();
        let b = new_api_token_secret();
        assert_ne!(a, b);
        assert!(a.starts_with(API_TOKEN_PREFIX) && a.len() == API_TOKEN_PREFIX.len() + 64);
        assert_eq!(hash_api_token(&a).len(), 64);
        assert_ne!(hash_api_token(&a), a);
    }
}
