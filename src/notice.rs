//! What people read: the author's DM, the staff alert, the feedback share, and the answer to a
//! draft check. Built here as plain data ([`Notice`]) so the wording is tested without Discord; the
//! shell turns a notice into an embed.
//!
//! Tone matters: a DM goes to a colleague who made an easy mistake. It says what was found, which
//! rule and why, shows the redacted excerpt, and says how to fix it, kindly. Nothing here ever
//! contains a message's raw text, except the author's own words returned to them when their
//! message was removed.

use crate::detect::{Analysis, Detector, FeedbackKind, Finding};
use crate::policy::{Feedback, Flag, NoReply};

/// An embed-shaped message.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Notice {
    pub title: String,
    pub description: String,
    pub fields: Vec<(String, String)>,
    /// 0xRRGGBB.
    pub colour: u32,
    /// Plain content above the embed (mentions go here, so they ping).
    pub content: Option<String>,
}

const AMBER: u32 = 0xE8A317;
const RED: u32 = 0xC0392B;
const GREEN: u32 = 0x2E8B57;
const BLUE: u32 = 0x3B82C4;

/// Discord's limit for an embed field value.
const FIELD_MAX: usize = 1024;

fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

fn findings_field(flag: &Flag) -> String {
    let lines: Vec<String> = flag
        .points
        .iter()
        .map(|p| format!("• **{}** (`{}`, {}): {}", p.label.title(), p.rule, p.severity, p.reason))
        .collect();
    clip(&lines.join("\n"), FIELD_MAX)
}

fn fix_field(flag: &Flag) -> Option<String> {
    // Each fix once, in the order of the findings (`dedup` alone keeps repeats that are not adjacent).
    let mut seen = std::collections::HashSet::new();
    let fixes: Vec<&str> = flag.points.iter().filter_map(|p| p.fix.as_deref()).filter(|f| seen.insert(*f)).collect();
    (!fixes.is_empty()).then(|| clip(&fixes.iter().map(|f| format!("• {f}")).collect::<Vec<_>>().join("\n"), FIELD_MAX))
}

/// The private DM to the author of a flagged message. `original`: their own text, included only
/// when the message was removed, so nothing they wrote is lost.
pub fn author_dm(flag: &Flag, original: Option<&str>) -> Notice {
    let mut fields = vec![("What Bedside noticed".to_string(), findings_field(flag))];
    fields.push(("Excerpt (identifiers hidden)".to_string(), clip(&flag.excerpt, FIELD_MAX)));
    if let Some(fix) = fix_field(flag) {
        fields.push(("How to fix it".to_string(), fix));
    }
    fields.push(("Message".to_string(), flag.link.clone()));
    let mut description = "A post of yours in a patient channel may need another look. Only you and the staff \
                           alert channel see this, and nothing was posted publicly."
        .to_string();
    if let Some(text) = original {
        description = "Your post was removed from the patient channel because of what is below, and only you and \
                       the staff alert channel see this. Here is your text, so nothing you wrote is lost."
            .to_string();
        fields.push(("Your text".to_string(), clip(text, FIELD_MAX)));
    } else {
        description.push_str(" You can edit the message: Bedside re-checks edits and will mark this resolved.");
    }
    Notice { title: "A quick check on your post".to_string(), description, fields, colour: AMBER, content: None }
}

/// The staff alert. `mention_author`: the DM could not be delivered, so the alert pings the author.
pub fn staff_alert(flag: &Flag, mention_author: bool, removed: bool) -> Notice {
    let mut n = staff_alert_base(flag);
    if removed {
        mark_removed(&mut n);
    }
    if mention_author {
        mention_closed_dms(&mut n, flag.author);
    }
    n
}

/// Notes on an alert that the message was removed.
pub fn mark_removed(n: &mut Notice) {
    n.fields.push(("Action".to_string(), "Removed from the channel; the author has their text by DM.".to_string()));
}

/// Makes an alert ping its author, whose DMs are closed.
pub fn mention_closed_dms(n: &mut Notice, author: u64) {
    n.content = Some(format!("<@{author}> Bedside could not DM you (your DMs are closed), so it is telling you here."));
}

/// The staff alert before delivery knows whether the DM arrived or the removal succeeded.
pub fn staff_alert_base(flag: &Flag) -> Notice {
    let labels: Vec<&str> = flag.labels.iter().map(|l| l.title()).collect();
    let fields = vec![
        ("Found".to_string(), findings_field(flag)),
        ("Excerpt (identifiers hidden)".to_string(), clip(&flag.excerpt, FIELD_MAX)),
        ("Message".to_string(), flag.link.clone()),
    ];
    let description = if flag.unverified {
        format!(
            "A post by <@{}> was flagged ({} severity). Bedside could not look up their roles, so it checked the \
             post as a staff post's would be. They may be a patient: they were not told, and nothing was posted \
             publicly.",
            flag.author, flag.severity
        )
    } else {
        format!(
            "A staff post by <@{}> was flagged ({} severity). The author was told privately.",
            flag.author, flag.severity
        )
    };
    Notice { title: format!("Flag: {}", labels.join(" + ")), description, fields, colour: RED, content: None }
}

/// The alert after an edit fixed the flagged message.
pub fn resolved_by_edit(link: &str) -> Notice {
    Notice {
        title: "Resolved by edit".to_string(),
        description: "The author edited the message and Bedside no longer finds a problem.".to_string(),
        fields: vec![("Message".to_string(), link.to_string())],
        colour: GREEN,
        content: None,
    }
}

/// The share of patient feedback in the staff feedback channel.
pub fn feedback_share(f: &Feedback) -> Notice {
    let replied = match f.why_no_reply {
        None => "Acknowledged publicly with a reply that discloses nothing.",
        Some(NoReply::Cooldown) => "Not acknowledged publicly again: this person was acknowledged here recently.",
        Some(NoReply::TooOld) => "Not acknowledged publicly: Bedside saw it long after it was posted.",
    };
    let what = match f.kind {
        FeedbackKind::Praise => "Praise",
        FeedbackKind::Complaint => "A complaint",
        FeedbackKind::Suggestion => "A suggestion",
    };
    Notice {
        title: format!("Patient feedback: {}", f.kind),
        description: format!("{what} from a patient. {replied}"),
        fields: vec![
            ("Excerpt (identifiers hidden)".to_string(), clip(&f.excerpt, FIELD_MAX)),
            ("Message".to_string(), f.link.clone()),
        ],
        colour: if f.kind == FeedbackKind::Complaint { AMBER } else { BLUE },
        content: None,
    }
}

/// The answer to a draft check (`/check`, the context menu, a DM): every counted finding with its
/// rule, reason, where, and how to fix it. The drafter sees their own text, so spans are quoted.
pub fn check_answer(text: &str, analysis: &Analysis, detector: &Detector) -> Notice {
    if analysis.is_clean() {
        return Notice {
            title: "Looks good".to_string(),
            description: "Bedside found nothing to flag in this draft.".to_string(),
            fields: vec![],
            colour: GREEN,
            content: None,
        };
    }
    let fields = analysis
        .counted()
        .take(10)
        .map(|f: &Finding| {
            let span = text.get(f.start..f.end).unwrap_or_default();
            let mut value = format!("{}\n> {}", f.reason(), clip(&span.replace('\n', " "), 200));
            if let Some(fix) = detector.fix_for(&f.rule) {
                value.push_str(&format!("\n**Fix:** {fix}"));
            }
            (format!("{} · `{}`", f.label().title(), f.rule), clip(&value, FIELD_MAX))
        })
        .collect();
    let labels: Vec<&str> = analysis.labels.iter().map(|l| l.title()).collect();
    Notice {
        title: "Worth another look".to_string(),
        description: format!("Bedside would flag this as {}.", labels.join(" and ")),
        fields,
        colour: AMBER,
        content: None,
    }
}

/// The answer when a draft could not be checked (the analysis failed): say so, never "looks good".
pub fn check_unavailable() -> Notice {
    Notice {
        title: "Could not check this draft".to_string(),
        description: "Something went wrong while Bedside read this draft, so it has no verdict. Please try again \
                      in a moment."
            .to_string(),
        fields: vec![],
        colour: AMBER,
        content: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::{Label, Severity};
    use crate::policy::Point;

    fn flag() -> Flag {
        Flag {
            message: 3,
            channel: 2,
            guild: Some(1),
            author: 77,
            link: "https://discord.com/channels/1/2/3".into(),
            labels: vec![Label::PatientDetails],
            points: vec![Point {
                label: Label::PatientDetails,
                rule: "id.phone".into(),
                reason: "A phone number tied to a patient".into(),
                severity: Severity::High,
                fix: Some("Share it privately.".into()),
            }],
            severity: Severity::High,
            excerpt: "call [name] at [phone]".into(),
            remove: false,
            unverified: false,
        }
    }

    #[test]
    fn the_dm_explains_rule_reason_excerpt_link_and_fix() {
        let n = author_dm(&flag(), None);
        let all = format!("{} {:?}", n.description, n.fields);
        for expected in [
            "id.phone",
            "A phone number tied to a patient",
            "[phone]",
            "https://discord.com/channels/1/2/3",
            "Share it privately.",
        ] {
            assert!(all.contains(expected), "{expected} missing from {all}");
        }
        assert!(!all.contains("Your text"));
    }

    #[test]
    fn a_removed_message_comes_back_to_its_author() {
        let n = author_dm(&flag(), Some("call Dana at 971-555-0138"));
        assert!(n.fields.iter().any(|(k, v)| k == "Your text" && v.contains("Dana")));
        let alert = staff_alert(&flag(), false, true);
        assert!(!format!("{alert:?}").contains("Dana"), "the staff channel never gets the raw text");
    }

    #[test]
    fn closed_dms_make_the_alert_mention_the_author() {
        assert_eq!(staff_alert(&flag(), false, false).content, None);
        assert!(staff_alert(&flag(), true, false).content.expect("mention").starts_with("<@77>"));
    }

    #[test]
    fn long_values_fit_discord_limits() {
        let mut f = flag();
        f.excerpt = "x".repeat(5000);
        assert!(author_dm(&f, Some(&"y".repeat(5000))).fields.iter().all(|(_, v)| v.chars().count() <= FIELD_MAX));
    }
}
