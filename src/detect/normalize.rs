//! Reads Discord text the way a person sees it, and gives rules one plain text to match.
//!
//! Discord text carries markup that hides nothing from a reader but would trip a pattern:
//! mentions (`<@123…>`, whose digits are not a phone number), custom emoji, `__underline__`,
//! full-width digits (`５０３`), look-alike letters (Cyrillic `а`), zero-width characters,
//! curly quotes and typographic dashes. [`normalize`] rewrites these into plain ASCII-ish text and
//! keeps a map from every byte of the result back to the original, so a finding's span always
//! points at what the author actually wrote, on char boundaries.
//!
//! Spoilers (`||…||`), bold and code fences need no rewriting: their markers are not word
//! characters, so patterns see the words inside them as usual.
//!
//! Most chat messages are plain ASCII with no markup: they take a fast path with no copy and no map.

use std::borrow::Cow;

use unicode_normalization::UnicodeNormalization;

/// What a user mention becomes in the matchable text; rules match it as a word.
pub const MENTION: &str = "@mention";

/// A message's matchable text and the way back to the original.
#[derive(Debug)]
pub struct Normalized<'a> {
    text: Cow<'a, str>,
    original_len: usize,
    /// How the matchable text maps back, in runs. Empty: identical to the original.
    map: Vec<Run>,
}

/// A stretch of the matchable text and where it came from. A `verbatim` run is a byte-for-byte
/// copy (offsets inside it map one to one); any other run replaced one unit of the original (a
/// mention, a look-alike, a full-width digit) and every offset inside it maps to the whole unit.
#[derive(Clone, Copy, Debug)]
struct Run {
    out: u32,
    out_len: u32,
    orig: u32,
    orig_len: u32,
    verbatim: bool,
}

impl<'a> Normalized<'a> {
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Maps a span of the matchable text back to a span of the original text.
    pub fn to_original(&self, start: usize, end: usize) -> (usize, usize) {
        if matches!(self.text, Cow::Borrowed(_)) {
            return (start, end);
        }
        if self.map.is_empty() {
            return (0, 0);
        }
        let run_at = |offset: usize| {
            let i = self.map.partition_point(|r| (r.out + r.out_len) as usize <= offset);
            self.map.get(i)
        };
        let start = match run_at(start) {
            None => self.original_len,
            Some(r) if r.verbatim => r.orig as usize + (start - r.out as usize),
            Some(r) => r.orig as usize,
        };
        let end = if end == 0 {
            start
        } else {
            match run_at(end - 1) {
                None => self.original_len,
                Some(r) if r.verbatim => r.orig as usize + (end - r.out as usize),
                Some(r) => (r.orig + r.orig_len) as usize,
            }
        };
        (start, end.max(start))
    }
}

/// Normalizes a message's text for matching. Never fails, never panics.
pub fn normalize(text: &str) -> Normalized<'_> {
    if text.bytes().all(|b| b.is_ascii() && b != b'<' && b != b'_') {
        return Normalized { text: Cow::Borrowed(text), original_len: text.len(), map: Vec::new() };
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut map: Vec<Run> = Vec::with_capacity(16);
    // Appends to the output; consecutive verbatim copies share one run.
    let mut push = |out: &mut String, piece: &str, from: usize, to: usize, verbatim: bool| {
        if piece.is_empty() {
            return;
        }
        let o = out.len() as u32;
        out.push_str(piece);
        if let Some(last) = map.last_mut() {
            if verbatim && last.verbatim && last.orig + last.orig_len == from as u32 && last.out + last.out_len == o {
                last.out_len += piece.len() as u32;
                last.orig_len += (to - from) as u32;
                return;
            }
        }
        map.push(Run {
            out: o,
            out_len: piece.len() as u32,
            orig: from as u32,
            orig_len: (to - from) as u32,
            verbatim,
        });
    };

    let mut i = 0;
    while i < text.len() {
        let rest = &text[i..];
        // Plain ASCII runs are copied in one go.
        let plain = rest.bytes().take_while(|&b| b.is_ascii() && b != b'<' && b != b'_').count();
        if plain > 0 {
            push(&mut out, &rest[..plain], i, i + plain, true);
            i += plain;
            continue;
        }
        if rest.starts_with('<') {
            if let Some((len, replacement)) = discord_token(rest) {
                push(&mut out, replacement, i, i + len, false);
                i += len;
                continue;
            }
        }
        let Some(c) = rest.chars().next() else { break };
        let width = c.len_utf8();
        let (from, to) = (i, i + width);
        i += width;
        if c.is_ascii() {
            let verbatim = c != '_';
            let mut buf = [0u8; 4];
            push(&mut out, if c == '_' { " " } else { c.encode_utf8(&mut buf) }, from, to, verbatim);
            continue;
        }
        if is_invisible(c) {
            continue;
        }
        if let Some(ascii) = look_alike(c) {
            push(&mut out, ascii, from, to, false);
            continue;
        }
        // Compatibility forms (full-width digits, ligatures, circled numbers) fold to their plain
        // form; anything else (accented letters, emoji) is kept as written.
        let mut buf = [0u8; 4];
        let mut folded = c.nfkc();
        match (folded.next(), folded.next()) {
            (Some(single), None) if single == c => push(&mut out, c.encode_utf8(&mut buf), from, to, true),
            (first, second) => {
                let mut piece = String::new();
                for part in first.into_iter().chain(second).chain(folded) {
                    match look_alike(part) {
                        Some(ascii) => piece.push_str(ascii),
                        None => piece.push(if part == '_' { ' ' } else { part }),
                    }
                }
                push(&mut out, &piece, from, to, false);
            }
        }
    }
    Normalized { text: Cow::Owned(out), original_len: text.len(), map }
}

/// Recognizes Discord's angle-bracket markup at the start of `s`: returns its length and what it
/// reads as.
fn discord_token(s: &str) -> Option<(usize, &'static str)> {
    let bytes = s.as_bytes();
    let close = bytes.iter().take(80).position(|&b| b == b'>')?;
    let inner = &s[1..close];
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    let replacement = if let Some(id) = inner.strip_prefix("@&") {
        digits(id).then_some("@role")
    } else if let Some(id) = inner.strip_prefix("@!").or_else(|| inner.strip_prefix('@')) {
        digits(id).then_some(MENTION)
    } else if let Some(id) = inner.strip_prefix('#') {
        digits(id).then_some("#channel")
    } else if let Some(emoji) = inner.strip_prefix("a:").or_else(|| inner.strip_prefix(':')) {
        let (name, id) = emoji.split_once(':')?;
        (!name.is_empty() && digits(id)).then_some(" ")
    } else if let Some(stamp) = inner.strip_prefix("t:") {
        let seconds = stamp.split(':').next()?;
        digits(seconds).then_some("(a timestamp)")
    } else {
        None
    }?;
    Some((close + 1, replacement))
}

fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}' | '\u{180E}')
}

/// Characters that look like ASCII ones and are used, on purpose or by keyboards, in their place.
fn look_alike(c: char) -> Option<&'static str> {
    Some(match c {
        '\u{00A0}' | '\u{2000}'..='\u{200A}' | '\u{202F}' | '\u{205F}' | '\u{3000}' => " ",
        '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FE58}' | '\u{FE63}' | '\u{FF0D}' => "-",
        '\u{2018}' | '\u{2019}' | '\u{201B}' | '\u{2032}' | '\u{FF07}' => "'",
        '\u{201C}' | '\u{201D}' | '\u{201F}' | '\u{2033}' | '\u{FF02}' => "\"",
        '\u{2044}' | '\u{2215}' => "/",
        '\u{2024}' | '\u{FF0E}' => ".",
        // Cyrillic and Greek letters that render as Latin ones.
        'а' => "a",
        'е' => "e",
        'о' | 'ο' => "o",
        'р' | 'ρ' => "p",
        'с' => "c",
        'х' => "x",
        'у' => "y",
        'і' => "i",
        'ј' => "j",
        'ѕ' => "s",
        'ԁ' => "d",
        'ɡ' => "g",
        'А' | 'Α' => "A",
        'В' | 'Β' => "B",
        'Е' | 'Ε' => "E",
        'К' | 'Κ' => "K",
        'М' | 'Μ' => "M",
        'Н' | 'Η' => "H",
        'О' | 'Ο' => "O",
        'Р' | 'Ρ' => "P",
        'С' => "C",
        'Т' | 'Τ' => "T",
        'Х' | 'Χ' => "X",
        'І' | 'Ι' => "I",
        'Ѕ' => "S",
        'Ζ' => "Z",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn back<'a>(original: &'a str, n: &Normalized<'_>, needle: &str) -> &'a str {
        let at = n.text().find(needle).expect("needle in normalized text");
        let (s, e) = n.to_original(at, at + needle.len());
        &original[s..e]
    }

    #[test]
    fn plain_ascii_is_borrowed_unchanged() {
        let n = normalize("Take 2 tablets, **every** 6 hours ||spoiler||");
        assert!(matches!(n.text, Cow::Borrowed(_)));
        assert!(n.map.is_empty());
        assert_eq!(n.to_original(5, 6), (5, 6));
    }

    #[test]
    fn mentions_become_a_word_and_map_back_whole() {
        let original = "<@!123456789012345678> your biopsy was benign";
        let n = normalize(original);
        assert!(n.text().starts_with("@mention your biopsy"));
        assert!(!n.text().contains("1234"), "mention ids must not look like numbers");
        assert_eq!(back(original, &n, "@mention"), "<@!123456789012345678>");
        assert_eq!(back(original, &n, "biopsy"), "biopsy");
    }

    #[test]
    fn roles_channels_emoji_and_timestamps_are_read_as_discord_shows_them() {
        let n = normalize("<@&55> see <#66> <:tooth:1100000000000099001> <t:1700000000:R> <not markup>");
        assert_eq!(n.text(), "@role see #channel   (a timestamp) <not markup>");
    }

    #[test]
    fn full_width_digits_and_dashes_fold_to_ascii() {
        let original = "call ５０３－５５５－０１３８ now";
        let n = normalize(original);
        assert_eq!(n.text(), "call 503-555-0138 now");
        assert_eq!(back(original, &n, "503-555-0138"), "５０３－５５５－０１３８");
    }

    #[test]
    fn look_alikes_and_invisible_characters() {
        let original = "ѕtор tаking\u{200B} it — now’s";
        let n = normalize(original);
        assert_eq!(n.text(), "stop taking it - now's");
        assert_eq!(back(original, &n, "taking it"), "tаking\u{200B} it");
    }

    #[test]
    fn runs_map_offsets_inside_verbatim_text_exactly() {
        let original = "café: take 400mg — now";
        let n = normalize(original);
        assert_eq!(n.text(), "café: take 400mg - now");
        assert_eq!(back(original, &n, "take 400mg"), "take 400mg");
        assert_eq!(back(original, &n, "café"), "café");
        assert_eq!(back(original, &n, "- now"), "— now");
        assert!(n.map.len() <= 3, "one run per stretch, not per byte: {:?}", n.map);
    }

    #[test]
    fn underscores_separate_words() {
        assert_eq!(normalize("__stop__ the _meds_").text(), "  stop   the  meds ");
    }

    #[test]
    fn accented_names_and_emoji_are_kept() {
        let n = normalize("Tomás 😊 café");
        assert_eq!(n.text(), "Tomás 😊 café");
    }

    #[test]
    fn spans_at_the_edges_are_safe() {
        let original = "é";
        let n = normalize(original);
        assert_eq!(n.to_original(0, 0), (0, 0));
        assert_eq!(n.to_original(n.text().len(), n.text().len()), (original.len(), original.len()));
        let empty = normalize("\u{200B}");
        assert_eq!(empty.text(), "");
        assert_eq!(empty.to_original(0, 0), (0, 0));
    }
}
