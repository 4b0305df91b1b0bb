//! Acknowledgements: the public reply to patient feedback, which must disclose nothing.
//!
//! Regulators have fined practices for review replies that confirmed someone was a patient. So a
//! reply never repeats the patient's words and never says "your visit", "your treatment", a name,
//! a date or a condition. Templates live in `templates.toml`; [`vet`] checks each one at load, both
//! against a list of disclosing phrases and against Bedside's own staff rules. Picking a template
//! is deterministic given a seed (the message id), so tests and replays agree.

use crate::config::{Practice, Templates};
use crate::detect::{Detector, FeedbackKind, Message, Role};

/// Phrases that confirm a relationship of care, whatever else the template says.
pub const DISCLOSING_PHRASES: &[&str] = &[
    "your visit",
    "your appointment",
    "your treatment",
    "your procedure",
    "your diagnosis",
    "your condition",
    "your results",
    "your test",
    "your care",
    "your doctor",
    "your dentist",
    "your therapist",
    "your clinician",
    "your provider",
    "your session",
    "your prescription",
    "your medication",
    "your insurance",
    "your bill",
    "your claim",
    "your chart",
    "your record",
    "your last",
    "your recent",
    "as our patient",
    "as a patient",
    "our patient",
    "you came in",
    "you were here",
    "you were seen",
    "seeing you",
    "we saw you",
    "treating you",
    "your stay",
];

/// Fills `{practice_name}` and `{practice_phone}`.
pub fn render(template: &str, practice: &Practice) -> String {
    template
        .replace("{practice_name}", &practice.name)
        .replace("{practice_phone}", practice.phone_display.as_deref().unwrap_or("the front desk"))
}

/// Checks a rendered acknowledgement: no disclosing phrase, nothing Bedside would flag.
pub fn vet(rendered: &str, forbidden: &[String], detector: &Detector) -> Result<(), String> {
    let lower = rendered.to_lowercase();
    if let Some(p) = DISCLOSING_PHRASES
        .iter()
        .map(|p| p.to_string())
        .chain(forbidden.iter().map(|p| p.to_lowercase()))
        .find(|p| lower.contains(p.as_str()))
    {
        return Err(format!("contains \"{p}\", which would confirm the author is a patient"));
    }
    let analysis = detector.analyze(&Message::new(rendered, Role::Staff).reply(true));
    if let Some(f) = analysis.counted().next() {
        return Err(format!("Bedside's own rule `{}` flags it: {}", f.rule, f.rule_reason));
    }
    Ok(())
}

/// The acknowledgement for a piece of feedback: a template for its kind, chosen by `seed` (so the
/// same message always gets the same reply), rendered with the practice's details.
pub fn compose(kind: FeedbackKind, seed: u64, templates: &Templates, practice: &Practice) -> Option<String> {
    let list = templates.for_kind(kind);
    if list.is_empty() {
        return None;
    }
    let pick = (seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as usize % list.len();
    Some(render(&list[pick], practice))
}
