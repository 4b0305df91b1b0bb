//! Trains the learned layer's heads: `cargo run --release --example train_model`.
//!
//! Reads the static token table and vocabulary in `config/model/`, the labeled samples in
//! `training/learned/*.jsonl` and `tests/corpus/tune/`, and writes `config/model/heads.toml`: one
//! logistic head for `medical_advice` (staff samples), one for `feedback` (patient samples) and one
//! per feedback kind (one against the rest), each over the mean of a message's token vectors.
//! Samples whose `split` is `heldout` (and `tests/corpus/holdout/`) are never trained on; the
//! command prints how each head does on them across thresholds, which is how the thresholds in
//! `config/bedside.toml` were chosen.
//!
//! Deterministic: files and samples in name order, full-batch gradient descent from zero, no
//! randomness. Same inputs, same `heads.toml`.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use bedside::config::model::{self, Head, Heads, Model, ModelSettings, Table};
use bedside::detect::learned::{Embedder, Learned};
use bedside::detect::{FeedbackKind, Label, Role};
use bedside::quality::{Sample, parse_jsonl};

/// Sources labeled for something else, kept out of training (see data/SOURCES.md).
const NOT_TRAINED: &[&str] = &["advice-emnlp"];
/// L2 penalty on the standardized weights.
const L2: f32 = 1e-3;
const STEPS: usize = 600;
/// L2 penalty on the tokens' own weights, and the samples a token must be in to have one.
const L2_OWN: f32 = 3e-3;
const MIN_SUPPORT: usize = 10;
/// Smaller own weights are dropped from heads.toml (they change a score by less than rounding).
const MIN_OWN_WEIGHT: f32 = 0.02;

const ADVICE_REASON: &str = "reads as personal medical advice to the person addressed, as judged by a model trained on real clinicians' answers";
const ADVICE_FIX: &str = "Keep it general (\"this is often…\", \"many people find…\") and invite them to book \
                          or call so a clinician can advise them personally.";
const FEEDBACK_REASON: &str =
    "reads as feedback about the practice, as judged by a model trained on patients' comments";

fn main() -> Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("config/model");
    let table_bytes = std::fs::read(dir.join("table.bin")).context("reading config/model/table.bin")?;
    let sha = model::sha256_hex(&table_bytes);
    let table =
        Arc::new(Table::parse(table_bytes.into()).map_err(anyhow::Error::msg).context("config/model/table.bin")?);
    let vocab: Vec<Box<str>> = std::fs::read_to_string(dir.join("vocab.txt"))
        .context("reading config/model/vocab.txt")?
        .lines()
        .map(Box::from)
        .collect();
    if vocab.len() != table.rows() {
        bail!("config/model/vocab.txt has {} tokens, the table {} rows", vocab.len(), table.rows());
    }
    let embedder = Embedder::from_parts(table.clone(), &vocab);

    let samples = load_samples(root)?;
    let (train, heldout): (Vec<&Sample>, Vec<&Sample>) = samples.iter().partition(|s| !s.is_heldout());
    let train: Vec<&Sample> = train.into_iter().filter(|s| !NOT_TRAINED.contains(&s.source.as_str())).collect();
    eprintln!("{} samples: {} to train on, {} held out", samples.len(), train.len(), heldout.len());

    let staff: Vec<&Sample> = train.iter().copied().filter(|s| s.role == Role::Staff).collect();
    let patients: Vec<&Sample> = train.iter().copied().filter(|s| s.role == Role::Patient).collect();
    let feedback: Vec<&Sample> =
        patients.iter().copied().filter(|s| s.has(Label::Feedback) && s.feedback_kind.is_some()).collect();

    let advice = fit(&embedder, &vocab, &staff, |s| s.has(Label::MedicalAdvice), "medical_advice");
    let is_feedback = fit(&embedder, &vocab, &patients, |s| s.has(Label::Feedback), "feedback");
    let kinds: Vec<(FeedbackKind, Head)> = FeedbackKind::ALL
        .into_iter()
        .map(|k| (k, fit(&embedder, &vocab, &feedback, move |s| s.feedback_kind == Some(k), k.as_str())))
        .collect();

    let provenance = format!(
        "cargo run --release --example train_model: {} staff and {} patient samples from training/learned and \
         tests/corpus/tune; L2 {L2}, {STEPS} steps",
        staff.len(),
        patients.len()
    );
    let heads = Heads {
        medical_advice: advice,
        feedback: is_feedback,
        kinds,
        advice_reason: ADVICE_REASON.into(),
        advice_fix: Some(ADVICE_FIX.into()),
        feedback_reason: FEEDBACK_REASON.into(),
        provenance: provenance.clone(),
    };
    std::fs::write(dir.join("heads.toml"), render(&heads, table.dim(), &sha, &provenance))?;
    eprintln!("wrote config/model/heads.toml");

    // How the heads do on what they never saw, across thresholds.
    let settings = ModelSettings { enabled: true, ..ModelSettings::default() };
    let shape = (table.rows(), table.dim());
    let model = Model { settings, table: Some(table), shape, vocab: vocab.into(), heads: Arc::new(heads) };
    let learned = Learned::compile(&model).map_err(anyhow::Error::msg)?;
    sweep(&learned, &heldout, Role::Staff, Label::MedicalAdvice);
    sweep(&learned, &heldout, Role::Patient, Label::Feedback);
    Ok(())
}

fn load_samples(root: &Path) -> Result<Vec<Sample>> {
    let mut samples = Vec::new();
    let mut read = |path: &Path, source: Option<&str>, split: Option<&str>| -> Result<()> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let mut parsed = parse_jsonl(&path.display().to_string(), &text).map_err(anyhow::Error::msg)?;
        for s in &mut parsed {
            if let Some(source) = source {
                s.source = source.to_string();
            }
            if let Some(split) = split {
                s.split = Some(split.to_string());
            }
        }
        samples.extend(parsed);
        Ok(())
    };
    for (folder, source, split) in [
        ("training/learned", None, None),
        ("tests/corpus/tune", Some("corpus"), Some("train")),
        ("tests/corpus/holdout", Some("corpus"), Some("heldout")),
    ] {
        let mut files: Vec<_> = std::fs::read_dir(root.join(folder))
            .with_context(|| format!("reading {folder}"))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
            .collect();
        files.sort();
        for file in files {
            read(&file, source, split)?;
        }
    }
    Ok(samples)
}

/// A logistic head for `positive` over `samples`, classes weighted equally: a weight vector over
/// the standardized mean token vector (folded back to raw features at the end) plus an own weight
/// for each token seen in at least [`MIN_SUPPORT`] samples.
fn fit(
    embedder: &Embedder,
    vocab: &[Box<str>],
    samples: &[&Sample],
    positive: impl Fn(&Sample) -> bool,
    name: &str,
) -> Head {
    let dim = embedder.dim();
    let unk = vocab.iter().position(|t| &**t == "[UNK]").map(|i| i as u32);
    let rows: Vec<(Vec<f32>, f32, &str, Vec<u32>)> = samples
        .iter()
        .filter_map(|s| {
            let (v, n) = embedder.mean(&s.text);
            let ids: Vec<u32> = embedder.tokens(&s.text).iter().map(|t| t.id).filter(|&id| Some(id) != unk).collect();
            (n > 0).then(|| (v, if positive(s) { 1.0 } else { 0.0 }, s.source.as_str(), ids))
        })
        .collect();
    let n = rows.len();
    let pos = rows.iter().filter(|r| r.1 > 0.5).count();
    eprintln!("{name}: {n} samples, {pos} positive");
    if n == 0 || pos == 0 || pos == n {
        return Head { weights: vec![0.0; dim], bias: -5.0, tokens: Vec::new() };
    }
    let mut mean = vec![0.0f64; dim];
    for r in &rows {
        for (m, x) in mean.iter_mut().zip(&r.0) {
            *m += f64::from(*x);
        }
    }
    mean.iter_mut().for_each(|m| *m /= n as f64);
    let mut sd = vec![0.0f64; dim];
    for r in &rows {
        for ((s, x), m) in sd.iter_mut().zip(&r.0).zip(&mean) {
            *s += (f64::from(*x) - m).powi(2);
        }
    }
    // MiniLM has output dimensions that are constant: leave them out rather than divide by zero.
    let sd: Vec<f32> = sd.iter().map(|s| (s / n as f64).sqrt() as f32).collect();
    let mean: Vec<f32> = mean.iter().map(|&m| m as f32).collect();
    let x: Vec<f32> = rows
        .iter()
        .flat_map(|r| {
            r.0.iter()
                .zip(&mean)
                .zip(&sd)
                .map(|((x, m), s)| if *s > 1e-6 { (x - m) / s } else { 0.0 })
                .collect::<Vec<_>>()
        })
        .collect();
    let y: Vec<f32> = rows.iter().map(|r| r.1).collect();

    // Which tokens may have a weight of their own: those in enough samples to say something.
    let mut support = vec![0usize; vocab.len()];
    for r in &rows {
        let mut seen: Vec<u32> = r.3.clone();
        seen.sort_unstable();
        seen.dedup();
        for id in seen {
            support[id as usize] += 1;
        }
    }
    let own: Vec<bool> = support.iter().map(|&c| c >= MIN_SUPPORT).collect();

    // Each class weighs half, and within a class each source weighs the same: otherwise the
    // thousands of history-taking turns would drown the few hundred hard negatives written to
    // look like the label, which are exactly what the head must learn to leave alone.
    let mut per_group: BTreeMap<(bool, &str), usize> = BTreeMap::new();
    for r in &rows {
        *per_group.entry((r.1 > 0.5, r.2)).or_default() += 1;
    }
    let sources = |class: bool| per_group.keys().filter(|k| k.0 == class).count() as f32;
    let (sp, sn) = (sources(true), sources(false));
    let weight: Vec<f32> = rows
        .iter()
        .map(|r| {
            let class = r.1 > 0.5;
            let in_group = per_group[&(class, r.2)] as f32;
            0.5 / (if class { sp } else { sn }) / in_group
        })
        .collect();

    // Adam, full batch, over [w (dim), b, u (vocab)].
    let p = dim + 1 + vocab.len();
    let mut theta = vec![0.0f32; p];
    let (mut m1, mut m2) = (vec![0.0f32; p], vec![0.0f32; p]);
    let (lr, beta1, beta2, eps) = (0.05f32, 0.9f32, 0.999f32, 1e-8f32);
    let mut grad = vec![0.0f32; p];
    for step in 1..=STEPS {
        grad.iter_mut().for_each(|g| *g = 0.0);
        for (i, r) in rows.iter().enumerate() {
            let row = &x[i * dim..(i + 1) * dim];
            let ids = &r.3;
            let share = if ids.is_empty() { 0.0 } else { 1.0 / ids.len() as f32 };
            let own_sum: f32 = ids.iter().filter(|&&t| own[t as usize]).map(|&t| theta[dim + 1 + t as usize]).sum();
            let z: f32 = theta[dim] + row.iter().zip(&theta[..dim]).map(|(a, c)| a * c).sum::<f32>() + own_sum * share;
            let err = (sigmoid(z) - y[i]) * weight[i];
            for (g, a) in grad[..dim].iter_mut().zip(row) {
                *g += err * a;
            }
            grad[dim] += err;
            for &t in ids.iter().filter(|&&t| own[t as usize]) {
                grad[dim + 1 + t as usize] += err * share;
            }
        }
        for k in 0..dim {
            grad[k] += L2 * theta[k];
        }
        for k in dim + 1..p {
            grad[k] += L2_OWN * theta[k];
        }
        let (c1, c2) = (1.0 - beta1.powi(step as i32), 1.0 - beta2.powi(step as i32));
        for k in 0..p {
            if k > dim && !own[k - dim - 1] {
                continue;
            }
            m1[k] = beta1 * m1[k] + (1.0 - beta1) * grad[k];
            m2[k] = beta2 * m2[k] + (1.0 - beta2) * grad[k] * grad[k];
            theta[k] -= lr * (m1[k] / c1) / ((m2[k] / c2).sqrt() + eps);
        }
    }
    // Back to raw features: w·(x−m)/s + b = (w/s)·x + (b − Σ w m / s).
    let mut bias = theta[dim];
    let weights: Vec<f32> = theta[..dim]
        .iter()
        .zip(&mean)
        .zip(&sd)
        .map(|((w, m), s)| {
            if *s > 1e-6 {
                bias -= w * m / s;
                w / s
            } else {
                0.0
            }
        })
        .collect();
    let tokens: Vec<(Box<str>, f32)> = theta[dim + 1..]
        .iter()
        .enumerate()
        .filter(|(t, u)| own[*t] && u.abs() >= MIN_OWN_WEIGHT)
        .map(|(t, u)| (vocab[t].clone(), (u * 1000.0).round() / 1000.0))
        .collect();
    eprintln!("{name}: {} tokens with a weight of their own", tokens.len());
    Head { weights, bias, tokens }
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// Prints, per held-out source and pooled, recall / false-positive rate / F1 of the layer alone at
/// a range of thresholds.
fn sweep(learned: &Learned, heldout: &[&Sample], role: Role, label: Label) {
    let mut by_source: BTreeMap<String, Vec<(f32, bool)>> = BTreeMap::new();
    for s in heldout.iter().filter(|s| s.role == role) {
        let p = learned.read(&s.text, role).map_or(0.0, |r| r.probability);
        by_source.entry(s.source.clone()).or_default().push((p, s.has(label)));
        by_source.entry("(all)".to_string()).or_default().push((p, s.has(label)));
    }
    println!("\n{label} held out, learned layer alone: recall / false-positive rate / F1 by threshold");
    let thresholds = [0.3f32, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];
    print!("{:<22}", "source");
    for t in thresholds {
        print!(" {:>18}", format!("t={t}"));
    }
    println!();
    for (source, rows) in &by_source {
        print!("{source:<22}");
        for t in thresholds {
            let tp = rows.iter().filter(|(p, y)| *y && *p >= t).count();
            let fp = rows.iter().filter(|(p, y)| !*y && *p >= t).count();
            let pos = rows.iter().filter(|(_, y)| *y).count();
            let neg = rows.len() - pos;
            let r = if pos > 0 { format!("{:.2}", tp as f64 / pos as f64) } else { "-".into() };
            let f = if neg > 0 { format!("{:.3}", fp as f64 / neg as f64) } else { "-".into() };
            let f1 =
                if tp > 0 { format!("{:.2}", 2.0 * tp as f64 / (2 * tp + fp + (pos - tp)) as f64) } else { "-".into() };
            print!(" {:>18}", format!("{r}/{f}/{f1}"));
        }
        println!();
    }
}

fn render(heads: &Heads, dim: usize, sha: &str, provenance: &str) -> String {
    let list = |w: &[f32]| w.iter().map(|x| format!("{x:e}")).collect::<Vec<_>>().join(", ");
    let head = |name: &str, h: &Head, reason: Option<&str>, fix: Option<&str>| {
        let mut s = format!("\n[{name}]\n");
        if let Some(r) = reason {
            s.push_str(&format!("reason = {}\n", toml_string(r)));
        }
        if let Some(f) = fix {
            s.push_str(&format!("fix = {}\n", toml_string(f)));
        }
        s.push_str(&format!("bias = {:e}\nweights = [{}]\n", h.bias, list(&h.weights)));
        if !h.tokens.is_empty() {
            s.push_str(&format!("\n[{name}.tokens]\n"));
            for (token, w) in &h.tokens {
                s.push_str(&format!("{} = {w}\n", toml_string(token)));
            }
        }
        s
    };
    let mut out = format!(
        "# The learned layer's heads. Generated by `cargo run --release --example train_model`; do not edit\n\
         # by hand (retrain instead). Each head scores bias + weights · mean(token vectors of the message).\n\
         dim = {dim}\ntable_sha256 = \"{sha}\"\nprovenance = {}\n",
        toml_string(provenance)
    );
    out.push_str(&head(
        "medical_advice",
        &heads.medical_advice,
        Some(&heads.advice_reason),
        heads.advice_fix.as_deref(),
    ));
    out.push_str(&head("feedback", &heads.feedback, Some(&heads.feedback_reason), None));
    for (kind, h) in &heads.kinds {
        out.push_str(&head(&format!("kind.{}", kind.as_str()), h, None, None));
    }
    out
}

fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}
