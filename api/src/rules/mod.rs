//! The rules a school's records obey, written once and used by the API and by every importer
//! (parse, don't validate): each newtype can only hold a value that passed its rule, and a
//! refusal is a [`Broken`] whose code is the same whichever door the value came in by — the
//! API's `extensions.fields[].code` and an import's row error `code`.

mod tz;

use std::fmt;

use chrono::NaiveDate;

pub use tz::{StudentTz, TzError, is_bidi_control, weighted_digit_sum};

/// A value that broke a rule: a stable code and what is wrong, for a person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Broken {
    /// A stable code, e.g. `TOO_LONG`.
    pub code: &'static str,
    /// What is wrong.
    pub message: String,
}

impl Broken {
    /// A refusal with `code`.
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// A required value that is missing.
    pub fn required() -> Self {
        Self::new("REQUIRED", "must not be empty")
    }
}

impl fmt::Display for Broken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<TzError> for Broken {
    fn from(e: TzError) -> Self {
        Self::new("INVALID_TZ", e.to_string())
    }
}

impl StudentTz {
    /// [`StudentTz::parse`] with the refusal as a [`Broken`].
    pub fn checked(input: &str) -> Result<Self, Broken> {
        Ok(Self::parse(input)?)
    }
}

/// A name (of a person, class, subject, year, term, assessment): 1–200 characters once
/// surrounding spaces and bidi marks are removed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Name(String);

impl Name {
    /// The most characters a name may have.
    pub const MAX_CHARS: usize = 200;

    /// Checks `input`.
    pub fn parse(input: &str) -> Result<Self, Broken> {
        let text = clean_text(input).ok_or_else(Broken::required)?;
        if text.chars().count() > Self::MAX_CHARS {
            return Err(Broken::new(
                "TOO_LONG",
                format!("must be at most {} characters", Self::MAX_CHARS),
            ));
        }
        Ok(Self(text))
    }

    /// The cleaned name.
    pub fn into_string(self) -> String {
        self.0
    }
}

/// A grade level, 1–12.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GradeLevel(i32);

impl GradeLevel {
    fn refusal() -> Broken {
        Broken::new("INVALID_GRADE_LEVEL", "must be a whole number from 1 to 12")
    }

    /// Checks `level`.
    pub fn new(level: i32) -> Result<Self, Broken> {
        if (1..=12).contains(&level) {
            Ok(Self(level))
        } else {
            Err(Self::refusal())
        }
    }

    /// Checks a level that may be absent.
    pub fn optional(level: Option<i32>) -> Result<Option<Self>, Broken> {
        level.map(Self::new).transpose()
    }

    /// Checks a level read from text (`None` when the text is not a whole number).
    pub fn from_number(number: Option<i32>) -> Result<Self, Broken> {
        number.ok_or_else(Self::refusal).and_then(Self::new)
    }

    /// The level.
    pub fn get(self) -> i32 {
        self.0
    }
}

/// An email address that looks like `name@host.tld`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Checks an optional address: empty (after cleaning) is none.
    pub fn optional(input: Option<&str>) -> Result<Option<Self>, Broken> {
        let Some(text) = input.and_then(clean_text) else {
            return Ok(None);
        };
        if is_plausible_email(&text) {
            Ok(Some(Self(text)))
        } else {
            Err(Broken::new("INVALID_EMAIL", "is not an email address"))
        }
    }

    /// The address.
    pub fn into_string(self) -> String {
        self.0
    }
}

/// A lesson period: 0 (the whole day) to 12.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period(i32);

impl Period {
    /// Checks a period (`None` when the text was not a whole number).
    pub fn new(period: Option<i32>) -> Result<Self, Broken> {
        match period {
            Some(p) if (0..=12).contains(&p) => Ok(Self(p)),
            _ => Err(Broken::new(
                "INVALID_PERIOD",
                "must be a whole number from 0 to 12",
            )),
        }
    }

    /// The period.
    pub fn get(self) -> i32 {
        self.0
    }
}

/// The most a score could be: above 0 (100 when not given).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MaxScore(f64);

impl MaxScore {
    /// Checks a maximum score; `None` is 100.
    pub fn new(max: Option<f64>) -> Result<Self, Broken> {
        match max {
            None => Ok(Self(100.0)),
            Some(m) if m.is_finite() && m > 0.0 => Ok(Self(m)),
            Some(_) => Err(Broken::new("INVALID_NUMBER", "must be a number above 0")),
        }
    }

    /// Checks that `score` lies in 0 to this maximum.
    pub fn score(self, score: f64) -> Result<f64, Broken> {
        if score.is_finite() && (0.0..=self.0).contains(&score) {
            Ok(score)
        } else {
            Err(Broken::new(
                "SCORE_OUT_OF_RANGE",
                format!("must be between 0 and {}", self.0),
            ))
        }
    }

    /// The maximum.
    pub fn get(self) -> f64 {
        self.0
    }
}

/// Checks that `date` lies in the term from `start` to `end`.
pub fn date_in_term(date: NaiveDate, start: NaiveDate, end: NaiveDate) -> Result<(), Broken> {
    if (start..=end).contains(&date) {
        Ok(())
    } else {
        Err(Broken::new(
            "DATE_OUTSIDE_TERM",
            format!("must be inside the term ({start} to {end})"),
        ))
    }
}

/// Checks that a period from `start` to `end` is not empty (the end after the start).
pub fn date_range(start: NaiveDate, end: NaiveDate) -> Result<(), Broken> {
    if end > start {
        Ok(())
    } else {
        Err(Broken::new("INVALID_RANGE", "must be after the start date"))
    }
}

/// Whether `email` looks like `name@host.tld` (no spaces, at most 254 characters); whether it
/// reaches anyone is not ours to know.
pub fn is_plausible_email(email: &str) -> bool {
    email.len() <= 254
        && !email.chars().any(char::is_whitespace)
        && email.split_once('@').is_some_and(|(local, host)| {
            !local.is_empty() && host.contains('.') && !host.contains('@')
        })
}

/// Trims `input` and removes bidi control characters; `None` when nothing is left.
pub fn clean_text(input: &str) -> Option<String> {
    let cleaned: String = input.chars().filter(|c| !is_bidi_control(*c)).collect();
    let trimmed = cleaned.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_owned())
}

/// The first character of `text` that is not accepted as stored text: a control character
/// other than tab, line feed and carriage return (U+0000 cannot be stored by PostgreSQL at all,
/// and the two backends must hold the same data).
pub fn unstorable_char(text: &str) -> Option<char> {
    text.chars()
        .find(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_cleaned_of_bidi_marks() {
        assert_eq!(clean_text("\u{200F}ז׳2 ").as_deref(), Some("ז׳2"));
        assert_eq!(clean_text(" \u{200E} "), None);
    }

    #[test]
    fn names_are_one_to_two_hundred_characters() {
        assert_eq!(Name::parse(" \u{200F}דנה ").unwrap().into_string(), "דנה");
        assert_eq!(Name::parse("  ").unwrap_err().code, "REQUIRED");
        assert!(Name::parse(&"א".repeat(200)).is_ok());
        assert_eq!(Name::parse(&"א".repeat(201)).unwrap_err().code, "TOO_LONG");
    }

    #[test]
    fn numbers_keep_to_their_ranges() {
        assert_eq!(GradeLevel::new(12).unwrap().get(), 12);
        assert_eq!(GradeLevel::new(0).unwrap_err().code, "INVALID_GRADE_LEVEL");
        assert_eq!(
            GradeLevel::from_number(None).unwrap_err().code,
            "INVALID_GRADE_LEVEL"
        );
        assert_eq!(Period::new(Some(0)).unwrap().get(), 0);
        assert_eq!(Period::new(Some(13)).unwrap_err().code, "INVALID_PERIOD");
        assert_eq!(MaxScore::new(None).unwrap().get(), 100.0);
        assert_eq!(MaxScore::new(Some(0.0)).unwrap_err().code, "INVALID_NUMBER");
        let max = MaxScore::new(Some(20.0)).unwrap();
        assert_eq!(max.score(20.0), Ok(20.0));
        assert_eq!(max.score(20.5).unwrap_err().code, "SCORE_OUT_OF_RANGE");
        assert_eq!(max.score(f64::NAN).unwrap_err().code, "SCORE_OUT_OF_RANGE");
    }

    #[test]
    fn emails_are_optional_but_plausible() {
        assert_eq!(Email::optional(Some(" ")), Ok(None));
        assert_eq!(
            Email::optional(Some("a@b")).unwrap_err().code,
            "INVALID_EMAIL"
        );
        assert!(Email::optional(Some("a@b.il")).unwrap().is_some());
    }
}
