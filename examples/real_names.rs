//! Name recall on real sentences: clinic dialogues that mention their patient by name (ACI-Bench,
//! prepared by `scripts/aci_names.py`, never committed). A mention is found when a `name` finding
//! of the identifiers pass overlaps it. Prints recall per source dataset and in all.
//!
//! `cargo run --release --example real_names -- /tmp/aci_names.jsonl`

use std::collections::BTreeMap;

use bedside::detect::Kind;
use bedside::setup::Setup;
use serde::Deserialize;

#[derive(Deserialize)]
struct Span {
    start: usize,
    end: usize,
}

#[derive(Deserialize)]
struct Line {
    dataset: String,
    text: String,
    spans: Vec<Span>,
}

fn main() -> anyhow::Result<()> {
    let path = std::env::args().nth(1).ok_or_else(|| anyhow::anyhow!("usage: real_names FILE.jsonl"))?;
    let text = std::fs::read_to_string(&path).map_err(|e| anyhow::anyhow!("{path}: {e}"))?;
    let detector = Setup::load(None)?.detector;
    let mut by_dataset: BTreeMap<String, (u32, u32, u32)> = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let line: Line = serde_json::from_str(line).map_err(|e| anyhow::anyhow!("{path}:{}: {e}", i + 1))?;
        let findings = detector.identifiers(&line.text, false, 0);
        let capitalised = line.spans.iter().all(|s| line.text[s.start..].starts_with(char::is_uppercase));
        let entry = by_dataset.entry(line.dataset.clone()).or_default();
        for s in &line.spans {
            let found = findings.iter().any(|f| f.kind == Kind::Name && f.start < s.end && s.start < f.end);
            entry.0 += u32::from(found);
            entry.1 += 1;
        }
        entry.2 += u32::from(capitalised);
    }
    println!("| dataset | mentions | found | recall | lines with capitalised names |");
    println!("|---|---|---|---|---|");
    let (mut found, mut total) = (0, 0);
    for (dataset, (f, t, caps)) in &by_dataset {
        println!("| {dataset} | {t} | {f} | {:.3} | {caps} |", *f as f64 / *t as f64);
        found += f;
        total += t;
    }
    println!("| all | {total} | {found} | {:.3} | |", found as f64 / total.max(1) as f64);
    Ok(())
}
