//! The rules compiled for speed: the patterns in a few small `RegexSet`s, one Aho-Corasick
//! automaton over every word list, and each rule's trigger and signals as indexes into them.
//!
//! Compiling once means a message costs a pass of each set its scope needs and one pass of
//! the automaton, plus span searches only for the patterns a set says are present. Every matcher
//! is linear-time.

use std::collections::HashMap;
use std::sync::Arc;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use regex::{Regex, RegexSet, RegexSetBuilder};

use crate::config::{Config, Feature, Finder, Matcher, RuleSpec, Side};
use crate::detect::{Kind, Role};

/// Which rules one pass over a message scores.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// The rules for a message by its author's role.
    Role(Role),
    /// Only the identifier rules (names, numbers, dates: HIPAA's identifiers), as they apply to a
    /// staff message. A patient's own words are masked with these before staff see them.
    Identifiers,
}

impl Scope {
    const ALL: [Scope; 3] = [Scope::Role(Role::Staff), Scope::Role(Role::Patient), Scope::Identifiers];

    fn slot(self) -> usize {
        match self {
            Scope::Role(Role::Staff) => 0,
            Scope::Role(Role::Patient) => 1,
            Scope::Identifiers => 2,
        }
    }

    fn includes(self, kind: Kind) -> bool {
        match self {
            Scope::Role(role) => kind.label().applies_to(role),
            Scope::Identifiers => kind.is_identifier(),
        }
    }
}

/// Where a trigger or signal looks.
#[derive(Clone, Copy, Debug)]
pub enum Probe {
    Pattern(usize),
    /// Word lists by bit (list `i` is bit `i`; at most 64 lists).
    Lexicon {
        lists: u64,
        case_sensitive: bool,
    },
    Feature(Feature),
    /// A built-in finder's candidates, found once per message when a rule asks.
    Finder(Finder),
}

#[derive(Clone, Debug)]
pub struct CompiledSignal {
    pub name: Arc<str>,
    pub probe: Probe,
    pub window: Option<u32>,
    pub side: Side,
    pub weight: f32,
    pub required: bool,
}

#[derive(Clone, Debug)]
pub struct CompiledRule {
    pub spec: RuleSpec,
    pub trigger: Probe,
    pub signals: Vec<CompiledSignal>,
    /// Signal indexes, cheapest to check first: features and message-wide presence, then word
    /// lists near the trigger, then regexes near the trigger (each a search of the message).
    pub eval_order: Vec<usize>,
    /// `best_after[k]`: the most the signals from `eval_order[k]` on could still add.
    pub best_after: Vec<f32>,
}

impl CompiledRule {
    /// Where the rule looks: its trigger, then each signal.
    pub fn probes(&self) -> impl Iterator<Item = Probe> + '_ {
        std::iter::once(self.trigger).chain(self.signals.iter().map(|s| s.probe))
    }

    fn new(spec: RuleSpec, trigger: Probe, signals: Vec<CompiledSignal>) -> CompiledRule {
        // Required signals first (they can end the work at once), then by cost.
        let cost = |s: &CompiledSignal| match (s.required, s.probe, s.window) {
            (true, ..) => 0,
            (false, Probe::Feature(_), _) | (false, _, None) => 1,
            (false, Probe::Lexicon { .. } | Probe::Finder(_), Some(_)) => 2,
            (false, Probe::Pattern(_), Some(_)) => 3,
        };
        let mut eval_order: Vec<usize> = (0..signals.len()).collect();
        eval_order.sort_by_key(|&i| cost(&signals[i]));
        let mut best_after = vec![0.0f32; signals.len() + 1];
        for k in (0..signals.len()).rev() {
            best_after[k] = best_after[k + 1] + signals[eval_order[k]].weight.max(0.0);
        }
        CompiledRule { spec, trigger, signals, eval_order, best_after }
    }
}

/// One word of a lexicon in the automaton.
#[derive(Clone, Debug)]
pub struct Term {
    pub lexicon: usize,
    pub ambiguous: bool,
    /// As written in the list, for case-sensitive use.
    pub text: String,
}

/// The word lists that message-wide features read.
#[derive(Clone, Copy, Debug)]
pub struct Builtins {
    /// `patient_nouns.toml`, if the configuration has it.
    pub patient_words: Option<usize>,
    pub staff_words: Option<usize>,
    pub you_words: Option<usize>,
}

#[derive(Clone, Debug)]
pub struct RuleBook {
    /// Small sets over the patterns, each serving the scopes that use all its members (see
    /// [`PatternSet`]).
    pub sets: Vec<PatternSet>,
    pub patterns: Vec<Regex>,
    pub automaton: Option<AhoCorasick>,
    pub terms: Vec<Term>,
    pub lexicon_names: Vec<String>,
    /// Per list: a real word list (plurals match, a longer term of another list wins) rather than
    /// a regex of plain words answered by the automaton (matches exactly as the regex would).
    pub word_list: Vec<bool>,
    /// The distinct multi-list probes (`lexicon = ["a", "b"]`), whose merged occurrences each
    /// message computes once.
    pub multi_lists: Vec<u64>,
    pub builtins: Builtins,
    /// Per scope: the name rules (scored first: they feed the `name` feature), then the others.
    pub order: [(Vec<usize>, Vec<usize>); 3],
    pub rules: Vec<CompiledRule>,
}

impl RuleBook {
    /// Compiles a validated config. Patterns were already compiled once by validation, so this
    /// cannot meet a bad regex; a failure here is a size limit, reported as a plain error.
    /// The word list of staff names, built from `practice.staff_names` (not a file, so no rule
    /// can name it; the `staff_name` feature reads it).
    pub const STAFF_LEXICON: &'static str = "@staff";
    /// Words that speak to the reader (the `second_person` feature).
    pub const YOU_LEXICON: &'static str = "@you";
    const YOU: &'static [&'static str] = &["you", "your", "you're", "youre", "yours", "yourself", "ya", "u", "ur"];

    pub fn compile(config: &Config) -> Result<RuleBook, String> {
        if config.lexicons.len() >= 62 {
            return Err(format!("{} word lists: Bedside supports at most 61", config.lexicons.len()));
        }
        let mut patterns: Vec<Regex> = Vec::new();
        let mut pattern_index: HashMap<String, usize> = HashMap::new();
        let lexicon_names: Vec<String> = config
            .lexicons
            .keys()
            .cloned()
            .chain([Self::STAFF_LEXICON.to_string(), Self::YOU_LEXICON.to_string()])
            .collect();
        let lexicon_index: HashMap<&str, usize> =
            lexicon_names.iter().enumerate().map(|(i, n)| (n.as_str(), i)).collect();

        // Patterns that are only a list of plain words are answered by the Aho-Corasick pass
        // the word lists already make, instead of a regex search each.
        let first_plain = lexicon_names.len();
        let mut plain_lists: Vec<Vec<String>> = Vec::new();
        let mut plain_index: HashMap<String, usize> = HashMap::new();
        let mut probe = |m: &Matcher| -> Probe {
            match m {
                Matcher::Pattern { regex }
                    if first_plain + plain_lists.len() < 64 || plain_index.contains_key(regex.as_str()) =>
                {
                    if let Some(words) = plain_words(regex.as_str()) {
                        let next = first_plain + plain_lists.len();
                        let i = *plain_index.entry(regex.as_str().to_string()).or_insert(next);
                        if i == next {
                            plain_lists.push(words);
                        }
                        return Probe::Lexicon { lists: 1u64 << i, case_sensitive: false };
                    }
                    pattern_probe(regex, &mut patterns, &mut pattern_index)
                }
                Matcher::Pattern { regex } => pattern_probe(regex, &mut patterns, &mut pattern_index),
                Matcher::Lexicon { names, case_sensitive } => Probe::Lexicon {
                    lists: names
                        .iter()
                        .filter_map(|n| lexicon_index.get(n.as_str()))
                        .fold(0u64, |mask, &i| mask | (1u64 << i)),
                    case_sensitive: *case_sensitive,
                },
                Matcher::Feature(f) => Probe::Feature(*f),
                Matcher::Finder(f) => Probe::Finder(*f),
            }
        };

        let rules: Vec<CompiledRule> = config
            .rules
            .iter()
            .map(|spec| {
                let trigger = probe(&spec.trigger);
                let signals = spec
                    .signals
                    .iter()
                    .map(|s| CompiledSignal {
                        name: s.name.clone(),
                        probe: probe(&s.matcher),
                        window: s.window,
                        side: s.side,
                        weight: s.weight,
                        required: s.required,
                    })
                    .collect();
                CompiledRule::new(spec.clone(), trigger, signals)
            })
            .collect();

        if patterns.len() >= usize::from(super::evidence::ABSENT) {
            return Err(format!(
                "{} distinct patterns: Bedside supports at most {}",
                patterns.len(),
                super::evidence::ABSENT - 1
            ));
        }
        let sets = pattern_sets(&rules, &patterns)?;

        let mut terms = Vec::new();
        for (lexicon, name) in lexicon_names.iter().enumerate() {
            let Some(spec) = config.lexicons.get(name) else {
                // Built-in lists: every word of every staff name as written in config, and "you".
                let words: Vec<String> = if name == Self::STAFF_LEXICON {
                    config.practice.staff_words.iter().cloned().collect()
                } else {
                    Self::YOU.iter().map(|w| w.to_string()).collect()
                };
                terms.extend(words.into_iter().map(|text| Term { lexicon, ambiguous: false, text }));
                continue;
            };
            for (list, ambiguous) in [(&spec.terms, false), (&spec.ambiguous, true)] {
                for t in list {
                    terms.push(Term { lexicon, ambiguous, text: t.clone() });
                }
            }
        }
        let mut word_list: Vec<bool> = lexicon_names.iter().map(|n| n.as_str() != Self::YOU_LEXICON).collect();
        let mut lexicon_names = lexicon_names;
        for (k, words) in plain_lists.into_iter().enumerate() {
            lexicon_names.push(format!("@plain{k}"));
            word_list.push(false);
            let lexicon = first_plain + k;
            terms.extend(words.into_iter().map(|text| Term { lexicon, ambiguous: false, text }));
        }
        // A contiguous NFA, not a DFA: the same speed on varied messages (measured), at about a
        // tenth of the memory (~1 MB against ~11 MB for these lists).
        let automaton = if terms.is_empty() {
            None
        } else {
            Some(
                AhoCorasick::builder()
                    .ascii_case_insensitive(true)
                    .match_kind(MatchKind::Standard)
                    .kind(Some(AhoCorasickKind::ContiguousNFA))
                    .build(terms.iter().map(|t| t.text.as_str()))
                    .map_err(|e| format!("the word lists could not be compiled: {e}"))?,
            )
        };
        let mut multi_lists: Vec<u64> = rules
            .iter()
            .flat_map(CompiledRule::probes)
            .filter_map(|p| match p {
                Probe::Lexicon { lists, .. } if lists.count_ones() > 1 => Some(lists),
                _ => None,
            })
            .collect();
        multi_lists.sort_unstable();
        multi_lists.dedup();
        let order = Scope::ALL.map(|scope| {
            (0..rules.len())
                .filter(|&i| scope.includes(rules[i].spec.kind))
                .partition(|&i| rules[i].spec.kind == Kind::Name)
        });
        let position = |name: &str| lexicon_names.iter().position(|n| n == name);
        let builtins = Builtins {
            patient_words: position("patient_nouns"),
            staff_words: position(Self::STAFF_LEXICON),
            you_words: position(Self::YOU_LEXICON),
        };
        Ok(RuleBook { sets, patterns, automaton, terms, lexicon_names, word_list, multi_lists, builtins, order, rules })
    }

    /// The rules a scope scores: name rules first, then the others.
    pub fn order_for(&self, scope: Scope) -> (&[usize], &[usize]) {
        let (names, others) = &self.order[scope.slot()];
        (names, others)
    }

    /// The pattern sets a pass of this scope searches.
    pub fn sets_for(&self, scope: Scope) -> impl Iterator<Item = &PatternSet> {
        let slot = scope.slot();
        self.sets.iter().filter(move |s| s.scopes[slot])
    }
}

/// A `RegexSet` over a few patterns, with the global index of each member and the scopes whose
/// rules use them.
///
/// Why several sets and not one per role: a set is searched by a lazy DFA whose states are
/// combinations of its patterns' states. Over all ~115 patterns of a role, varied messages kept
/// creating states faster than an 8 MB cache could hold (measured on the corpus: ~3,400 messages/s,
/// nearly all of it building DFA states). Sets of [`PATTERNS_PER_SET`] settle into their caches
/// (~97,000 corpus messages/s), at some cost on the same few messages repeated (~205,000 → ~167,000
/// a second). Grouping by scope compiles each pattern into one set only, and lets a pass skip the
/// sets it has no use for (the identifiers pass searches none of the advice patterns).
#[derive(Clone, Debug)]
pub struct PatternSet {
    pub set: RegexSet,
    pub globals: Vec<usize>,
    /// By [`Scope::slot`]: which scopes' rules use these patterns.
    pub scopes: [bool; 3],
}

/// How many patterns share one set (see [`PatternSet`]).
const PATTERNS_PER_SET: usize = 24;
/// The most one set's lazy DFA cache may grow to, per thread searching it (on the corpus they
/// settle far below it; a smaller cap made the 40-pattern sets thrash).
const SET_CACHE_BYTES: usize = 8 << 20;

/// Groups the patterns by the scopes that use them, in sets of [`PATTERNS_PER_SET`].
fn pattern_sets(rules: &[CompiledRule], patterns: &[Regex]) -> Result<Vec<PatternSet>, String> {
    let mut scopes = vec![[false; 3]; patterns.len()];
    for rule in rules {
        for probe in rule.probes() {
            if let Probe::Pattern(i) = probe {
                for scope in Scope::ALL {
                    if scope.includes(rule.spec.kind) {
                        scopes[i][scope.slot()] = true;
                    }
                }
            }
        }
    }
    // Each distinct combination once, in a fixed order, so the sets are the same on every load.
    let mut masks: Vec<[bool; 3]> = scopes.iter().copied().filter(|m| m.contains(&true)).collect();
    masks.sort_unstable_by(|a, b| b.cmp(a));
    masks.dedup();
    let mut sets = Vec::new();
    for mask in masks {
        let members: Vec<usize> = (0..patterns.len()).filter(|&i| scopes[i] == mask).collect();
        for chunk in members.chunks(PATTERNS_PER_SET) {
            let set = RegexSetBuilder::new(chunk.iter().map(|&i| patterns[i].as_str()))
                .size_limit(16 << 20)
                .dfa_size_limit(SET_CACHE_BYTES)
                .build()
                .map_err(|e| format!("the rules' patterns are too large to compile together: {e}"))?;
            sets.push(PatternSet { set, globals: chunk.to_vec(), scopes: mask });
        }
    }
    Ok(sets)
}

fn pattern_probe(regex: &Regex, patterns: &mut Vec<Regex>, index: &mut HashMap<String, usize>) -> Probe {
    let next = patterns.len();
    let i = *index.entry(regex.as_str().to_string()).or_insert(next);
    if i == next {
        patterns.push(regex.clone());
    }
    Probe::Pattern(i)
}

/// The words of a compiled pattern that is nothing but `\b(?:word|word two|…)\b`, matched
/// case-insensitively: lowercase ASCII letters, spaces and apostrophes only.
fn plain_words(pattern: &str) -> Option<Vec<String>> {
    let inner = pattern.strip_prefix("(?i)(?-u:\\b)(?:")?.strip_suffix(")(?-u:\\b)")?;
    let words: Vec<String> = inner.split('|').map(str::to_string).collect();
    let plain = |w: &String| {
        w.starts_with(|c: char| c.is_ascii_lowercase())
            && w.ends_with(|c: char| c.is_ascii_lowercase())
            && w.chars().all(|c| c.is_ascii_lowercase() || c == ' ' || c == '\'')
    };
    words.iter().all(plain).then_some(words)
}

#[cfg(test)]
mod tests {
    use super::plain_words;

    #[test]
    fn only_plain_word_alternations_become_word_lists() {
        assert_eq!(
            plain_words(r"(?i)(?-u:\b)(?:your|his|her|their)(?-u:\b)"),
            Some(vec!["your".into(), "his".into(), "her".into(), "their".into()])
        );
        assert_eq!(plain_words(r"(?i)(?-u:\b)(?:no one|don't)(?-u:\b)"), Some(vec!["no one".into(), "don't".into()]));
        assert_eq!(plain_words(r"(?i)(?-u:\b)(?:rinses?|x)(?-u:\b)"), None, "regex syntax stays a regex");
        assert_eq!(plain_words(r"(?-u:\b)(?:your|his)(?-u:\b)"), None, "case-sensitive stays a regex");
        assert_eq!(plain_words(r"(?i)(?-u:\b)(?:a|b)(?-u:\b)|(?-u:\b)(?:c)(?-u:\b)"), None);
    }
}
