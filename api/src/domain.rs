//! Values that are checked once, at the edge, so invalid ones cannot exist further in
//! (parse, don't validate).

use std::fmt;

/// An Israeli national id (teudat zehut): 9 digits, zero-padded, with a valid check digit.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StudentTz(String);

/// Why a national id was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TzError {
    /// Not 1–9 digits.
    #[error("must be 1 to 9 digits")]
    Format,
    /// The check digit does not match.
    #[error("the check digit does not match")]
    CheckDigit,
    /// All zeros.
    #[error("000000000 is not an id")]
    Zero,
}

impl StudentTz {
    /// Parses `input`: surrounding spaces, bidi marks and dashes are ignored, and short ids are
    /// zero-padded to 9 digits (spreadsheets drop leading zeros).
    pub fn parse(input: &str) -> Result<Self, TzError> {
        let digits: String = input
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-' && !is_bidi_control(*c))
            .collect();
        if digits.is_empty() || digits.len() > 9 || !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(TzError::Format);
        }
        let padded = format!("{digits:0>9}");
        if padded == "000000000" {
            return Err(TzError::Zero);
        }
        let sum = weighted_digit_sum(padded.bytes().map(|b| u32::from(b - b'0')));
        if !sum.is_multiple_of(10) {
            return Err(TzError::CheckDigit);
        }
        Ok(Self(padded))
    }

    /// The 9-digit form.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 9-digit form, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for StudentTz {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The national-id checksum of `digits`: weights 1, 2, 1, 2, … with a product over 9 reduced by
/// 9. A valid id's sum is divisible by 10.
pub fn weighted_digit_sum(digits: impl Iterator<Item = u32>) -> u32 {
    digits
        .enumerate()
        .map(|(i, d)| {
            let product = d * if i % 2 == 0 { 1 } else { 2 };
            if product > 9 { product - 9 } else { product }
        })
        .sum()
}

/// Right-to-left and other bidirectional control characters that Hebrew spreadsheets insert.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{061C}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
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
    fn valid_ids_pass_and_are_zero_padded() {
        assert_eq!(StudentTz::parse("039337423").unwrap().as_str(), "039337423");
        assert_eq!(StudentTz::parse("39337423").unwrap().as_str(), "039337423");
        assert_eq!(
            StudentTz::parse(" \u{200F}039-337-423 ").unwrap().as_str(),
            "039337423"
        );
        assert_eq!(StudentTz::parse("18").unwrap().as_str(), "000000018");
    }

    #[test]
    fn bad_ids_say_why() {
        assert_eq!(StudentTz::parse("039337422"), Err(TzError::CheckDigit));
        assert_eq!(StudentTz::parse("000000000"), Err(TzError::Zero));
        assert_eq!(StudentTz::parse("0393374231"), Err(TzError::Format));
        assert_eq!(StudentTz::parse("12a"), Err(TzError::Format));
        assert_eq!(StudentTz::parse(""), Err(TzError::Format));
    }

    #[test]
    fn text_is_cleaned_of_bidi_marks() {
        assert_eq!(clean_text("\u{200F}ז׳2 ").as_deref(), Some("ז׳2"));
        assert_eq!(clean_text(" \u{200E} "), None);
    }
}
