//! Cell parsers shared by the importers: dates as schools write them, numbers with a decimal
//! comma, small integers.

use chrono::NaiveDate;

/// A date as ISO `yyyy-mm-dd` or as Israeli offices write it, `dd/mm/yyyy` (also with `.` or
/// `-`, one-digit day and month, or a two-digit year meaning 20yy).
pub fn date(text: &str) -> Option<NaiveDate> {
    let text = text.trim();
    // An XLSX date cell arrives as yyyy-mm-dd; a timestamp keeps its date.
    let head = text.split(['T', ' ']).next().unwrap_or(text);
    if head.split('-').next().is_some_and(|y| y.len() == 4) {
        return NaiveDate::parse_from_str(head, "%Y-%m-%d").ok();
    }
    let parts: Vec<&str> = head.split(['/', '.', '-']).collect();
    let [day, month, year] = parts.as_slice() else {
        return None;
    };
    let day: u32 = day.parse().ok()?;
    let month: u32 = month.parse().ok()?;
    let mut year: i32 = year.parse().ok()?;
    if (0..100).contains(&year) && parts[2].len() == 2 {
        year += 2000;
    }
    if !(1900..=2200).contains(&year) {
        return None;
    }
    NaiveDate::from_ymd_opt(year, month, day)
}

/// A finite number; a decimal comma is accepted.
pub fn number(text: &str) -> Option<f64> {
    let text = text.trim().replace(',', ".");
    text.parse::<f64>().ok().filter(|n| n.is_finite())
}

/// A yes/no cell: `true`/`false`, `yes`/`no`, `1`/`0`, `כן`/`לא` (any case).
pub fn flag(text: &str) -> Option<bool> {
    match text.trim().to_lowercase().as_str() {
        "true" | "yes" | "y" | "1" | "כן" | "v" | "✓" => Some(true),
        "false" | "no" | "n" | "0" | "לא" => Some(false),
        _ => None,
    }
}

/// A whole number (`7` or `7.0`).
pub fn integer(text: &str) -> Option<i32> {
    let n = number(text)?;
    (n.fract() == 0.0 && n.abs() < 1e9).then_some(n as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_the_forms_offices_use() {
        let d = NaiveDate::from_ymd_opt(2025, 9, 4);
        assert_eq!(date("2025-09-04"), d);
        assert_eq!(date("04/09/2025"), d);
        assert_eq!(date("4.9.2025"), d);
        assert_eq!(date("4-9-25"), d);
        assert_eq!(date("2025-09-04T00:00:00"), d);
        assert_eq!(date("31/02/2025"), None);
        assert_eq!(date("09/04"), None);
        assert_eq!(date("yesterday"), None);
    }

    #[test]
    fn numbers_with_a_decimal_comma() {
        assert_eq!(number("85,5"), Some(85.5));
        assert_eq!(number(" 90 "), Some(90.0));
        assert_eq!(number("NaN"), None);
        assert_eq!(integer("7.0"), Some(7));
        assert_eq!(integer("7.5"), None);
    }
}
