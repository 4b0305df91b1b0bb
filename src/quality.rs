//! Detection quality on labeled samples: precision, recall and F1 per label and per source, for
//! the rules alone, the learned layer alone and both together, plus how often the feedback kind
//! agrees with the label.
//!
//! Pure: samples in (parsed by the caller from `data/`, `tests/corpus/` or a local evaluation
//! folder), figures out. `cargo run --release --example evaluate` prints them; `tests/learned.rs`
//! holds the committed held-out figures to their targets.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::detect::{Detector, FeedbackKind, Label, Message, Role};

/// One labeled message, as the JSON Lines files in `data/` and `tests/corpus/` hold it (other
/// fields are ignored).
#[derive(Clone, Debug, Deserialize)]
pub struct Sample {
    pub id: String,
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub split: Option<String>,
    pub role: Role,
    pub text: String,
    #[serde(default)]
    pub labels: Vec<Label>,
    #[serde(default)]
    pub feedback_kind: Option<FeedbackKind>,
}

impl Sample {
    pub fn is_heldout(&self) -> bool {
        self.split.as_deref() == Some("heldout")
    }

    pub fn has(&self, label: Label) -> bool {
        self.labels.contains(&label)
    }
}

/// Which part of the detector a figure is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Layer {
    Rules,
    Learned,
    Both,
}

impl Layer {
    pub const ALL: [Layer; 3] = [Layer::Rules, Layer::Learned, Layer::Both];

    pub fn as_str(self) -> &'static str {
        match self {
            Layer::Rules => "rules",
            Layer::Learned => "learned",
            Layer::Both => "both",
        }
    }
}

/// Counts for one label over some samples.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Counts {
    pub tp: usize,
    pub fp: usize,
    pub fn_: usize,
    pub tn: usize,
    /// Detected feedback whose kind was labeled, and how many of those agreed.
    pub kinds_checked: usize,
    pub kinds_agreed: usize,
}

impl Counts {
    fn ratio(n: usize, d: usize) -> Option<f64> {
        (d > 0).then(|| n as f64 / d as f64)
    }

    pub fn precision(&self) -> Option<f64> {
        Self::ratio(self.tp, self.tp + self.fp)
    }

    pub fn recall(&self) -> Option<f64> {
        Self::ratio(self.tp, self.tp + self.fn_)
    }

    pub fn f1(&self) -> Option<f64> {
        let (p, r) = (self.precision()?, self.recall()?);
        (p + r > 0.0).then(|| 2.0 * p * r / (p + r))
    }

    /// Of the samples without the label, the share flagged with it.
    pub fn false_positive_rate(&self) -> Option<f64> {
        Self::ratio(self.fp, self.fp + self.tn)
    }

    pub fn kind_agreement(&self) -> Option<f64> {
        Self::ratio(self.kinds_agreed, self.kinds_checked)
    }

    pub fn positives(&self) -> usize {
        self.tp + self.fn_
    }

    pub fn negatives(&self) -> usize {
        self.fp + self.tn
    }
}

/// Figures keyed by (source, label, layer).
pub type Figures = BTreeMap<(String, Label, Layer), Counts>;

/// Runs the detector over `samples` and counts, per source, each label that applies to the
/// sample's role, for each layer.
pub fn measure<'a>(detector: &Detector, samples: impl IntoIterator<Item = &'a Sample>) -> Figures {
    let mut figures = Figures::new();
    for sample in samples {
        let analysis = detector.analyze(&Message::new(&sample.text, sample.role));
        for label in Label::ALL.into_iter().filter(|l| l.applies_to(sample.role)) {
            let rules = analysis.counted().any(|f| f.label() == label && !f.rule.starts_with("model."));
            let learned = analysis.counted().any(|f| f.label() == label && f.rule.starts_with("model."));
            for (layer, said) in [(Layer::Rules, rules), (Layer::Learned, learned), (Layer::Both, rules || learned)] {
                let c = figures.entry((sample.source.clone(), label, layer)).or_default();
                match (sample.has(label), said) {
                    (true, true) => c.tp += 1,
                    (false, true) => c.fp += 1,
                    (true, false) => c.fn_ += 1,
                    (false, false) => c.tn += 1,
                }
                if label == Label::Feedback && said && layer == Layer::Both {
                    if let (Some(want), Some(got)) = (sample.feedback_kind, analysis.feedback_kind) {
                        c.kinds_checked += 1;
                        c.kinds_agreed += usize::from(want == got);
                    }
                }
            }
        }
    }
    figures
}

/// Adds every source's counts into one row per (label, layer), under the source name `all`.
pub fn totals(figures: &Figures) -> Figures {
    let mut out = Figures::new();
    for ((_, label, layer), c) in figures {
        let t = out.entry(("all".to_string(), *label, *layer)).or_default();
        t.tp += c.tp;
        t.fp += c.fp;
        t.fn_ += c.fn_;
        t.tn += c.tn;
        t.kinds_checked += c.kinds_checked;
        t.kinds_agreed += c.kinds_agreed;
    }
    out
}

/// A plain-text table of the figures, one row per source, label and layer.
pub fn render(figures: &Figures) -> String {
    let fmt = |v: Option<f64>| v.map_or_else(|| "   -".to_string(), |v| format!("{v:.3}"));
    let mut out = format!(
        "{:<22} {:<16} {:<8} {:>6} {:>6} {:>9} {:>6} {:>6} {:>7} {:>6}\n",
        "source", "label", "layer", "pos", "neg", "precision", "recall", "F1", "FP rate", "kind"
    );
    for ((source, label, layer), c) in figures {
        out.push_str(&format!(
            "{:<22} {:<16} {:<8} {:>6} {:>6} {:>9} {:>6} {:>6} {:>7} {:>6}\n",
            source,
            label.as_str(),
            layer.as_str(),
            c.positives(),
            c.negatives(),
            fmt(c.precision()),
            fmt(c.recall()),
            fmt(c.f1()),
            fmt(c.false_positive_rate()),
            if *label == Label::Feedback && *layer == Layer::Both { fmt(c.kind_agreement()) } else { String::new() },
        ));
    }
    out
}

/// Parses JSON Lines samples; a line that cannot be read is an error naming the line.
pub fn parse_jsonl(name: &str, text: &str) -> Result<Vec<Sample>, String> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| serde_json::from_str::<Sample>(l).map_err(|e| format!("{name}:{}: {e}", i + 1)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_give_the_usual_ratios() {
        let c = Counts { tp: 8, fp: 2, fn_: 2, tn: 88, ..Counts::default() };
        assert_eq!(c.precision(), Some(0.8));
        assert_eq!(c.recall(), Some(0.8));
        assert!((c.f1().unwrap() - 0.8).abs() < 1e-9);
        assert_eq!(c.false_positive_rate(), Some(2.0 / 90.0));
        assert_eq!(Counts::default().precision(), None);
    }

    #[test]
    fn a_bad_line_is_named() {
        let err = parse_jsonl("x.jsonl", "{\"id\":\"1\",\"role\":\"staff\",\"text\":\"hi\"}\nnot json").unwrap_err();
        assert!(err.starts_with("x.jsonl:2:"), "{err}");
    }
}
