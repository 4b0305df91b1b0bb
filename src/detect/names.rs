//! Finds people's names in a message: by list (the 1990 US Census's given names and surnames) and
//! by shape (capitalised words after a title, after "patient" or "pt", in a signature, in
//! "Kasia's results", after "my name is"), in any script that has capitals.
//!
//! A name no list holds ("Ludmiła Kwiatkowska", "Nguyễn Thị Lan") is still two or more capitalised
//! words in a row; such a run is reported as a weaker candidate (`ambiguous`), which only counts
//! with more evidence around it. Runs that hold a street, place or organisation word ("Elm Road",
//! "Maple Grove Health") are not people; words that start sentences or greet ("Thanks", "Please")
//! are trimmed off.
//!
//! The lists are compiled into `fst` sets at build time (`build.rs`) and searched in place: the
//! words of a message are looked up only when they are capitalised, so most text costs one scan.

use std::sync::OnceLock;

use fst::Set;
use unicode_normalization::UnicodeNormalization;

use super::evidence::Occurrence;

static FIRST: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/first.fst"));
static SURNAMES: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/surnames.fst"));

/// At most this many words make one name ("María José García López").
const MAX_NAME_WORDS: usize = 4;

/// The compiled name lists.
pub struct NameLists {
    first: Set<&'static [u8]>,
    surnames: Set<&'static [u8]>,
}

impl NameLists {
    /// The lists built into the binary. `None` only if the build wrote a broken set, which the
    /// tests would catch; detection then goes on by shape alone.
    pub fn builtin() -> Option<&'static NameLists> {
        static LISTS: OnceLock<Option<NameLists>> = OnceLock::new();
        LISTS
            .get_or_init(|| Some(NameLists { first: Set::new(FIRST).ok()?, surnames: Set::new(SURNAMES).ok()? }))
            .as_ref()
    }

    pub fn is_first(&self, folded: &str) -> bool {
        self.first.contains(folded)
    }

    pub fn is_surname(&self, folded: &str) -> bool {
        self.surnames.contains(folded)
    }
}

/// A word as a name could be made of.
#[derive(Clone, Copy, Debug)]
struct Word {
    start: usize,
    /// Without a possessive `'s`.
    end: usize,
    possessive: bool,
    capitalised: bool,
    /// A single capital, maybe with a dot ("R." in "R. Oduya").
    initial: bool,
}

/// Finds name candidates in `text` (matchable text), in order, at most `limit`.
pub fn find(text: &str, lists: Option<&NameLists>, limit: usize, out: &mut Vec<Occurrence>) {
    let words = words(text);
    let mut i = 0;
    while i < words.len() && out.len() < limit {
        if !words[i].capitalised {
            if let Some(o) = lowercase_after_cue(text, &words, i, lists) {
                out.push(o);
            }
            i += 1;
            continue;
        }
        // A run of capitalised words (and name particles) joined by single spaces.
        let mut j = i + 1;
        while j < words.len() && j - i < 8 && joined(text, &words[j - 1], &words[j]) && !words[j - 1].possessive {
            let w = &words[j];
            if !w.capitalised && !is_particle(&text[w.start..w.end]) {
                break;
            }
            j += 1;
        }
        // Particles may sit inside a run, not at its end ("van Dijk", not "Anna de").
        while j > i + 1 && !words[j - 1].capitalised {
            j -= 1;
        }
        scan_run(text, &words, i, j, lists, out);
        i = j;
    }
}

/// Looks at one run of capitalised words `words[from..to]` and pushes the names in it.
fn scan_run(text: &str, words: &[Word], from: usize, to: usize, lists: Option<&NameLists>, out: &mut Vec<Occurrence>) {
    // A run with a place or organisation word in it is not a person ("Elm Road", "Maple Grove Health").
    if words[from..to].iter().any(|w| is_place_word(&text[w.start..w.end])) {
        return;
    }
    // An address's street ("58163 Solvellir") or a number's unit: a number right before it.
    if from > 0 && text[words[from - 1].start..words[from - 1].end].bytes().all(|b| b.is_ascii_digit()) {
        return;
    }
    let mut start = from;
    // Leading words that start sentences or greet are not part of the name ("Thanks Maria").
    while start < to && is_stop(&text[words[start].start..words[start].end]) {
        start += 1;
    }
    let mut end = start;
    while end < to && !is_stop(&text[words[end].start..words[end].end]) {
        end += 1;
    }
    if start == end || end - start > MAX_NAME_WORDS {
        return;
    }
    let name = &words[start..end];
    let cue = cue_before(text, words, start);
    let sentence_start = at_sentence_start(text, name[0].start) && start == from;
    let listed = |w: &Word| {
        let folded = fold(&text[w.start..w.end]);
        lists.is_some_and(|l| l.is_first(&folded) || l.is_surname(&folded))
    };
    let first_listed = |w: &Word| lists.is_some_and(|l| l.is_first(&fold(&text[w.start..w.end])));
    let real_words = name.iter().filter(|w| !w.initial).count();
    if real_words == 0 {
        return;
    }
    // A word and an initial ("Vitamin D", "Hepatitis B") is a name only with a listed given name
    // ("Alex P.") or a cue ("Mr. D.").
    let has_initial = name.iter().any(|w| w.initial);
    let last = name[name.len() - 1];
    let signature = is_signature_line(text, name[0].start, last.end);
    let possessive = last.possessive && !sentence_start;
    if has_initial && cue.is_none() && !name.iter().any(first_listed) {
        return;
    }
    let strong = if cue.is_some() || signature || possessive {
        true
    } else if name.len() >= 2 {
        if name.iter().any(listed) {
            !sentence_start || name.iter().filter(|w| listed(w)).count() >= 2 || first_listed(&name[0])
        } else {
            false
        }
    } else {
        false
    };
    let weak = !strong
        && if name.len() >= 2 {
            // Two capitalised words no list holds: a name in many languages, or a title.
            !sentence_start || name.iter().any(listed)
        } else {
            // One capitalised given name inside a sentence ("ask Maria about it").
            !sentence_start && first_listed(&name[0]) && !name[0].initial
        };
    if strong || weak {
        out.push(Occurrence { start: name[0].start, end: last.end, ambiguous: !strong, exact_case: true });
    }
}

/// A lowercase given name after a strong cue ("hi martha", "patient john smith"): chat often
/// skips capitals. Only listed given names, so "hi everyone" stays clean.
fn lowercase_after_cue(text: &str, words: &[Word], i: usize, lists: Option<&NameLists>) -> Option<Occurrence> {
    let lists = lists?;
    let w = words[i];
    let word = &text[w.start..w.end];
    // Cheapest test first: this runs for nearly every word of every message.
    if word.len() < 3 || !word.chars().all(char::is_lowercase) {
        return None;
    }
    let cue = cue_before(text, words, i)?;
    if is_stop(word) {
        return None;
    }
    if !matches!(cue, Cue::Greeting | Cue::Patient | Cue::Honorific) || !lists.is_first(&fold(word)) {
        return None;
    }
    let mut end = w.end;
    // A lowercase surname right after it ("patient john smith").
    if let Some(next) = words.get(i + 1) {
        let next_word = &text[next.start..next.end];
        if joined(text, &w, next) && !is_stop(next_word) && lists.is_surname(&fold(next_word)) {
            end = next.end;
        }
    }
    Some(Occurrence { start: w.start, end, ambiguous: true, exact_case: false })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cue {
    /// "Mr.", "Frau", "Pani", "Sra."
    Honorific,
    /// "patient", "pt", "client", "resident"
    Patient,
    /// "my name is", "this is", "I'm", "name:", "signed"
    SelfNamed,
    /// "hi", "hello", "dear", "thanks"
    Greeting,
}

/// The cue right before word `i`, if any (a colon, comma or dash may sit between).
fn cue_before(text: &str, words: &[Word], i: usize) -> Option<Cue> {
    if i == 0 {
        return None;
    }
    let prev = words[i - 1];
    let between = &text[prev.end..words[i].start];
    if between.len() > 3 || between.contains('\n') || !between.chars().all(|c| " :,#-.".contains(c)) {
        return None;
    }
    let mut buffer = [0u8; SHORT_WORD];
    let p = lowercase(&text[prev.start..prev.end], &mut buffer);
    let p = p.trim_end_matches('.');
    if HONORIFICS.binary_search(&p).is_ok() {
        return Some(Cue::Honorific);
    }
    if matches!(p, "patient" | "pt" | "client" | "resident" | "patientin" | "pacjent" | "pacjentka" | "patiente") {
        return Some(Cue::Patient);
    }
    if matches!(p, "hi" | "hello" | "hey" | "dear" | "thanks" | "morning" | "afternoon" | "evening") {
        return Some(Cue::Greeting);
    }
    if p == "name" || p == "signed" || p == "i'm" || p == "im" {
        return Some(Cue::SelfNamed);
    }
    if p == "is" && i >= 2 {
        let before = &text[words[i - 2].start..words[i - 2].end];
        if ["name", "this", "it"].iter().any(|w| before.eq_ignore_ascii_case(w)) {
            return Some(Cue::SelfNamed);
        }
    }
    if p == "am" && i >= 2 && text[words[i - 2].start..words[i - 2].end].eq_ignore_ascii_case("i") {
        return Some(Cue::SelfNamed);
    }
    None
}

/// The run fills its own line, and the line before closes a letter ("Best regards," / "Thanks,"
/// / "--"), or the line after gives a phone number or email.
fn is_signature_line(text: &str, start: usize, end: usize) -> bool {
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[end..].find('\n').map_or(text.len(), |i| end + i);
    let own_line = text[line_start..start].trim_matches(|c: char| c.is_whitespace() || c == '-' || c == '—').is_empty()
        && text[end..line_end].trim().is_empty();
    if !own_line || line_start == 0 {
        return false;
    }
    let before = text[..line_start - 1].trim_end();
    let previous = before.rsplit('\n').next().unwrap_or_default().trim().to_lowercase();
    previous.ends_with(',')
        || previous == "--"
        || previous == "-"
        || CLOSINGS.iter().any(|c| previous.trim_end_matches(['!', '.']) == *c)
}

/// Whether `at` starts a sentence: the text's start, or after `.`, `!`, `?`, a newline or a colon.
fn at_sentence_start(text: &str, at: usize) -> bool {
    let before = text[..at].trim_end_matches([' ', '\t', '"', '(', '*', '_', '>', '-', '•']);
    before.is_empty() || before.ends_with(['.', '!', '?', '\n', ':', ';'])
}

/// Two words with nothing but one space between them.
fn joined(text: &str, a: &Word, b: &Word) -> bool {
    let between = &text[a.end..b.start];
    between == " " || between == "\u{a0}"
}

/// Words of letters, with apostrophes and hyphens inside ("O'Neill", "Jean-Luc") and a dot after an
/// initial; a trailing `'s` is noted, not kept.
fn words(text: &str) -> Vec<Word> {
    let mut out = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        if !c.is_alphabetic() {
            continue;
        }
        let mut end = start + c.len_utf8();
        let mut has_lower = c.is_lowercase();
        let mut letters = 1;
        while let Some(&(i, c)) = chars.peek() {
            if c.is_alphabetic() || c.is_numeric() {
                has_lower |= c.is_lowercase();
                letters += 1;
                end = i + c.len_utf8();
                chars.next();
            } else if matches!(c, '\'' | '-' | '’') {
                // Inside a word only when a letter follows.
                let next_is_letter = text[i + c.len_utf8()..].chars().next().is_some_and(char::is_alphabetic);
                if !next_is_letter {
                    break;
                }
                end = i + c.len_utf8();
                chars.next();
            } else {
                break;
            }
        }
        let word = &text[start..end];
        let (end, possessive) = match word.strip_suffix("'s").or_else(|| word.strip_suffix("’s")) {
            Some(stem) if !stem.is_empty() => (start + stem.len(), true),
            _ => (end, false),
        };
        let mut initial = false;
        if letters == 1 && c.is_uppercase() {
            initial = true;
            if text[end..].starts_with('.') {
                chars.next();
            }
        }
        let capitalised = c.is_uppercase() && (has_lower || initial);
        if word.bytes().any(|b| b.is_ascii_digit()) {
            out.push(Word { start, end, possessive: false, capitalised: false, initial: false });
            continue;
        }
        out.push(Word { start, end, possessive, capitalised, initial });
    }
    // Numbers are words too (an address's house number stops a run).
    let mut numbers: Vec<Word> = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() && (i == 0 || !bytes[i - 1].is_ascii_alphanumeric()) {
            let s = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            if i == bytes.len() || !bytes[i].is_ascii_alphabetic() {
                numbers.push(Word { start: s, end: i, possessive: false, capitalised: false, initial: false });
            }
        } else {
            i += 1;
        }
    }
    if !numbers.is_empty() {
        out.extend(numbers);
        out.sort_by_key(|w| w.start);
    }
    out
}

/// A word folded for lookup in the Census lists: lowercase, no accents, no apostrophes
/// ("O'Neill" → "oneill", "Łukasz" → "lukasz", "Tomás" → "tomas").
pub fn fold(word: &str) -> String {
    if word.is_ascii() {
        // Nothing to decompose: the same as below, without the iterator's work.
        return word.bytes().filter(|&b| b != b'\'').map(|b| char::from(b.to_ascii_lowercase())).collect();
    }
    let mut out = String::with_capacity(word.len());
    for c in word.nfd() {
        match c {
            '\'' | '’' => {}
            'ł' | 'Ł' => out.push('l'),
            'ø' | 'Ø' => out.push('o'),
            'đ' | 'Đ' => out.push('d'),
            'ß' => out.push_str("ss"),
            c if unicode_normalization::char::is_combining_mark(c) => {}
            c => out.extend(c.to_lowercase()),
        }
    }
    out
}

fn is_particle(word: &str) -> bool {
    matches!(
        word,
        "van"
            | "von"
            | "de"
            | "der"
            | "den"
            | "da"
            | "di"
            | "del"
            | "della"
            | "du"
            | "le"
            | "la"
            | "bin"
            | "ibn"
            | "al"
            | "y"
            | "ter"
            | "ten"
            | "dos"
            | "das"
    )
}

/// Titles written before a name, lowercase, without a trailing dot. Sorted (binary searched).
const HONORIFICS: &[&str] = &[
    "anh", "bà", "chị", "dhr", "don", "doña", "dr", "fr", "frau", "herr", "hr", "m", "madam", "madame", "mevr", "miss",
    "mister", "mlle", "mme", "mr", "mrs", "ms", "mx", "pan", "pani", "prof", "senor", "senora", "señor", "señora",
    "sig", "signor", "signora", "sir", "sr", "sra", "srta", "ông",
];

/// Lines that close a letter before a signature.
const CLOSINGS: &[&str] = &[
    "thanks",
    "thank you",
    "many thanks",
    "best",
    "best regards",
    "kind regards",
    "regards",
    "warm regards",
    "best wishes",
    "cheers",
    "sincerely",
    "yours sincerely",
    "yours truly",
    "take care",
    "all the best",
    "cordialement",
    "bien à vous",
    "viele grüße",
    "mit freundlichen grüßen",
    "lg",
    "pozdrawiam",
    "z poważaniem",
    "saludos",
    "atentamente",
    "un saludo",
    "с уважением",
    "trân trọng",
    "xoxo",
    "love",
];

/// The longest word [`lowercase`] folds without allocating; every word of the lists is shorter.
const SHORT_WORD: usize = 24;

/// `word` in lowercase: in `buffer` when it is short ASCII (nearly every word of a chat message),
/// else in a new string. These run for most words of every message, where an allocation each
/// was a measurable part of the engine's time.
fn lowercase<'b>(word: &str, buffer: &'b mut [u8; SHORT_WORD]) -> std::borrow::Cow<'b, str> {
    if word.len() > SHORT_WORD || !word.is_ascii() {
        return std::borrow::Cow::Owned(word.to_lowercase());
    }
    let lower = &mut buffer[..word.len()];
    lower.copy_from_slice(word.as_bytes());
    lower.make_ascii_lowercase();
    // ASCII in, ASCII out.
    std::borrow::Cow::Borrowed(std::str::from_utf8(lower).unwrap_or_default())
}

/// Capitalised words that are not names where they stand: sentence openers, greetings, days,
/// months, pronouns and everyday chat words. Compared case-insensitively.
fn is_stop(word: &str) -> bool {
    let mut buffer = [0u8; SHORT_WORD];
    let lower = lowercase(word, &mut buffer);
    let w = lower.trim_end_matches('.');
    STOP.binary_search(&w).is_ok() || HONORIFICS.binary_search(&w).is_ok()
}

/// Sorted (binary searched).
const STOP: &[&str] = &[
    "a",
    "about",
    "after",
    "again",
    "all",
    "also",
    "am",
    "an",
    "and",
    "any",
    "anyone",
    "apr",
    "april",
    "are",
    "as",
    "ask",
    "at",
    "attached",
    "aug",
    "august",
    "awesome",
    "back",
    "be",
    "because",
    "before",
    "best",
    "booked",
    "both",
    "but",
    "by",
    "call",
    "called",
    "can",
    "cancel",
    "cell",
    "cheers",
    "congrats",
    "could",
    "date",
    "day",
    "dear",
    "dec",
    "december",
    "did",
    "do",
    "dob",
    "does",
    "done",
    "email",
    "evening",
    "every",
    "everyone",
    "fax",
    "feb",
    "february",
    "for",
    "fri",
    "friday",
    "from",
    "get",
    "good",
    "great",
    "had",
    "happy",
    "has",
    "have",
    "he",
    "heads",
    "hello",
    "her",
    "here",
    "hey",
    "hi",
    "his",
    "home",
    "hope",
    "how",
    "i",
    "if",
    "in",
    "is",
    "it",
    "its",
    "jan",
    "january",
    "jul",
    "july",
    "jun",
    "june",
    "just",
    "kind",
    "let",
    "lol",
    "love",
    "mar",
    "march",
    "may",
    "me",
    "mobile",
    "mon",
    "monday",
    "morning",
    "my",
    "name",
    "need",
    "new",
    "next",
    "no",
    "nov",
    "november",
    "now",
    "oct",
    "october",
    "of",
    "ok",
    "okay",
    "on",
    "one",
    "or",
    "our",
    "patient",
    "phone",
    "please",
    "pls",
    "pt",
    "re",
    "regards",
    "reminder",
    "sat",
    "saturday",
    "see",
    "sent",
    "sep",
    "sept",
    "september",
    "she",
    "should",
    "so",
    "some",
    "sorry",
    "sun",
    "sunday",
    "sure",
    "tel",
    "tell",
    "text",
    "thank",
    "thanks",
    "that",
    "the",
    "their",
    "then",
    "there",
    "they",
    "this",
    "thu",
    "thursday",
    "thx",
    "to",
    "today",
    "tomorrow",
    "tue",
    "tuesday",
    "ty",
    "update",
    "urgent",
    "was",
    "we",
    "wed",
    "wednesday",
    "welcome",
    "well",
    "were",
    "what",
    "when",
    "where",
    "which",
    "who",
    "why",
    "will",
    "with",
    "would",
    "yes",
    "yesterday",
    "you",
    "your",
];

/// Words that make a run a place, street or organisation rather than a person.
fn is_place_word(word: &str) -> bool {
    let mut buffer = [0u8; SHORT_WORD];
    let lower = lowercase(word, &mut buffer);
    PLACE.binary_search(&lower.trim_end_matches('.')).is_ok()
}

/// Sorted (binary searched).
const PLACE: &[&str] = &[
    "academy",
    "airport",
    "allee",
    "alley",
    "apartment",
    "apartments",
    "apt",
    "atlantic",
    "ave",
    "avenida",
    "avenue",
    "bank",
    "bay",
    "beach",
    "blvd",
    "boulevard",
    "bridge",
    "building",
    "calle",
    "care",
    "center",
    "centre",
    "chemist",
    "church",
    "city",
    "clinic",
    "close",
    "coast",
    "college",
    "community",
    "company",
    "corp",
    "county",
    "court",
    "crescent",
    "dental",
    "department",
    "desk",
    "drive",
    "east",
    "elementary",
    "estate",
    "flat",
    "floor",
    "gardens",
    "gasse",
    "general",
    "gmbh",
    "grove",
    "hall",
    "harbor",
    "harbour",
    "health",
    "heights",
    "high",
    "highway",
    "hill",
    "hospital",
    "hotel",
    "house",
    "inc",
    "insurance",
    "island",
    "junction",
    "kingdom",
    "lab",
    "lake",
    "lane",
    "llc",
    "ltd",
    "mall",
    "market",
    "medical",
    "memorial",
    "middle",
    "motorway",
    "mount",
    "national",
    "north",
    "northeast",
    "northwest",
    "office",
    "pacific",
    "park",
    "parkway",
    "pharmacy",
    "place",
    "platz",
    "plaza",
    "portal",
    "primary",
    "regional",
    "republic",
    "river",
    "road",
    "rue",
    "school",
    "south",
    "southeast",
    "southwest",
    "square",
    "state",
    "states",
    "station",
    "street",
    "studio",
    "suite",
    "surgery",
    "team",
    "terrace",
    "trail",
    "united",
    "university",
    "valley",
    "village",
    "ward",
    "way",
    "weg",
    "west",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str) -> Vec<(&str, bool)> {
        let mut out = Vec::new();
        find(text, NameLists::builtin(), 64, &mut out);
        out.iter().map(|o| (&text[o.start..o.end], !o.ambiguous)).collect()
    }

    #[test]
    fn the_built_in_lists_load_and_hold_census_names() {
        let lists = NameLists::builtin().expect("the build compiled the lists");
        assert!(lists.is_first("martha") && lists.is_first("andrew"));
        assert!(lists.is_surname("collins") && lists.is_surname("nguyen") && lists.is_surname("oneill"));
        assert!(!lists.is_first("street"));
        let (first, last) = (lists.first.len(), lists.surnames.len());
        assert!(first > 5000 && last > 88000, "{first} given names, {last} surnames");
    }

    #[test]
    fn stop_place_and_title_lists_are_sorted_for_binary_search() {
        assert!(STOP.windows(2).all(|w| w[0] < w[1]));
        assert!(PLACE.windows(2).all(|w| w[0] < w[1]));
        assert!(HONORIFICS.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn full_names_from_the_lists_are_strong() {
        assert_eq!(names("please ask Martha Collins to call"), [("Martha Collins", true)]);
        assert_eq!(names("Andrew Perez called about his knee"), [("Andrew Perez", true)]);
    }

    #[test]
    fn names_no_list_holds_are_found_by_shape() {
        assert_eq!(names("we saw Ludmiła Kwiatkowska today"), [("Ludmiła Kwiatkowska", false)]);
        assert_eq!(names("Mr. Masaev called"), [("Masaev", true)]);
        assert_eq!(names("patient Nguyễn Thị Lan is here"), [("Nguyễn Thị Lan", true)]);
        assert_eq!(names("Siobhán O'Neill's results are back"), [("Siobhán O'Neill", true)]);
        assert_eq!(names("I think Kasia's results are in"), [("Kasia", true)]);
        assert_eq!(names("Best regards,\nЕлисей Бурова\n+7 431 426 18 35"), [("Елисей Бурова", true)]);
        assert_eq!(names("my name is Batirbek Masaev"), [("Batirbek Masaev", true)]);
    }

    #[test]
    fn places_greetings_and_sentence_openers_are_not_names() {
        assert!(names("Flat 2, 14 Elm Road, Leeds LS6 2AB").is_empty());
        assert!(names("Welcome to Maple Grove Health!").is_empty());
        assert!(names("Thanks so much. Please call the Front Desk").is_empty());
        assert!(names("Happy Monday everyone").is_empty());
        assert_eq!(names("Thanks Maria, see you then"), [("Maria", true)]);
        assert!(names("58163 Solvellir 96 Apt. 548").is_empty());
        assert!(names("people in the Pacific Northwest run low on Vitamin D in winter").is_empty());
        assert_eq!(names("roster: Alex P. and Mr. D."), [("Alex P", true)], "a lone initial is left to name.honorific");
    }

    #[test]
    fn lowercase_given_names_after_a_cue() {
        assert_eq!(names("hi , martha . how are you ?"), [("martha", false)]);
        assert!(names("hi everyone, how are you").is_empty());
    }

    #[test]
    fn folding_for_the_lists() {
        assert_eq!(fold("O'Neill"), "oneill");
        assert_eq!(fold("Łukasz"), "lukasz");
        assert_eq!(fold("Tomás"), "tomas");
        assert_eq!(fold("Nguyễn"), "nguyen");
    }

    #[test]
    fn any_text_is_safe() {
        for text in ["", "'", "A.", "'s", "Mr.", "\n\n", "Ł'-", "x\u{300}", "A's'", "1a 2B 3"] {
            let mut out = Vec::new();
            find(text, NameLists::builtin(), 64, &mut out);
            for o in out {
                assert!(o.start <= o.end && text.is_char_boundary(o.start) && text.is_char_boundary(o.end));
            }
        }
    }
}
