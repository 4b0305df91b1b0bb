//! Checks that keep identifier rules precise, and the practice's own details that never count.
//!
//! A pattern that looks like a phone number is only a phone number if it could be dialled
//! (`phone.rs`); an SSN must fall in issued ranges; a card number must pass Luhn. And a number or name
//! that belongs to the practice itself (config `practice.*`) is reported but never counted.

use crate::config::{Practice, Validator};

use crate::phone;
use crate::vocabulary::{Kind, nanp_digits};

use super::finding::NotCounted;

/// An SSN in an issued range: area not 000, 666 or 9xx; group not 00; serial not 0000.
pub fn valid_ssn(text: &str) -> bool {
    let d: Vec<u32> = text.chars().filter_map(|c| c.to_digit(10)).collect();
    if d.len() != 9 {
        return false;
    }
    let area = d[0] * 100 + d[1] * 10 + d[2];
    let group = d[3] * 10 + d[4];
    let serial = d[5] * 1000 + d[6] * 100 + d[7] * 10 + d[8];
    area != 0 && area != 666 && area < 900 && group != 0 && serial != 0
}

/// A payment card number: 13 to 19 digits passing the Luhn check.
pub fn luhn(text: &str) -> bool {
    let d: Vec<u32> = text.chars().filter_map(|c| c.to_digit(10)).collect();
    if !(13..=19).contains(&d.len()) || d.iter().all(|&x| x == d[0]) {
        return false;
    }
    let sum: u32 = d
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &x)| if i % 2 == 1 { if x * 2 > 9 { x * 2 - 9 } else { x * 2 } } else { x })
        .sum();
    sum % 10 == 0
}

/// A dotted-quad IPv4 address with every octet at most 255.
pub fn ipv4(text: &str) -> bool {
    let parts: Vec<&str> = text.trim().split('.').collect();
    parts.len() == 4 && parts.iter().all(|p| !p.is_empty() && p.len() <= 3 && p.parse::<u16>().is_ok_and(|n| n <= 255))
}

/// The first number in the text is an age over 89 (HIPAA's threshold) and plausible.
pub fn age_over_89(text: &str) -> bool {
    first_number(text).is_some_and(|n| (90..=125).contains(&n))
}

/// A numeric date has a real month and day (`3/14`, `14.03.2026`, `2026-03-14`); a date in words
/// (`March 14th`) always passes.
pub fn plausible_date(text: &str) -> bool {
    let numbers: Vec<u32> = text.split(|c: char| !c.is_ascii_digit()).filter_map(|p| p.parse().ok()).collect();
    if text.chars().any(|c| c.is_alphabetic()) {
        return numbers.iter().all(|&n| n <= 31 || (1900..=2100).contains(&n));
    }
    match numbers.as_slice() {
        [y, m, d] if *y >= 1900 => (1..=12).contains(m) && (1..=31).contains(d),
        [a, b, ..] => {
            let md = (1..=12).contains(a) && (1..=31).contains(b);
            let dm = (1..=31).contains(a) && (1..=12).contains(b);
            let year_ok = numbers.get(2).is_none_or(|y| *y < 100 || (1900..=2100).contains(y));
            (md || dm) && year_ok
        }
        _ => false,
    }
}

fn first_number(text: &str) -> Option<u32> {
    text.split(|c: char| !c.is_ascii_digit()).find(|p| !p.is_empty()).and_then(|p| p.parse().ok())
}

/// Runs a rule's validator on the matched text; `phones` reads phone numbers.
pub fn validate(validator: Validator, text: &str, phones: &phone::Reader<'_>) -> bool {
    match validator {
        Validator::Nanp => nanp_digits(text).is_some(),
        Validator::Phone => phones.e164(text).is_some(),
        Validator::PhonePossible => phone::possible(text),
        Validator::Ssn => valid_ssn(text),
        Validator::Luhn => luhn(text),
        Validator::Ipv4 => ipv4(text),
        Validator::AgeOver89 => age_over_89(text),
        Validator::Date => plausible_date(text),
    }
}

/// Whether an identifier is the practice's own (or a staff member's), and so never counts.
pub fn practice_own(kind: Kind, text: &str, practice: &Practice, phones: &phone::Reader<'_>) -> Option<NotCounted> {
    let lower = text.to_lowercase();
    match kind {
        Kind::Phone | Kind::Fax => {
            // A fax rule's match starts with its label ("Fax: (503) 555-0101").
            let number = text.trim_start_matches(|c: char| !(c.is_ascii_digit() || c == '+' || c == '('));
            let digits = phones.e164(number)?;
            if practice.phones.contains(&digits) {
                Some(NotCounted::PracticeContact("phone"))
            } else if practice.faxes.contains(&digits) {
                Some(NotCounted::PracticeContact("fax"))
            } else {
                None
            }
        }
        Kind::Email => {
            let domain = lower.rsplit_once('@').map(|(_, d)| d.trim_end_matches('.'))?;
            (practice.emails.contains(&lower) || practice.domains.iter().any(|d| d == domain))
                .then_some(NotCounted::PracticeContact("email"))
        }
        Kind::Url => {
            let host = lower.trim_start_matches("https://").trim_start_matches("http://").trim_start_matches("www.");
            let host = host.split(['/', '?', '#', ':']).next().unwrap_or_default();
            practice
                .domains
                .iter()
                .any(|d| host == d || host.ends_with(&format!(".{d}")))
                .then_some(NotCounted::PracticeContact("web"))
        }
        Kind::Address => {
            let compact: String = lower.chars().filter(|c| c.is_alphanumeric()).collect();
            practice
                .addresses
                .iter()
                .any(|a| !a.is_empty() && (compact.starts_with(a.as_str()) || a.starts_with(compact.as_str())))
                .then_some(NotCounted::PracticeContact("address"))
        }
        Kind::Zip => {
            let digits: String = text.chars().filter(char::is_ascii_digit).take(5).collect();
            practice.zips.contains(&digits).then_some(NotCounted::PracticeContact("address"))
        }
        Kind::Name => {
            let words: Vec<String> =
                lower.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_string).collect();
            words.iter().any(|w| practice.staff_words.contains(w)).then_some(NotCounted::StaffName)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssn_ranges() {
        assert!(valid_ssn("219-09-9998"));
        assert!(!valid_ssn("000-12-3456"));
        assert!(!valid_ssn("666-12-3456"));
        assert!(!valid_ssn("912-12-3456"));
        assert!(!valid_ssn("219-00-3456"));
        assert!(!valid_ssn("219-09-0000"));
        assert!(!valid_ssn("219-09-999"));
    }

    #[test]
    fn luhn_checks_cards() {
        assert!(luhn("4111 1111 1111 1111"));
        assert!(luhn("5500-0000-0000-0004"));
        assert!(!luhn("4111 1111 1111 1112"));
        assert!(!luhn("0000 0000 0000 0000"), "a run of one digit is not a card");
        assert!(!luhn("411111111"), "too short");
    }

    #[test]
    fn ipv4_octets() {
        assert!(ipv4("192.168.14.201"));
        assert!(!ipv4("192.168.14.256"));
        assert!(!ipv4("1.2.3"));
    }

    #[test]
    fn ages_over_89() {
        assert!(age_over_89("92-year-old"));
        assert!(!age_over_89("89 years old"));
        assert!(!age_over_89("450 years"));
    }

    #[test]
    fn dates() {
        assert!(plausible_date("3/14"));
        assert!(plausible_date("14/3/2026"));
        assert!(plausible_date("2026-03-14"));
        assert!(plausible_date("March 14th"));
        assert!(!plausible_date("13/13"));
        assert!(!plausible_date("3/45"));
        assert!(!plausible_date("1/2/345"), "not a year");
    }

    fn practice() -> Practice {
        Practice {
            phones: vec!["+15035550100".into()],
            faxes: vec!["+15035550101".into()],
            emails: vec!["hello@maplegrove.example".into()],
            domains: vec!["maplegrove.example".into()],
            addresses: vec!["1200alderstreet".into()],
            zips: vec!["97205".into()],
            staff_words: ["priya", "raman"].iter().map(|s| s.to_string()).collect(),
            ..Practice::default()
        }
    }

    #[test]
    fn the_practice_own_details_are_recognised() {
        let p = practice();
        let phones = phone::Reader::new(&p.regions);
        let own = |kind, text| practice_own(kind, text, &p, &phones);
        assert_eq!(own(Kind::Phone, "503.555.0100"), Some(NotCounted::PracticeContact("phone")));
        assert_eq!(own(Kind::Phone, "(503) 555-0101"), Some(NotCounted::PracticeContact("fax")));
        assert_eq!(own(Kind::Phone, "(971) 555-0138"), None);
        assert_eq!(own(Kind::Phone, "503.555.0100"), Some(NotCounted::PracticeContact("phone")), "asked again");
        assert!(own(Kind::Email, "FrontDesk@MapleGrove.example").is_some());
        assert!(own(Kind::Email, "kayla@mail.example").is_none());
        assert!(own(Kind::Url, "https://www.maplegrove.example/book").is_some());
        assert!(own(Kind::Url, "https://maplegrove.example.evil.test/").is_none());
        assert!(own(Kind::Address, "1200 Alder Street").is_some());
        assert!(own(Kind::Address, "44 Birch Lane").is_none());
        assert_eq!(own(Kind::Name, "Dr. Raman"), Some(NotCounted::StaffName));
        assert_eq!(own(Kind::Name, "Mrs. Alvarez"), None);
    }
}
