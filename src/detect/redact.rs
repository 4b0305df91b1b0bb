//! Redacted excerpts: the part of a message a staff channel may see.
//!
//! Every identifier a rule found is replaced by its kind (`[phone]`, `[name]`), mentions become
//! `@someone`, and any other run of five or more digits becomes `[number]` in case a rule missed an
//! id. The practice's own details and staff names stay readable. The store keeps only these.

use super::finding::{Finding, NotCounted};
use super::mention::mentions;

/// How much context an excerpt keeps on each side of the finding it centres on, in characters.
const CONTEXT_CHARS: usize = 60;

/// The whole text with identifiers, mentions and long numbers masked.
pub fn redact(text: &str, findings: &[Finding]) -> String {
    redact_with_focus(text, findings, None).0
}

/// A short, single-line, redacted excerpt centred on the first counted finding.
pub fn excerpt(text: &str, findings: &[Finding]) -> String {
    let focus = findings.iter().find(|f| f.counted()).or(findings.first()).map(|f| f.start);
    let (redacted, at) = redact_with_focus(text, findings, focus);
    let chars: Vec<char> = redacted.chars().collect();
    let mut at = at.min(redacted.len());
    while !redacted.is_char_boundary(at) {
        at -= 1;
    }
    let centre = redacted[..at].chars().count();
    let from = centre.saturating_sub(CONTEXT_CHARS);
    let to = (centre + 2 * CONTEXT_CHARS).min(chars.len());
    let mut out = String::new();
    if from > 0 {
        out.push('…');
    }
    let body: String = chars[from..to].iter().collect();
    out.push_str(&body.split_whitespace().collect::<Vec<_>>().join(" "));
    if to < chars.len() {
        out.push('…');
    }
    out
}

/// Redacts and returns where `focus` (an original byte offset) landed in the result.
fn redact_with_focus(text: &str, findings: &[Finding], focus: Option<usize>) -> (String, usize) {
    let in_text = |f: &&Finding| {
        f.start < f.end && f.end <= text.len() && text.is_char_boundary(f.start) && text.is_char_boundary(f.end)
    };
    // `None` replacement: the practice's own detail or a staff name, copied as written (its digits
    // are not a patient's number).
    let mut spans: Vec<(usize, usize, Option<String>)> = findings
        .iter()
        .filter(|f| f.kind.is_identifier())
        .filter(in_text)
        .map(|f| match f.not_counted {
            Some(NotCounted::PracticeContact(_) | NotCounted::StaffName) => (f.start, f.end, None),
            _ => (f.start, f.end, Some(format!("[{}]", f.kind))),
        })
        .collect();
    spans.extend(mentions(text).into_iter().map(|(s, e)| (s, e, Some("@someone".to_string()))));
    spans.sort_by_key(|m| (m.0, std::cmp::Reverse(m.1)));

    let mut out = String::with_capacity(text.len());
    let mut focus_at = 0;
    let mut pending = focus;
    let mut cursor = 0;
    for (start, end, replacement) in spans {
        if start < cursor {
            continue;
        }
        if let Some(f) = pending.filter(|&f| f < start) {
            // The focus lies in the plain text before this span.
            focus_at = out.len() + masked_len(&text[cursor..f.max(cursor)]);
            pending = None;
        }
        push_masking_numbers(&mut out, &text[cursor..start]);
        if pending.is_some_and(|f| f < end) {
            focus_at = out.len();
            pending = None;
        }
        match replacement {
            Some(r) => out.push_str(&r),
            None => out.push_str(&text[start..end]),
        }
        cursor = end;
    }
    if let Some(f) = pending {
        // The focus lies in plain text after the last span.
        focus_at = out.len() + masked_len(&text[cursor..f.clamp(cursor, text.len())]);
    }
    push_masking_numbers(&mut out, &text[cursor..]);
    let focus_at = focus_at.min(out.len());
    (out, focus_at)
}

/// How long `text` is once its long numbers are masked.
fn masked_len(text: &str) -> usize {
    let mut probe = String::new();
    push_masking_numbers(&mut probe, text);
    probe.len()
}

/// Copies text, replacing runs of five or more digits (any script) with `[number]`.
fn push_masking_numbers(out: &mut String, text: &str) {
    let mut run = String::new();
    let mut digits = 0;
    let flush = |out: &mut String, run: &mut String, digits: &mut usize| {
        if *digits >= 5 {
            out.push_str("[number]");
        } else {
            out.push_str(run);
        }
        run.clear();
        *digits = 0;
    };
    for c in text.chars() {
        let numeric = c.is_numeric();
        let joiner = !run.is_empty() && matches!(c, '-' | ' ' | '.' | '/');
        if numeric || joiner {
            run.push(c);
            if numeric {
                digits += 1;
            }
        } else {
            let trailing: String = {
                let trimmed = run.trim_end_matches(['-', ' ', '.', '/']);
                let t = run[trimmed.len()..].to_string();
                run.truncate(trimmed.len());
                t
            };
            flush(out, &mut run, &mut digits);
            out.push_str(&trailing);
            out.push(c);
        }
    }
    let trimmed_len = run.trim_end_matches(['-', ' ', '.', '/']).len();
    let trailing = run[trimmed_len..].to_string();
    run.truncate(trimmed_len);
    flush(out, &mut run, &mut digits);
    out.push_str(&trailing);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::{Kind, Severity};

    fn finding(kind: Kind, start: usize, end: usize, not_counted: Option<NotCounted>) -> Finding {
        Finding {
            kind,
            rule: "test".into(),
            start,
            end,
            severity: Severity::High,
            rule_reason: "r".into(),
            signals: vec![],
            score: 1.0,
            not_counted,
        }
    }

    #[test]
    fn identifiers_mentions_and_long_numbers_are_masked() {
        let text = "<@123456> Mrs. Alvarez, call 971-555-0138 about claim 88412973, or <@!99>";
        let name = text.find("Mrs.").unwrap();
        let phone = text.find("971").unwrap();
        let f = vec![finding(Kind::Name, name, name + 12, None), finding(Kind::Phone, phone, phone + 12, None)];
        assert_eq!(redact(text, &f), "@someone [name], call [phone] about claim [number], or @someone");
    }

    #[test]
    fn practice_details_and_staff_names_stay_readable() {
        let text = "Dr. Raman says call (503) 555-0100";
        let f = vec![
            finding(Kind::Name, 0, 9, Some(NotCounted::StaffName)),
            finding(Kind::Phone, 20, 34, Some(NotCounted::PracticeContact("phone"))),
        ];
        // The practice number has 10 digits in groups of 3/3/4: no group reaches 5, so it stays.
        assert_eq!(redact(text, &f), "Dr. Raman says call (503) 555-0100");
    }

    #[test]
    fn digit_runs_with_separators_are_caught() {
        assert_eq!(redact("member 1234-5678 ok", &[]), "member [number] ok");
        assert_eq!(redact("in 2026, on 3/14.", &[]), "in 2026, on 3/14.");
        assert_eq!(redact("ssn ２１９０９９９９８", &[]), "ssn [number]");
    }

    #[test]
    fn excerpt_centres_on_the_counted_finding() {
        let mut text = "word ".repeat(40);
        let at = text.len();
        text.push_str("take 400mg now");
        text.push_str(&" more".repeat(40));
        let f = vec![finding(Kind::Dose, at, at + 10, None)];
        let e = excerpt(&text, &f);
        assert!(e.starts_with('…') && e.ends_with('…'), "{e}");
        assert!(e.contains("take 400mg now"), "{e}");
        assert!(e.chars().count() <= 3 * CONTEXT_CHARS + 2);
    }

    #[test]
    fn excerpt_centres_on_a_finding_that_lies_between_identifiers() {
        let name = "Mrs. Alvarez";
        let mut text = format!("{name} here. ");
        let at = text.len();
        text.push_str("The front desk was so kind today");
        text.push_str(&" and more".repeat(20));
        let phone = text.len() + 1;
        text.push_str(" 971-555-0164");
        let f = vec![
            finding(Kind::Praise, at, at + 10, None),
            finding(Kind::Name, 0, name.len(), None),
            finding(Kind::Phone, phone, phone + 12, None),
        ];
        let e = excerpt(&text, &f);
        assert!(e.starts_with("[name] here. The front desk"), "centred on the praise, not the phone: {e}");
    }

    #[test]
    fn excerpt_of_odd_text_never_panics() {
        for text in ["", "@", "<@", "<@>", "<@!>", "é@é", "@@@@", "12345", "١٢٣٤٥٦"] {
            let _ = excerpt(text, &[]);
        }
    }
}
