//! Detection quality on the labeled corpus in `tests/corpus/`.
//!
//! `tune/` is what the rules were tuned against; `holdout/` (a fifth of the messages, every id
//! divisible by 5) is never looked at message by message. The test prints precision, recall and F1
//! per label, plus feedback-kind accuracy, for both; it fails when a label on `tune/` drops below
//! precision 0.95 or recall 0.90. Set `BEDSIDE_CORPUS_VERBOSE=1` to list the tune split's misses.

use std::collections::BTreeMap;
use std::path::Path;

use bedside::detect::{FeedbackKind, Label, Message, Role};
use bedside::setup::Setup;
use serde::Deserialize;

#[derive(Deserialize)]
struct Labeled {
    id: String,
    role: Role,
    text: String,
    labels: Vec<Label>,
    feedback_kind: Option<FeedbackKind>,
    hard_negative: bool,
}

#[derive(Default, Clone, Copy)]
struct Counts {
    tp: u32,
    fp: u32,
    fn_: u32,
}

impl Counts {
    fn precision(&self) -> f64 {
        if self.tp + self.fp == 0 { 1.0 } else { self.tp as f64 / (self.tp + self.fp) as f64 }
    }
    fn recall(&self) -> f64 {
        if self.tp + self.fn_ == 0 { 1.0 } else { self.tp as f64 / (self.tp + self.fn_) as f64 }
    }
    fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 { 0.0 } else { 2.0 * p * r / (p + r) }
    }
}

struct Evaluation {
    messages: usize,
    hard_negatives: usize,
    hard_negative_false_flags: usize,
    per_label: BTreeMap<Label, Counts>,
    kind_right: u32,
    kind_total: u32,
    misses: Vec<String>,
}

fn load(split: &str) -> Vec<Labeled> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus").join(split);
    let mut files: Vec<_> = std::fs::read_dir(&dir).expect("corpus folder").map(|e| e.expect("entry").path()).collect();
    files.sort();
    let mut out = Vec::new();
    for file in files.iter().filter(|f| f.extension().is_some_and(|e| e == "jsonl")) {
        let text = std::fs::read_to_string(file).expect("corpus file");
        for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            out.push(serde_json::from_str(line).unwrap_or_else(|e| panic!("{}:{}: {e}", file.display(), i + 1)));
        }
    }
    assert!(!out.is_empty(), "no messages in {split}");
    out
}

fn evaluate(setup: &Setup, corpus: &[Labeled]) -> Evaluation {
    let mut e = Evaluation {
        messages: corpus.len(),
        hard_negatives: 0,
        hard_negative_false_flags: 0,
        per_label: Label::ALL.iter().map(|l| (*l, Counts::default())).collect(),
        kind_right: 0,
        kind_total: 0,
        misses: Vec::new(),
    };
    for m in corpus {
        let analysis = setup.detector.analyze(&Message::new(&m.text, m.role));
        for label in Label::ALL {
            let expected = m.labels.contains(&label);
            let got = analysis.has(label);
            let c = e.per_label.get_mut(&label).expect("label");
            match (expected, got) {
                (true, true) => c.tp += 1,
                (false, true) => c.fp += 1,
                (true, false) => c.fn_ += 1,
                (false, false) => {}
            }
            if expected != got {
                let rules: Vec<String> = analysis.counted().map(|f| format!("{}@{:.2}", f.rule, f.score)).collect();
                e.misses.push(format!(
                    "{} {} {}: {}  [{}]",
                    if got { "FP" } else { "FN" },
                    label,
                    m.id,
                    m.text.replace('\n', " "),
                    rules.join(" ")
                ));
            }
        }
        if m.hard_negative {
            e.hard_negatives += 1;
            if !analysis.is_clean() {
                e.hard_negative_false_flags += 1;
            }
        }
        if let (Some(expected), true) = (m.feedback_kind, analysis.has(Label::Feedback)) {
            e.kind_total += 1;
            if analysis.feedback_kind == Some(expected) {
                e.kind_right += 1;
            } else {
                e.misses
                    .push(format!("KIND {}: expected {expected}, got {:?}: {}", m.id, analysis.feedback_kind, m.text));
            }
        }
    }
    e
}

fn print(split: &str, e: &Evaluation) {
    println!(
        "\n{split}: {} messages, {} hard negatives ({} falsely flagged)",
        e.messages, e.hard_negatives, e.hard_negative_false_flags
    );
    println!("  {:<16} {:>9} {:>7} {:>6}   tp  fp  fn", "label", "precision", "recall", "F1");
    for (label, c) in &e.per_label {
        println!(
            "  {:<16} {:>9.3} {:>7.3} {:>6.3}  {:>3} {:>3} {:>3}",
            label.as_str(),
            c.precision(),
            c.recall(),
            c.f1(),
            c.tp,
            c.fp,
            c.fn_
        );
    }
    if e.kind_total > 0 {
        println!(
            "  feedback kind accuracy (on detected feedback): {:.3} ({}/{})",
            e.kind_right as f64 / e.kind_total as f64,
            e.kind_right,
            e.kind_total
        );
    }
}

#[test]
fn corpus_precision_and_recall_per_label() {
    let setup = Setup::load(None).expect("the embedded configuration loads");
    let tune = evaluate(&setup, &load("tune"));
    let holdout = evaluate(&setup, &load("holdout"));
    print("tune", &tune);
    print("holdout (never tuned against)", &holdout);
    if std::env::var_os("BEDSIDE_CORPUS_VERBOSE").is_some() {
        for miss in &tune.misses {
            println!("  {miss}");
        }
    }
    let mut failures = Vec::new();
    for (label, c) in &tune.per_label {
        if c.precision() < 0.95 {
            failures.push(format!("{label}: precision {:.3} < 0.95", c.precision()));
        }
        if c.recall() < 0.90 {
            failures.push(format!("{label}: recall {:.3} < 0.90", c.recall()));
        }
    }
    assert!(failures.is_empty(), "tune split below the bar: {failures:?}");
    holdout_holds_the_readmes_figures(&holdout);
}

/// How far a holdout figure may fall below the README's before the test fails.
const HOLDOUT_SLACK: f64 = 0.03;

/// The holdout figures the README records, per label: (precision, recall, F1). Read from the
/// detection table's rows (`| medical_advice | tune P | tune R | tune F1 | holdout P | holdout R |
/// holdout F1 |`), whose header names the holdout columns.
fn readme_holdout_figures() -> Vec<(Label, [f64; 3])> {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).expect("README.md");
    let header = readme
        .lines()
        .position(|l| l.starts_with('|') && l.contains("holdout precision"))
        .expect("the README has the detection table (a header with `holdout precision`)");
    let rows: Vec<&str> = readme.lines().skip(header + 2).take_while(|l| l.starts_with('|')).collect();
    Label::ALL
        .iter()
        .map(|label| {
            let row = rows
                .iter()
                .find(|r| r.trim_start_matches('|').trim().starts_with(label.as_str()))
                .unwrap_or_else(|| panic!("the README's detection table has no row for {label}"));
            let cells: Vec<f64> = row.split('|').filter_map(|c| c.trim().parse().ok()).collect();
            assert_eq!(cells.len(), 6, "the README's row for {label} has six figures: {row}");
            (*label, [cells[3], cells[4], cells[5]])
        })
        .collect()
}

/// The holdout split is never tuned against, but it must not get worse unnoticed: each figure may
/// fall at most [`HOLDOUT_SLACK`] below the one the README records (update the README when a change
/// is meant to move them).
fn holdout_holds_the_readmes_figures(holdout: &Evaluation) {
    let mut failures = Vec::new();
    for (label, recorded) in readme_holdout_figures() {
        let c = &holdout.per_label[&label];
        for (name, now, then) in [
            ("precision", c.precision(), recorded[0]),
            ("recall", c.recall(), recorded[1]),
            ("F1", c.f1(), recorded[2]),
        ] {
            if now < then - HOLDOUT_SLACK {
                failures.push(format!("{label} holdout {name} {now:.3} < README's {then:.3} - {HOLDOUT_SLACK}"));
            }
        }
    }
    assert!(failures.is_empty(), "holdout figures dropped below the README's: {failures:?}");
}

#[test]
fn the_holdout_check_reads_every_label_from_the_readme() {
    let figures = readme_holdout_figures();
    assert_eq!(figures.len(), Label::ALL.len());
    for (label, [p, r, f1]) in figures {
        assert!([p, r, f1].iter().all(|x| (0.0..=1.0).contains(x) && *x > 0.0), "{label}: {p} {r} {f1}");
    }
}

/// The identifiers pass that masks a patient's words must find exactly what a full staff analysis
/// finds among identifiers, on every corpus message (written by staff or not), as written and as a
/// reply with a mention: it only skips the rules that cannot change that answer.
#[test]
fn the_identifiers_pass_finds_what_a_staff_analysis_finds() {
    let setup = Setup::load(None).expect("the embedded configuration loads");
    let mut compared = 0;
    let mut with_identifiers = 0;
    for m in load("tune").iter().chain(load("holdout").iter()) {
        for (is_reply, mentions) in [(false, 0), (true, 1)] {
            let full = setup.detector.analyze(&Message::new(&m.text, Role::Staff).reply(is_reply).mentions(mentions));
            let expected: Vec<_> = full.findings.into_iter().filter(|f| f.kind.is_identifier()).collect();
            let found = setup.detector.identifiers(&m.text, is_reply, mentions);
            assert_eq!(found, expected, "message {} (reply {is_reply})", m.id);
            compared += 1;
            with_identifiers += usize::from(!expected.is_empty());
        }
    }
    assert!(with_identifiers > 100, "the corpus exercises identifiers ({with_identifiers} of {compared})");
}
