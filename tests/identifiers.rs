//! Identifier recall and precision on the generated, span-labeled set in `tests/identifiers/`
//! (`scripts/gen_identifiers.py`: Faker's people, numbers, dates and addresses in ten locales, in
//! this project's templates of signatures, patients' chat, support replies and staff chat).
//!
//! Every identifier Bedside reports counts here, counted or not (the identifiers pass masks them
//! all). A labeled span is found when a finding of the same kind overlaps it; a finding is right
//! when it overlaps a labeled span of its kind. Staff chat is also scored per message: does Bedside
//! flag `patient_details` exactly on the messages that disclose a patient?
//!
//! `cargo test --test identifiers -- --nocapture` prints the table. `tune.jsonl` is what the rules
//! were tuned against; `holdout.jsonl` was only read as these aggregates. The tests assert the
//! issue's targets on both splits. `BEDSIDE_IDENTIFIERS_VERBOSE=phone` (or another kind) lists the
//! tune split's misses and wrong findings of that kind.

use std::collections::BTreeMap;
use std::path::Path;

use bedside::detect::{Detector, Kind, Label, Message, Role};
use bedside::setup::Setup;
use serde::Deserialize;

#[derive(Deserialize)]
struct Span {
    kind: String,
    start: usize,
    end: usize,
}

#[derive(Deserialize)]
struct Generated {
    template: String,
    role: Role,
    text: String,
    spans: Vec<Span>,
    discloses: Option<bool>,
}

/// The kinds the set labels; a finding of any other identifier kind is only ever a false positive.
const KINDS: [&str; 6] = ["person", "phone", "email", "date", "ssn", "address"];

fn eval_kind(kind: Kind) -> &'static str {
    match kind {
        Kind::Name => "person",
        Kind::Phone | Kind::Fax => "phone",
        Kind::Email => "email",
        Kind::Date => "date",
        Kind::Ssn => "ssn",
        Kind::Address | Kind::Zip => "address",
        _ => "other",
    }
}

#[derive(Default, Clone, Copy)]
struct Counts {
    found: u32,
    labeled: u32,
    right: u32,
    reported: u32,
}

impl Counts {
    fn recall(&self) -> f64 {
        if self.labeled == 0 { 1.0 } else { self.found as f64 / self.labeled as f64 }
    }
    fn precision(&self) -> f64 {
        if self.reported == 0 { 1.0 } else { self.right as f64 / self.reported as f64 }
    }
}

#[derive(Default)]
struct Report {
    messages: usize,
    per_kind: BTreeMap<&'static str, Counts>,
    /// Staff chat, per message: (true positives, false positives, false negatives).
    staff: (u32, u32, u32),
}

impl Report {
    fn overall_precision(&self) -> f64 {
        let (right, reported) = self.per_kind.values().fold((0, 0), |(r, n), c| (r + c.right, n + c.reported));
        if reported == 0 { 1.0 } else { right as f64 / reported as f64 }
    }
    fn staff_f1(&self) -> f64 {
        let (tp, fp, fn_) = self.staff;
        let p = if tp + fp == 0 { 1.0 } else { tp as f64 / (tp + fp) as f64 };
        let r = if tp + fn_ == 0 { 1.0 } else { tp as f64 / (tp + fn_) as f64 };
        if p + r == 0.0 { 0.0 } else { 2.0 * p * r / (p + r) }
    }
    fn kind(&self, kind: &str) -> Counts {
        self.per_kind.get(kind).copied().unwrap_or_default()
    }
}

fn load(split: &str) -> Vec<Generated> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/identifiers").join(format!("{split}.jsonl"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| serde_json::from_str(l).unwrap_or_else(|e| panic!("{}:{}: {e}", path.display(), i + 1)))
        .collect()
}

fn evaluate(detector: &Detector, split: &str) -> Report {
    let mut report = Report::default();
    for kind in KINDS {
        report.per_kind.insert(kind, Counts::default());
    }
    for m in load(split) {
        report.messages += 1;
        let findings = detector.identifiers(&m.text, false, 0);
        let overlaps = |a: (usize, usize), b: (usize, usize)| a.0 < b.1 && b.0 < a.1;
        for span in &m.spans {
            let kind = KINDS.iter().copied().find(|k| *k == span.kind).expect("a known kind");
            let found = findings
                .iter()
                .any(|f| eval_kind(f.kind) == kind && overlaps((f.start, f.end), (span.start, span.end)));
            let c = report.per_kind.entry(kind).or_default();
            c.labeled += 1;
            c.found += u32::from(found);
            if !found && split == "tune" && std::env::var("BEDSIDE_IDENTIFIERS_VERBOSE").is_ok_and(|v| v == kind) {
                println!("  missed {kind}: {:?} in {:?}", &m.text[span.start..span.end], m.text);
            }
        }
        for f in &findings {
            let kind = eval_kind(f.kind);
            let right = m.spans.iter().any(|s| s.kind == kind && overlaps((f.start, f.end), (s.start, s.end)));
            let c = report.per_kind.entry(kind).or_default();
            c.reported += 1;
            c.right += u32::from(right);
            if !right && split == "tune" && std::env::var("BEDSIDE_IDENTIFIERS_VERBOSE").is_ok_and(|v| v == kind) {
                println!("  wrong {kind} ({}): {:?} in {:?}", f.rule, &m.text[f.start..f.end], m.text);
            }
        }
        if let (Role::Staff, Some(discloses), "staff" | "staff_clean") = (m.role, m.discloses, m.template.as_str()) {
            let flagged = detector.analyze(&Message::new(&m.text, Role::Staff)).labels.contains(&Label::PatientDetails);
            match (flagged, discloses) {
                (true, true) => report.staff.0 += 1,
                (true, false) => report.staff.1 += 1,
                (false, true) => report.staff.2 += 1,
                (false, false) => {}
            }
        }
    }
    report
}

fn print(split: &str, r: &Report) {
    println!("\n{split}: {} generated messages", r.messages);
    println!("| kind | labeled | recall | reported | precision |");
    println!("|---|---|---|---|---|");
    for (kind, c) in &r.per_kind {
        println!("| {kind} | {} | {:.3} | {} | {:.3} |", c.labeled, c.recall(), c.reported, c.precision());
    }
    let (tp, fp, fn_) = r.staff;
    println!("identifier precision (every kind): {:.3}", r.overall_precision());
    println!("staff chat patient_details F1: {:.3} (tp {tp}, fp {fp}, fn {fn_})", r.staff_f1());
}

fn detector() -> std::sync::Arc<Detector> {
    Setup::load(None).expect("embedded configuration").detector
}

#[test]
fn identifier_recall_and_precision_meet_the_targets() {
    let detector = detector();
    for split in ["tune", "holdout"] {
        let r = evaluate(&detector, split);
        print(split, &r);
        let targets = [("phone", 0.95), ("email", 0.98), ("ssn", 0.98), ("person", 0.80), ("date", 0.90)];
        for (kind, target) in targets {
            let recall = r.kind(kind).recall();
            assert!(recall >= target, "{split}: {kind} recall {recall:.3} below {target}");
        }
        assert!(r.overall_precision() >= 0.90, "{split}: identifier precision {:.3}", r.overall_precision());
        assert!(r.staff_f1() >= 0.93, "{split}: staff chat F1 {:.3}", r.staff_f1());
    }
}
