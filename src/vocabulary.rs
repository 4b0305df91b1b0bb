//! The vocabulary every layer shares: who wrote a message ([`Role`]), what it is ([`Label`]), what
//! exactly was found ([`Kind`]), how much it matters ([`Severity`]) and which feedback it is
//! ([`FeedbackKind`]); and the shape of a North American phone number, which configuration checks
//! the practice's own numbers against and detection validates candidates with.
//!
//! It sits at the bottom and imports nothing of the project's, so `config` (which names these in
//! rules and settings) and `detect` (which scores rules into them) both depend on it rather than on
//! each other.
//!
//! A [`Kind`] belongs to exactly one [`Label`] (a `dose` is always `medical_advice`), so a rule only
//! names its kind and can never be filed under the wrong label.

use std::fmt;

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
    Advice = "advice" => MedicalAdvice,
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

/// The ten digits of a North American number (`+1 (503) 555-0100` → `5035550100`), if valid:
/// area code and exchange start 2–9 and are not N11 service codes.
pub fn nanp_digits(text: &str) -> Option<String> {
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    let digits = match digits.len() {
        10 => digits,
        11 if digits.starts_with('1') => digits[1..].to_string(),
        _ => return None,
    };
    let b = digits.as_bytes();
    let n11 = |i: usize| b[i + 1] == b'1' && b[i + 2] == b'1';
    let ok = (b'2'..=b'9').contains(&b[0]) && (b'2'..=b'9').contains(&b[3]) && !n11(0) && !n11(3);
    ok.then_some(digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips_through_its_name() {
        for &kind in Kind::ALL {
            assert_eq!(Kind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(Kind::parse("dosage"), None);
    }

    #[test]
    fn identifiers_are_patient_details_except_the_context_around_them() {
        assert!(Kind::Phone.is_identifier());
        assert!(!Kind::PatientContext.is_identifier());
        assert!(!Kind::Dose.is_identifier());
        assert_eq!(Kind::Praise.feedback_kind(), Some(FeedbackKind::Praise));
        assert_eq!(Kind::Dose.feedback_kind(), None);
    }

    #[test]
    fn nanp_accepts_real_shapes_and_rejects_impossible_ones() {
        assert_eq!(nanp_digits("(503) 555-0100").as_deref(), Some("5035550100"));
        assert_eq!(nanp_digits("+1 971.555.0138").as_deref(), Some("9715550138"));
        assert_eq!(nanp_digits("123-555-0100"), None, "area codes start 2-9");
        assert_eq!(nanp_digits("503-155-0100"), None, "exchanges start 2-9");
        assert_eq!(nanp_digits("911-555-0100"), None, "N11 is a service code");
        assert_eq!(nanp_digits("503-555-010"), None);
        assert_eq!(nanp_digits("2503-555-0100"), None, "11 digits must start with 1");
    }
}
