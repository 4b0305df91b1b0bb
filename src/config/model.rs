//! The learned layer's files, read and checked: the static token table (`model/table.bin`), its
//! vocabulary (`model/vocab.txt`) and the linear heads trained over it (`model/heads.toml`), plus
//! the `[model]` settings of `bedside.toml` (on or off, a probability threshold per label).
//!
//! Nothing here scores text; `detect::learned` does. This module only turns bytes into types that
//! cannot be inconsistent: a table whose size matches its header, heads whose width is the
//! table's, finite numbers everywhere, and heads trained on *this* table (its sha256 is recorded in
//! `heads.toml` by the training command), since heads over another table would score nonsense.
//!
//! # The table's layout
//! Little-endian: the magic `BDSTBL1\n`; `rows` and `dim` as u32; `rows` f32 scales; `rows × dim`
//! i8 values. Token `r`'s vector is `scales[r] × values[r]`; any per-token weighting is folded
//! into the scale. `scripts/model/build_table.py` writes it.

use std::borrow::Cow;
use std::sync::Arc;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::error::Problems;
use crate::vocabulary::FeedbackKind;

pub const TABLE: &str = "model/table.bin";
pub const VOCAB: &str = "model/vocab.txt";
pub const HEADS: &str = "model/heads.toml";

const MAGIC: &[u8; 8] = b"BDSTBL1\n";
const HEADER: usize = 16;

/// The `[model]` settings of `bedside.toml`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ModelSettings {
    pub enabled: bool,
    /// The probability at which a staff message reads as personal medical advice.
    pub medical_advice: f32,
    /// The probability at which a patient message reads as feedback.
    pub feedback: f32,
    /// Below this many words the vocabulary knows, the layer abstains.
    pub min_known_tokens: usize,
    /// A patient message the layer reads as feedback with less than this probability has the
    /// rules' feedback findings reported but not counted (0: the rules always count).
    pub overrule_feedback_below: f32,
    /// Whether the layer may flag staff messages as advice, and patient messages as feedback.
    pub decides_advice: bool,
    pub decides_feedback: bool,
}

impl Default for ModelSettings {
    fn default() -> Self {
        ModelSettings {
            enabled: false,
            medical_advice: 0.5,
            feedback: 0.5,
            min_known_tokens: 3,
            overrule_feedback_below: 0.0,
            decides_advice: true,
            decides_feedback: true,
        }
    }
}

/// The static token table: one vector per vocabulary entry, stored as int8 with a scale per row.
#[derive(Clone)]
pub struct Table {
    rows: usize,
    dim: usize,
    scales: Vec<f32>,
    values: Cow<'static, [u8]>,
}

impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Table").field("rows", &self.rows).field("dim", &self.dim).finish_non_exhaustive()
    }
}

impl Table {
    /// Reads a table from its bytes; `Err` says what is wrong with it.
    pub fn parse(bytes: Cow<'static, [u8]>) -> Result<Table, String> {
        if bytes.len() < HEADER || &bytes[..8] != MAGIC {
            return Err("not a Bedside token table (bad magic; expected BDSTBL1)".to_string());
        }
        let u32_at = |at: usize| u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]) as usize;
        let (rows, dim) = (u32_at(8), u32_at(12));
        if rows == 0 || dim == 0 {
            return Err(format!("empty table ({rows} rows of {dim} values)"));
        }
        let expected = rows.checked_mul(4 + dim).and_then(|n| n.checked_add(HEADER));
        if expected != Some(bytes.len()) {
            return Err(format!("{} bytes, but its header says {rows} rows of {dim} values", bytes.len()));
        }
        let scales: Vec<f32> = bytes[HEADER..HEADER + 4 * rows]
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        if let Some(row) = scales.iter().position(|s| !s.is_finite()) {
            return Err(format!("row {row}'s scale is not a finite number"));
        }
        let values = match bytes {
            Cow::Borrowed(b) => Cow::Borrowed(&b[HEADER + 4 * rows..]),
            Cow::Owned(mut b) => {
                b.drain(..HEADER + 4 * rows);
                Cow::Owned(b)
            }
        };
        Ok(Table { rows, dim, scales, values })
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Adds token `row`'s vector, times `weight`, into `into` (which is `dim` long).
    pub fn add_row(&self, row: usize, weight: f32, into: &mut [f32]) {
        let scale = self.scales[row] * weight;
        let values = &self.values[row * self.dim..(row + 1) * self.dim];
        for (acc, &v) in into.iter_mut().zip(values) {
            *acc += scale * f32::from(v as i8);
        }
    }

    /// The dot product of token `row`'s vector with `weights`.
    pub fn dot_row(&self, row: usize, weights: &[f32]) -> f32 {
        let values = &self.values[row * self.dim..(row + 1) * self.dim];
        let sum: f32 = values.iter().zip(weights).map(|(&v, &w)| f32::from(v as i8) * w).sum();
        sum * self.scales[row]
    }
}

/// One linear head: `bias + mean over the message's tokens of (weights · vector + own weight)` is
/// the log-odds. The vector part generalises to words the training data never held; the tokens'
/// own weights (for the few hundred tokens training found telling, such as `prescribe`) are what a
/// practice can read and tune.
#[derive(Clone, Debug)]
pub struct Head {
    pub weights: Vec<f32>,
    pub bias: f32,
    /// Vocabulary tokens with a weight of their own, added to their vector's score.
    pub tokens: Vec<(Box<str>, f32)>,
}

/// The heads trained over the table, and the words a finding of theirs is explained with.
#[derive(Clone, Debug)]
pub struct Heads {
    pub medical_advice: Head,
    pub feedback: Head,
    /// One head per feedback kind, in [`FeedbackKind::ALL`] order; the kind is their argmax.
    pub kinds: Vec<(FeedbackKind, Head)>,
    pub advice_reason: Arc<str>,
    pub advice_fix: Option<Arc<str>>,
    pub feedback_reason: Arc<str>,
    /// What trained them, for `config check` and reports.
    pub provenance: String,
}

/// The learned layer's validated files and settings.
#[derive(Clone, Debug)]
pub struct Model {
    pub settings: ModelSettings,
    /// The static token table; `None` once [`Model::release_table`] let it go.
    pub table: Option<Arc<Table>>,
    /// The table's rows and dimensions, which outlive it (for `config check`).
    pub shape: (usize, usize),
    pub vocab: Arc<[Box<str>]>,
    pub heads: Arc<Heads>,
}

impl Model {
    /// Lets the token table go once a detector has computed its per-token scores from it. A
    /// running bot keeps its configuration for as long as it runs, and the table (11.5 MB) is
    /// most of the learned layer's memory; only the scores are read after start. A detector
    /// compiled from this model afterwards is an error.
    pub fn release_table(&mut self) {
        self.table = None;
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHeads {
    dim: usize,
    table_sha256: String,
    #[serde(default)]
    provenance: String,
    medical_advice: RawHead,
    feedback: RawHead,
    kind: RawKinds,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKinds {
    praise: RawHead,
    complaint: RawHead,
    suggestion: RawHead,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHead {
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    fix: Option<String>,
    bias: f32,
    weights: Vec<f32>,
    #[serde(default)]
    tokens: std::collections::BTreeMap<String, f32>,
}

/// The sha256 of a table's bytes, as lowercase hex (what `heads.toml` records).
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads and checks the model files. Every problem goes to `problems`; `None` when any.
pub fn load(
    settings: ModelSettings,
    table: Option<Cow<'static, [u8]>>,
    vocab: Option<&str>,
    heads: Option<&str>,
    problems: &mut Problems,
) -> Option<Model> {
    let before = problems.len();
    let missing = |file: &str, problems: &mut Problems| {
        problems.file(
            file,
            "missing (the learned layer needs it; set model.enabled = false in bedside.toml to run without it)",
        )
    };
    let table_sha = table.as_deref().map(sha256_hex);
    let table = match table {
        Some(bytes) => Table::parse(bytes).map_err(|e| problems.file(TABLE, e)).ok(),
        None => {
            missing(TABLE, problems);
            None
        }
    };
    let vocab: Option<Arc<[Box<str>]>> = match vocab {
        Some(text) => {
            let lines: Vec<Box<str>> = text.lines().map(Box::from).collect();
            if !lines.iter().any(|l| &**l == "[UNK]") {
                problems.file(VOCAB, "has no [UNK] entry: is it a WordPiece vocabulary?");
            }
            Some(lines.into())
        }
        None => {
            missing(VOCAB, problems);
            None
        }
    };
    if let (Some(table), Some(vocab)) = (&table, &vocab)
        && table.rows() != vocab.len()
    {
        problems.file(TABLE, format!("has {} rows but {VOCAB} has {} tokens", table.rows(), vocab.len()));
    }
    let heads = match heads {
        Some(text) => match toml::from_str::<RawHeads>(text) {
            Ok(raw) => {
                validate_heads(raw, table.as_ref().map(Table::dim), table_sha.as_deref(), vocab.as_deref(), problems)
            }
            Err(e) => {
                problems.file(HEADS, super::one_line(&e.to_string()));
                None
            }
        },
        None => {
            missing(HEADS, problems);
            None
        }
    };
    if problems.len() > before {
        return None;
    }
    let table = table?;
    Some(Model {
        settings,
        shape: (table.rows(), table.dim()),
        table: Some(Arc::new(table)),
        vocab: vocab?,
        heads: Arc::new(heads?),
    })
}

fn validate_heads(
    raw: RawHeads,
    dim: Option<usize>,
    sha: Option<&str>,
    vocab: Option<&[Box<str>]>,
    problems: &mut Problems,
) -> Option<Heads> {
    let known: Option<std::collections::HashSet<&str>> = vocab.map(|v| v.iter().map(|t| &**t).collect());
    let before = problems.len();
    if let Some(dim) = dim
        && raw.dim != dim
    {
        problems.file(HEADS, format!("dim = {} but {TABLE} has {dim} values per row", raw.dim));
    }
    if let Some(sha) = sha
        && !raw.table_sha256.eq_ignore_ascii_case(sha)
    {
        problems.file(
            HEADS,
            format!(
                "trained on another table (table_sha256 {} ≠ {TABLE}'s {sha}); retrain with \
                 `cargo run --release --example train_model`",
                raw.table_sha256
            ),
        );
    }
    let head = |name: &str, h: RawHead, problems: &mut Problems| -> Head {
        if h.weights.len() != raw.dim {
            problems.rule(HEADS, name, format!("{} weights, expected dim = {}", h.weights.len(), raw.dim));
        }
        if !h.bias.is_finite() || h.weights.iter().chain(h.tokens.values()).any(|w| !w.is_finite()) {
            problems.rule(HEADS, name, "a weight or the bias is not a finite number");
        }
        if let Some(known) = &known {
            let unknown: Vec<&str> =
                h.tokens.keys().map(String::as_str).filter(|t| !known.contains(t)).take(5).collect();
            if !unknown.is_empty() {
                problems.rule(HEADS, name, format!("tokens not in {VOCAB}: {}", unknown.join(", ")));
            }
        }
        Head { weights: h.weights, bias: h.bias, tokens: h.tokens.into_iter().map(|(t, w)| (t.into(), w)).collect() }
    };
    let advice_reason = raw.medical_advice.reason.clone();
    let advice_fix = raw.medical_advice.fix.clone();
    let feedback_reason = raw.feedback.reason.clone();
    let medical_advice = head("medical_advice", raw.medical_advice, problems);
    let feedback = head("feedback", raw.feedback, problems);
    let kinds = vec![
        (FeedbackKind::Praise, head("kind.praise", raw.kind.praise, problems)),
        (FeedbackKind::Complaint, head("kind.complaint", raw.kind.complaint, problems)),
        (FeedbackKind::Suggestion, head("kind.suggestion", raw.kind.suggestion, problems)),
    ];
    let reason = |r: Option<String>, name: &str, problems: &mut Problems| -> Arc<str> {
        match r.filter(|r| !r.trim().is_empty()) {
            Some(r) => r.into(),
            None => {
                problems.rule(HEADS, name, "reason is missing: a finding must say why in plain words");
                Arc::from("")
            }
        }
    };
    let advice_reason = reason(advice_reason, "medical_advice", problems);
    let feedback_reason = reason(feedback_reason, "feedback", problems);
    if problems.len() > before {
        return None;
    }
    Some(Heads {
        medical_advice,
        feedback,
        kinds,
        advice_reason,
        advice_fix: advice_fix.map(Arc::from),
        feedback_reason,
        provenance: raw.provenance,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table_bytes(rows: u32, dim: u32) -> Vec<u8> {
        let mut b = MAGIC.to_vec();
        b.extend(rows.to_le_bytes());
        b.extend(dim.to_le_bytes());
        for r in 0..rows {
            b.extend((0.5f32 * (r + 1) as f32).to_le_bytes());
        }
        for i in 0..rows * dim {
            b.push((i % 7) as u8);
        }
        b
    }

    #[test]
    fn a_table_reads_back_its_rows() {
        let t = Table::parse(Cow::Owned(table_bytes(3, 4))).unwrap();
        assert_eq!((t.rows(), t.dim()), (3, 4));
        let mut v = vec![0.0; 4];
        t.add_row(1, 1.0, &mut v);
        // Row 1 holds values 4,5,6,0 at scale 1.0.
        assert_eq!(v, vec![4.0, 5.0, 6.0, 0.0]);
        assert_eq!(t.dot_row(1, &[1.0, 0.0, 0.0, 1.0]), 4.0);
    }

    #[test]
    fn a_damaged_table_is_a_problem_not_a_panic() {
        let mut short = table_bytes(3, 4);
        short.pop();
        assert!(Table::parse(Cow::Owned(short)).unwrap_err().contains("header says 3 rows"));
        assert!(Table::parse(Cow::Owned(b"nonsense".to_vec())).unwrap_err().contains("magic"));
        let mut huge = MAGIC.to_vec();
        huge.extend(u32::MAX.to_le_bytes());
        huge.extend(u32::MAX.to_le_bytes());
        assert!(Table::parse(Cow::Owned(huge)).is_err());
        let mut nan = table_bytes(1, 1);
        nan[16..20].copy_from_slice(&f32::NAN.to_le_bytes());
        assert!(Table::parse(Cow::Owned(nan)).unwrap_err().contains("finite"));
    }

    #[test]
    fn heads_over_another_table_or_width_are_refused_with_every_problem() {
        let table = table_bytes(2, 3);
        let heads = r#"
            dim = 4
            table_sha256 = "00"
            [medical_advice]
            bias = 0.0
            weights = [1.0, 2.0, 3.0, 4.0]
            [feedback]
            reason = "reads as feedback"
            bias = nan
            weights = [1.0, 2.0, 3.0, 4.0]
            [kind.praise]
            bias = 0.0
            weights = [0.0]
            [kind.complaint]
            bias = 0.0
            weights = [0.0, 0.0, 0.0, 0.0]
            [kind.suggestion]
            bias = 0.0
            weights = [0.0, 0.0, 0.0, 0.0]
        "#;
        let mut problems = Problems::default();
        let model =
            load(ModelSettings::default(), Some(Cow::Owned(table)), Some("[UNK]\na"), Some(heads), &mut problems);
        assert!(model.is_none());
        let text = problems.finish().unwrap_err().to_string();
        for expected in
            ["dim = 4", "trained on another table", "not a finite number", "kind.praise", "reason is missing"]
        {
            assert!(text.contains(expected), "{expected:?} not in {text}");
        }
    }
}
