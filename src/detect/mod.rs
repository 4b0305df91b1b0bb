//! Detection: a message's text and author role in, labels and explained findings out.
//!
//! Pure and deterministic: no I/O, no clock, no Discord. Every rule is data from `config/`; this
//! module scores them the way PII tools do: a *trigger* (a pattern or word-list term) starts with a
//! base score, and *signals* near it (a drug name, a directive verb, a patient reference) raise or
//! lower it. A trigger whose score reaches its label's threshold is a counted finding. Identifiers
//! below the threshold, or belonging to the practice itself, are still reported, uncounted, with
//! the reason why.
//!
//! # Layout
//! - `finding.rs`: [`Finding`], [`Analysis`] (their words, labels, kinds and severities, are
//!   [`crate::vocabulary`]'s).
//! - `normalize.rs`: Discord text → matchable text, with a map back to the original.
//! - `rulebook.rs`: rules compiled into small `RegexSet`s grouped by scope (staff, patient,
//!   identifiers only) and one Aho-Corasick automaton.
//! - `evidence.rs`: what one message contains, gathered once.
//! - `identifiers.rs`: validators (phone numbers, SSN, Luhn…) and the practice's own details.
//! - `mention.rs`: user mentions, found one way for detection and for redaction.
//! - `names.rs`: people's names, by the Census lists and by shape.
//! - `redact.rs`: excerpts safe to show in a staff channel.
//! - `learned/`: the learned layer beside the rules (linear heads over a static token table).
//! - this file: [`Detector`], which scores rules over the evidence.

mod evidence;
mod finding;
mod identifiers;
pub mod learned;
mod mention;
mod names;
mod normalize;
mod redact;
mod rulebook;

use std::sync::Arc;

pub use finding::{Analysis, Finding, NotCounted};
pub use identifiers::{luhn, valid_ssn};
// Re-exported so `detect::Label` and the rest keep working for the shell, tests and benches.
pub use crate::phone::{Regions, e164 as phone_e164};
pub use crate::vocabulary::{FeedbackKind, Kind, Label, Role, Severity, nanp_digits};
pub use normalize::normalize;
pub use redact::{excerpt, redact};

use crate::config::{Config, Practice, Thresholds};
use crate::phone;
use evidence::Evidence;
use learned::Learned;
use rulebook::{Probe, RuleBook, Scope};

/// A name candidate at least this strong makes the message refer to a (non-staff) person, which
/// other rules use as the `name` feature.
const NAME_FEATURE_MIN: f32 = 0.4;
/// At most this many trigger occurrences of one rule are scored per message.
const MAX_TRIGGERS: usize = 32;

/// One message to analyze.
#[derive(Clone, Copy, Debug)]
pub struct Message<'a> {
    pub text: &'a str,
    pub role: Role,
    /// It replies to another message.
    pub is_reply: bool,
    /// How many users it mentions.
    pub mentions: usize,
}

impl<'a> Message<'a> {
    pub fn new(text: &'a str, role: Role) -> Self {
        Message { text, role, is_reply: false, mentions: 0 }
    }

    pub fn reply(mut self, is_reply: bool) -> Self {
        self.is_reply = is_reply;
        self
    }

    pub fn mentions(mut self, mentions: usize) -> Self {
        self.mentions = mentions;
        self
    }
}

/// The compiled rules of one configuration. Cheap to share (`Arc`), safe across threads.
///
/// Each regex keeps match caches (lazy DFA states) per thread that searches with it; they grow
/// with the variety of text searched. A clone shares the compiled rules and starts with empty
/// caches (see [`Detector::fresh`]).
#[derive(Clone, Debug)]
pub struct Detector {
    book: RuleBook,
    practice: Practice,
    thresholds: Thresholds,
    /// The learned layer, when configured.
    learned: Option<Learned>,
}

/// The configuration validated, but its rules could not be compiled together.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CompileError(String);

/// A scored trigger occurrence, in matchable-text offsets.
#[derive(Debug)]
struct Candidate {
    rule: usize,
    start: usize,
    end: usize,
    score: f32,
    signals: Vec<Arc<str>>,
    not_counted: Option<NotCounted>,
}

impl Detector {
    pub fn new(config: &Config) -> Result<Detector, CompileError> {
        let book = RuleBook::compile(config).map_err(CompileError)?;
        let learned = config.model.as_ref().map(Learned::compile).transpose().map_err(CompileError)?;
        Ok(Detector { book, practice: config.practice.clone(), thresholds: config.thresholds, learned })
    }

    /// The same rules with empty match caches: what a long run should start from once a batch of
    /// one-off analyses (such as vetting the configuration) is done with.
    pub fn fresh(&self) -> Detector {
        self.clone()
    }

    /// How many rules are loaded.
    pub fn rule_count(&self) -> usize {
        self.book.rules.len()
    }

    /// A rule's how-to-fix text, if it has one.
    pub fn fix_for(&self, rule: &str) -> Option<&str> {
        if let Some(fix) = self.learned.as_ref().and_then(|l| l.fix_for(rule)) {
            return Some(fix);
        }
        self.book.rules.iter().find(|r| &*r.spec.id == rule).and_then(|r| r.spec.fix.as_deref())
    }

    /// Analyzes one message. Never panics, whatever the text.
    pub fn analyze(&self, message: &Message<'_>) -> Analysis {
        self.analyze_in(message, Scope::Role(message.role))
    }

    /// The identifiers in a message (names, phone numbers, dates and the rest of HIPAA's
    /// identifiers), found exactly as in a staff message but without scoring any other rule.
    ///
    /// A patient naming themself is not a disclosure, so [`Detector::analyze`] does not look for
    /// identifiers in a patient's message; but before a patient's words reach a staff channel or
    /// the store, their name and number must still be masked (see [`excerpt`]).
    pub fn identifiers(&self, text: &str, is_reply: bool, mentions: usize) -> Vec<Finding> {
        let message = Message::new(text, Role::Staff).reply(is_reply).mentions(mentions);
        self.analyze_in(&message, Scope::Identifiers).findings
    }

    fn analyze_in(&self, message: &Message<'_>, scope: Scope) -> Analysis {
        let normalized = normalize(message.text);
        let text = normalized.text();
        let mut evidence = Evidence::gather(text, &self.book, message, scope);
        let phones = phone::Reader::new(&self.practice.regions);
        let (names, others) = self.book.order_for(scope);

        let mut candidates = Vec::new();
        for &i in names {
            self.score_rule(i, &evidence, &phones, &mut candidates);
        }
        let name_found =
            candidates.iter().any(|c| c.not_counted != Some(NotCounted::StaffName) && c.score >= NAME_FEATURE_MIN);
        evidence.set_name_found(name_found);
        for &i in others {
            self.score_rule(i, &evidence, &phones, &mut candidates);
        }

        let candidates = resolve_overlaps(candidates, &self.book);
        let mut findings: Vec<Finding> = candidates
            .into_iter()
            .map(|c| {
                let spec = &self.book.rules[c.rule].spec;
                let (start, end) = normalized.to_original(c.start, c.end);
                Finding {
                    kind: spec.kind,
                    rule: spec.id.clone(),
                    start,
                    end,
                    severity: spec.severity,
                    rule_reason: spec.reason.clone(),
                    signals: c.signals,
                    score: c.score,
                    not_counted: c.not_counted,
                }
            })
            .collect();
        findings.sort_by(|a, b| (a.start, a.end, &a.rule).cmp(&(b.start, b.end, &b.rule)));

        // The rules decide the kind when they found feedback: their evidence is explicit.
        let mut rules_kind = dominant_feedback(&findings);
        if let (Some(learned), Scope::Role(role)) = (&self.learned, scope)
            && let Some(reading) = learned.read(message.text, role)
        {
            if role == Role::Patient && reading.probability < learned.settings().overrule_feedback_below {
                overrule_feedback(&mut findings);
                rules_kind = None;
            }
            let hidden: Vec<(usize, usize)> =
                findings.iter().filter(|f| f.kind.is_identifier()).map(|f| (f.start, f.end)).collect();
            if let Some(finding) = learned.finding(message.text, role, &reading, &hidden) {
                let at = findings.partition_point(|f| (f.start, f.end) <= (finding.start, finding.end));
                findings.insert(at, finding);
            }
        }

        let mut labels: Vec<Label> = findings.iter().filter(|f| f.counted()).map(Finding::label).collect();
        labels.sort();
        labels.dedup();
        let feedback_kind = rules_kind.or_else(|| dominant_feedback(&findings));
        Analysis { labels, feedback_kind, findings }
    }

    /// The learned layer's own reading of a message, without the rules (for evaluation).
    pub fn learned_reading(&self, text: &str, role: Role) -> Option<learned::Reading> {
        self.learned.as_ref().and_then(|l| l.read(text, role))
    }

    /// Whether the learned layer is on.
    pub fn has_learned(&self) -> bool {
        self.learned.is_some()
    }

    fn score_rule(&self, index: usize, evidence: &Evidence<'_>, phones: &phone::Reader<'_>, out: &mut Vec<Candidate>) {
        let rule = &self.book.rules[index];
        let spec = &rule.spec;
        let case_sensitive = matches!(rule.trigger, Probe::Lexicon { case_sensitive: true, .. });
        let threshold = spec.threshold.unwrap_or_else(|| self.thresholds.for_label(spec.kind.label()));
        let features = evidence.features();

        for trigger in evidence.occurrences(rule.trigger).iter().take(MAX_TRIGGERS) {
            if case_sensitive && !trigger.exact_case {
                continue;
            }
            let matched = &evidence.text[trigger.start..trigger.end];
            if spec.validate.is_some_and(|v| !identifiers::validate(v, matched, phones)) {
                continue;
            }
            let mut score = spec.score * if trigger.ambiguous { spec.ambiguous_factor } else { 1.0 };
            let (mut start, mut end) = (trigger.start, trigger.end);
            let around = evidence.word_span(start, end);
            let mut signals: Vec<(usize, Arc<str>)> = Vec::new();
            let mut hopeless = false;
            for (k, &which) in rule.eval_order.iter().enumerate() {
                // Exact pruning: if even every remaining signal could not lift a non-identifier to
                // its threshold, it will be dropped, so the costly searches need not run.
                if !spec.kind.is_identifier() && score + rule.best_after[k] < threshold {
                    hopeless = true;
                    break;
                }
                let signal = &rule.signals[which];
                let (present, near) = match (signal.probe, signal.window) {
                    (Probe::Feature(f), _) => (features.has(f), None),
                    // Anywhere in the message: presence is enough, no need to locate it.
                    (probe, None) => {
                        let cs = matches!(probe, Probe::Lexicon { case_sensitive: true, .. });
                        (evidence.occurs(probe, cs), None)
                    }
                    (probe, Some(_)) => {
                        let cs = matches!(probe, Probe::Lexicon { case_sensitive: true, .. });
                        let o = evidence.nearest(probe, cs, &around, signal.window, signal.side);
                        (o.is_some(), o)
                    }
                };
                if !present {
                    if signal.required {
                        hopeless = true;
                        break;
                    }
                    continue;
                }
                let factor = if near.is_some_and(|o| o.ambiguous) { spec.ambiguous_factor } else { 1.0 };
                score += signal.weight * factor;
                if signal.weight > 0.0 {
                    signals.push((which, signal.name.clone()));
                    // An identifier's span is the identifier (offsets and masking depend on it);
                    // other findings stretch to the nearby evidence, which is what a reader needs.
                    if let (Some(o), Some(_), false) = (near, signal.window, spec.kind.is_identifier()) {
                        start = start.min(o.start);
                        end = end.max(o.end);
                    }
                }
            }
            if hopeless {
                continue;
            }
            // Reasons list signals in the order the rule declares them.
            signals.sort_by_key(|(which, _)| *which);
            let signals: Vec<Arc<str>> = signals.into_iter().map(|(_, name)| name).collect();
            let own = if spec.kind.is_identifier() {
                identifiers::practice_own(spec.kind, matched, &self.practice, phones)
            } else {
                None
            };
            let not_counted = match own {
                Some(reason) => Some(reason),
                None if score >= threshold => None,
                None if spec.kind.is_identifier() => Some(NotCounted::NoPatientNearby),
                // Below threshold and not an identifier: not worth reporting.
                None => continue,
            };
            out.push(Candidate { rule: index, start, end, score, signals, not_counted });
        }
    }
}

/// Keeps one finding where findings of the same kind overlap, and one identifier where identifiers
/// of different kinds overlap (the digits of a card are not also a phone number): counted first,
/// then a specific kind before the catch-all `other_id` ("my number is 0499 946 494" is a phone
/// number, though the labelled-number rule's span is longer), then the longer span, then the higher
/// score.
fn resolve_overlaps(mut candidates: Vec<Candidate>, book: &RuleBook) -> Vec<Candidate> {
    let kind = |c: &Candidate| book.rules[c.rule].spec.kind;
    candidates.sort_by(|a, b| {
        let rank = |c: &Candidate| (c.not_counted.is_none(), kind(c) != Kind::OtherId, c.end - c.start);
        rank(b).cmp(&rank(a)).then(b.score.total_cmp(&a.score)).then(a.start.cmp(&b.start))
    });
    let mut kept: Vec<Candidate> = Vec::with_capacity(candidates.len());
    for c in candidates {
        let clashes = kept.iter().any(|k| {
            let overlap = c.start < k.end && k.start < c.end;
            overlap && (kind(k) == kind(&c) || (kind(k).is_identifier() && kind(&c).is_identifier()))
        });
        if !clashes {
            kept.push(c);
        }
    }
    kept
}

/// The rules' feedback findings, kept for the reader but no longer counted: a phrase matched ("thank
/// you", "can you make…"), but the message as a whole reads as a question or a request, and
/// acknowledging it as feedback would leave the patient's question unanswered.
fn overrule_feedback(findings: &mut [Finding]) {
    for f in findings.iter_mut().filter(|f| f.counted() && f.label() == Label::Feedback) {
        f.not_counted = Some(NotCounted::ReadsAsNotFeedback);
    }
}

/// The feedback kind with the most counted evidence; on a tie, complaint before suggestion before
/// praise (a complaint mistaken for praise is the costlier mistake).
fn dominant_feedback(findings: &[Finding]) -> Option<FeedbackKind> {
    let mut totals = [0.0f32; 3];
    for f in findings.iter().filter(|f| f.counted()) {
        if let Some(k) = f.kind.feedback_kind() {
            totals[k as usize] += f.score;
        }
    }
    let mut best: Option<(FeedbackKind, f32)> = None;
    for kind in [FeedbackKind::Complaint, FeedbackKind::Suggestion, FeedbackKind::Praise] {
        let total = totals[kind as usize];
        if total > 0.0 && best.is_none_or(|(_, t)| total > t) {
            best = Some((kind, total));
        }
    }
    best.map(|(kind, _)| kind)
}
