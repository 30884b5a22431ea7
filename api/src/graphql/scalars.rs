//! The schema's own scalar for calendar days. async-graphql names chrono's date type after the
//! Rust type (`NaiveDate`); the contract says `Date`, as GraphQL schemas usually do, with the
//! same `YYYY-MM-DD` text in and out.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::NaiveDate;

/// A calendar day.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(pub NaiveDate);

/// A calendar day, without a time or a time zone, written `YYYY-MM-DD` (ISO 8601), e.g.
/// `2026-09-01`.
#[Scalar(name = "Date")]
impl ScalarType for Date {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(text) => NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map(Date)
                .map_err(|_| {
                    InputValueError::custom(format!(
                        "`{text}` is not a date: write it YYYY-MM-DD, e.g. 2026-09-01"
                    ))
                }),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.format("%Y-%m-%d").to_string())
    }
}

impl From<NaiveDate> for Date {
    fn from(day: NaiveDate) -> Self {
        Self(day)
    }
}

impl From<Date> for NaiveDate {
    fn from(day: Date) -> Self {
        day.0
    }
}

impl From<Date> for sea_orm::Value {
    fn from(day: Date) -> Self {
        day.0.into()
    }
}

impl std::ops::Deref for Date {
    type Target = NaiveDate;

    fn deref(&self) -> &NaiveDate {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_date_reads_and_writes_as_yyyy_mm_dd_only() {
        let day = Date::parse(Value::String("2026-09-01".into())).unwrap();
        assert_eq!(day.to_value(), Value::String("2026-09-01".into()));
        for bad in ["2026-9-1x", "01/09/2026", "2026-02-30", ""] {
            assert!(Date::parse(Value::String(bad.into())).is_err(), "{bad}");
        }
        assert!(Date::parse(Value::Number(20260901.into())).is_err());
    }
}
