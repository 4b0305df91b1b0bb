//! Where configuration text comes from: a directory a practice edits, or the defaults embedded in
//! the binary (the same files as `config/` in the repository), so `bedside` runs with no setup.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::error::{ConfigError, Problem};

/// The configuration files, by path relative to the config directory (`rules/advice.toml`).
#[derive(Clone, Debug)]
pub struct Source {
    /// Shown in messages: the directory, or `embedded defaults`.
    pub origin: String,
    pub files: BTreeMap<String, String>,
}

macro_rules! embedded {
    ($($path:literal),* $(,)?) => {
        /// Every file of the default configuration, compiled into the binary.
        pub const EMBEDDED: &[(&str, &str)] = &[
            $( ($path, include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/config/", $path))) ),*
        ];
    };
}

embedded! {
    "bedside.toml",
    "templates.toml",
    "tips.toml",
    "rules/advice.toml",
    "rules/feedback.toml",
    "rules/identifiers.toml",
    "rules/patient_context.toml",
    "lexicons/anatomy.toml",
    "lexicons/care_words.toml",
    "lexicons/conditions.toml",
    "lexicons/drugs.toml",
    "lexicons/feedback_targets.toml",
    "lexicons/first_names.toml",
    "lexicons/honorifics.toml",
    "lexicons/patient_nouns.toml",
    "lexicons/procedures.toml",
    "lexicons/results.toml",
    "lexicons/sentiment_negative.toml",
    "lexicons/sentiment_positive.toml",
    "lexicons/symptoms.toml",
}

impl Source {
    pub fn embedded() -> Source {
        Source {
            origin: "embedded defaults".to_string(),
            files: EMBEDDED.iter().map(|(path, text)| (path.to_string(), text.to_string())).collect(),
        }
    }

    /// Reads every `.toml` file under `dir`. A directory that cannot be read is a config error.
    pub fn from_dir(dir: &Path) -> Result<Source, ConfigError> {
        let mut files = BTreeMap::new();
        let mut problems = Vec::new();
        if !dir.is_dir() {
            return Err(ConfigError { problems: vec![Problem::new(dir.display().to_string(), "is not a directory")] });
        }
        let mut pending = vec![dir.to_path_buf()];
        while let Some(folder) = pending.pop() {
            let entries = match std::fs::read_dir(&folder) {
                Ok(entries) => entries,
                Err(e) => {
                    problems.push(Problem::new(folder.display().to_string(), format!("cannot read: {e}")));
                    continue;
                }
            };
            for entry in entries.flatten() {
                let path: PathBuf = entry.path();
                if path.is_dir() {
                    pending.push(path);
                } else if path.extension().is_some_and(|e| e == "toml") {
                    let relative = path.strip_prefix(dir).unwrap_or(&path).to_string_lossy().replace('\\', "/");
                    match std::fs::read_to_string(&path) {
                        Ok(text) => {
                            files.insert(relative, text);
                        }
                        Err(e) => problems.push(Problem::new(path.display().to_string(), format!("cannot read: {e}"))),
                    }
                }
            }
        }
        if problems.is_empty() {
            Ok(Source { origin: dir.display().to_string(), files })
        } else {
            Err(ConfigError { problems })
        }
    }

    /// The files under `folder/`, in name order.
    pub fn under<'a>(&'a self, folder: &'a str) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        self.files
            .iter()
            .filter(move |(path, _)| path.strip_prefix(folder).is_some_and(|rest| rest.starts_with('/')))
            .map(|(path, text)| (path.as_str(), text.as_str()))
    }
}
