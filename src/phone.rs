//! Phone numbers in any region's formats, checked against libphonenumber's metadata (the
//! `phonenumber` crate, the Rust port of the library Presidio builds on).
//!
//! It sits below `config` and `detect`, beside `vocabulary`: configuration reads the practice's own
//! numbers with it, detection validates candidates with it.
//!
//! A rule's pattern finds candidates loosely (digits with the separators people type); this
//! module decides whether a candidate could be dialled: an international number (`+41 (0)98 189
//! 99 09`, `0044 20 7946 0958`) must be valid in its own country; a national one (`020 7946 0958`,
//! `0699 437 63 11`) must be valid in one of the configured regions, tried in order (the practice's
//! country first, US by default). North American numbers (`+1`, or national in the US or Canada)
//! get the looser check alone (area code and exchange 2–9, no N11): the fictional 555-01xx numbers
//! of examples still count, and it costs nothing, where the crate would try the metadata of each of
//! the plan's 25 regions, more patterns than its regex cache holds, and compile them again.
//!
//! The crate has panicked on malformed input in the past (its issues #32 and #43, both fixed):
//! only cleaned candidates reach it, and every call runs under `catch_unwind`, so a future bug
//! there costs one missed number, never the process.

use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};

use phonenumber::PhoneNumber;
use phonenumber::country::Id;

use crate::vocabulary::nanp_digits;

/// The regions a national number is tried in, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Regions(Vec<Id>);

impl Default for Regions {
    fn default() -> Self {
        Regions(vec![Id::US])
    }
}

impl Regions {
    /// From ISO 3166 codes (`"US"`, `"gb"`); `Err` names the first code libphonenumber does not know.
    pub fn parse<S: AsRef<str>>(codes: &[S]) -> Result<Regions, String> {
        let mut ids = Vec::new();
        for code in codes {
            let code = code.as_ref().trim().to_ascii_uppercase();
            let id: Id = code.parse().map_err(|_| code.clone())?;
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        if ids.is_empty() {
            ids.push(Id::US);
        }
        Ok(Regions(ids))
    }
}

/// The number in E.164 (`+442079460958`), if `text` is a phone number: valid by the metadata in
/// its own country (international form) or in one of `regions` (national form), or a North
/// American number when the regions include the US or Canada.
pub fn e164(text: &str, regions: &Regions) -> Option<String> {
    let cleaned = clean(text)?;
    if looks_like_other_identifier(text) {
        return None;
    }
    if let Some(rest) = cleaned.strip_prefix("+1") {
        // North America: the loose check is what counts (see the module doc), and it is cheap,
        // where libphonenumber tries each of the plan's 25 regions' metadata in turn.
        return nanp_digits(rest).map(|d| format!("+1{d}"));
    }
    if cleaned.starts_with('+') {
        return parse_valid(None, &cleaned);
    }
    for &region in &regions.0 {
        let number = match region {
            Id::US | Id::CA => nanp_digits(&cleaned).map(|d| format!("+1{d}")),
            _ => parse_valid(Some(region), &cleaned),
        };
        if number.is_some() {
            return number;
        }
    }
    None
}

/// Reads the phone numbers of one message, each distinct text once. The `phone` validator and
/// the practice's-own check ask about the same numbers, and a text that is no number costs a
/// libphonenumber parse in every configured region.
pub struct Reader<'r> {
    regions: &'r Regions,
    read: RefCell<Vec<(Box<str>, Option<String>)>>,
}

impl<'r> Reader<'r> {
    pub fn new(regions: &'r Regions) -> Reader<'r> {
        Reader { regions, read: RefCell::new(Vec::new()) }
    }

    /// [`e164`] of `text` in this reader's regions.
    pub fn e164(&self, text: &str) -> Option<String> {
        if let Some((_, number)) = self.read.borrow().iter().find(|(seen, _)| **seen == *text) {
            return number.clone();
        }
        let number = e164(text, self.regions);
        self.read.borrow_mut().push((text.into(), number.clone()));
        number
    }
}

/// A number as long as a phone number can be (7 to 15 digits, E.164's limit) whose digits are
/// grouped the way numbers are written: the looser check for a number a phone word labels
/// ("Mobile: …", "call me on …"), where Faker-style made-up numbers need not be assigned ranges.
pub fn possible(text: &str) -> bool {
    let Some(cleaned) = clean(text) else { return false };
    let digits = cleaned.trim_start_matches('+').len();
    (7..=15).contains(&digits) && !looks_like_other_identifier(text)
}

/// Digits and a leading `+` only, with an international prefix (`00`, `011`) turned into `+`
/// and a trunk `(0)` after a country code dropped; `None` if anything but separators remains.
fn clean(text: &str) -> Option<String> {
    // An extension is not part of the number ("(863) 810-9744 x503").
    let text = match text.find(['x', 'e']) {
        Some(at) => &text[..at],
        None => text,
    };
    let text = text.trim();
    let text = text.replacen("(0)", "", usize::from(text.starts_with('+') || text.starts_with("00")));
    let mut out = String::with_capacity(text.len());
    for (i, c) in text.char_indices() {
        match c {
            '0'..='9' => out.push(c),
            '+' if i == 0 => out.push('+'),
            ' ' | '-' | '.' | '(' | ')' | '/' | '\u{a0}' => {}
            _ => return None,
        }
    }
    let digits = out.trim_start_matches('+').len();
    if !(7..=17).contains(&digits) {
        return None;
    }
    if let Some(rest) = out.strip_prefix("00") {
        out = format!("+{rest}");
    } else if let Some(rest) = out.strip_prefix("011").filter(|r| r.len() > 10) {
        out = format!("+{rest}");
    }
    Some(out)
}

/// Dates (`03.04.1961`, `2024-03-04`) and SSN-shaped numbers have rules of their own.
fn looks_like_other_identifier(text: &str) -> bool {
    let groups: Vec<&str> = text.split(['.', '/', '-']).collect();
    let date_shape = groups.len() == 3
        && groups.iter().all(|g| !g.is_empty() && g.len() <= 4 && g.bytes().all(|b| b.is_ascii_digit()))
        && (groups[0].len() == 4 || groups[2].len() == 4 || groups[2].len() == 2);
    if date_shape && month_and_day(&groups) {
        return true;
    }
    let b = text.as_bytes();
    b.len() == 11 && b[3] == b'-' && b[6] == b'-' && groups.len() == 3 && groups[0].len() == 3
}

/// Some two of the three groups are a month and a day (`03.04.1961`, `2024-03-04`, `12/31/24`).
fn month_and_day(groups: &[&str]) -> bool {
    let n: Vec<u32> = groups.iter().filter_map(|g| g.parse().ok()).collect();
    let md = |m: u32, d: u32| (1..=12).contains(&m) && (1..=31).contains(&d);
    match n.as_slice() {
        [y, m, d] if groups[0].len() == 4 => *y >= 1900 && md(*m, *d),
        [a, b, _] => md(*a, *b) || md(*b, *a),
        _ => false,
    }
}

fn parse_valid(region: Option<Id>, cleaned: &str) -> Option<String> {
    // See the module doc: the crate is not trusted not to panic.
    catch_unwind(AssertUnwindSafe(|| {
        let number: PhoneNumber = phonenumber::parse(region, cleaned).ok()?;
        // E.164 is the country code and the national number (with any leading zeros): written
        // here, because the crate's formatter looks the country's metadata up again.
        phonenumber::is_valid(&number).then(|| format!("+{}{}", number.code().value(), number.national()))
    }))
    .ok()
    .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn regions(codes: &[&str]) -> Regions {
        Regions::parse(codes).expect("known regions")
    }

    #[test]
    fn a_reader_answers_as_e164_does_however_often_it_is_asked() {
        let regions = regions(&["GB", "DE"]);
        let reader = Reader::new(&regions);
        for _ in 0..2 {
            for text in ["020 7946 0958", "+41 (0)78 189 99 09", "12345678", "0699 437 63 11", "not a number"] {
                assert_eq!(reader.e164(text), e164(text, &regions), "{text}");
            }
        }
    }

    #[test]
    fn international_numbers_are_valid_in_their_own_country() {
        let us = Regions::default();
        assert_eq!(e164("+41 (0)78 189 99 09", &us).as_deref(), Some("+41781899909"));
        assert_eq!(e164("+44 20 7946 0958", &us).as_deref(), Some("+442079460958"));
        assert_eq!(e164("0044 20 7946 0958", &us).as_deref(), Some("+442079460958"));
        assert!(e164("+917932862787", &us).is_some());
        assert!(e164("+44 20 7946", &us).is_none(), "too short for the UK");
    }

    #[test]
    fn national_numbers_need_their_region_configured() {
        let us = Regions::default();
        let eu = regions(&["US", "GB", "AT", "BR"]);
        assert!(e164("020 7946 0958", &us).is_none());
        assert_eq!(e164("020 7946 0958", &eu).as_deref(), Some("+442079460958"));
        assert!(e164("0699 437 63 11", &eu).is_some(), "an Austrian mobile");
        assert!(e164("(41) 4850-6809", &eu).is_some(), "a Brazilian landline");
    }

    #[test]
    fn north_american_numbers_keep_the_loose_check() {
        let us = Regions::default();
        assert_eq!(e164("(503) 555-0100", &us).as_deref(), Some("+15035550100"));
        assert_eq!(e164("503.555.0100", &us).as_deref(), Some("+15035550100"));
        assert!(e164("(123) 555-0100", &us).is_none());
    }

    #[test]
    fn dates_and_ssns_are_not_phone_numbers() {
        let many = regions(&["US", "DE", "GB", "FR", "PL"]);
        assert!(e164("03.04.1961", &many).is_none());
        assert!(e164("2024-03-04", &many).is_none());
        assert!(e164("219-09-9998", &many).is_none());
        assert!(e164("400", &many).is_none());
    }

    #[test]
    fn unknown_regions_are_named() {
        assert_eq!(Regions::parse(&["US", "XX"]), Err("XX".to_string()));
        assert_eq!(Regions::parse::<&str>(&[]), Ok(Regions::default()));
    }

    #[test]
    fn possible_numbers() {
        assert!(possible("(958) 032-0610"));
        assert!(!possible("12345"));
        assert!(!possible("03.04.1961"));
    }

    #[test]
    fn malformed_candidates_are_safe() {
        let many = regions(&["US", "DE", "GB", "CH", "JP", "BR", "NZ"]);
        for text in ["  2 22#:", "003-836-4618x3001", "+", "++1", "+0000000000", "0000000", "(((((", "+81 *2345"] {
            let _ = e164(text, &many);
        }
    }
}
