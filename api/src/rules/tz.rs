//! Israeli national ids (teudat zehut).

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
}
