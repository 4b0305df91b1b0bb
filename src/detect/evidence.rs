//! What one message contains, gathered once before any rule is scored: its words, which patterns
//! and word-list terms occur where, and message-wide features (a mention, a reply, "you", a
//! question). Rules then only look things up here.

use std::collections::BTreeSet;
use std::ops::Range;

use regex::Regex;

use crate::config::{Feature, Side};

use super::normalize::MENTION;
use super::rulebook::{Probe, RuleBook};

/// How many occurrences of one pattern or word list a message may contribute. Keeps scoring
/// linear in the message length even for a pathological message that repeats one word 10,000 times.
pub const MAX_OCCURRENCES: usize = 64;

/// A place in the matchable text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Occurrence {
    pub start: usize,
    pub end: usize,
    pub ambiguous: bool,
    /// The text has the case the word list wrote (`Kayla`, not `kayla`).
    pub exact_case: bool,
}

/// The message as rules see it.
pub struct Evidence<'t> {
    pub text: &'t str,
    /// Each word's byte range, in order.
    words: Vec<(u32, u32)>,
    patterns: Vec<Vec<Occurrence>>,
    lexicons: Vec<Vec<Occurrence>>,
    features: Features,
}

#[derive(Clone, Copy, Debug, Default)]
pub struct Features {
    pub mention: bool,
    pub reply: bool,
    pub second_person: bool,
    pub question: bool,
    pub patient_word: bool,
    pub staff_name: bool,
    /// Set after name rules ran.
    pub name: bool,
}

impl Features {
    pub fn has(&self, f: Feature) -> bool {
        match f {
            Feature::Mention => self.mention,
            Feature::Reply => self.reply,
            Feature::SecondPerson => self.second_person,
            Feature::Addressee => self.mention || self.reply || self.second_person,
            Feature::PatientRef => self.name || self.patient_word || self.mention,
            Feature::Name => self.name,
            Feature::Question => self.question,
            Feature::StaffName => self.staff_name,
        }
    }
}

impl<'t> Evidence<'t> {
    pub fn gather(
        text: &'t str,
        book: &RuleBook,
        second_person: &Regex,
        patient_words: Option<usize>,
        staff_words: &BTreeSet<String>,
        is_reply: bool,
        mentions: usize,
    ) -> Evidence<'t> {
        let words = words(text);
        let mut patterns = vec![Vec::new(); book.patterns.len()];
        for i in book.set.matches(text).iter() {
            patterns[i] = book.patterns[i]
                .find_iter(text)
                .take(MAX_OCCURRENCES)
                .map(|m| Occurrence {
                    start: m.start(),
                    end: m.end(),
                    ambiguous: false,
                    exact_case: true,
                })
                .collect();
        }
        let mut lexicons: Vec<Vec<Occurrence>> = vec![Vec::new(); book.lexicon_names.len()];
        if let Some(automaton) = &book.automaton {
            for m in automaton.find_overlapping_iter(text) {
                let term = &book.terms[m.pattern().as_usize()];
                let list = &mut lexicons[term.lexicon];
                if list.len() >= MAX_OCCURRENCES {
                    continue;
                }
                if let Some(end) = word_end(text, m.start(), m.end()) {
                    let exact_case = &text[m.start()..m.end()] == term.text;
                    let occurrence = Occurrence {
                        start: m.start(),
                        end,
                        ambiguous: term.ambiguous,
                        exact_case,
                    };
                    // Overlapping matches of one list ("flu" inside "flu shot") keep the longest.
                    if let Some(last) = list.last_mut() {
                        if last.start == occurrence.start {
                            if occurrence.end > last.end {
                                *last = occurrence;
                            }
                            continue;
                        }
                        if occurrence.start < last.end && occurrence.end <= last.end {
                            continue;
                        }
                    }
                    list.push(occurrence);
                }
            }
        }
        suppress_contained(&mut lexicons);
        let trimmed = text.trim_end();
        let features = Features {
            mention: mentions > 0 || has_mention(text),
            reply: is_reply,
            second_person: second_person.is_match(text),
            question: trimmed.ends_with('?') || trimmed.ends_with("?)"),
            // An everyday patient word ("kids", "parents") alone does not make a message about a patient.
            patient_word: patient_words.is_some_and(|l| lexicons[l].iter().any(|o| !o.ambiguous)),
            staff_name: words.iter().any(|&(s, e)| {
                let word = &text[s as usize..e as usize];
                let word = word.strip_suffix("'s").unwrap_or(word);
                word.len() > 1 && staff_words.contains(&word.to_lowercase())
            }),
            name: false,
        };
        Evidence {
            text,
            words,
            patterns,
            lexicons,
            features,
        }
    }

    pub fn features(&self) -> &Features {
        &self.features
    }

    pub fn set_name_found(&mut self, found: bool) {
        self.features.name = found;
    }

    /// Where a probe occurs (a feature occurs nowhere in particular: empty).
    pub fn occurrences(&self, probe: Probe) -> &[Occurrence] {
        match probe {
            Probe::Pattern(i) => &self.patterns[i],
            Probe::Lexicon { lexicon, .. } => {
                self.lexicons.get(lexicon).map(Vec::as_slice).unwrap_or(&[])
            }
            Probe::Feature(_) => &[],
        }
    }

    /// The words a byte span covers, as a range of word indexes (never empty).
    pub fn word_span(&self, start: usize, end: usize) -> Range<usize> {
        let first = self.words.partition_point(|&(_, e)| (e as usize) <= start);
        let last = self.words.partition_point(|&(s, _)| (s as usize) < end);
        first..last.max(first + 1)
    }

    /// The nearest occurrence of a probe within `window` words on `side` of the span, if any.
    pub fn nearest(
        &self,
        probe: Probe,
        case_sensitive: bool,
        around: &Range<usize>,
        window: Option<u32>,
        side: Side,
    ) -> Option<Occurrence> {
        let mut best: Option<(usize, Occurrence)> = None;
        for &o in self.occurrences(probe) {
            if case_sensitive && !o.exact_case {
                continue;
            }
            let span = self.word_span(o.start, o.end);
            let (distance, is_before, is_after) = if span.end <= around.start {
                (around.start - span.end + 1, true, false)
            } else if span.start >= around.end {
                (span.start - around.end + 1, false, true)
            } else {
                (0, true, true)
            };
            let side_ok = match side {
                Side::Either => true,
                Side::Before => is_before,
                Side::After => is_after,
            };
            let window_ok = window.is_none_or(|w| distance <= w as usize);
            if side_ok && window_ok && best.is_none_or(|(d, _)| distance < d) {
                best = Some((distance, o));
            }
        }
        best.map(|(_, o)| o)
    }
}

/// Drops a word-list match that lies strictly inside a longer match of another list, so "flu" in
/// "flu shot" is a procedure, not a condition, and "strep" in "strep test" likewise.
fn suppress_contained(lexicons: &mut [Vec<Occurrence>]) {
    let all: Vec<(usize, usize)> = lexicons
        .iter()
        .flatten()
        .map(|o| (o.start, o.end))
        .collect();
    if all.len() < 2 {
        return;
    }
    for list in lexicons.iter_mut() {
        list.retain(|o| {
            !all.iter()
                .any(|&(s, e)| s <= o.start && o.end <= e && (e - s) > (o.end - o.start))
        });
    }
}

/// Word boundaries around a word-list match; a plural `s`/`es` belongs to the word. `None` when
/// the match is inside a longer word ("flu" in "fluoride").
fn word_end(text: &str, start: usize, end: usize) -> Option<usize> {
    let before_ok = text[..start]
        .chars()
        .next_back()
        .is_none_or(|c| !c.is_alphanumeric());
    if !before_ok {
        return None;
    }
    let rest = &text[end..];
    let boundary = |s: &str| s.chars().next().is_none_or(|c| !c.is_alphanumeric());
    if boundary(rest) {
        Some(end)
    } else if rest.starts_with("es") && boundary(&rest[2..]) && takes_es(&text[start..end]) {
        Some(end + 2)
    } else if rest.starts_with('s') && boundary(&rest[1..]) {
        Some(end + 1)
    } else {
        None
    }
}

/// English adds `es` after a sibilant or `o` ("abscesses", "potatoes"); "hives" is not "hiv" + es.
fn takes_es(word: &str) -> bool {
    let w = word.to_ascii_lowercase();
    ["s", "x", "z", "ch", "sh", "o"]
        .iter()
        .any(|end| w.ends_with(end))
}

fn words(text: &str) -> Vec<(u32, u32)> {
    let mut words = Vec::with_capacity(text.len() / 5 + 1);
    let mut start: Option<usize> = None;
    for (i, c) in text.char_indices() {
        let inside = c.is_alphanumeric() || (c == '\'' && start.is_some());
        match (inside, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                words.push((s as u32, i as u32));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        words.push((s as u32, text.len() as u32));
    }
    words
}

/// A user mention: Discord's `<@id>` (already `@mention`) or an export's `@Name`.
fn has_mention(text: &str) -> bool {
    if text.contains(MENTION) {
        return true;
    }
    text.match_indices('@').any(|(i, _)| {
        let before_ok = text[..i]
            .chars()
            .next_back()
            .is_none_or(char::is_whitespace);
        let word: String = text[i + 1..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '.')
            .collect();
        before_ok
            && word.chars().next().is_some_and(char::is_alphabetic)
            && !matches!(
                word.to_lowercase().as_str(),
                "role" | "everyone" | "here" | "channel"
            )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_keep_apostrophes_inside() {
        let w = words("that's Kayla's x-ray");
        let text = "that's Kayla's x-ray";
        let got: Vec<&str> = w
            .iter()
            .map(|&(s, e)| &text[s as usize..e as usize])
            .collect();
        assert_eq!(got, ["that's", "Kayla's", "x", "ray"]);
    }

    #[test]
    fn word_list_matches_respect_word_edges_and_plurals() {
        assert_eq!(word_end("fluoride", 0, 3), None);
        assert_eq!(word_end("the flu shot", 4, 7), Some(7));
        assert_eq!(word_end("two UTIs now", 4, 7), Some(8));
        assert_eq!(word_end("abscesses", 0, 7), Some(9));
        assert_eq!(word_end("reflux", 2, 5), None);
        assert_eq!(word_end("hives", 0, 3), None, "hives is not HIV + es");
    }

    #[test]
    fn mentions_in_both_forms() {
        assert!(has_mention("@mention your results"));
        assert!(has_mention("@Kayla your results"));
        assert!(!has_mention("email hello@maplegrove.example"));
        assert!(!has_mention("@everyone flu shots are in"));
        assert!(!has_mention("@role please read"));
    }
}
