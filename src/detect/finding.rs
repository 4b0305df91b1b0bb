//! The vocabulary of a verdict: labels, kinds, severities, and the [`Finding`] that ties a rule to a
//! span of a message and says why.
//!
//! A [`Kind`] belongs to exactly one [`Label`] (a `dose` is always `medical_advice`), so a rule only
//! names its kind and can never be filed under the wrong label.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// Who wrote a message, as far as the practice's policy is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Staff,
    Patient,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Staff => "staff",
            Role::Patient => "patient",
        }
    }
}

/// What a message is, as a whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Label {
    MedicalAdvice,
    PatientDetails,
    Feedback,
}

impl Label {
    pub const ALL: [Label; 3] = [Label::MedicalAdvice, Label::PatientDetails, Label::Feedback];

    pub fn as_str(self) -> &'static str {
        match self {
            Label::MedicalAdvice => "medical_advice",
            Label::PatientDetails => "patient_details",
            Label::Feedback => "feedback",
        }
    }

    /// Which author's messages this label is checked on: staff are checked for advice and
    /// disclosures, patients for feedback.
    pub fn applies_to(self, role: Role) -> bool {
        matches!(
            (self, role),
            (Label::MedicalAdvice | Label::PatientDetails, Role::Staff) | (Label::Feedback, Role::Patient)
        )
    }

    /// A person-readable name, for reports and DMs.
    pub fn title(self) -> &'static str {
        match self {
            Label::MedicalAdvice => "personal medical advice",
            Label::PatientDetails => "patient details",
            Label::Feedback => "patient feedback",
        }
    }
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The kind of feedback, which picks the acknowledgement template.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeedbackKind {
    Praise,
    Complaint,
    Suggestion,
}

impl FeedbackKind {
    pub const ALL: [FeedbackKind; 3] = [FeedbackKind::Praise, FeedbackKind::Complaint, FeedbackKind::Suggestion];

    pub fn as_str(self) -> &'static str {
        match self {
            FeedbackKind::Praise => "praise",
            FeedbackKind::Complaint => "complaint",
            FeedbackKind::Suggestion => "suggestion",
        }
    }
}

impl fmt::Display for FeedbackKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! kinds {
    ($( $variant:ident = $name:literal => $label:ident ),* $(,)?) => {
        /// What exactly a finding found. Each kind belongs to one label.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum Kind { $( $variant ),* }

        impl Kind {
            pub const ALL: &'static [Kind] = &[ $( Kind::$variant ),* ];

            pub fn as_str(self) -> &'static str {
                match self { $( Kind::$variant => $name ),* }
            }

            pub fn label(self) -> Label {
                match self { $( Kind::$variant => Label::$label ),* }
            }

            pub fn parse(name: &str) -> Option<Kind> {
                match name { $( $name => Some(Kind::$variant), )* _ => None }
            }
        }
    };
}

kinds! {
    Name = "name" => PatientDetails,
    Date = "date" => PatientDetails,
    Age = "age" => PatientDetails,
    Phone = "phone" => PatientDetails,
    Fax = "fax" => PatientDetails,
    Email = "email" => PatientDetails,
    Ssn = "ssn" => PatientDetails,
    Mrn = "mrn" => PatientDetails,
    HealthPlanId = "health_plan_id" => PatientDetails,
    Account = "account" => PatientDetails,
    License = "license" => PatientDetails,
    Address = "address" => PatientDetails,
    Zip = "zip" => PatientDetails,
    Url = "url" => PatientDetails,
    Ip = "ip" => PatientDetails,
    DeviceId = "device_id" => PatientDetails,
    Vehicle = "vehicle" => PatientDetails,
    Card = "card" => PatientDetails,
    OtherId = "other_id" => PatientDetails,
    PatientContext = "patient_context" => PatientDetails,
    Dose = "dose" => MedicalAdvice,
    Diagnosis = "diagnosis" => MedicalAdvice,
    TreatmentChange = "treatment_change" => MedicalAdvice,
    Directive = "directive" => MedicalAdvice,
    Praise = "praise" => Feedback,
    Complaint = "complaint" => Feedback,
    Suggestion = "suggestion" => Feedback,
}

impl Kind {
    /// One of HIPAA's identifiers: reported even when it does not make the message a flag, and
    /// always masked in excerpts.
    pub fn is_identifier(self) -> bool {
        self.label() == Label::PatientDetails && self != Kind::PatientContext
    }

    pub fn feedback_kind(self) -> Option<FeedbackKind> {
        match self {
            Kind::Praise => Some(FeedbackKind::Praise),
            Kind::Complaint => Some(FeedbackKind::Complaint),
            Kind::Suggestion => Some(FeedbackKind::Suggestion),
            _ => None,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How much a finding matters; the policy maps severities to actions (alert only, or also remove).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Low,
    Medium,
    High,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an identifier that was found does not make the message a flag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NotCounted {
    /// The practice's own contact detail, named in config (`practice.phone`, …).
    PracticeContact(&'static str),
    /// A staff member's name from config.
    StaffName,
    /// Found, but nothing nearby ties it to a patient.
    NoPatientNearby,
}

impl NotCounted {
    pub fn explain(&self) -> String {
        match self {
            NotCounted::PracticeContact(field) => {
                format!("the practice's own contact detail (practice.{field} in bedside.toml)")
            }
            NotCounted::StaffName => "a staff member's name (practice.staff_names in bedside.toml)".to_string(),
            NotCounted::NoPatientNearby => "nothing nearby ties it to a patient".to_string(),
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
