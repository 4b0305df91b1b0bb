//! What one message contains, gathered once before any rule is scored: its words, which patterns
//! and word-list terms occur where, and message-wide features (a mention, a reply, "you", a
//! question). Rules then only look things up here.

use std::borrow::Cow;
use std::cell::OnceCell;
use std::ops::Range;

use crate::config::{Feature, Finder, Side};

use super::Message;
use super::mention::has_mention;
use super::names::{self, NameLists};
use super::rulebook::{Builtins, Probe, RuleBook, Scope};

/// How many occurrences of one pattern or word list a message may contribute. Keeps scoring
/// linear in the message length even for a pathological message that repeats one word 10,000 times.
pub const MAX_OCCURRENCES: usize = 64;

/// `Evidence::present` of a pattern that does not occur. [`RuleBook::compile`] keeps the
/// patterns fewer, so every slot fits.
pub const ABSENT: u16 = u16::MAX;

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
    /// By pattern: its slot in `located` if it occurs at all (one pass of each `RegexSet` the
    /// scope uses), else [`ABSENT`].
    present: Vec<u16>,
    /// Where the present patterns occur, by slot: searched only when a rule asks, since most
    /// signals of most rules are never consulted (their trigger did not fire). Only the few
    /// present patterns have a slot: a cell for each of the ~130 patterns cost more to make and
    /// drop than the searches they saved.
    located: Vec<OnceCell<Vec<Occurrence>>>,
    book: &'t RuleBook,
    lexicons: Vec<Vec<Occurrence>>,
    /// Occurrences of multi-list probes, merged once per message.
    merged: Vec<OnceCell<Vec<Occurrence>>>,
    /// People's names (`names.rs`), found when a rule first asks.
    names: OnceCell<Vec<Occurrence>>,
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
    /// Gathers the evidence of `text` (the message's normalized text) that the rules of `scope`
    /// can ask for.
    pub fn gather(text: &'t str, book: &'t RuleBook, message: &Message<'_>, scope: Scope) -> Evidence<'t> {
        let (is_reply, mentions) = (message.is_reply, message.mentions);
        let Builtins { patient_words, staff_words, you_words } = book.builtins;
        let words = words(text);
        let mut present = vec![ABSENT; book.patterns.len()];
        let mut located = Vec::new();
        for set in book.sets_for(scope) {
            for local in set.set.matches(text).iter() {
                present[set.globals[local]] = located.len() as u16;
                located.push(OnceCell::new());
            }
        }
        let mut lexicons: Vec<Vec<Occurrence>> = vec![Vec::new(); book.lexicon_names.len()];
        if let Some(automaton) = &book.automaton {
            for m in automaton.find_overlapping_iter(text) {
                let term = &book.terms[m.pattern().as_usize()];
                let list = &mut lexicons[term.lexicon];
                if list.len() >= MAX_OCCURRENCES {
                    continue;
                }
                if let Some(end) = word_end(text, m.start(), m.end(), book.word_list[term.lexicon]) {
                    let exact_case = text[m.start()..m.end()] == term.text;
                    let occurrence = Occurrence { start: m.start(), end, ambiguous: term.ambiguous, exact_case };
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
        suppress_contained(&mut lexicons, &book.word_list);
        let trimmed = text.trim_end();
        let features = Features {
            mention: mentions > 0 || has_mention(text),
            reply: is_reply,
            second_person: you_words.is_some_and(|l| !lexicons[l].is_empty()),
            question: trimmed.ends_with('?') || trimmed.ends_with("?)"),
            // An everyday patient word ("kids", "parents") alone does not make a message about a patient.
            patient_word: patient_words.is_some_and(|l| lexicons[l].iter().any(|o| !o.ambiguous)),
            staff_name: staff_words.is_some_and(|l| !lexicons[l].is_empty()),
            name: false,
        };
        let merged = (0..book.multi_lists.len()).map(|_| OnceCell::new()).collect();
        Evidence { text, words, present, located, book, lexicons, merged, names: OnceCell::new(), features }
    }

    pub fn features(&self) -> &Features {
        &self.features
    }

    pub fn set_name_found(&mut self, found: bool) {
        self.features.name = found;
    }

    /// Whether a probe occurs anywhere in the message, without locating it.
    pub fn occurs(&self, probe: Probe, case_sensitive: bool) -> bool {
        match probe {
            Probe::Pattern(i) => self.present[i] != ABSENT,
            Probe::Lexicon { .. } => self.occurrences(probe).iter().any(|o| !case_sensitive || o.exact_case),
            Probe::Feature(f) => self.features.has(f),
            Probe::Finder(_) => !self.occurrences(probe).is_empty(),
        }
    }

    /// Where a probe occurs (a feature occurs nowhere in particular: empty).
    pub fn occurrences(&self, probe: Probe) -> Cow<'_, [Occurrence]> {
        match probe {
            Probe::Pattern(i) => {
                let locate = || -> Vec<Occurrence> {
                    self.book.patterns[i]
                        .find_iter(self.text)
                        .take(MAX_OCCURRENCES)
                        .map(|m| Occurrence { start: m.start(), end: m.end(), ambiguous: false, exact_case: true })
                        .collect()
                };
                match self.present[i] {
                    ABSENT => Cow::Borrowed(&[]),
                    slot => Cow::Borrowed(self.located[usize::from(slot)].get_or_init(locate)),
                }
            }
            Probe::Lexicon { lists, .. } if lists.count_ones() == 1 => {
                Cow::Borrowed(self.lexicons.get(lists.trailing_zeros() as usize).map(Vec::as_slice).unwrap_or(&[]))
            }
            Probe::Lexicon { lists, .. } => {
                let merge = || {
                    let mut merged: Vec<Occurrence> = (0..self.lexicons.len())
                        .filter(|i| lists & (1u64 << i) != 0)
                        .flat_map(|i| self.lexicons[i].iter().copied())
                        .collect();
                    merged.sort_by_key(|o| o.start);
                    merged
                };
                match self.book.multi_lists.iter().position(|&m| m == lists) {
                    Some(slot) => Cow::Borrowed(self.merged[slot].get_or_init(merge)),
                    None => Cow::Owned(merge()),
                }
            }
            Probe::Feature(_) => Cow::Borrowed(&[]),
            Probe::Finder(Finder::PersonName) => Cow::Borrowed(self.names.get_or_init(|| {
                let mut found = Vec::new();
                names::find(self.text, NameLists::builtin(), MAX_OCCURRENCES, &mut found);
                found
            })),
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
        for &o in self.occurrences(probe).iter() {
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
fn suppress_contained(lexicons: &mut [Vec<Occurrence>], word_list: &[bool]) {
    let all: Vec<(usize, usize)> = lexicons
        .iter()
        .zip(word_list)
        .filter(|(_, real)| **real)
        .flat_map(|(list, _)| list.iter().map(|o| (o.start, o.end)))
        .collect();
    if all.len() < 2 {
        return;
    }
    // Most messages have no nested hits at all: check that cheaply before filtering.
    let mut sorted = all.clone();
    sorted.sort_unstable();
    if sorted.windows(2).all(|w| w[0].1 <= w[1].0) {
        return;
    }
    for (list, _) in lexicons.iter_mut().zip(word_list).filter(|(_, real)| **real) {
        list.retain(|o| !all.iter().any(|&(s, e)| s <= o.start && o.end <= e && (e - s) > (o.end - o.start)));
    }
}

/// Word boundaries around a word-list match; a plural `s`/`es` belongs to the word. `None` when
/// the match is inside a longer word ("flu" in "fluoride").
fn word_end(text: &str, start: usize, end: usize, plurals: bool) -> Option<usize> {
    let before_ok = text[..start].chars().next_back().is_none_or(|c| !c.is_alphanumeric());
    if !before_ok {
        return None;
    }
    let rest = &text[end..];
    let boundary = |s: &str| s.chars().next().is_none_or(|c| !c.is_alphanumeric());
    if boundary(rest) {
        Some(end)
    } else if !plurals {
        None
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
    ["s", "x", "z", "ch", "sh", "o"].iter().any(|end| w.ends_with(end))
}

fn words(text: &str) -> Vec<(u32, u32)> {
    // Plain ASCII (most chat) is split byte by byte, skipping UTF-8 decoding; same rule either way.
    if text.is_ascii() {
        split_words(text.len(), text.bytes().enumerate().map(|(i, b)| (i, b.is_ascii_alphanumeric(), b == b'\'')))
    } else {
        split_words(text.len(), text.char_indices().map(|(i, c)| (i, c.is_alphanumeric(), c == '\'')))
    }
}

/// Words are runs of letters and digits; an apostrophe inside a word belongs to it ("Kayla's").
fn split_words(len: usize, chars: impl Iterator<Item = (usize, bool, bool)>) -> Vec<(u32, u32)> {
    let mut words = Vec::with_capacity(len / 5 + 1);
    let mut start: Option<usize> = None;
    for (i, alphanumeric, apostrophe) in chars {
        let inside = alphanumeric || (apostrophe && start.is_some());
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
        words.push((s as u32, len as u32));
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_keep_apostrophes_inside() {
        let w = words("that's Kayla's x-ray");
        let text = "that's Kayla's x-ray";
        let got: Vec<&str> = w.iter().map(|&(s, e)| &text[s as usize..e as usize]).collect();
        assert_eq!(got, ["that's", "Kayla's", "x", "ray"]);
    }

    #[test]
    fn word_list_matches_respect_word_edges_and_plurals() {
        assert_eq!(word_end("fluoride", 0, 3, true), None);
        assert_eq!(word_end("the flu shot", 4, 7, true), Some(7));
        assert_eq!(word_end("two UTIs now", 4, 7, true), Some(8));
        assert_eq!(word_end("abscesses", 0, 7, true), Some(9));
        assert_eq!(word_end("reflux", 2, 5, true), None);
        assert_eq!(word_end("hives", 0, 3, true), None, "hives is not HIV + es");
        assert_eq!(word_end("two UTIs now", 4, 7, false), None, "a regex of plain words takes no plural");
    }
}
