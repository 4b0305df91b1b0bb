//! A verdict: the [`Finding`] that ties a rule to a span of a message and says why, and the
//! [`Analysis`] of a whole message. Its words (labels, kinds, severities) are [`crate::vocabulary`]'s.

use std::sync::Arc;

use crate::vocabulary::{FeedbackKind, Kind, Label, Severity};

/// Why a finding that was made does not count: an identifier that does not make the message a
/// flag, or a rule's feedback that the learned layer overrules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NotCounted {
    /// The practice's own contact detail, named in config (`practice.phone`, …).
    PracticeContact(&'static str),
    /// A staff member's name from config.
    StaffName,
    /// Found, but nothing nearby ties it to a patient.
    NoPatientNearby,
    /// A feedback rule matched, but the learned layer reads the whole message as something else
    /// (a question, a request): see `model.overrule_feedback_below`.
    ReadsAsNotFeedback,
}

impl NotCounted {
    pub fn explain(&self) -> String {
        match self {
            NotCounted::PracticeContact(field) => {
                format!("the practice's own contact detail (practice.{field} in bedside.toml)")
            }
            NotCounted::StaffName => "a staff member's name (practice.staff_names in bedside.toml)".to_string(),
            NotCounted::NoPatientNearby => "nothing nearby ties it to a patient".to_string(),
            NotCounted::ReadsAsNotFeedback => {
                "the message as a whole reads as a question or request, not feedback (the learned \
                 layer's probability is below model.overrule_feedback_below in bedside.toml)"
                    .to_string()
            }
        }
    }
}

/// One thing a rule found in a message: which rule, where (UTF-8 byte offsets into the original
/// text), how severe, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    pub kind: Kind,
    pub rule: Arc<str>,
    pub start: usize,
    pub end: usize,
    pub severity: Severity,
    /// The rule's own one-line reason, from config.
    pub rule_reason: Arc<str>,
    /// The signals that raised the score, by name (never the matched words: they may identify).
    pub signals: Vec<Arc<str>>,
    pub score: f32,
    /// `None` when the finding counts toward the message's labels.
    pub not_counted: Option<NotCounted>,
}

impl Finding {
    pub fn label(&self) -> Label {
        self.kind.label()
    }

    pub fn counted(&self) -> bool {
        self.not_counted.is_none()
    }

    /// The reason a person reads: the rule's reason, the signals behind it, and, for an identifier
    /// that does not count, why not.
    pub fn reason(&self) -> String {
        let mut reason = self.rule_reason.to_string();
        if !self.signals.is_empty() {
            reason.push_str(" (");
            for (i, signal) in self.signals.iter().enumerate() {
                if i > 0 {
                    reason.push_str(", ");
                }
                reason.push_str(signal);
            }
            reason.push(')');
        }
        if let Some(why) = &self.not_counted {
            reason.push_str(" — not counted: ");
            reason.push_str(&why.explain());
        }
        reason
    }
}

/// Everything Bedside concluded about one message.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Analysis {
    /// Labels with at least one counted finding, in [`Label`] order.
    pub labels: Vec<Label>,
    pub feedback_kind: Option<FeedbackKind>,
    /// Every finding, counted or not, ordered by position.
    pub findings: Vec<Finding>,
}

impl Analysis {
    pub fn is_clean(&self) -> bool {
        self.labels.is_empty()
    }

    pub fn has(&self, label: Label) -> bool {
        self.labels.contains(&label)
    }

    pub fn counted(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.counted())
    }

    /// The most severe counted finding's severity, if any.
    pub fn severity(&self) -> Option<Severity> {
        self.counted().map(|f| f.severity).max()
    }
}
