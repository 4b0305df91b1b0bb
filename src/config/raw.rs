//! The TOML shapes, exactly as a practice writes them. Nothing here is trusted: `config::load`
//! turns these into validated types, and a rule is parsed on its own so that one bad rule does not
//! hide the problems of the next.

use serde::Deserialize;

/// `bedside.toml`: the practice and how Bedside behaves for it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub practice: Practice,
    pub staff: Staff,
    pub thresholds: Thresholds,
    #[serde(default)]
    pub discord: Discord,
    #[serde(default)]
    pub actions: Actions,
    #[serde(default)]
    pub acknowledgements: Acknowledgements,
    #[serde(default)]
    pub stagnation: Stagnation,
    #[serde(default)]
    pub retention: Retention,
    #[serde(default)]
    pub model: Option<Model>,
}

/// `[model]`: the learned layer beside the rules.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Model {
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub medical_advice: Option<f32>,
    #[serde(default)]
    pub feedback: Option<f32>,
    #[serde(default)]
    pub min_known_tokens: Option<usize>,
    #[serde(default)]
    pub overrule_feedback_below: Option<f32>,
    /// Which labels the layer may decide (`medical_advice`, `feedback`).
    #[serde(default)]
    pub decides: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Practice {
    pub name: String,
    /// The practice's country (ISO 3166, `US` when absent): the first region phone numbers
    /// written without a country code are read in.
    #[serde(default)]
    pub country: Option<String>,
    /// Further regions whose national phone formats patients use, tried after `country`.
    #[serde(default)]
    pub phone_regions: Vec<String>,
    #[serde(default)]
    pub phone: Vec<String>,
    #[serde(default)]
    pub fax: Vec<String>,
    #[serde(default)]
    pub email: Vec<String>,
    #[serde(default)]
    pub web: Vec<String>,
    #[serde(default)]
    pub address: Vec<String>,
    #[serde(default)]
    pub staff_names: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Staff {
    /// Role names or ids, case-insensitive.
    pub roles: Vec<String>,
    /// A permission that also makes a member staff, e.g. `manage_messages`.
    #[serde(default)]
    pub fallback_permission: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    pub medical_advice: f32,
    pub patient_details: f32,
    pub feedback: f32,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Discord {
    #[serde(default)]
    pub watch: Vec<String>,
    #[serde(default)]
    pub alert_channel: Option<String>,
    #[serde(default)]
    pub feedback_channel: Option<String>,
    #[serde(default)]
    pub reminder_channel: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Actions {
    /// `never`, or the lowest severity at which a flagged staff message is also removed.
    #[serde(default)]
    pub remove_at: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Acknowledgements {
    #[serde(default)]
    pub cooldown_hours: Option<f64>,
    /// Feedback older than this when first seen (after downtime) gets no public reply.
    #[serde(default)]
    pub max_age_hours: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stagnation {
    #[serde(default)]
    pub stale_after_days: Option<f64>,
    #[serde(default)]
    pub check_every_minutes: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Retention {
    #[serde(default)]
    pub retention_days: Option<f64>,
    #[serde(default)]
    pub catch_up_hours: Option<f64>,
}

/// `lexicons/NAME.toml`: a word list.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lexicon {
    pub description: String,
    pub terms: Vec<String>,
    #[serde(default)]
    pub ambiguous: Vec<String>,
}

/// One `[[rule]]` of a `rules/*.toml` file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub id: String,
    pub kind: String,
    pub severity: String,
    pub reason: String,
    /// How to fix it, shown to the author.
    #[serde(default)]
    pub fix: Option<String>,
    /// The score a trigger match starts with, before signals.
    pub score: f32,
    pub trigger: Match,
    /// Overrides the label's threshold for this rule.
    #[serde(default)]
    pub threshold: Option<f32>,
    /// A check the trigger's text must pass (`nanp`, `ssn`, `luhn`, `ipv4`, `age_over_89`, `date`).
    #[serde(default)]
    pub validate: Option<String>,
    /// Multiplies the base score when the trigger is an `ambiguous` lexicon term (default 0.5).
    #[serde(default)]
    pub ambiguous_factor: Option<f32>,
    #[serde(default)]
    pub signal: Vec<Signal>,
}

/// What to look for: exactly one of `pattern`, `lexicon`, `terms`, `feature`, `finder`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Match {
    #[serde(default)]
    pub pattern: Option<String>,
    /// One word list, or several (`["care_words", "procedures"]`): any of their terms.
    #[serde(default)]
    pub lexicon: Option<Lexicons>,
    #[serde(default)]
    pub terms: Option<Vec<String>>,
    #[serde(default)]
    pub feature: Option<String>,
    /// A finder built into Bedside (`person_name`: names by list and by shape).
    #[serde(default)]
    pub finder: Option<String>,
    /// Patterns and word lists match case-insensitively unless this is true.
    #[serde(default)]
    pub case_sensitive: bool,
}

/// Evidence near a trigger that raises (or, with a negative weight, lowers) its score.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signal {
    /// Shown in the finding's reason: say what it is, never quote the match.
    pub name: String,
    #[serde(rename = "match")]
    pub matcher: Match,
    /// How many words away from the trigger it may be; absent: anywhere in the message.
    #[serde(default)]
    pub window: Option<u32>,
    /// `before`, `after` or `either` (default) the trigger.
    #[serde(default)]
    pub side: Option<String>,
    pub weight: f32,
    /// The trigger counts only when this signal is present (a weak pattern that needs its context).
    #[serde(default)]
    pub required: bool,
}

/// `templates.toml`: acknowledgement replies by feedback kind.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Templates {
    pub praise: Vec<String>,
    pub complaint: Vec<String>,
    pub suggestion: Vec<String>,
    /// Phrases no acknowledgement may contain, on top of passing Bedside's own staff checks.
    #[serde(default)]
    pub forbidden: Vec<String>,
}

/// `tips.toml`: vetted tips for quiet channels.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tips {
    #[serde(default)]
    pub cooloff_days: Option<f64>,
    #[serde(default)]
    pub tip: Vec<Tip>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tip {
    pub id: String,
    pub kind: String,
    pub topic: String,
    pub text: String,
}

/// A word list by name, or several.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Lexicons {
    One(String),
    Many(Vec<String>),
}

impl Lexicons {
    pub fn names(&self) -> Vec<&str> {
        match self {
            Lexicons::One(name) => vec![name.as_str()],
            Lexicons::Many(names) => names.iter().map(String::as_str).collect(),
        }
    }
}
