//! The rules compiled for speed: one `RegexSet` over every pattern, one Aho-Corasick automaton
//! over every word list, and each rule's trigger and signals as indexes into them.
//!
//! Compiling once means a message costs one pass of the set and one pass of the automaton, plus
//! span searches only for the patterns the set says are present. Every matcher is linear-time.

use std::collections::HashMap;
use std::sync::Arc;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use regex::{Regex, RegexSet, RegexSetBuilder};

use crate::config::{Config, Feature, Matcher, RuleSpec, Side};

/// Where a trigger or signal looks.
#[derive(Clone, Copy, Debug)]
pub enum Probe {
    Pattern(usize),
    Lexicon {
        lexicon: usize,
        case_sensitive: bool,
    },
    Feature(Feature),
}

#[derive(Debug)]
pub struct CompiledSignal {
    pub name: Arc<str>,
    pub probe: Probe,
    pub window: Option<u32>,
    pub side: Side,
    pub weight: f32,
}

#[derive(Debug)]
pub struct CompiledRule {
    pub spec: RuleSpec,
    pub trigger: Probe,
    pub signals: Vec<CompiledSignal>,
}

/// One word of a lexicon in the automaton.
#[derive(Debug)]
pub struct Term {
    pub lexicon: usize,
    pub ambiguous: bool,
    /// As written in the list, for case-sensitive use.
    pub text: String,
}

#[derive(Debug)]
pub struct RuleBook {
    pub set: RegexSet,
    pub patterns: Vec<Regex>,
    pub automaton: Option<AhoCorasick>,
    pub terms: Vec<Term>,
    pub lexicon_names: Vec<String>,
    pub rules: Vec<CompiledRule>,
}

impl RuleBook {
    /// Compiles a validated config. Patterns were already compiled once by validation, so this
    /// cannot meet a bad regex; a failure here is a size limit, reported as a plain error.
    pub fn compile(config: &Config) -> Result<RuleBook, String> {
        let mut patterns: Vec<Regex> = Vec::new();
        let mut pattern_index: HashMap<String, usize> = HashMap::new();
        let lexicon_names: Vec<String> = config.lexicons.keys().cloned().collect();
        let lexicon_index: HashMap<&str, usize> = lexicon_names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.as_str(), i))
            .collect();

        let mut probe = |m: &Matcher| -> Probe {
            match m {
                Matcher::Pattern { regex } => {
                    let key = regex.as_str().to_string();
                    let next = patterns.len();
                    let i = *pattern_index.entry(key).or_insert(next);
                    if i == next {
                        patterns.push(regex.clone());
                    }
                    Probe::Pattern(i)
                }
                Matcher::Lexicon {
                    name,
                    case_sensitive,
                } => Probe::Lexicon {
                    lexicon: lexicon_index
                        .get(name.as_str())
                        .copied()
                        .unwrap_or(usize::MAX),
                    case_sensitive: *case_sensitive,
                },
                Matcher::Feature(f) => Probe::Feature(*f),
            }
        };

        let rules = config
            .rules
            .iter()
            .map(|spec| CompiledRule {
                trigger: probe(&spec.trigger),
                signals: spec
                    .signals
                    .iter()
                    .map(|s| CompiledSignal {
                        name: s.name.clone(),
                        probe: probe(&s.matcher),
                        window: s.window,
                        side: s.side,
                        weight: s.weight,
                    })
                    .collect(),
                spec: spec.clone(),
            })
            .collect();

        let set = RegexSetBuilder::new(patterns.iter().map(|r| r.as_str()))
            .size_limit(64 << 20)
            .dfa_size_limit(32 << 20)
            .build()
            .map_err(|e| format!("the rules' patterns are too large to compile together: {e}"))?;

        let mut terms = Vec::new();
        for (lexicon, name) in lexicon_names.iter().enumerate() {
            let spec = &config.lexicons[name];
            for (list, ambiguous) in [(&spec.terms, false), (&spec.ambiguous, true)] {
                for t in list {
                    terms.push(Term {
                        lexicon,
                        ambiguous,
                        text: t.clone(),
                    });
                }
            }
        }
        let automaton = if terms.is_empty() {
            None
        } else {
            Some(
                AhoCorasick::builder()
                    .ascii_case_insensitive(true)
                    .match_kind(MatchKind::Standard)
                    .kind(Some(AhoCorasickKind::DFA))
                    .build(terms.iter().map(|t| t.text.as_str()))
                    .or_else(|_| {
                        AhoCorasick::builder()
                            .ascii_case_insensitive(true)
                            .match_kind(MatchKind::Standard)
                            .build(terms.iter().map(|t| t.text.as_str()))
                    })
                    .map_err(|e| format!("the word lists could not be compiled: {e}"))?,
            )
        };
        Ok(RuleBook {
            set,
            patterns,
            automaton,
            terms,
            lexicon_names,
            rules,
        })
    }

    pub fn lexicon(&self, name: &str) -> Option<usize> {
        self.lexicon_names.iter().position(|n| n == name)
    }
}
