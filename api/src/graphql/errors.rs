//! How an [`ApiError`] becomes a GraphQL error: its message, and `extensions.code` always set
//! (with `fields`, `field` or `retryAfterSeconds` when the error carries them).

use async_graphql::ErrorExtensions;

use crate::error::ApiError;

impl ErrorExtensions for ApiError {
    fn extend(&self) -> async_graphql::Error {
        async_graphql::Error::new(self.to_string()).extend_with(|_, ext| {
            ext.set("code", self.code().as_str());
            match self {
                ApiError::BadUserInput { fields, .. } => {
                    let list: Vec<async_graphql::Value> = fields
                        .iter()
                        .map(|f| {
                            let mut obj = async_graphql::indexmap::IndexMap::new();
                            obj.insert(
                                async_graphql::Name::new("field"),
                                async_graphql::Value::from(f.field.clone()),
                            );
                            obj.insert(
                                async_graphql::Name::new("message"),
                                async_graphql::Value::from(f.message.clone()),
                            );
                            if let Some(code) = f.code {
                                obj.insert(
                                    async_graphql::Name::new("code"),
                                    async_graphql::Value::from(code),
                                );
                            }
                            async_graphql::Value::Object(obj)
                        })
                        .collect();
                    ext.set("fields", list);
                }
                ApiError::Conflict { field, .. } => ext.set("field", field.clone()),
                ApiError::RateLimited { retry_after_secs }
                | ApiError::Unavailable { retry_after_secs } => {
                    ext.set("retryAfterSeconds", *retry_after_secs)
                }
                _ => {}
            }
        })
    }
}

// With async-graphql's `custom-error-conversion` feature there is no blanket conversion from any
// `Display` type, so this is the only way an error becomes a GraphQL error: the code is always set.
impl From<ApiError> for async_graphql::Error {
    fn from(err: ApiError) -> Self {
        err.extend()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{ErrorCode, FieldError};

    fn code_of(err: ApiError) -> String {
        let gql: async_graphql::Error = err.into();
        let ext = gql.extensions.expect("extensions are always set");
        match ext.get("code") {
            Some(async_graphql::Value::String(s)) => s.clone(),
            other => panic!("no code: {other:?}"),
        }
    }

    #[test]
    fn every_variant_carries_its_code_in_extensions() {
        let cases = [
            (ApiError::Unauthenticated("x".into()), "UNAUTHENTICATED"),
            (ApiError::Forbidden("x".into()), "FORBIDDEN"),
            (ApiError::SchoolRequired, "SCHOOL_REQUIRED"),
            (ApiError::NotFound("student"), "NOT_FOUND"),
            (
                ApiError::bad_field("input.studentTz", "bad check digit"),
                "BAD_USER_INPUT",
            ),
            (
                ApiError::Conflict {
                    field: "slug".into(),
                    message: "taken".into(),
                },
                "CONFLICT",
            ),
            (
                ApiError::RateLimited {
                    retry_after_secs: 3,
                },
                "RATE_LIMITED",
            ),
            (
                ApiError::QueryTooComplex("depth 20 > 12".into()),
                "QUERY_TOO_COMPLEX",
            ),
            (
                ApiError::Unavailable {
                    retry_after_secs: 1,
                },
                "SERVICE_UNAVAILABLE",
            ),
            (ApiError::Internal, "INTERNAL_SERVER_ERROR"),
        ];
        let mut seen: Vec<&str> = Vec::new();
        for (err, code) in cases {
            assert_eq!(err.code().as_str(), code);
            assert_eq!(code_of(err), code);
            seen.push(code);
        }
        let all: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(
            seen, all,
            "every code in the closed list is produced by a variant"
        );
    }

    #[test]
    fn database_errors_never_reach_the_client() {
        let driver = sea_orm::DbErr::Custom(
            "relation \"students\" violates constraint; password=hunter2".into(),
        );
        let err: ApiError = driver.into();
        assert_eq!(err, ApiError::Internal);
        let gql: async_graphql::Error = err.into();
        assert_eq!(gql.message, "internal server error");
        assert!(!format!("{gql:?}").contains("hunter2"));
    }

    #[test]
    fn bad_user_input_lists_each_field() {
        let err = ApiError::bad_fields(vec![
            FieldError::new("input.studentTz", "check digit does not match"),
            FieldError::new("input.gradeLevel", "must be between 1 and 12"),
        ]);
        let gql: async_graphql::Error = err.into();
        let ext = gql.extensions.expect("extensions");
        let Some(async_graphql::Value::List(fields)) = ext.get("fields") else {
            panic!("fields missing")
        };
        assert_eq!(fields.len(), 2);
        assert!(
            gql.message.contains("input.studentTz") && gql.message.contains("input.gradeLevel")
        );
    }
}
