//! The learned layer: linear heads over a static token table, beside the rules.
//!
//! Rules say exactly what they matched, but cannot list every way people write advice or
//! feedback; the heads were trained on real clinicians' and patients' text (`data/`) and judge a
//! message's wording as a whole. They cover `medical_advice` (staff), `feedback` and its kind
//! (patients); identifiers stay with the rules alone.
//!
//! A message's vector is the mean of its tokens' vectors, and a head is linear, so its log-odds
//! split exactly into one number per token: `bias + Σ score(token) / n`. At load, each head's
//! score for every vocabulary token is computed once ([`Learned::compile`]); reading a message is
//! then a table lookup per token, and its explanation is free: the words whose tokens added the
//! most, and the sentence that reads most like the label, which is where the finding points.
//!
//! # Layout
//! - `wordpiece.rs`: text → WordPiece tokens with their spans in the original text.
//! - this file: [`Learned`] (per-token head scores, reading a message) and [`Embedder`] (mean
//!   vectors, for the training command).

mod wordpiece;

use std::cell::RefCell;
use std::sync::Arc;

pub use wordpiece::{Token, WordPiece};

use super::finding::Finding;
use crate::config::model::{Model, ModelSettings, Table};
use crate::vocabulary::{FeedbackKind, Kind, Role, Severity};

/// Rule ids of the layer's findings.
pub const ADVICE_RULE: &str = "model.medical_advice";
pub const FEEDBACK_RULE: &str = "model.feedback";

/// Heads, in the order their per-token scores are stored.
const ADVICE: usize = 0;
const FEEDBACK: usize = 1;
const KINDS: usize = 2;
const HEADS: usize = 5;
/// Words shown in a finding's reason.
const SHOWN_WORDS: usize = 3;

thread_local! {
    static SCRATCH: RefCell<(String, Vec<Token>)> = const { RefCell::new((String::new(), Vec::new())) };
}

/// The compiled layer: a tokenizer and every head's score for every token.
#[derive(Clone)]
pub struct Learned {
    wordpiece: Arc<WordPiece>,
    scores: Arc<[[f32; HEADS]]>,
    biases: [f32; HEADS],
    kinds: [FeedbackKind; 3],
    /// Ids of `.`, `!`, `?`: a sentence ends after them.
    stops: [Option<u32>; 3],
    settings: ModelSettings,
    advice_reason: Arc<str>,
    feedback_reason: Arc<str>,
    advice_fix: Option<Arc<str>>,
    advice_rule: Arc<str>,
    feedback_rule: Arc<str>,
}

impl std::fmt::Debug for Learned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Learned").field("tokens", &self.scores.len()).field("settings", &self.settings).finish()
    }
}

/// What the layer concluded about one message, before it becomes findings.
#[derive(Clone, Debug, PartialEq)]
pub struct Reading {
    /// The label's probability, for the whole message.
    pub probability: f32,
    /// The span of the sentence that reads most like the label, in the original text.
    pub start: usize,
    pub end: usize,
    /// The words that raised the score most, strongest first (original text spans).
    pub words: Vec<(usize, usize)>,
    /// For feedback: the kind its heads prefer.
    pub kind: Option<FeedbackKind>,
}

impl Learned {
    /// Computes every head's score for every token of the table; `Err` if the model's table was
    /// released ([`Model::release_table`]).
    pub fn compile(model: &Model) -> Result<Learned, String> {
        let heads = &model.heads;
        let rows: Vec<&[f32]> = std::iter::once(&heads.medical_advice)
            .chain(std::iter::once(&heads.feedback))
            .chain(heads.kinds.iter().map(|(_, h)| h))
            .map(|h| h.weights.as_slice())
            .collect();
        let table: &Table = model
            .table
            .as_deref()
            .ok_or("the learned layer's token table was released: a configuration is compiled once")?;
        let scores: Vec<[f32; HEADS]> = (0..table.rows())
            .map(|r| {
                let mut s = [0.0; HEADS];
                for (h, w) in rows.iter().enumerate() {
                    s[h] = table.dot_row(r, w);
                }
                s
            })
            .collect();
        let mut scores = scores;
        let wordpiece = WordPiece::new(model.vocab.iter().map(|t| &**t));
        let all = std::iter::once(&heads.medical_advice)
            .chain(std::iter::once(&heads.feedback))
            .chain(heads.kinds.iter().map(|(_, h)| h));
        for (h, head) in all.enumerate() {
            for (token, weight) in &head.tokens {
                if let Some(i) = wordpiece.id(token) {
                    scores[i as usize][h] += weight;
                }
            }
        }
        let mut biases = [0.0; HEADS];
        biases[ADVICE] = heads.medical_advice.bias;
        biases[FEEDBACK] = heads.feedback.bias;
        let mut kinds = [FeedbackKind::Praise; 3];
        for (i, (kind, head)) in heads.kinds.iter().enumerate().take(3) {
            biases[KINDS + i] = head.bias;
            kinds[i] = *kind;
        }
        Ok(Learned {
            stops: [wordpiece.id("."), wordpiece.id("!"), wordpiece.id("?")],
            wordpiece: Arc::new(wordpiece),
            scores: scores.into(),
            biases,
            kinds,
            settings: model.settings,
            advice_reason: heads.advice_reason.clone(),
            feedback_reason: heads.feedback_reason.clone(),
            advice_fix: heads.advice_fix.clone(),
            advice_rule: Arc::from(ADVICE_RULE),
            feedback_rule: Arc::from(FEEDBACK_RULE),
        })
    }

    pub fn settings(&self) -> &ModelSettings {
        &self.settings
    }

    /// The how-to-fix text of a rule of this layer's.
    pub fn fix_for(&self, rule: &str) -> Option<&str> {
        (rule == ADVICE_RULE).then_some(self.advice_fix.as_deref()).flatten()
    }

    /// The advice probability of a staff message, or the feedback probability of a patient's,
    /// with its explanation; `None` when the layer abstains (too few words it knows).
    pub fn read(&self, text: &str, role: Role) -> Option<Reading> {
        SCRATCH.with_borrow_mut(|(word, tokens)| {
            self.wordpiece.tokenize_into(text, word, tokens);
            self.read_tokens(tokens, role)
        })
    }

    fn read_tokens(&self, tokens: &[Token], role: Role) -> Option<Reading> {
        let decides = match role {
            Role::Staff => self.settings.decides_advice,
            Role::Patient => self.settings.decides_feedback,
        };
        if !decides {
            return None;
        }
        let unk = self.wordpiece.unk();
        let known = |t: &&Token| Some(t.id) != unk && (t.id as usize) < self.scores.len();
        if known_words(tokens.iter().filter(known)).0 < self.settings.min_known_tokens {
            return None;
        }
        let head = match role {
            Role::Staff => ADVICE,
            Role::Patient => FEEDBACK,
        };
        let score = |t: &Token| self.scores[t.id as usize][head];

        // The whole message.
        let (sum, n) = tokens.iter().filter(known).fold((0.0f32, 0usize), |(s, n), t| (s + score(t), n + 1));
        let whole = self.biases[head] + sum / n as f32;

        // Each sentence with enough words of its own; the best one is where the finding points.
        let mut best: Option<(f32, usize, usize)> = None;
        let mut from = 0;
        for i in 0..tokens.len() {
            let last = i + 1 == tokens.len();
            let ends = last || self.stops.contains(&Some(tokens[i].id));
            if !ends {
                continue;
            }
            let sentence = &tokens[from..=i];
            from = i + 1;
            let (words, n) = known_words(sentence.iter().filter(known));
            if words < self.settings.min_known_tokens {
                continue;
            }
            let s: f32 = sentence.iter().filter(known).map(score).sum();
            let logit = self.biases[head] + s / n as f32;
            let (start, end) = (sentence[0].start, sentence[sentence.len() - 1].end);
            if best.is_none_or(|(b, _, _)| logit > b) {
                best = Some((logit, start, end));
            }
        }
        // The label is decided on the whole message, as the heads were trained; the best sentence
        // only says where to point (a sentence alone is too few words to decide on).
        let logit = whole;
        let (start, end) = match best {
            Some((_, start, end)) => (start, end),
            None => (tokens[0].start, tokens[tokens.len() - 1].end),
        };

        // The words inside the span that pushed the score up most.
        let mut by_word: Vec<(u32, usize, usize, f32)> = Vec::new();
        for t in tokens.iter().filter(known).filter(|t| t.start >= start && t.end <= end) {
            match by_word.last_mut() {
                Some(w) if w.0 == t.word => w.3 += score(t),
                _ => by_word.push((t.word, t.start, t.end, score(t))),
            }
        }
        by_word.retain(|w| w.3 > 0.0);
        by_word.sort_by(|a, b| b.3.total_cmp(&a.3).then(a.1.cmp(&b.1)));
        let words = by_word.iter().map(|w| (w.1, w.2)).collect();

        let kind = (role == Role::Patient).then(|| {
            let mut sums = [0.0f32; 3];
            for t in tokens.iter().filter(known) {
                for (k, s) in sums.iter_mut().enumerate() {
                    *s += self.scores[t.id as usize][KINDS + k];
                }
            }
            let logits: Vec<f32> = (0..3).map(|k| self.biases[KINDS + k] + sums[k] / n as f32).collect();
            let best = (0..3).max_by(|&a, &b| logits[a].total_cmp(&logits[b])).unwrap_or(0);
            self.kinds[best]
        });
        Some(Reading { probability: sigmoid(logit), start, end, words, kind })
    }

    /// The finding a reading makes, if its probability reaches the label's threshold. `hidden`
    /// spans (identifiers) and words that could name someone are never shown as the reason.
    pub fn finding(&self, text: &str, role: Role, reading: &Reading, hidden: &[(usize, usize)]) -> Option<Finding> {
        let (threshold, rule, reason, kind) = match role {
            Role::Staff => (self.settings.medical_advice, &self.advice_rule, &self.advice_reason, Kind::Advice),
            Role::Patient => {
                let kind = match reading.kind {
                    Some(FeedbackKind::Complaint) => Kind::Complaint,
                    Some(FeedbackKind::Suggestion) => Kind::Suggestion,
                    _ => Kind::Praise,
                };
                (self.settings.feedback, &self.feedback_rule, &self.feedback_reason, kind)
            }
        };
        if reading.probability < threshold {
            return None;
        }
        let shown: Vec<String> = reading
            .words
            .iter()
            .filter(|&&(s, e)| !hidden.iter().any(|&(hs, he)| s < he && hs < e))
            .map(|&(s, e)| &text[s..e])
            .filter(|w| showable(w))
            .take(SHOWN_WORDS)
            .map(|w| format!("“{}”", w.to_lowercase()))
            .collect();
        let mut signals: Vec<Arc<str>> = vec![Arc::from(format!("probability {:.2}", reading.probability))];
        if !shown.is_empty() {
            signals.push(Arc::from(format!("words {}", shown.join(", "))));
        }
        Some(Finding {
            kind,
            rule: rule.clone(),
            start: reading.start,
            end: reading.end,
            severity: Severity::Medium,
            rule_reason: reason.clone(),
            signals,
            score: reading.probability,
            not_counted: None,
        })
    }
}

/// How many distinct words, and how many tokens, among `tokens` (a word's pieces are adjacent).
fn known_words<'t>(tokens: impl Iterator<Item = &'t Token>) -> (usize, usize) {
    let (mut words, mut n, mut last) = (0, 0, None);
    for t in tokens {
        n += 1;
        if last != Some(t.word) {
            words += 1;
            last = Some(t.word);
        }
    }
    (words, n)
}

/// A word safe to quote in a reason that staff and the store see: no digits, no capitals (names,
/// places), nothing long enough to be an identifier of its own.
fn showable(word: &str) -> bool {
    let chars = word.chars().count();
    (3..=24).contains(&chars)
        && word.chars().all(|c| c.is_alphabetic() || c == '\'' || c == '-')
        && !word.chars().any(char::is_uppercase)
        && !FUNCTION_WORDS.contains(&word)
}

/// Words that carry grammar, not meaning: true contributors, but no explanation to a reader.
const FUNCTION_WORDS: &[&str] = &[
    "and", "the", "for", "are", "was", "were", "you", "your", "with", "that", "this", "have", "has", "had", "from",
    "they", "them", "then", "than", "been", "very", "just", "also", "what", "when", "will", "would", "could", "should",
    "can", "but", "not", "all", "our", "she", "her", "his", "him", "its", "it's", "i'd", "i'm", "don't", "into",
    "about", "there", "their", "some",
];

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// Mean token vectors, for the training command: the same tokens the layer reads, summed from the
/// table itself rather than from per-head scores.
pub struct Embedder {
    wordpiece: WordPiece,
    table: Arc<Table>,
}

impl Embedder {
    /// `None` if the model's table was released.
    pub fn new(model: &Model) -> Option<Embedder> {
        Some(Embedder::from_parts(model.table.clone()?, &model.vocab))
    }

    /// From a table and its vocabulary alone, before any heads exist (the training command).
    pub fn from_parts(table: Arc<Table>, vocab: &[Box<str>]) -> Embedder {
        Embedder { wordpiece: WordPiece::new(vocab.iter().map(|t| &**t)), table }
    }

    pub fn dim(&self) -> usize {
        self.table.dim()
    }

    /// The tokens of `text`, as the layer reads them.
    pub fn tokens(&self, text: &str) -> Vec<Token> {
        let mut out = Vec::new();
        self.wordpiece.tokenize_into(text, &mut String::new(), &mut out);
        out
    }

    /// The mean vector of the known tokens of `text`, and how many there were.
    pub fn mean(&self, text: &str) -> (Vec<f32>, usize) {
        let mut v = vec![0.0; self.table.dim()];
        let unk = self.wordpiece.unk();
        let mut n = 0;
        for t in self.tokens(text) {
            if Some(t.id) != unk && (t.id as usize) < self.table.rows() {
                self.table.add_row(t.id as usize, 1.0, &mut v);
                n += 1;
            }
        }
        if n > 0 {
            v.iter_mut().for_each(|x| *x /= n as f32);
        }
        (v, n)
    }
}
