//! Configuration: raw TOML in, validated types out, every problem reported at once.
//!
//! A practice tunes Bedside in `config/` (or runs on the copy embedded in the binary). Loading
//! parses each file, then each rule on its own, and validates everything into types that cannot be
//! invalid: a [`RuleSpec`] has a real [`Kind`], a compiled regex, known lexicons and features, and
//! thresholds in range. If anything is wrong, [`load`] returns a [`ConfigError`] listing every
//! problem with its file and rule; nothing is half-loaded.
//!
//! # Layout
//! - `source.rs`: where the text comes from (a directory, or the embedded defaults).
//! - `raw.rs`: the TOML shapes as written.
//! - `error.rs`: [`Problem`] and [`ConfigError`].
//! - `model.rs`: the learned layer's table, vocabulary and heads, checked against each other.
//! - this file: validation into [`Config`].

mod error;
pub mod model;
mod raw;
mod source;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use regex::Regex;
use serde::de::DeserializeOwned;

pub use error::{ConfigError, Problem, Problems};
pub use source::{EMBEDDED, EMBEDDED_BINARIES, Source};

use crate::vocabulary::{FeedbackKind, Kind, Label, Severity};

/// The whole validated configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// Where it was loaded from, for status and reports.
    pub origin: String,
    pub practice: Practice,
    pub staff: StaffSettings,
    pub thresholds: Thresholds,
    pub discord: DiscordSettings,
    /// The lowest severity at which a flagged staff message is also removed; `None`: never.
    pub remove_at: Option<Severity>,
    pub acknowledgements: AcknowledgementSettings,
    pub stagnation: StagnationSettings,
    pub retention: RetentionSettings,
    pub lexicons: BTreeMap<String, LexiconSpec>,
    pub rules: Vec<RuleSpec>,
    pub templates: Templates,
    pub tips: TipBook,
    /// The learned layer, when `[model] enabled = true`.
    pub model: Option<model::Model>,
}

/// The practice's own details, which never count as patient details.
#[derive(Clone, Debug, Default)]
pub struct Practice {
    pub name: String,
    /// As written in config, for templates.
    pub phone_display: Option<String>,
    /// The regions national phone numbers are read in: the practice's country first.
    pub regions: crate::phone::Regions,
    /// The practice's numbers in E.164 (`+15035550100`).
    pub phones: Vec<String>,
    pub faxes: Vec<String>,
    pub emails: Vec<String>,
    /// Lowercase domains (`maplegrove.example`).
    pub domains: Vec<String>,
    /// Lowercase, alphanumeric-only street lines (`1200alderstreet`).
    pub addresses: Vec<String>,
    pub zips: Vec<String>,
    /// Lowercase words of staff names (`priya`, `raman`).
    pub staff_words: BTreeSet<String>,
}

#[derive(Clone, Debug, Default)]
pub struct StaffSettings {
    /// Lowercase role names or ids.
    pub roles: Vec<String>,
    pub fallback_permission: Option<String>,
}

#[derive(Clone, Copy, Debug)]
pub struct Thresholds {
    pub medical_advice: f32,
    pub patient_details: f32,
    pub feedback: f32,
}

impl Thresholds {
    pub fn for_label(&self, label: Label) -> f32 {
        match label {
            Label::MedicalAdvice => self.medical_advice,
            Label::PatientDetails => self.patient_details,
            Label::Feedback => self.feedback,
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct DiscordSettings {
    pub watch: Vec<String>,
    pub alert_channel: Option<String>,
    pub feedback_channel: Option<String>,
    pub reminder_channel: Option<String>,
}

#[derive(Clone, Copy, Debug)]
pub struct AcknowledgementSettings {
    pub cooldown: Duration,
    pub max_age: Duration,
}

#[derive(Clone, Copy, Debug)]
pub struct StagnationSettings {
    pub stale_after: Duration,
    pub check_every: Duration,
}

#[derive(Clone, Copy, Debug)]
pub struct RetentionSettings {
    pub retention: Duration,
    pub catch_up: Duration,
}

#[derive(Clone, Debug)]
pub struct LexiconSpec {
    pub file: String,
    pub description: String,
    pub terms: Vec<String>,
    pub ambiguous: Vec<String>,
}

/// Facts about a message that signals can use, computed by the detector.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Feature {
    /// The message mentions a user.
    Mention,
    /// The message replies to another.
    Reply,
    /// The message speaks to "you".
    SecondPerson,
    /// Mention, reply or second person: the message is aimed at someone.
    Addressee,
    /// A name (not staff), a patient word, or a mention.
    PatientRef,
    /// A name that is not a staff member's.
    Name,
    /// The message asks a question.
    Question,
    /// A staff member's name (practice.staff_names) appears.
    StaffName,
}

impl Feature {
    fn parse(name: &str) -> Option<Feature> {
        Some(match name {
            "mention" => Feature::Mention,
            "reply" => Feature::Reply,
            "second_person" => Feature::SecondPerson,
            "addressee" => Feature::Addressee,
            "patient_ref" => Feature::PatientRef,
            "name" => Feature::Name,
            "question" => Feature::Question,
            "staff_name" => Feature::StaffName,
            _ => return None,
        })
    }

    const NAMES: &'static str = "mention, reply, second_person, addressee, patient_ref, name, question";
}

/// What a trigger or signal matches.
#[derive(Clone, Debug)]
pub enum Matcher {
    /// A regex, in its final compiled form (case flag and ASCII word boundaries applied).
    Pattern {
        regex: Regex,
    },
    /// Terms of one or more word lists.
    Lexicon {
        names: Vec<String>,
        case_sensitive: bool,
    },
    Feature(Feature),
    /// A finder built into Bedside.
    Finder(Finder),
}

/// What a built-in finder finds: candidates a pattern or a word list cannot describe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Finder {
    /// People's names, by the Census lists and by shape (`detect/names.rs`).
    PersonName,
}

impl Finder {
    fn parse(name: &str) -> Option<Finder> {
        match name {
            "person_name" => Some(Finder::PersonName),
            _ => None,
        }
    }
}

/// A check on a trigger's text that keeps precision (a phone number must be a real NANP number).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Validator {
    Nanp,
    /// Valid by libphonenumber's metadata, in its own country or a configured region.
    Phone,
    /// As long as a phone number and grouped like one (for numbers a phone word labels).
    PhonePossible,
    Ssn,
    Luhn,
    Ipv4,
    AgeOver89,
    Date,
}

impl Validator {
    fn parse(name: &str) -> Option<Validator> {
        Some(match name {
            "nanp" => Validator::Nanp,
            "phone" => Validator::Phone,
            "phone_possible" => Validator::PhonePossible,
            "ssn" => Validator::Ssn,
            "luhn" => Validator::Luhn,
            "ipv4" => Validator::Ipv4,
            "age_over_89" => Validator::AgeOver89,
            "date" => Validator::Date,
            _ => return None,
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Before,
    After,
    Either,
}

#[derive(Clone, Debug)]
pub struct SignalSpec {
    pub name: Arc<str>,
    pub matcher: Matcher,
    pub window: Option<u32>,
    pub side: Side,
    pub weight: f32,
    pub required: bool,
}

/// A validated rule.
#[derive(Clone, Debug)]
pub struct RuleSpec {
    pub id: Arc<str>,
    pub file: String,
    pub kind: Kind,
    pub severity: Severity,
    pub reason: Arc<str>,
    pub fix: Option<Arc<str>>,
    pub score: f32,
    pub threshold: Option<f32>,
    pub trigger: Matcher,
    pub validate: Option<Validator>,
    pub ambiguous_factor: f32,
    pub signals: Vec<SignalSpec>,
}

impl RuleSpec {
    /// Where the rule looks: its trigger, then each signal's matcher.
    pub fn matchers(&self) -> impl Iterator<Item = &Matcher> {
        std::iter::once(&self.trigger).chain(self.signals.iter().map(|s| &s.matcher))
    }
}

#[derive(Clone, Debug, Default)]
pub struct Templates {
    pub praise: Vec<String>,
    pub complaint: Vec<String>,
    pub suggestion: Vec<String>,
    pub forbidden: Vec<String>,
}

impl Templates {
    pub fn for_kind(&self, kind: FeedbackKind) -> &[String] {
        match kind {
            FeedbackKind::Praise => &self.praise,
            FeedbackKind::Complaint => &self.complaint,
            FeedbackKind::Suggestion => &self.suggestion,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TipKind {
    Tip,
    Product,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tip {
    pub id: String,
    pub kind: TipKind,
    pub topic: String,
    pub text: String,
}

#[derive(Clone, Debug)]
pub struct TipBook {
    pub cooloff: Duration,
    pub tips: Vec<Tip>,
}

const SETTINGS: &str = "bedside.toml";
const TEMPLATES: &str = "templates.toml";
const TIPS: &str = "tips.toml";
/// Above this, a message could not plausibly be 280-character tip.
const TIP_MAX_CHARS: usize = 400;

/// Loads and validates a configuration, reporting every problem at once.
pub fn load(source: &Source) -> Result<Config, ConfigError> {
    load_reusing(source, &Compiled::default())
}

/// Rule patterns already compiled, by the final text of their regex (see [`compile_pattern`]).
///
/// A compiled regex is a function of that text alone (the size limits are fixed), so a load that
/// meets the same text again can take the regex instead of compiling it: compiling is nearly all
/// the time a load takes (~120 of ~130 ms for the shipped rules), parsing and checking the text
/// the rest. The long fuzz run (`tests/fuzz.rs`) loads variants of one configuration hundreds of
/// thousands of times this way.
#[derive(Clone, Debug, Default)]
pub struct Compiled(HashMap<String, Regex>);

impl Compiled {
    /// Every pattern of `config`'s rules and signals.
    pub fn of(config: &Config) -> Compiled {
        Compiled(
            config
                .rules
                .iter()
                .flat_map(RuleSpec::matchers)
                .filter_map(|m| match m {
                    Matcher::Pattern { regex } => Some((regex.as_str().to_string(), regex.clone())),
                    _ => None,
                })
                .collect(),
        )
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// [`load`], taking from `compiled` each pattern whose final text it holds: the text is still read,
/// checked and rewritten as in [`load`], only the regex of an unchanged pattern is not built again.
pub fn load_reusing(source: &Source, compiled: &Compiled) -> Result<Config, ConfigError> {
    let mut problems = Problems::default();
    let mut settings: Option<raw::Settings> = parse_file(source, SETTINGS, &mut problems);
    let model = settings.as_mut().and_then(|s| load_model(s.model.take(), source, &mut problems));
    let lexicons = load_lexicons(source, &mut problems);
    let rules = load_rules(source, &lexicons, compiled, &mut problems);
    let templates = parse_file::<raw::Templates>(source, TEMPLATES, &mut problems)
        .map(|t| validate_templates(t, &mut problems))
        .unwrap_or_default();
    let tips = parse_file::<raw::Tips>(source, TIPS, &mut problems).map(|t| validate_tips(t, &mut problems));
    let settings = settings.map(|s| validate_settings(s, &mut problems));

    let (Some(settings), Some(tips)) = (settings, tips) else {
        if problems.is_empty() {
            problems.file(&source.origin, "incomplete configuration");
        }
        return Err(problems.finish().err().unwrap_or(ConfigError { problems: Vec::new() }));
    };
    problems.finish()?;
    let (practice, staff, thresholds, discord, remove_at, acknowledgements, stagnation, retention) = settings;
    Ok(Config {
        origin: source.origin.clone(),
        practice,
        staff,
        thresholds,
        discord,
        remove_at,
        acknowledgements,
        stagnation,
        retention,
        lexicons,
        rules,
        templates,
        tips,
        model,
    })
}

/// Validates `[model]` and, when the layer is on, its files. Off by default, so a configuration
/// written before the layer existed still loads.
fn load_model(raw: Option<raw::Model>, source: &Source, problems: &mut Problems) -> Option<model::Model> {
    let raw = raw?;
    let decides = raw.decides.unwrap_or_else(|| vec!["medical_advice".into(), "feedback".into()]);
    for label in decides.iter().filter(|l| !matches!(l.as_str(), "medical_advice" | "feedback")) {
        problems.file(SETTINGS, format!("model.decides: `{label}` is not one of medical_advice, feedback"));
    }
    let defaults = model::ModelSettings::default();
    let mut probability = |field: &str, value: Option<f32>, default: f32| -> f32 {
        let v = value.unwrap_or(default);
        if !(v > 0.0 && v < 1.0) {
            problems.file(SETTINGS, format!("model.{field} = {v} is not a probability between 0 and 1 (exclusive)"));
            return default;
        }
        v
    };
    let settings = model::ModelSettings {
        decides_advice: decides.iter().any(|l| l == "medical_advice"),
        decides_feedback: decides.iter().any(|l| l == "feedback"),
        enabled: raw.enabled.unwrap_or(true),
        medical_advice: probability("medical_advice", raw.medical_advice, defaults.medical_advice),
        feedback: probability("feedback", raw.feedback, defaults.feedback),
        min_known_tokens: raw.min_known_tokens.unwrap_or(defaults.min_known_tokens),
        overrule_feedback_below: raw.overrule_feedback_below.unwrap_or(defaults.overrule_feedback_below),
    };
    let overrule = settings.overrule_feedback_below;
    if !(0.0..1.0).contains(&overrule) || overrule >= settings.feedback {
        problems.file(
            SETTINGS,
            format!(
                "model.overrule_feedback_below = {overrule} must be at least 0 and below model.feedback ({})",
                settings.feedback
            ),
        );
    }
    if settings.min_known_tokens == 0 || settings.min_known_tokens > 50 {
        problems.file(
            SETTINGS,
            format!("model.min_known_tokens = {} is out of range (1 to 50)", settings.min_known_tokens),
        );
    }
    if !settings.enabled {
        return None;
    }
    model::load(
        settings,
        source.binaries.get(model::TABLE).cloned(),
        source.files.get(model::VOCAB).map(String::as_str),
        source.files.get(model::HEADS).map(String::as_str),
        problems,
    )
}

fn parse_file<T: DeserializeOwned>(source: &Source, file: &str, problems: &mut Problems) -> Option<T> {
    let Some(text) = source.files.get(file) else {
        problems.file(file, format!("missing (expected in {})", source.origin));
        return None;
    };
    match toml::from_str(text) {
        Ok(value) => Some(value),
        Err(e) => {
            problems.file(file, one_line(&e.to_string()));
            None
        }
    }
}

/// TOML errors span several lines with a source excerpt; keep the message and the position.
fn one_line(message: &str) -> String {
    message.split('\n').map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('|')).collect::<Vec<_>>().join(" ")
}

type ValidSettings = (
    Practice,
    StaffSettings,
    Thresholds,
    DiscordSettings,
    Option<Severity>,
    AcknowledgementSettings,
    StagnationSettings,
    RetentionSettings,
);

fn validate_settings(s: raw::Settings, problems: &mut Problems) -> ValidSettings {
    let f = SETTINGS;
    if s.practice.name.trim().is_empty() {
        problems.file(f, "practice.name is empty");
    }
    let country = s.practice.country.as_deref().unwrap_or("US");
    let codes: Vec<&str> =
        std::iter::once(country).chain(s.practice.phone_regions.iter().map(String::as_str)).collect();
    let regions = crate::phone::Regions::parse(&codes).unwrap_or_else(|code| {
        problems.file(
            f,
            format!("practice.country or practice.phone_regions: `{code}` is not a region code libphonenumber knows"),
        );
        crate::phone::Regions::default()
    });
    let digits_of = |field: &str, numbers: &[String], problems: &mut Problems| -> Vec<String> {
        numbers
            .iter()
            .filter_map(|n| {
                let d = crate::phone::e164(n, &regions);
                if d.is_none() {
                    problems.file(
                        f,
                        format!(
                            "practice.{field}: `{n}` is not a valid phone number in {country} or in international form"
                        ),
                    );
                }
                d
            })
            .collect()
    };
    let phones = digits_of("phone", &s.practice.phone, problems);
    let faxes = digits_of("fax", &s.practice.fax, problems);
    for email in &s.practice.email {
        if !email.contains('@') || email.contains(char::is_whitespace) {
            problems.file(f, format!("practice.email: `{email}` is not an email address"));
        }
    }
    let domains = s
        .practice
        .web
        .iter()
        .map(|w| {
            let w = w.trim().to_lowercase();
            let w = w.trim_start_matches("https://").trim_start_matches("http://").trim_start_matches("www.");
            w.split('/').next().unwrap_or_default().to_string()
        })
        .chain(s.practice.email.iter().filter_map(|e| e.rsplit_once('@').map(|(_, d)| d.to_lowercase())))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let addresses = s
        .practice
        .address
        .iter()
        .map(|a| {
            a.split(',').next().unwrap_or_default().to_lowercase().chars().filter(|c| c.is_alphanumeric()).collect()
        })
        .collect();
    let zips = s
        .practice
        .address
        .iter()
        .filter_map(|a| a.split(|c: char| !c.is_ascii_digit()).rfind(|w| w.len() == 5).map(str::to_string))
        .collect();
    let staff_words = s
        .practice
        .staff_names
        .iter()
        .flat_map(|n| n.split(|c: char| !c.is_alphanumeric()).map(str::to_lowercase).collect::<Vec<_>>())
        .filter(|w| w.len() > 1 && !matches!(w.as_str(), "dr" | "rn" | "np" | "md" | "dds" | "pa"))
        .collect();
    let practice = Practice {
        name: s.practice.name.trim().to_string(),
        phone_display: s.practice.phone.first().cloned(),
        regions,
        phones,
        faxes,
        emails: s.practice.email.iter().map(|e| e.to_lowercase()).collect(),
        domains,
        addresses,
        zips,
        staff_words,
    };

    // A channel or role given by id: Discord's ids are 1 or more (serenity panics on 0).
    let ids = s.staff.roles.iter().map(|r| ("staff.roles", r)).chain(
        s.discord.watch.iter().map(|c| ("discord.watch", c)).chain(
            [
                ("discord.alert_channel", &s.discord.alert_channel),
                ("discord.feedback_channel", &s.discord.feedback_channel),
                ("discord.reminder_channel", &s.discord.reminder_channel),
            ]
            .into_iter()
            .filter_map(|(field, c)| Some((field, c.as_ref()?))),
        ),
    );
    for (field, id) in ids {
        let id = id.trim().trim_start_matches('#');
        if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) && id.parse::<u64>().map_or(true, |n| n == 0) {
            problems.file(f, format!("{field}: `{id}` is not a Discord id (ids are whole numbers from 1 up)"));
        }
    }
    if s.staff.roles.iter().all(|r| r.trim().is_empty()) {
        problems.file(f, "staff.roles is empty: Bedside could not tell staff from patients");
    }
    let staff = StaffSettings {
        roles: s.staff.roles.iter().map(|r| r.trim().to_lowercase()).filter(|r| !r.is_empty()).collect(),
        fallback_permission: s.staff.fallback_permission.map(|p| p.trim().to_lowercase()),
    };
    if let Some(p) = &staff.fallback_permission {
        if !matches!(p.as_str(), "manage_messages" | "manage_guild" | "administrator" | "moderate_members") {
            problems.file(f, format!("staff.fallback_permission: `{p}` is not one of manage_messages, manage_guild, administrator, moderate_members"));
        }
    }

    for (name, value) in [
        ("medical_advice", s.thresholds.medical_advice),
        ("patient_details", s.thresholds.patient_details),
        ("feedback", s.thresholds.feedback),
    ] {
        if !(0.05..=2.0).contains(&value) {
            problems.file(f, format!("thresholds.{name} = {value} is out of range (0.05 to 2.0)"));
        }
    }
    let thresholds = Thresholds {
        medical_advice: s.thresholds.medical_advice,
        patient_details: s.thresholds.patient_details,
        feedback: s.thresholds.feedback,
    };

    let remove_at = match s.actions.remove_at.as_deref().map(str::trim) {
        None | Some("never") => None,
        Some(other) => match parse_severity(other) {
            Some(sev) => Some(sev),
            None => {
                problems.file(f, format!("actions.remove_at: `{other}` is not one of never, low, medium, high"));
                None
            }
        },
    };

    let mut hours = |field: &str, value: Option<f64>, default: f64, max: f64| -> Duration {
        let v = value.unwrap_or(default);
        if !(0.0..=max).contains(&v) || !v.is_finite() {
            problems.file(f, format!("{field} = {v} is out of range (0 to {max})"));
            return Duration::from_secs_f64(default * 3600.0);
        }
        Duration::from_secs_f64(v * 3600.0)
    };
    let acknowledgements = AcknowledgementSettings {
        cooldown: hours("acknowledgements.cooldown_hours", s.acknowledgements.cooldown_hours, 24.0, 24.0 * 365.0),
        max_age: hours("acknowledgements.max_age_hours", s.acknowledgements.max_age_hours, 48.0, 24.0 * 365.0),
    };
    let stagnation = StagnationSettings {
        stale_after: hours(
            "stagnation.stale_after_days",
            s.stagnation.stale_after_days.map(|d| d * 24.0),
            5.0 * 24.0,
            24.0 * 365.0,
        ),
        check_every: hours(
            "stagnation.check_every_minutes",
            s.stagnation.check_every_minutes.map(|m| m / 60.0),
            0.25,
            24.0,
        ),
    };
    let retention = RetentionSettings {
        retention: hours(
            "retention.retention_days",
            s.retention.retention_days.map(|d| d * 24.0),
            180.0 * 24.0,
            24.0 * 3650.0,
        ),
        catch_up: hours("retention.catch_up_hours", s.retention.catch_up_hours, 72.0, 24.0 * 30.0),
    };
    let discord = DiscordSettings {
        watch: s.discord.watch.iter().map(|c| c.trim().trim_start_matches('#').to_string()).collect(),
        alert_channel: s.discord.alert_channel.map(|c| c.trim().trim_start_matches('#').to_string()),
        feedback_channel: s.discord.feedback_channel.map(|c| c.trim().trim_start_matches('#').to_string()),
        reminder_channel: s.discord.reminder_channel.map(|c| c.trim().trim_start_matches('#').to_string()),
    };
    (practice, staff, thresholds, discord, remove_at, acknowledgements, stagnation, retention)
}

fn parse_severity(s: &str) -> Option<Severity> {
    match s {
        "low" => Some(Severity::Low),
        "medium" => Some(Severity::Medium),
        "high" => Some(Severity::High),
        _ => None,
    }
}

fn load_lexicons(source: &Source, problems: &mut Problems) -> BTreeMap<String, LexiconSpec> {
    let mut lexicons = BTreeMap::new();
    for (file, text) in source.under("lexicons") {
        let name = file.trim_start_matches("lexicons/").trim_end_matches(".toml").to_string();
        let raw: raw::Lexicon = match toml::from_str(text) {
            Ok(raw) => raw,
            Err(e) => {
                problems.file(file, one_line(&e.to_string()));
                continue;
            }
        };
        let mut seen = BTreeSet::new();
        let listed = raw.terms.iter().map(|t| (t, "terms")).chain(raw.ambiguous.iter().map(|t| (t, "ambiguous")));
        for (term, list) in listed {
            if term.trim().is_empty() {
                problems.file(file, format!("an empty term in `{list}`"));
            } else if term.trim() != term {
                problems.file(file, format!("term `{term}` has surrounding spaces"));
            } else if !seen.insert(term.to_lowercase()) {
                let twice = if list == "ambiguous" && raw.terms.iter().any(|t| t.eq_ignore_ascii_case(term)) {
                    "is in both `terms` and `ambiguous`"
                } else {
                    "is listed twice"
                };
                problems.file(file, format!("term `{term}` {twice}"));
            }
        }
        if raw.terms.is_empty() && raw.ambiguous.is_empty() {
            problems.file(file, "the word list is empty");
        }
        lexicons.insert(
            name,
            LexiconSpec {
                file: file.to_string(),
                description: raw.description,
                terms: raw.terms,
                ambiguous: raw.ambiguous,
            },
        );
    }
    lexicons
}

fn load_rules(
    source: &Source,
    lexicons: &BTreeMap<String, LexiconSpec>,
    compiled: &Compiled,
    problems: &mut Problems,
) -> Vec<RuleSpec> {
    let mut rules = Vec::new();
    let mut ids = BTreeSet::new();
    let mut any_file = false;
    for (file, text) in source.under("rules") {
        any_file = true;
        let table: toml::Table = match toml::from_str(text) {
            Ok(t) => t,
            Err(e) => {
                problems.file(file, one_line(&e.to_string()));
                continue;
            }
        };
        for key in table.keys().filter(|k| k.as_str() != "rule") {
            problems.file(file, format!("unknown key `{key}` (a rules file holds only [[rule]] tables)"));
        }
        let Some(entries) = table.get("rule") else {
            problems.file(file, "no [[rule]] tables");
            continue;
        };
        let Some(entries) = entries.as_array() else {
            problems.file(file, "`rule` must be an array of tables ([[rule]])");
            continue;
        };
        for (i, entry) in entries.iter().enumerate() {
            let label =
                entry.get("id").and_then(|v| v.as_str()).map(str::to_string).unwrap_or_else(|| format!("#{}", i + 1));
            let raw: raw::Rule = match entry.clone().try_into() {
                Ok(raw) => raw,
                Err(e) => {
                    problems.rule(file, &label, one_line(&e.to_string()));
                    continue;
                }
            };
            if !ids.insert(raw.id.clone()) {
                problems.rule(file, &raw.id, "the id is used by another rule");
            }
            if let Some(rule) = validate_rule(file, raw, lexicons, compiled, problems) {
                rules.push(rule);
            }
        }
    }
    if !any_file {
        problems.file("rules/", "no rule files: Bedside would find nothing");
    }
    rules
}

fn validate_rule(
    file: &str,
    raw: raw::Rule,
    lexicons: &BTreeMap<String, LexiconSpec>,
    compiled: &Compiled,
    problems: &mut Problems,
) -> Option<RuleSpec> {
    let id = raw.id.clone();
    let before = problems.len();
    let bad = |problem: String, problems: &mut Problems| problems.rule(file, &id, problem);

    if id.trim().is_empty() || id.contains(char::is_whitespace) {
        bad("the id must be a non-empty word like `advice.dose`".into(), problems);
    }
    let kind = Kind::parse(&raw.kind);
    if kind.is_none() {
        let names: Vec<_> = Kind::ALL.iter().map(|k| k.as_str()).collect();
        bad(format!("unknown kind `{}` (one of: {})", raw.kind, names.join(", ")), problems);
    }
    let severity = parse_severity(&raw.severity);
    if severity.is_none() {
        bad(format!("unknown severity `{}` (low, medium or high)", raw.severity), problems);
    }
    if raw.reason.trim().is_empty() {
        bad("the reason is empty: every finding must explain itself".into(), problems);
    }
    if !(0.0..=1.0).contains(&raw.score) {
        bad(format!("score = {} is out of range (0 to 1)", raw.score), problems);
    }
    if let Some(t) = raw.threshold {
        if !(0.05..=2.0).contains(&t) {
            bad(format!("threshold = {t} is out of range (0.05 to 2.0)"), problems);
        }
    }
    let ambiguous_factor = raw.ambiguous_factor.unwrap_or(0.5);
    if !(0.0..=1.0).contains(&ambiguous_factor) {
        bad(format!("ambiguous_factor = {ambiguous_factor} is out of range (0 to 1)"), problems);
    }
    let validate = raw.validate.as_deref().and_then(|v| {
        let parsed = Validator::parse(v);
        if parsed.is_none() {
            bad(
                format!("unknown validate `{v}` (nanp, phone, phone_possible, ssn, luhn, ipv4, age_over_89, date)"),
                problems,
            );
        }
        parsed
    });
    let trigger = validate_match(file, &id, "trigger", &raw.trigger, lexicons, compiled, problems);
    if matches!(trigger, Some(Matcher::Feature(_))) {
        bad("a trigger must be a pattern, lexicon or terms, not a feature".into(), problems);
    }
    let mut signals = Vec::new();
    for (i, s) in raw.signal.iter().enumerate() {
        let what = format!("signal {} (`{}`)", i + 1, s.name);
        if s.name.trim().is_empty() {
            bad(format!("signal {} has an empty name", i + 1), problems);
        }
        if !(-2.0..=2.0).contains(&s.weight) || s.weight == 0.0 {
            bad(format!("{what}: weight = {} must be non-zero, between -2 and 2", s.weight), problems);
        }
        if s.window.is_some_and(|w| w > 50) {
            bad(format!("{what}: window = {} is too wide (at most 50 words)", s.window.unwrap_or(0)), problems);
        }
        let side = match s.side.as_deref() {
            None | Some("either") => Side::Either,
            Some("before") => Side::Before,
            Some("after") => Side::After,
            Some(other) => {
                bad(format!("{what}: side `{other}` is not before, after or either"), problems);
                Side::Either
            }
        };
        let matcher = validate_match(file, &id, &what, &s.matcher, lexicons, compiled, problems);
        if let (Some(Matcher::Feature(feature)), Some(Kind::Name)) = (&matcher, kind) {
            if matches!(feature, Feature::Name | Feature::PatientRef) {
                bad(
                    format!(
                        "{what}: a name rule cannot depend on the `name` or `patient_ref` feature (it computes them)"
                    ),
                    problems,
                );
            }
        }
        if let Some(matcher) = matcher {
            signals.push(SignalSpec {
                name: s.name.trim().into(),
                matcher,
                window: s.window,
                side,
                weight: s.weight,
                required: s.required,
            });
        }
    }
    if problems.len() != before {
        return None;
    }
    Some(RuleSpec {
        id: id.as_str().into(),
        file: file.to_string(),
        kind: kind?,
        severity: severity?,
        reason: raw.reason.trim().into(),
        fix: raw.fix.map(|f| f.trim().into()),
        score: raw.score,
        threshold: raw.threshold,
        trigger: trigger?,
        validate,
        ambiguous_factor,
        signals,
    })
}

fn validate_match(
    file: &str,
    rule: &str,
    what: &str,
    m: &raw::Match,
    known_lexicons: &BTreeMap<String, LexiconSpec>,
    compiled: &Compiled,
    problems: &mut Problems,
) -> Option<Matcher> {
    let set = [m.pattern.is_some(), m.lexicon.is_some(), m.terms.is_some(), m.feature.is_some(), m.finder.is_some()];
    if set.iter().filter(|&&b| b).count() != 1 {
        problems.rule(file, rule, format!("{what}: give exactly one of pattern, lexicon, terms, feature, finder"));
        return None;
    }
    if let Some(name) = &m.finder {
        return match Finder::parse(name) {
            Some(f) => Some(Matcher::Finder(f)),
            None => {
                problems.rule(file, rule, format!("{what}: unknown finder `{name}` (one of: person_name)"));
                None
            }
        };
    }
    if let Some(lexicons) = &m.lexicon {
        let names = lexicons.names();
        if names.is_empty() {
            problems.rule(file, rule, format!("{what}: an empty list of lexicons"));
            return None;
        }
        for name in &names {
            if !known_lexicons.contains_key(*name) {
                let known: Vec<_> = known_lexicons.keys().map(String::as_str).collect();
                problems.rule(file, rule, format!("{what}: unknown lexicon `{name}` (known: {})", known.join(", ")));
                return None;
            }
        }
        let names = names.iter().map(|n| n.to_string()).collect();
        return Some(Matcher::Lexicon { names, case_sensitive: m.case_sensitive });
    }
    if let Some(name) = &m.feature {
        return match Feature::parse(name) {
            Some(f) => Some(Matcher::Feature(f)),
            None => {
                problems.rule(file, rule, format!("{what}: unknown feature `{name}` (one of: {})", Feature::NAMES));
                None
            }
        };
    }
    let source = match (&m.pattern, &m.terms) {
        (Some(p), _) => p.clone(),
        (_, Some(terms)) => {
            if terms.is_empty() || terms.iter().any(|t| t.trim().is_empty()) {
                problems.rule(file, rule, format!("{what}: terms must be a non-empty list of non-empty words"));
                return None;
            }
            format!(r"\b(?:{})\b", terms.iter().map(|t| regex::escape(t.trim())).collect::<Vec<_>>().join("|"))
        }
        _ => return None,
    };
    let regex = pattern_text(&source, m.case_sensitive, known_lexicons)
        .and_then(|text| compiled.0.get(&text).cloned().map_or_else(|| build_pattern(&text), Ok));
    match regex {
        Ok(regex) => Some(Matcher::Pattern { regex }),
        Err(e) => {
            problems.rule(file, rule, format!("{what}: {e}"));
            None
        }
    }
}

/// Regex patterns in config are written for people: `\b` means a word boundary and
/// `{lexicon:NAME}` stands for a word list. This turns one into the regex that runs: word
/// boundaries become ASCII ones (`(?-u:\b)`: Unicode `\b` defeats the fast DFA on text with emoji
/// or accents, ~100× slower), lexicons become alternations, and the case flag is applied.
///
/// `\d`, `\s` and `\w` become their ASCII classes too. Rules read normalized text (full-width
/// digits and look-alike letters are already ASCII there), and the Unicode classes (hundreds of
/// multi-byte ranges each) made the compiled patterns and their search caches about 15 MB larger
/// for the same matches on the corpus and a 200,000-line sample. A letter of any script is `\p{L}`.
pub fn compile_pattern(
    source: &str,
    case_sensitive: bool,
    lexicons: &BTreeMap<String, LexiconSpec>,
) -> Result<Regex, String> {
    build_pattern(&pattern_text(source, case_sensitive, lexicons)?)
}

/// The final text of a pattern's regex: [`compile_pattern`] without the compiling.
fn pattern_text(
    source: &str,
    case_sensitive: bool,
    lexicons: &BTreeMap<String, LexiconSpec>,
) -> Result<String, String> {
    let mut expanded = String::with_capacity(source.len() + 16);
    let mut rest = source;
    while let Some(at) = rest.find("{lexicon:") {
        expanded.push_str(&rest[..at]);
        let after = &rest[at + "{lexicon:".len()..];
        let Some(end) = after.find('}') else {
            return Err("`{lexicon:` without a closing `}`".into());
        };
        let name = &after[..end];
        let Some(lexicon) = lexicons.get(name) else {
            return Err(format!("unknown lexicon `{name}` in the pattern"));
        };
        let mut terms: Vec<&String> = lexicon.terms.iter().chain(&lexicon.ambiguous).collect();
        // Longest first, so an alternation prefers "root canal" over "root".
        terms.sort_by_key(|t| std::cmp::Reverse(t.len()));
        expanded.push_str("(?:");
        expanded.push_str(&terms.iter().map(|t| regex::escape(t)).collect::<Vec<_>>().join("|"));
        // Plurals match as they do for word-list triggers ("levels" for "level").
        expanded.push_str(")(?:e?s)?");
        rest = &after[end + 1..];
    }
    expanded.push_str(rest);
    let mut final_pattern = String::with_capacity(expanded.len() + 32);
    if !case_sensitive {
        final_pattern.push_str("(?i)");
    }
    // Inside `[...]`, a class shorthand is spelled out without brackets of its own.
    let mut class_depth = 0usize;
    let mut chars = expanded.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('b') => final_pattern.push_str("(?-u:\\b)"),
                Some('B') => final_pattern.push_str("(?-u:\\B)"),
                Some(short @ ('d' | 's' | 'w')) => {
                    let ascii = match short {
                        'd' => "0-9",
                        's' => "\\t\\n\\x0B\\x0C\\r ",
                        _ => "0-9A-Za-z_",
                    };
                    if class_depth > 0 {
                        final_pattern.push_str(ascii);
                    } else {
                        final_pattern.push('[');
                        final_pattern.push_str(ascii);
                        final_pattern.push(']');
                    }
                }
                Some(other) => {
                    final_pattern.push('\\');
                    final_pattern.push(other);
                }
                None => final_pattern.push('\\'),
            },
            '[' => {
                class_depth += 1;
                final_pattern.push(c);
            }
            ']' if class_depth > 0 => {
                class_depth -= 1;
                final_pattern.push(c);
            }
            _ => final_pattern.push(c),
        }
    }
    Ok(final_pattern)
}

/// Compiles a pattern's final text (see [`pattern_text`]).
fn build_pattern(final_pattern: &str) -> Result<Regex, String> {
    regex::RegexBuilder::new(final_pattern)
        .size_limit(32 << 20)
        // Each pattern is searched only where its set says it occurs (to locate it), and its lazy
        // DFA cache grows only as far as its text needs. At 256 KB a few Unicode-class patterns
        // (street names, `\p{Lu}[\p{L}-]*…`) cleared their cache over and over: the corpus bench
        // ran ~41,700 messages/s, ~53,900 at 512 KB and ~55,600 at 1 MB. But the caches are the
        // live bot's memory too: the load run's peak was 63.3 MB at 256 KB, 63.5 at 512 KB and
        // 69.4 at 1 MB, against a 64 MB goal (docs/performance.md).
        .dfa_size_limit(512 << 10)
        .build()
        .map_err(|e| format!("bad regex: {}", one_line(&e.to_string())))
}

fn validate_templates(raw: raw::Templates, problems: &mut Problems) -> Templates {
    for (kind, list) in [("praise", &raw.praise), ("complaint", &raw.complaint), ("suggestion", &raw.suggestion)] {
        if list.is_empty() {
            problems.file(TEMPLATES, format!("`{kind}` has no templates"));
        }
        for t in list {
            if t.trim().is_empty() {
                problems.file(TEMPLATES, format!("`{kind}` has an empty template"));
            }
            for placeholder in placeholders(t) {
                if !matches!(placeholder, "practice_name" | "practice_phone") {
                    problems.file(TEMPLATES, format!("`{kind}` template uses unknown placeholder {{{placeholder}}} (known: {{practice_name}}, {{practice_phone}})"));
                }
            }
        }
    }
    for t in &raw.complaint {
        if !t.contains("{practice_phone}") {
            problems.file(TEMPLATES, "every `complaint` template must invite private contact with {practice_phone}");
        }
    }
    Templates { praise: raw.praise, complaint: raw.complaint, suggestion: raw.suggestion, forbidden: raw.forbidden }
}

fn placeholders(template: &str) -> impl Iterator<Item = &str> {
    template.split('{').skip(1).filter_map(|part| part.split_once('}').map(|(name, _)| name))
}

fn validate_tips(raw: raw::Tips, problems: &mut Problems) -> TipBook {
    let mut days = raw.cooloff_days.unwrap_or(30.0);
    if !(0.0..=3650.0).contains(&days) {
        // NaN is never in range; the default stands in so loading can go on to report the rest.
        problems.file(TIPS, format!("cooloff_days = {days} is out of range (0 to 3650)"));
        days = 30.0;
    }
    if raw.tip.is_empty() {
        problems.file(TIPS, "no [[tip]] entries: reminders would have nothing to suggest");
    }
    let mut ids = BTreeSet::new();
    let tips = raw
        .tip
        .into_iter()
        .filter_map(|t| {
            if !ids.insert(t.id.clone()) {
                problems.rule(TIPS, &t.id, "the id is used by another tip");
            }
            if t.text.trim().is_empty() || t.text.chars().count() > TIP_MAX_CHARS {
                problems.rule(TIPS, &t.id, format!("text must be 1 to {TIP_MAX_CHARS} characters"));
            }
            let kind = match t.kind.as_str() {
                "tip" => TipKind::Tip,
                "product" => TipKind::Product,
                other => {
                    problems.rule(TIPS, &t.id, format!("kind `{other}` is not tip or product"));
                    return None;
                }
            };
            Some(Tip { id: t.id, kind, topic: t.topic, text: t.text.trim().to_string() })
        })
        .collect();
    TipBook { cooloff: Duration::from_secs_f64(days * 86400.0), tips }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::{Compiled, Config, Matcher, Source, compile_pattern, load, load_reusing};

    /// Each rule's id with the final text of its patterns.
    fn patterns(config: &Config) -> Vec<(String, Vec<String>)> {
        let text = |m: &Matcher| match m {
            Matcher::Pattern { regex } => Some(regex.as_str().to_string()),
            _ => None,
        };
        config.rules.iter().map(|r| (r.id.to_string(), r.matchers().filter_map(text).collect())).collect()
    }

    const NEW_RULE: &str = r#"
[[rule]]
id = "advice.test-new"
kind = "directive"
severity = "low"
reason = "a rule only this test has"
score = 1.0
trigger = { pattern = "\\bzebrafrost\\b" }
"#;

    #[test]
    fn reusing_compiled_patterns_changes_no_rule_and_no_problem() {
        let shipped = Source::embedded();
        let config = load(&shipped).expect("the shipped configuration loads");
        let compiled = Compiled::of(&config);
        assert!(compiled.len() > 100, "every pattern of the shipped rules: {}", compiled.len());
        let again = load_reusing(&shipped, &compiled).expect("loads");
        assert_eq!(patterns(&again), patterns(&config));

        // A pattern the compiled ones do not have is compiled, and matches.
        let mut edited = shipped.clone();
        edited.files.get_mut("rules/advice.toml").expect("advice rules").push_str(NEW_RULE);
        let grown = load_reusing(&edited, &compiled).expect("loads");
        assert_eq!(patterns(&grown), patterns(&load(&edited).expect("loads")));
        let new = grown.rules.iter().find(|r| &*r.id == "advice.test-new").expect("the new rule");
        assert!(matches!(&new.trigger, Matcher::Pattern { regex } if regex.is_match("try ZEBRAFROST now")));

        // A broken one is reported just as without them.
        let broken = NEW_RULE.replace("test-new", "test-broken").replace("zebrafrost", "(unclosed");
        edited.files.get_mut("rules/advice.toml").expect("advice rules").push_str(&broken);
        let (fresh, reused) =
            (load(&edited).expect_err("refused"), load_reusing(&edited, &compiled).expect_err("refused"));
        assert_eq!(reused.problems, fresh.problems);
        assert!(reused.problems.iter().any(|p| p.rule.as_deref() == Some("advice.test-broken")), "{reused}");
    }

    #[test]
    fn class_shorthands_become_ascii_inside_and_outside_brackets() {
        let none = BTreeMap::new();
        let re = compile_pattern(r"\b\d{3}[\d-]\s+\w+\b", false, &none).expect("compiles");
        assert_eq!(re.as_str(), r"(?i)(?-u:\b)[0-9]{3}[0-9-][\t\n\x0B\x0C\r ]+[0-9A-Za-z_]+(?-u:\b)");
        assert!(re.is_match("call 555- today"));
        assert!(!re.is_match("call ５５５- today"), "full-width digits are the normalizer's job");
        let escaped = compile_pattern(r"[\]\d]x\\d", true, &none).expect("compiles");
        assert_eq!(escaped.as_str(), r"[\]0-9]x\\d", "an escaped bracket or backslash is left alone");
        assert!(escaped.is_match(r"]x\d") && escaped.is_match(r"7x\d"));
    }
}
