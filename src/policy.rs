//! Policy: who is staff, and what Bedside does about a message. Pure: the shell gathers the facts
//! (roles, the channel, whether it is watched, the time) and carries out the [`Outcome`] this
//! decides; nothing here talks to Discord or reads a clock.
//!
//! # Layout
//! - [`is_staff`]: roles and permissions → staff or not.
//! - [`decide`]: a new message → ignore, flag, acknowledge, or nothing.
//! - [`decide_edit`]: an edited message → re-flag, resolve an earlier flag, or nothing.
//! - [`AckLedger`]: what the cooldown for acknowledgements needs to know, kept by the shell.

use std::time::Duration;

use crate::config::{Config, StaffSettings};
use crate::detect::{Analysis, Detector, FeedbackKind, Finding, Label, Message, Role, Severity, excerpt};

/// A role as Discord or an export names it.
#[derive(Clone, Copy, Debug)]
pub struct RoleRef<'a> {
    pub id: &'a str,
    pub name: &'a str,
}

/// Staff are members holding a configured staff role (by name or id, case-insensitive), or the
/// configured fallback permission.
pub fn is_staff<'a>(
    settings: &StaffSettings,
    roles: impl IntoIterator<Item = RoleRef<'a>>,
    permissions: &[&str],
) -> bool {
    let by_role = roles.into_iter().any(|r| settings.roles.iter().any(|s| s == r.id || s.eq_ignore_ascii_case(r.name)));
    let by_permission = settings
        .fallback_permission
        .as_deref()
        .is_some_and(|p| permissions.iter().any(|have| have.eq_ignore_ascii_case(p)));
    by_role || by_permission
}

/// Who wrote a message, as far as Bedside cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Author {
    Staff,
    Patient,
    /// A member whose roles could not be learned (a failed member lookup): not taken for a patient.
    /// The post is checked as staff's would be, and a flag goes to staff alone (see [`Flag::unverified`]).
    Unknown,
    Bot,
    Webhook,
    /// Bedside itself.
    Myself,
}

/// What the shell knows about an incoming message.
#[derive(Clone, Copy, Debug)]
pub struct Incoming<'a> {
    pub id: u64,
    pub channel: u64,
    pub guild: Option<u64>,
    pub author_id: u64,
    pub author: Author,
    /// A join, a pin or another system message rather than a post.
    pub system: bool,
    /// In a watched channel, or a thread under one.
    pub watched: bool,
    pub text: &'a str,
    pub is_reply: bool,
    pub mentions: usize,
    /// Seconds since the Unix epoch when the message was posted.
    pub posted_at: u64,
}

impl Incoming<'_> {
    /// The same facts about a different text (or about an owned copy of this one).
    pub fn with_text(self, text: &str) -> Incoming<'_> {
        let Incoming { id, channel, guild, author_id, author, system, watched, text: _, is_reply, mentions, posted_at } =
            self;
        Incoming { id, channel, guild, author_id, author, system, watched, text, is_reply, mentions, posted_at }
    }

    pub fn link(&self) -> String {
        jump_link(self.guild, self.channel, self.id)
    }
}

/// `https://discord.com/channels/{guild or @me}/{channel}/{message}`.
pub fn jump_link(guild: Option<u64>, channel: u64, message: u64) -> String {
    match guild {
        Some(g) => format!("https://discord.com/channels/{g}/{channel}/{message}"),
        None => format!("https://discord.com/channels/@me/{channel}/{message}"),
    }
}

/// Why a message gets no attention.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Skip {
    NotWatched,
    Bot,
    Webhook,
    Myself,
    System,
    Empty,
}

/// One counted finding, as a person reads it: never the matched words, only where and why.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    pub label: Label,
    pub rule: String,
    pub reason: String,
    pub severity: Severity,
    pub fix: Option<String>,
}

/// A staff message Bedside flags privately.
#[derive(Clone, Debug, PartialEq)]
pub struct Flag {
    pub message: u64,
    pub channel: u64,
    pub guild: Option<u64>,
    pub author: u64,
    pub link: String,
    pub labels: Vec<Label>,
    pub points: Vec<Point>,
    pub severity: Severity,
    /// Safe for a staff channel and the store.
    pub excerpt: String,
    /// Config says this severity also removes the message; the author then gets their text back.
    pub remove: bool,
    /// The author's roles could not be learned: they may be a patient. The flag goes to the staff
    /// alert only — no DM to the author, no removal — and staff are told why.
    pub unverified: bool,
}

impl Flag {
    /// The rules that flagged it, each once, sorted: what the store keeps, reports count and an
    /// edit's re-check compares (so the order findings came in cannot matter).
    pub fn rule_ids(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = self.points.iter().map(|p| p.rule.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }
}

/// Patient feedback Bedside acknowledges and shares with staff.
#[derive(Clone, Debug, PartialEq)]
pub struct Feedback {
    pub message: u64,
    pub channel: u64,
    pub guild: Option<u64>,
    pub author: u64,
    pub link: String,
    pub kind: FeedbackKind,
    pub excerpt: String,
    /// The public reply, or `None` when the cooldown or the message's age forbids one (staff are
    /// still told).
    pub reply: Option<String>,
    pub why_no_reply: Option<NoReply>,
}

impl Feedback {
    /// The same feedback with no public reply, for `why` (staff are still told).
    pub fn without_reply(self, why: NoReply) -> Feedback {
        Feedback { reply: None, why_no_reply: Some(why), ..self }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoReply {
    /// This author was acknowledged in this channel within the cooldown.
    Cooldown,
    /// The message was first seen long after it was posted (after downtime).
    TooOld,
}

/// What Bedside does about a message.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Skip(Skip),
    /// Watched and read; nothing to do.
    Clean,
    Flag(Flag),
    Feedback(Feedback),
}

/// When this author was last acknowledged in this channel: the cooldown's memory, kept by the shell
/// (in memory, or in the store so it survives restarts).
pub trait AckLedger {
    fn last_acknowledged(&self, author: u64, channel: u64) -> Option<u64>;
}

impl AckLedger for std::collections::HashMap<(u64, u64), u64> {
    fn last_acknowledged(&self, author: u64, channel: u64) -> Option<u64> {
        self.get(&(author, channel)).copied()
    }
}

/// Decides what to do about a new message. `now` is seconds since the Unix epoch.
pub fn decide(config: &Config, detector: &Detector, m: &Incoming<'_>, ledger: &dyn AckLedger, now: u64) -> Outcome {
    let role = match m.author {
        Author::Myself => return Outcome::Skip(Skip::Myself),
        Author::Bot => return Outcome::Skip(Skip::Bot),
        Author::Webhook => return Outcome::Skip(Skip::Webhook),
        _ if m.system => return Outcome::Skip(Skip::System),
        _ if !m.watched => return Outcome::Skip(Skip::NotWatched),
        _ if m.text.trim().is_empty() => return Outcome::Skip(Skip::Empty),
        // Checked as staff's post would be; a patient's feedback is then never acknowledged publicly.
        Author::Staff | Author::Unknown => Role::Staff,
        Author::Patient => Role::Patient,
    };
    let analysis = detector.analyze(&Message::new(m.text, role).reply(m.is_reply).mentions(m.mentions));
    match role {
        Role::Staff => match flag(config, detector, m, &analysis) {
            Some(f) => Outcome::Flag(f),
            None => Outcome::Clean,
        },
        Role::Patient => match analysis.feedback_kind {
            Some(kind) => Outcome::Feedback(feedback(config, detector, m, kind, &analysis, ledger, now)),
            None => Outcome::Clean,
        },
    }
}

fn flag(config: &Config, detector: &Detector, m: &Incoming<'_>, analysis: &Analysis) -> Option<Flag> {
    let severity = analysis.severity()?;
    let points = analysis.counted().map(|f| point(f, detector)).collect();
    Some(Flag {
        message: m.id,
        channel: m.channel,
        guild: m.guild,
        author: m.author_id,
        link: m.link(),
        labels: analysis.labels.clone(),
        points,
        severity,
        excerpt: excerpt(m.text, &analysis.findings),
        remove: config.remove_at.is_some_and(|at| severity >= at) && m.author != Author::Unknown,
        unverified: m.author == Author::Unknown,
    })
}

fn point(f: &Finding, detector: &Detector) -> Point {
    Point {
        label: f.label(),
        rule: f.rule.to_string(),
        reason: f.reason(),
        severity: f.severity,
        fix: detector.fix_for(&f.rule).map(str::to_string),
    }
}

/// Whether an author last answered (publicly) at `last` is still in the cooldown at `now`. A reply
/// recorded after `now` (decided at the same time, on a clock read a moment later) counts as just
/// now; with no cooldown, nothing does.
pub fn cooling(last: Option<u64>, now: u64, cooldown_secs: u64) -> bool {
    last.is_some_and(|last| now.saturating_sub(last) < cooldown_secs)
}

fn feedback(
    config: &Config,
    detector: &Detector,
    m: &Incoming<'_>,
    kind: FeedbackKind,
    analysis: &Analysis,
    ledger: &dyn AckLedger,
    now: u64,
) -> Feedback {
    let settings = &config.acknowledgements;
    let cooling = cooling(ledger.last_acknowledged(m.author_id, m.channel), now, settings.cooldown.as_secs());
    let too_old = now.saturating_sub(m.posted_at) > settings.max_age.as_secs();
    let why_no_reply = if too_old {
        Some(NoReply::TooOld)
    } else if cooling {
        Some(NoReply::Cooldown)
    } else {
        None
    };
    let reply = match why_no_reply {
        None => crate::acknowledge::compose(kind, m.id, &config.templates, &config.practice),
        Some(_) => None,
    };
    Feedback {
        message: m.id,
        channel: m.channel,
        guild: m.guild,
        author: m.author_id,
        link: m.link(),
        kind,
        excerpt: patient_excerpt(detector, m, analysis),
        reply,
        why_no_reply,
    }
}

/// A patient's words, redacted for the staff channel and the store, centred on the feedback.
/// Identifier rules do not run on patient messages (a patient naming themself is not a
/// disclosure), so a separate identifiers pass finds what to mask: the excerpt must not carry the
/// patient's name or number either.
fn patient_excerpt(detector: &Detector, m: &Incoming<'_>, analysis: &Analysis) -> String {
    let mut findings = analysis.findings.clone();
    findings.extend(detector.identifiers(m.text, m.is_reply, m.mentions));
    excerpt(m.text, &findings)
}

/// What an edit changes.
#[derive(Clone, Debug, PartialEq)]
pub enum EditOutcome {
    /// The message was flagged and the edit fixed it: the alert says "resolved by edit".
    Resolved,
    /// The edit has a problem: flag it (again, with the new findings).
    Flag(Flag),
    Nothing,
}

/// Decides what an edit changes. `was_flagged`: whether Bedside has an open flag for the message.
/// Only staff messages are re-checked (feedback is acknowledged once).
pub fn decide_edit(config: &Config, detector: &Detector, m: &Incoming<'_>, was_flagged: bool) -> EditOutcome {
    if !matches!(m.author, Author::Staff | Author::Unknown) || m.system || !m.watched {
        return EditOutcome::Nothing;
    }
    let analysis = detector.analyze(&Message::new(m.text, Role::Staff).reply(m.is_reply).mentions(m.mentions));
    match (flag(config, detector, m, &analysis), was_flagged) {
        (Some(f), _) => EditOutcome::Flag(f),
        (None, true) => EditOutcome::Resolved,
        (None, false) => EditOutcome::Nothing,
    }
}

/// How long a cooldown has left, for status displays.
pub fn cooldown_left(config: &Config, last: u64, now: u64) -> Duration {
    Duration::from_secs(config.acknowledgements.cooldown.as_secs().saturating_sub(now.saturating_sub(last)))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::setup::Setup;

    fn settings() -> StaffSettings {
        StaffSettings {
            roles: vec!["staff".into(), "1100".into()],
            fallback_permission: Some("manage_messages".into()),
        }
    }

    #[test]
    fn a_flag_lists_each_rule_once_sorted_whatever_order_its_findings_came_in() {
        let point = |rule: &str| Point {
            label: Label::PatientDetails,
            rule: rule.into(),
            reason: "r".into(),
            severity: Severity::High,
            fix: None,
        };
        let flag = Flag {
            message: 1,
            channel: 2,
            guild: None,
            author: 3,
            link: String::new(),
            labels: vec![Label::PatientDetails],
            points: vec![point("id.phone"), point("id.dob"), point("id.phone")],
            severity: Severity::High,
            excerpt: String::new(),
            remove: false,
            unverified: false,
        };
        assert_eq!(flag.rule_ids(), ["id.dob", "id.phone"]);
    }

    #[test]
    fn staff_by_role_name_id_or_permission() {
        let s = settings();
        assert!(is_staff(&s, [RoleRef { id: "9", name: "STAFF" }], &[]));
        assert!(is_staff(&s, [RoleRef { id: "1100", name: "Clinicians" }], &[]));
        assert!(is_staff(&s, [], &["MANAGE_MESSAGES"]));
        assert!(!is_staff(&s, [RoleRef { id: "9", name: "Patient" }], &["send_messages"]));
        assert!(!is_staff(&s, [RoleRef { id: "9", name: "Staffing fans" }], &[]));
    }

    const NOW: u64 = 1_790_000_000;

    fn incoming(author: Author, text: &str) -> Incoming<'_> {
        Incoming {
            id: 42,
            channel: 7,
            guild: Some(1),
            author_id: 99,
            author,
            system: false,
            watched: true,
            text,
            is_reply: false,
            mentions: 0,
            posted_at: NOW - 5,
        }
    }

    fn setup() -> Setup {
        Setup::load(None).expect("embedded config")
    }

    #[test]
    fn ignores_what_is_not_a_watched_human_post() {
        let s = setup();
        let ledger: HashMap<(u64, u64), u64> = HashMap::new();
        let text = "take 400mg ibuprofen every 6 hours";
        for (author, system, watched, expected) in [
            (Author::Bot, false, true, Skip::Bot),
            (Author::Webhook, false, true, Skip::Webhook),
            (Author::Myself, false, true, Skip::Myself),
            (Author::Staff, true, true, Skip::System),
            (Author::Staff, false, false, Skip::NotWatched),
        ] {
            let m = Incoming { system, watched, ..incoming(author, text) };
            assert_eq!(decide(&s.config, &s.detector, &m, &ledger, NOW), Outcome::Skip(expected));
        }
        let empty = incoming(Author::Staff, "   ");
        assert_eq!(decide(&s.config, &s.detector, &empty, &ledger, NOW), Outcome::Skip(Skip::Empty));
    }

    #[test]
    fn a_staff_problem_is_a_flag_with_reasons_and_a_redacted_excerpt() {
        let s = setup();
        let m = incoming(Author::Staff, "Mrs. Alvarez, call me at 971-555-0138 about your biopsy results");
        let Outcome::Flag(f) = decide(&s.config, &s.detector, &m, &HashMap::new(), NOW) else {
            panic!("flag expected")
        };
        assert_eq!(f.labels, vec![Label::PatientDetails]);
        assert!(!f.points.is_empty() && f.points.iter().all(|p| !p.reason.is_empty()));
        assert!(!f.excerpt.contains("Alvarez") && !f.excerpt.contains("0138"), "{}", f.excerpt);
        assert_eq!(f.link, "https://discord.com/channels/1/7/42");
        assert!(!f.remove, "the default config never removes");
    }

    #[test]
    fn an_author_whose_roles_are_unknown_is_checked_as_staff_flagged_to_staff_only_and_never_acknowledged() {
        let s = setup();
        let mut config = (*s.config).clone();
        config.remove_at = Some(Severity::High);
        let m = incoming(Author::Unknown, "take 400mg ibuprofen every 6 hours");
        let Outcome::Flag(f) = decide(&config, &s.detector, &m, &HashMap::new(), NOW) else { panic!("flag expected") };
        assert!(f.unverified && !f.remove, "alert only: never removed, the author not told");
        let staff = incoming(Author::Staff, "take 400mg ibuprofen every 6 hours");
        let Outcome::Flag(f) = decide(&config, &s.detector, &staff, &HashMap::new(), NOW) else { panic!("flag") };
        assert!(!f.unverified && f.remove, "the control: a known staff member's flag");
        let praise = "The front desk was so kind to my mum today, thank you!";
        let as_patient = decide(&config, &s.detector, &incoming(Author::Patient, praise), &HashMap::new(), NOW);
        assert!(matches!(as_patient, Outcome::Feedback(_)), "the control: a patient's praise is acknowledged");
        let unknown = decide(&config, &s.detector, &incoming(Author::Unknown, praise), &HashMap::new(), NOW);
        assert_eq!(unknown, Outcome::Clean, "an unknown author's praise gets no public reply");
        let edited = decide_edit(&config, &s.detector, &m, false);
        assert!(matches!(edited, EditOutcome::Flag(f) if f.unverified), "edits are checked the same way");
    }

    #[test]
    fn removal_follows_the_configured_severity() {
        let s = setup();
        let mut config = (*s.config).clone();
        config.remove_at = Some(Severity::High);
        let m = incoming(Author::Staff, "take 400mg ibuprofen every 6 hours");
        let Outcome::Flag(f) = decide(&config, &s.detector, &m, &HashMap::new(), NOW) else { panic!("flag expected") };
        assert!(f.remove);
    }

    #[test]
    fn patient_feedback_is_acknowledged_once_per_cooldown_and_never_when_old() {
        let s = setup();
        let text = "The front desk was so kind to my mum today, thank you!";
        let m = incoming(Author::Patient, text);
        let mut ledger: HashMap<(u64, u64), u64> = HashMap::new();
        let Outcome::Feedback(f) = decide(&s.config, &s.detector, &m, &ledger, NOW) else { panic!("feedback") };
        assert_eq!(f.kind, FeedbackKind::Praise);
        let named = incoming(
            Author::Patient,
            "Mrs. Alvarez here, the front desk was so kind today, thank you! call me 971-555-0164",
        );
        let Outcome::Feedback(shared) = decide(&s.config, &s.detector, &named, &ledger, NOW) else {
            panic!("feedback")
        };
        assert!(!shared.excerpt.contains("Alvarez") && !shared.excerpt.contains("0164"), "{}", shared.excerpt);
        assert!(shared.excerpt.contains("[name]") && shared.excerpt.contains("[phone]"), "{}", shared.excerpt);
        let reply = f.reply.expect("a reply");
        assert!(!reply.contains("mum") && !reply.contains("front desk"), "never repeats the patient's words: {reply}");

        ledger.insert((99, 7), NOW - 3600);
        let Outcome::Feedback(f) = decide(&s.config, &s.detector, &m, &ledger, NOW) else { panic!("feedback") };
        assert_eq!((f.reply, f.why_no_reply), (None, Some(NoReply::Cooldown)));

        ledger.insert((99, 7), NOW - 25 * 3600);
        let Outcome::Feedback(f) = decide(&s.config, &s.detector, &m, &ledger, NOW) else { panic!("feedback") };
        assert!(f.reply.is_some(), "the cooldown has passed");

        let old = Incoming { posted_at: NOW - 3 * 86400, ..m };
        let Outcome::Feedback(f) = decide(&s.config, &s.detector, &old, &HashMap::new(), NOW) else {
            panic!("feedback")
        };
        assert_eq!((f.reply, f.why_no_reply), (None, Some(NoReply::TooOld)));
    }

    #[test]
    fn complaints_invite_private_contact_with_the_practice_number() {
        let s = setup();
        let m = incoming(Author::Patient, "Waited an hour past my appointment and nobody called. Unacceptable.");
        let Outcome::Feedback(f) = decide(&s.config, &s.detector, &m, &HashMap::new(), NOW) else { panic!("feedback") };
        assert_eq!(f.kind, FeedbackKind::Complaint);
        assert!(f.reply.expect("reply").contains("(503) 555-0100"));
    }

    #[test]
    fn edits_resolve_or_reflag() {
        let s = setup();
        let fixed = incoming(Author::Staff, "Please call us at (503) 555-0100 so we can help.");
        assert_eq!(decide_edit(&s.config, &s.detector, &fixed, true), EditOutcome::Resolved);
        assert_eq!(decide_edit(&s.config, &s.detector, &fixed, false), EditOutcome::Nothing);
        let broken = incoming(Author::Staff, "take 400mg ibuprofen every 6 hours");
        assert!(matches!(decide_edit(&s.config, &s.detector, &broken, false), EditOutcome::Flag(_)));
        let patient = incoming(Author::Patient, "take 400mg ibuprofen every 6 hours");
        assert_eq!(decide_edit(&s.config, &s.detector, &patient, true), EditOutcome::Nothing);
    }
}
