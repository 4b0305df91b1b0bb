//! Reloading the configuration while the bot runs (SIGHUP, or `/bedside reload` from staff).
//!
//! The configuration directory is read and validated again, exactly as at start. If it is valid,
//! the bot swaps it in whole (see `Bot::reload`): nothing waits for the swap, a decision already
//! queued finishes on the rules it was queued with, the next ones use the new configuration, and no
//! event is dropped. If it is not, the running configuration stays, and staff are told every
//! problem in the alert channel.

use crate::config::ConfigError;
use crate::notice::Notice;

/// What a reload did.
#[derive(Debug)]
pub enum Reloaded {
    /// The new configuration runs from now on.
    Swapped { origin: String, rules: usize },
    /// The directory has problems; the running configuration stays.
    Kept(ConfigError),
    /// Bedside runs on the configuration built into it (no `--config` directory): nothing to read.
    Embedded,
}

impl Reloaded {
    /// The answer to `/bedside reload`.
    pub fn reply(&self) -> String {
        match self {
            Reloaded::Swapped { origin, rules } => {
                format!("Reloaded the configuration from {origin}: {rules} rules. It applies from the next message.")
            }
            Reloaded::Kept(e) => format!(
                "The configuration has {} problem(s), so Bedside keeps running on the one it had. \
                 Each is listed in the alert channel.",
                e.problems.len()
            ),
            Reloaded::Embedded => "Bedside runs on its built-in configuration (no --config directory), so there is \
                                   nothing to reload."
                .to_string(),
        }
    }
}

/// Discord's limit for an embed's description, less room for the last line.
const DESCRIPTION_ROOM: usize = 3900;

/// The alert-channel notice that lists every problem of a configuration that was not applied.
pub fn problems_notice(origin: &str, error: &ConfigError) -> Notice {
    let mut description = format!(
        "The configuration in {origin} was not applied: Bedside keeps running on the one it had. Fix these and \
         reload again (`/bedside reload`, or SIGHUP):\n"
    );
    for (i, problem) in error.problems.iter().enumerate() {
        let line = format!("\n• {problem}");
        if description.len() + line.len() > DESCRIPTION_ROOM {
            description
                .push_str(&format!("\n…and {} more (`bedside config check` lists them all)", error.problems.len() - i));
            break;
        }
        description.push_str(&line);
    }
    Notice {
        title: "Configuration not reloaded".to_string(),
        description,
        fields: Vec::new(),
        colour: 0xC0392B,
        content: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Problem;

    #[test]
    fn every_problem_is_listed_and_a_long_list_stays_within_discords_limit() {
        let few = ConfigError {
            problems: vec![
                Problem::new("bedside.toml", "thresholds.medical_advice = 7 is out of range"),
                Problem::new("rules/advice.toml", "unknown kind `dosage`"),
            ],
        };
        let notice = problems_notice("/etc/bedside", &few);
        assert!(notice.description.contains("bedside.toml: thresholds.medical_advice = 7"), "{}", notice.description);
        assert!(notice.description.contains("rules/advice.toml: unknown kind `dosage`"), "{}", notice.description);

        let many = ConfigError {
            problems: (0..500).map(|i| Problem::new("rules/advice.toml", format!("problem number {i}"))).collect(),
        };
        let notice = problems_notice("/etc/bedside", &many);
        assert!(notice.description.chars().count() <= 4096, "Discord's limit");
        assert!(notice.description.contains("more (`bedside config check` lists them all)"));
    }
}
