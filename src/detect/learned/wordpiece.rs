//! BERT's uncased WordPiece tokenizer, as all-MiniLM-L6-v2's `tokenizer.json` sets it up, with each
//! token's span in the *original* text kept, so that a model finding can point at the words that
//! moved its score.
//!
//! The steps are those of the reference (HF `tokenizers`' `BertNormalizer`, `BertPreTokenizer` and
//! `WordPiece`): drop control characters, put spaces around CJK ideographs, decompose (NFD) and drop
//! non-spacing marks (so `Siobhán` reads as `siobhan`), lowercase, split on whitespace and on every
//! punctuation character, then split each word greedily into the longest vocabulary pieces, later
//! pieces marked `##`. A word longer than 100 characters, or one that cannot be split, is `[UNK]`.
//! `config/model/reference.jsonl` holds the reference's own ids for a set of awkward texts, and the
//! tests check this file against them.

use rustc_hash::FxHashMap;
use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, GeneralCategoryGroup, UnicodeGeneralCategory};

/// Longer words are `[UNK]` in BERT's WordPiece.
const MAX_WORD_CHARS: usize = 100;

/// One WordPiece token of a message: its vocabulary id and the original text's bytes it came from
/// (the whole word's span for every piece of a word).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token {
    pub id: u32,
    pub start: usize,
    pub end: usize,
    /// Index of the word the token belongs to, counting from 0 in the message.
    pub word: u32,
}

/// The vocabulary, split for lookup: word-initial pieces and `##` continuations apart, so that a
/// lookup never builds a string.
#[derive(Clone, Debug)]
pub struct WordPiece {
    initial: FxHashMap<Box<str>, u32>,
    continuation: FxHashMap<Box<str>, u32>,
    unk: Option<u32>,
    /// Ids of `[CLS]`-style special tokens never produced from text; kept for completeness.
    longest_piece: usize,
}

impl WordPiece {
    /// Builds the lookup from the vocabulary lines, in id order.
    pub fn new<'a>(vocab: impl IntoIterator<Item = &'a str>) -> WordPiece {
        let mut initial = FxHashMap::default();
        let mut continuation = FxHashMap::default();
        let mut unk = None;
        let mut longest_piece = 0;
        for (id, token) in vocab.into_iter().enumerate() {
            let id = id as u32;
            if token == "[UNK]" {
                unk = Some(id);
            }
            match token.strip_prefix("##") {
                Some(rest) if !rest.is_empty() => {
                    longest_piece = longest_piece.max(rest.len());
                    continuation.entry(rest.into()).or_insert(id);
                }
                _ => {
                    longest_piece = longest_piece.max(token.len());
                    initial.entry(token.into()).or_insert(id);
                }
            }
        }
        WordPiece { initial, continuation, unk, longest_piece }
    }

    /// The id of a vocabulary entry as written in `vocab.txt` (`##ing` for a continuation).
    pub fn id(&self, token: &str) -> Option<u32> {
        match token.strip_prefix("##") {
            Some(rest) if !rest.is_empty() => self.continuation.get(rest).copied(),
            _ => self.initial.get(token).copied(),
        }
    }

    /// The id of `[UNK]`, if the vocabulary has one.
    pub fn unk(&self) -> Option<u32> {
        self.unk
    }

    /// Tokenizes `text` into `out` (cleared first). `[UNK]` tokens are kept, so a caller can count
    /// how much of a message the vocabulary knew.
    pub fn tokenize_into(&self, text: &str, word: &mut String, out: &mut Vec<Token>) {
        out.clear();
        let mut words = 0u32;
        let mut word_start = None::<usize>;
        let mut word_end = 0;
        word.clear();
        for (at, c) in text.char_indices() {
            let next = at + c.len_utf8();
            // Most text is ASCII, classified without the Unicode tables.
            let class = if c.is_ascii() { ascii_class(c) } else { class(c) };
            match class {
                Class::Dropped => {}
                Class::Space => self.end_word(word, &mut word_start, word_end, &mut words, out),
                // Each punctuation character and each CJK ideograph is a word of its own.
                Class::Punctuation => {
                    self.end_word(word, &mut word_start, word_end, &mut words, out);
                    push_normalized(c, word);
                    if !word.is_empty() {
                        word_start = Some(at);
                        self.end_word(word, &mut word_start, next, &mut words, out);
                    }
                }
                // An ASCII letter always lengthens the word; a combining mark alone may not.
                Class::Letter if c.is_ascii() => {
                    word.push(c.to_ascii_lowercase());
                    word_start.get_or_insert(at);
                    word_end = next;
                }
                Class::Letter => {
                    let before = word.len();
                    push_normalized(c, word);
                    if word.len() > before {
                        word_start.get_or_insert(at);
                        word_end = next;
                    }
                }
            }
        }
        self.end_word(word, &mut word_start, word_end, &mut words, out);
    }

    /// Turns the word being built, if there is one, into tokens, and starts the next.
    fn end_word(
        &self,
        word: &mut String,
        start: &mut Option<usize>,
        end: usize,
        words: &mut u32,
        out: &mut Vec<Token>,
    ) {
        if let Some(start) = start.take() {
            self.pieces(word, start, end, *words, out);
            *words += 1;
            word.clear();
        }
    }

    /// Greedy longest-match-first split of one normalized word.
    fn pieces(&self, word: &str, start: usize, end: usize, index: u32, out: &mut Vec<Token>) {
        let token = |id| Token { id, start, end, word: index };
        // A word's bytes are at least its characters: count only a long one.
        if word.len() > MAX_WORD_CHARS && word.chars().count() > MAX_WORD_CHARS {
            if let Some(unk) = self.unk {
                out.push(token(unk));
            }
            return;
        }
        let first = out.len();
        let mut at = 0;
        while at < word.len() {
            let map = if at == 0 { &self.initial } else { &self.continuation };
            let mut stop = word.len().min(at + self.longest_piece);
            let mut found = None;
            while stop > at {
                if word.is_char_boundary(stop)
                    && let Some(&id) = map.get(&word[at..stop])
                {
                    found = Some(id);
                    break;
                }
                stop -= 1;
            }
            match found {
                Some(id) => {
                    out.push(token(id));
                    at = stop;
                }
                None => {
                    // The reference makes the whole word [UNK] when any part fails.
                    out.truncate(first);
                    if let Some(unk) = self.unk {
                        out.push(token(unk));
                    }
                    return;
                }
            }
        }
    }
}

/// What the normalizer and pre-tokenizer do with a character.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    Dropped,
    Space,
    /// A word of its own.
    Punctuation,
    /// Part of a word.
    Letter,
}

/// [`Class`] of any character, by BERT's rules.
fn class(c: char) -> Class {
    if is_control(c) {
        Class::Dropped
    } else if c.is_whitespace() {
        Class::Space
    } else if is_punctuation(c) || is_cjk(c) {
        Class::Punctuation
    } else {
        Class::Letter
    }
}

/// [`class`] of an ASCII character, without the Unicode tables: in ASCII, BERT's whitespace is
/// these four, its punctuation is Rust's, and the other controls are dropped.
fn ascii_class(c: char) -> Class {
    match c {
        ' ' | '\t' | '\n' | '\r' => Class::Space,
        _ if c.is_ascii_control() => Class::Dropped,
        _ if c.is_ascii_punctuation() => Class::Punctuation,
        _ => Class::Letter,
    }
}

/// Appends `c` as BERT's normalizer leaves it: decomposed, non-spacing marks dropped, lowercased.
fn push_normalized(c: char, out: &mut String) {
    if c.is_ascii() {
        out.push(c.to_ascii_lowercase());
        return;
    }
    for d in std::iter::once(c).nfd() {
        if d.general_category() == GeneralCategory::NonspacingMark {
            continue;
        }
        out.extend(d.to_lowercase());
    }
}

/// BERT's `_is_control`: control and format characters other than tab and newlines, plus the
/// replacement character and NUL, which its cleaner drops.
fn is_control(c: char) -> bool {
    if matches!(c, '\t' | '\n' | '\r') {
        return false;
    }
    // Most text is ASCII, whose only control characters are Cc: no table lookup needed.
    if c.is_ascii() {
        return c.is_ascii_control();
    }
    c == '\0'
        || c == '\u{fffd}'
        || matches!(
            c.general_category(),
            GeneralCategory::Control
                | GeneralCategory::Format
                | GeneralCategory::PrivateUse
                | GeneralCategory::Surrogate
                | GeneralCategory::Unassigned
        )
}

/// BERT's `_is_punctuation`: ASCII symbols count too, not only Unicode's punctuation.
fn is_punctuation(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_punctuation();
    }
    c.general_category_group() == GeneralCategoryGroup::Punctuation
}

/// The CJK ideograph blocks BERT isolates.
fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x4E00..=0x9FFF
        | 0x3400..=0x4DBF
        | 0x20000..=0x2A6DF
        | 0x2A700..=0x2B73F
        | 0x2B740..=0x2B81F
        | 0x2B820..=0x2CEAF
        | 0xF900..=0xFAFF
        | 0x2F800..=0x2FA1F)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> WordPiece {
        WordPiece::new([
            "[PAD]", "[UNK]", "i", "suggest", "start", "##ing", "anti", "##biotic", "##s", "siobhan", ",", "!", "caf",
            "##e", "中",
        ])
    }

    fn ids(wp: &WordPiece, text: &str) -> Vec<u32> {
        let mut out = Vec::new();
        wp.tokenize_into(text, &mut String::new(), &mut out);
        out.iter().map(|t| t.id).collect()
    }

    #[test]
    fn splits_words_into_the_longest_pieces() {
        let wp = tiny();
        assert_eq!(ids(&wp, "I suggest starting antibiotics!"), vec![2, 3, 4, 5, 6, 7, 8, 11]);
    }

    #[test]
    fn strips_accents_and_keeps_original_spans() {
        let wp = tiny();
        let text = "Siobhán, café";
        let mut out = Vec::new();
        wp.tokenize_into(text, &mut String::new(), &mut out);
        assert_eq!(out.iter().map(|t| t.id).collect::<Vec<_>>(), vec![9, 10, 12, 13]);
        assert_eq!(&text[out[0].start..out[0].end], "Siobhán");
        assert_eq!(&text[out[2].start..out[2].end], "café");
        assert_eq!(out[2].word, out[3].word);
    }

    #[test]
    fn entries_are_found_by_their_vocabulary_spelling() {
        let wp = tiny();
        assert_eq!((wp.id("suggest"), wp.id("##ing"), wp.id("ing"), wp.id("!")), (Some(3), Some(5), None, Some(11)));
    }

    #[test]
    fn an_unknown_part_makes_the_whole_word_unknown() {
        let wp = tiny();
        assert_eq!(ids(&wp, "startxyz"), vec![1]);
        assert_eq!(ids(&wp, &"a".repeat(101)), vec![1]);
    }

    #[test]
    fn the_ascii_shortcut_classifies_as_the_general_steps_do() {
        for c in (0u8..128).map(char::from) {
            let general = class(c);
            assert_eq!(ascii_class(c), general, "{c:?}");
        }
    }

    #[test]
    fn cjk_ideographs_and_controls() {
        let wp = tiny();
        assert_eq!(ids(&wp, "中中\u{200b}\u{0}"), vec![14, 14]);
        assert!(ids(&wp, "").is_empty());
        assert!(ids(&wp, "   \n\t ").is_empty());
    }
}
