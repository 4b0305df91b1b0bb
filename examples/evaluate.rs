//! Detection quality, per label and per source: `cargo run --release --example evaluate [-- DIR]`.
//!
//! Runs the configuration built into the binary (rules and learned layer) over the held-out splits
//! of the committed data (`training/learned/*.jsonl`, samples whose `split` is `heldout`) and over
//! `tests/corpus/` (tune and holdout apart), and prints precision, recall, F1 and the
//! false-positive rate for the rules alone, the learned layer alone and both together.
//!
//! `BEDSIDE_CONFIG=DIR` in front evaluates a configuration directory instead of the built-in one.
//!
//! `DIR` is an optional folder of local evaluation sets (JSON Lines in the same format, such as the
//! one `scripts/data/localeval.py` writes from data that has no licence to be committed). When it
//! is given but absent, that part is skipped with a note, and the rest still runs.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use bedside::config::{self, Source};
use bedside::detect::Detector;
use bedside::quality::{Sample, measure, parse_jsonl, render, totals};

fn main() -> Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    // BEDSIDE_CONFIG=config reads the directory as it is now (to try a threshold without a rebuild).
    let source = match std::env::var_os("BEDSIDE_CONFIG") {
        Some(dir) => Source::from_dir(Path::new(&dir)).map_err(|e| anyhow::anyhow!("{e}"))?,
        None => Source::embedded(),
    };
    let config = config::load(&source).map_err(|e| anyhow::anyhow!("{e}"))?;
    let detector = Detector::new(&config)?;
    println!("learned layer: {}", if detector.has_learned() { "on" } else { "off" });

    let committed = read_folder(&root.join("training/learned"), None)?;
    let heldout: Vec<&Sample> = committed.iter().filter(|s| s.is_heldout()).collect();
    section("Held-out splits of training/learned (never trained on)", &detector, heldout);

    let tune = read_folder(&root.join("tests/corpus/tune"), Some("corpus-tune"))?;
    let holdout = read_folder(&root.join("tests/corpus/holdout"), Some("corpus-holdout"))?;
    section("tests/corpus", &detector, tune.iter().chain(&holdout).collect());

    match std::env::args().nth(1).map(PathBuf::from) {
        None => println!("\n(no local evaluation folder given)"),
        Some(dir) if !dir.is_dir() => println!("\nlocal evaluation: {} is absent; skipped", dir.display()),
        Some(dir) => {
            let local = read_folder(&dir, None).unwrap_or_else(|e| {
                println!("\nlocal evaluation: {e:#}; skipped");
                Vec::new()
            });
            section(&format!("Local evaluation sets in {}", dir.display()), &detector, local.iter().collect());
        }
    }
    Ok(())
}

fn section(title: &str, detector: &Detector, samples: Vec<&Sample>) {
    let figures = measure(detector, samples.iter().copied());
    println!("\n## {title} ({} messages)\n", samples.len());
    print!("{}", render(&figures));
    println!();
    print!("{}", render(&totals(&figures)));
}

/// Every `*.jsonl` file of a folder, in name order; the file name stands in for a missing source.
fn read_folder(dir: &Path, source: Option<&str>) -> Result<Vec<Sample>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    let mut samples = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
        let stem = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        // A file of another shape (not labeled samples) is named and left out, not fatal.
        let parsed = match parse_jsonl(&file.display().to_string(), &text) {
            Ok(parsed) => parsed,
            Err(e) => {
                println!("(skipped {}: {e})", file.display());
                continue;
            }
        };
        for mut s in parsed {
            if let Some(source) = source {
                s.source = source.to_string();
            } else if s.source.is_empty() {
                s.source = stem.clone();
            }
            samples.push(s);
        }
    }
    Ok(samples)
}
