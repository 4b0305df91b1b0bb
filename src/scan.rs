//! Audits DiscordChatExporter exports: which staff posts Bedside would have flagged, which patient
//! feedback got no staff reply, by channel and by author.
//!
//! [`Scanner`] is fed one message at a time (from [`crate::export`]) and keeps only counters, the
//! flagged messages' redacted excerpts, and the feedback still waiting for a reply; raw text is
//! never kept. Rendering the [`Report`] (text, Markdown, JSON) is separate from building it.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use unicode_width::UnicodeWidthStr;

use crate::config::StaffSettings;
use crate::detect::{Analysis, Detector, FeedbackKind, Label, Message, Role, excerpt};
use crate::export::{ExportMessage, Header};
use crate::policy::{RoleRef, is_staff};

/// One flagged staff message, as the report shows it.
#[derive(Clone, Debug, Serialize)]
pub struct Flagged {
    pub timestamp: String,
    pub link: String,
    pub channel: String,
    pub author: String,
    pub labels: Vec<Label>,
    pub rules: Vec<String>,
    pub excerpt: String,
}

/// A patient's feedback, as the report shows it.
#[derive(Clone, Debug, Serialize)]
pub struct FeedbackItem {
    pub timestamp: String,
    pub link: String,
    pub channel: String,
    pub kind: FeedbackKind,
    pub excerpt: String,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct ChannelStats {
    pub name: String,
    pub messages: u64,
    pub staff_posts: u64,
    pub flags: u64,
    pub feedback: u64,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct AuthorStats {
    pub name: String,
    pub staff: bool,
    pub messages: u64,
    pub flags: u64,
}

/// An input that could not be read, or a part of one: which file, and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InputProblem {
    pub file: String,
    pub problem: String,
}

impl std::fmt::Display for InputProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.file, self.problem)
    }
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Skipped {
    pub bots: u64,
    pub system: u64,
    pub empty: u64,
    pub malformed: u64,
}

/// What a scan found.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Report {
    pub files: u64,
    pub messages_scanned: u64,
    pub skipped: Skipped,
    pub staff_posts: u64,
    pub patient_posts: u64,
    pub flagged_messages: u64,
    pub flags_by_label: BTreeMap<Label, u64>,
    pub flags_by_rule: BTreeMap<String, u64>,
    pub feedback_by_kind: BTreeMap<FeedbackKind, u64>,
    pub channels: BTreeMap<String, ChannelStats>,
    pub authors: BTreeMap<String, AuthorStats>,
    /// The first flagged messages (at most `max_listed`; `flagged_messages` counts them all).
    pub flagged: Vec<Flagged>,
    /// Feedback that got no staff reply in its file: how many, and the first `max_listed`.
    pub unanswered_feedback_count: u64,
    pub unanswered_feedback: Vec<FeedbackItem>,
    pub max_listed: usize,
    /// Each input, or part of one, that could not be read: its file and what is wrong.
    pub problems: Vec<InputProblem>,
}

/// One analyzed message, for callers that stream results (`--format jsonl`).
pub struct Scanned<'a> {
    pub message: &'a ExportMessage,
    pub header: &'a Header,
    pub analysis: &'a Analysis,
}

/// Builds a [`Report`] from a stream of exported messages.
pub struct Scanner<'d> {
    detector: &'d Detector,
    staff: StaffSettings,
    report: Report,
    /// Feedback waiting for a staff reply in the current file, by message id. Details are kept
    /// only while they could still be listed, so memory stays flat on huge exports.
    pending: HashMap<u64, Option<Box<FeedbackItem>>>,
    /// The file being read, which names its problems.
    file: String,
}

/// Discord ids are numbers; an id that is not one (a hand-made export) is hashed instead.
fn id_key(id: &str) -> u64 {
    id.parse().unwrap_or_else(|_| {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        id.hash(&mut h);
        h.finish()
    })
}

impl<'d> Scanner<'d> {
    /// `max_listed`: how many flagged messages and unanswered feedback items the report lists.
    pub fn new(detector: &'d Detector, staff: StaffSettings, max_listed: usize) -> Self {
        let report = Report { max_listed, ..Report::default() };
        Scanner { detector, staff, report, pending: HashMap::new(), file: String::new() }
    }

    /// Call when a file begins; `file` names it in its problems.
    pub fn start_file(&mut self, file: impl Into<String>) {
        self.report.files += 1;
        self.file = file.into();
    }

    /// Call when a file ends: feedback with no staff reply in it is now known to be unanswered.
    pub fn finish_file(&mut self) {
        self.report.unanswered_feedback_count += self.pending.len() as u64;
        let mut pending: Vec<FeedbackItem> = self.pending.drain().filter_map(|(_, v)| v.map(|b| *b)).collect();
        // By time, then by link (the message id): a report reads the same on every run.
        pending.sort_by(|a, b| a.timestamp.cmp(&b.timestamp).then_with(|| a.link.cmp(&b.link)));
        let room = self.report.max_listed.saturating_sub(self.report.unanswered_feedback.len());
        self.report.unanswered_feedback.extend(pending.into_iter().take(room));
    }

    /// The current file (or the rest of it) could not be read.
    pub fn problem(&mut self, problem: impl Into<String>) {
        self.report.problems.push(InputProblem { file: self.file.clone(), problem: problem.into() });
    }

    /// A path given that is not a readable file, so no file was started for it.
    pub fn unreadable(&mut self, file: impl Into<String>, problem: impl Into<String>) {
        self.report.problems.push(InputProblem { file: file.into(), problem: problem.into() });
    }

    /// One message of the current file could not be read; the rest of the file still is.
    pub fn malformed(&mut self, problem: impl Into<String>) {
        self.report.skipped.malformed += 1;
        self.problem(problem);
    }

    /// Every problem so far, in the order found.
    pub fn problems(&self) -> &[InputProblem] {
        &self.report.problems
    }

    /// Analyzes one message; `each` sees it if it was analyzed (not skipped).
    pub fn add(&mut self, header: &Header, message: &ExportMessage, each: impl FnOnce(Scanned<'_>)) {
        let author = match message.check() {
            Ok(author) => author,
            Err(problem) => {
                let id = if message.id.is_empty() { "(no id)" } else { &message.id };
                self.malformed(format!("message {id}: {problem}"));
                return;
            }
        };
        if author.is_bot {
            self.report.skipped.bots += 1;
            return;
        }
        if !message.is_user_post() {
            self.report.skipped.system += 1;
            return;
        }
        if message.content.trim().is_empty() {
            self.report.skipped.empty += 1;
            return;
        }
        let staff = is_staff(&self.staff, author.roles.iter().map(|r| RoleRef { id: &r.id, name: &r.name }), &[]);
        let role = if staff { Role::Staff } else { Role::Patient };
        let analysis = self.detector.analyze(
            &Message::new(&message.content, role).reply(message.is_reply()).mentions(message.mentions_in_text()),
        );

        let r = &mut self.report;
        r.messages_scanned += 1;
        let channel = r.channels.entry(header.channel.id.clone()).or_default();
        channel.name.clone_from(&header.channel.name);
        channel.messages += 1;
        let who = r.authors.entry(author.id.clone()).or_default();
        if who.name.is_empty() {
            who.name = author.display_name().to_string();
        }
        who.staff |= staff;
        who.messages += 1;

        let link = format!("https://discord.com/channels/{}/{}/{}", header.guild.id, header.channel.id, message.id);
        if staff {
            r.staff_posts += 1;
            channel.staff_posts += 1;
            if let Some(replied_to) = message.reference.as_ref().and_then(|r| r.message_id.as_ref()) {
                self.pending.remove(&id_key(replied_to));
            }
            if !analysis.is_clean() {
                r.flagged_messages += 1;
                channel.flags += 1;
                who.flags += 1;
                for label in &analysis.labels {
                    *r.flags_by_label.entry(*label).or_default() += 1;
                }
                let mut rules: Vec<String> = analysis.counted().map(|f| f.rule.to_string()).collect();
                rules.sort_unstable();
                rules.dedup();
                for rule in &rules {
                    *r.flags_by_rule.entry(rule.clone()).or_default() += 1;
                }
                if r.flagged.len() < r.max_listed {
                    r.flagged.push(Flagged {
                        timestamp: message.timestamp.clone(),
                        link,
                        channel: header.channel.name.clone(),
                        author: author.display_name().to_string(),
                        labels: analysis.labels.clone(),
                        rules,
                        excerpt: excerpt(&message.content, &analysis.findings),
                    });
                }
            }
        } else {
            r.patient_posts += 1;
            if let Some(kind) = analysis.feedback_kind {
                channel.feedback += 1;
                *r.feedback_by_kind.entry(kind).or_default() += 1;
                let listable = r.unanswered_feedback.len() + self.pending.len() < r.max_listed;
                let details = listable.then(|| {
                    Box::new(FeedbackItem {
                        timestamp: message.timestamp.clone(),
                        link,
                        channel: header.channel.name.clone(),
                        kind,
                        // A patient's excerpt is masked with a staff pass's identifiers (identifier rules
                        // run only on staff messages; a patient's own name must not reach the report).
                        excerpt: excerpt(
                            &message.content,
                            &self.detector.analyze(&Message::new(&message.content, Role::Staff)).findings,
                        ),
                    })
                });
                self.pending.insert(id_key(&message.id), details);
            }
        }
        each(Scanned { message, header, analysis: &analysis });
    }

    pub fn finish(mut self) -> Report {
        self.finish_file();
        self.report
    }
}

impl Report {
    /// " (first 200 of 9,000; --max-listed changes this, --format jsonl lists all)" when cut.
    fn more(&self, listed: usize, total: u64) -> String {
        if (listed as u64) < total {
            format!(" (first {listed} of {total}; --max-listed changes this, --format jsonl lists every message)")
        } else {
            String::new()
        }
    }

    pub fn to_markdown(&self) -> String {
        let mut out = String::new();
        let mut line = |s: String| {
            out.push_str(&s);
            out.push('\n');
        };
        line("# Bedside audit".into());
        line(String::new());
        line(format!(
            "Scanned **{}** messages in {} file(s): {} staff posts, {} patient posts. Skipped {} bot, {} system, {} empty, {} malformed.",
            self.messages_scanned,
            self.files,
            self.staff_posts,
            self.patient_posts,
            self.skipped.bots,
            self.skipped.system,
            self.skipped.empty,
            self.skipped.malformed
        ));
        line(String::new());
        line(format!("## Flags: {} staff message(s)", self.flagged_messages));
        line(String::new());
        if self.flags_by_label.is_empty() {
            line("No staff message would have been flagged.".into());
        } else {
            line("| label | messages |".into());
            line("|---|---:|".into());
            for (label, n) in &self.flags_by_label {
                line(format!("| {} | {n} |", label.title()));
            }
            line(String::new());
            line("| rule | messages |".into());
            line("|---|---:|".into());
            for (rule, n) in &self.flags_by_rule {
                line(format!("| `{rule}` | {n} |"));
            }
        }
        line(String::new());
        line("## By channel".into());
        line(String::new());
        line("| channel | messages | staff posts | flags | feedback |".into());
        line("|---|---:|---:|---:|---:|".into());
        for c in self.channels.values() {
            line(format!("| #{} | {} | {} | {} | {} |", c.name, c.messages, c.staff_posts, c.flags, c.feedback));
        }
        let flagged_authors: Vec<&AuthorStats> = self.authors.values().filter(|a| a.flags > 0).collect();
        if !flagged_authors.is_empty() {
            line(String::new());
            line("## Staff with flags".into());
            line(String::new());
            line("| author | posts | flags |".into());
            line("|---|---:|---:|".into());
            for a in flagged_authors {
                line(format!("| {} | {} | {} |", a.name, a.messages, a.flags));
            }
        }
        line(String::new());
        let total_feedback: u64 = self.feedback_by_kind.values().sum();
        line(format!("## Patient feedback: {total_feedback}"));
        line(String::new());
        for (kind, n) in &self.feedback_by_kind {
            line(format!("- {kind}: {n}"));
        }
        line(format!("- with no staff reply: {}", self.unanswered_feedback_count));
        if !self.flagged.is_empty() {
            line(String::new());
            line(format!("## Flagged messages{}", self.more(self.flagged.len(), self.flagged_messages)));
            line(String::new());
            for f in &self.flagged {
                let labels: Vec<&str> = f.labels.iter().map(|l| l.as_str()).collect();
                line(format!(
                    "- {} · #{} · {} · {} · rules `{}` · [jump]({})",
                    f.timestamp,
                    f.channel,
                    f.author,
                    labels.join(", "),
                    f.rules.join("`, `"),
                    f.link
                ));
                line(format!("  > {}", f.excerpt));
            }
        }
        if !self.unanswered_feedback.is_empty() {
            line(String::new());
            line(format!(
                "## Feedback with no staff reply{}",
                self.more(self.unanswered_feedback.len(), self.unanswered_feedback_count)
            ));
            line(String::new());
            for f in &self.unanswered_feedback {
                line(format!("- {} · #{} · {} · [jump]({})", f.timestamp, f.channel, f.kind, f.link));
                line(format!("  > {}", f.excerpt));
            }
        }
        if !self.problems.is_empty() {
            line(String::new());
            line("## Input problems".into());
            line(String::new());
            for p in &self.problems {
                line(format!("- {p}"));
            }
        }
        out
    }

    /// Plain text for a terminal: the Markdown without its table and link syntax.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        out.push_str(&format!(
            "Bedside audit: {} messages scanned in {} file(s) ({} staff, {} patient; skipped {} bot, {} system, {} empty, {} malformed)\n",
            self.messages_scanned, self.files, self.staff_posts, self.patient_posts,
            self.skipped.bots, self.skipped.system, self.skipped.empty, self.skipped.malformed
        ));
        out.push_str(&format!("\nFlagged staff messages: {}\n", self.flagged_messages));
        columns(&mut out, self.flags_by_label.iter().map(|(label, n)| (label.as_str().to_string(), vec![*n])));
        if !self.flags_by_rule.is_empty() {
            out.push_str("By rule:\n");
            columns(&mut out, self.flags_by_rule.iter().map(|(rule, n)| (rule.clone(), vec![*n])));
        }
        out.push_str("\nBy channel (messages / staff posts / flags / feedback):\n");
        columns(
            &mut out,
            self.channels
                .values()
                .map(|c| (format!("#{}", c.name), vec![c.messages, c.staff_posts, c.flags, c.feedback])),
        );
        let flagged_authors: Vec<&AuthorStats> = self.authors.values().filter(|a| a.flags > 0).collect();
        if !flagged_authors.is_empty() {
            out.push_str("\nStaff with flags (posts / flags):\n");
            columns(&mut out, flagged_authors.iter().map(|a| (a.name.clone(), vec![a.messages, a.flags])));
        }
        let total_feedback: u64 = self.feedback_by_kind.values().sum();
        out.push_str(&format!("\nPatient feedback: {total_feedback}"));
        let kinds: Vec<String> = self.feedback_by_kind.iter().map(|(k, n)| format!("{k} {n}")).collect();
        if !kinds.is_empty() {
            out.push_str(&format!(" ({})", kinds.join(", ")));
        }
        out.push_str(&format!(", {} with no staff reply\n", self.unanswered_feedback_count));
        if !self.flagged.is_empty() {
            out.push_str(&format!("\nFlagged messages{}:\n", self.more(self.flagged.len(), self.flagged_messages)));
            for f in &self.flagged {
                let labels: Vec<&str> = f.labels.iter().map(|l| l.as_str()).collect();
                out.push_str(&format!(
                    "  {} #{} {} [{}] {}\n",
                    f.timestamp,
                    f.channel,
                    f.author,
                    labels.join(", "),
                    f.rules.join(", ")
                ));
                out.push_str(&format!("    \"{}\"\n    {}\n", f.excerpt, f.link));
            }
        }
        if !self.unanswered_feedback.is_empty() {
            out.push_str(&format!(
                "\nFeedback with no staff reply{}:\n",
                self.more(self.unanswered_feedback.len(), self.unanswered_feedback_count)
            ));
            for f in &self.unanswered_feedback {
                out.push_str(&format!(
                    "  {} #{} {}: \"{}\"\n    {}\n",
                    f.timestamp, f.channel, f.kind, f.excerpt, f.link
                ));
            }
        }
        if !self.problems.is_empty() {
            out.push_str("\nInput problems:\n");
            for p in &self.problems {
                out.push_str(&format!("  {p}\n"));
            }
        }
        out
    }
}

/// Writes rows of a name and its numbers, indented, so that the numbers line up whatever the names:
/// names are padded to the widest one's *display* width (an emoji or a CJK character takes two
/// columns, a combining accent none), and each column of numbers is right-aligned.
fn columns(out: &mut String, rows: impl Iterator<Item = (String, Vec<u64>)>) {
    let rows: Vec<(String, Vec<String>)> =
        rows.map(|(name, numbers)| (printable(&name), numbers.iter().map(u64::to_string).collect())).collect();
    let name_width = rows.iter().map(|(name, _)| name.width()).max().unwrap_or(0);
    let count = rows.iter().map(|(_, n)| n.len()).max().unwrap_or(0);
    let widths: Vec<usize> =
        (0..count).map(|i| rows.iter().filter_map(|(_, n)| n.get(i)).map(String::len).max().unwrap_or(0)).collect();
    for (name, numbers) in &rows {
        out.push_str("  ");
        out.push_str(name);
        out.push_str(&" ".repeat(name_width - name.width()));
        for (number, width) in numbers.iter().zip(&widths) {
            out.push_str(&format!(" {number:>width$}"));
        }
        out.push('\n');
    }
}

/// A name as a terminal shows it safely: control characters (a tab, a newline, an escape sequence
/// in a hand-made export) become spaces, so they can neither break the columns nor drive the terminal.
fn printable(name: &str) -> String {
    name.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(names: &[&str]) -> String {
        let mut out = String::new();
        columns(&mut out, names.iter().map(|n| (n.to_string(), vec![12, 3])));
        out
    }

    #[test]
    fn numbers_line_up_after_wide_and_narrow_names() {
        let out = rows(&["Sam Whitaker (Practice Manager)", "Dr. 李", "Zoë 🩺", "Ana"]);
        let ends: Vec<usize> = out.lines().map(|l| l.width()).collect();
        assert!(ends.windows(2).all(|w| w[0] == w[1]), "every row ends in the same column:\n{out}");
        for line in out.lines() {
            assert!(line.ends_with("12 3"), "{line}");
        }
    }

    #[test]
    fn control_characters_in_a_name_cannot_break_a_row() {
        let out = rows(&["Eve\n\u{1b}[31mred", "Bo"]);
        assert_eq!(out.lines().count(), 2, "{out:?}");
        assert!(!out.contains('\u{1b}'));
    }
}
