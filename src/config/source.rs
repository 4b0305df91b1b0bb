//! Where configuration text comes from: a directory a practice edits, or the defaults embedded in
//! the binary (the same files as `config/` in the repository), so `bedside` runs with no setup.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::error::{ConfigError, Problem};

/// The configuration files, by path relative to the config directory (`rules/advice.toml`).
#[derive(Clone, Debug)]
pub struct Source {
    /// Shown in messages: the directory, or `embedded defaults`.
    pub origin: String,
    pub files: BTreeMap<String, String>,
    /// Binary files (the learned layer's token table), by the same relative paths.
    pub binaries: BTreeMap<String, Cow<'static, [u8]>>,
}

/// The binary files of the default configuration, compiled into the binary.
pub const EMBEDDED_BINARIES: &[(&str, &[u8])] =
    &[("model/table.bin", include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/config/model/table.bin")))];

/// Binary files read from a configuration directory, by extension.
const BINARY_EXTENSIONS: &[&str] = &["bin"];
/// Text files read from a configuration directory, by extension.
const TEXT_EXTENSIONS: &[&str] = &["toml", "txt"];

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
    "model/heads.toml",
    "model/vocab.txt",
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
            binaries: EMBEDDED_BINARIES.iter().map(|(path, bytes)| (path.to_string(), Cow::Borrowed(*bytes))).collect(),
        }
    }

    /// Reads every `.toml` and `.txt` file under `dir`, and every `.bin` file as bytes. A directory that cannot be read is a config error.
    pub fn from_dir(dir: &Path) -> Result<Source, ConfigError> {
        let mut files = BTreeMap::new();
        let mut binaries = BTreeMap::new();
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
                } else if path.extension().is_some_and(|e| BINARY_EXTENSIONS.iter().any(|b| e == *b)) {
                    let relative = path.strip_prefix(dir).unwrap_or(&path).to_string_lossy().replace('\\', "/");
                    match std::fs::read(&path) {
                        Ok(bytes) => {
                            binaries.insert(relative, Cow::Owned(bytes));
                        }
                        Err(e) => problems.push(Problem::new(path.display().to_string(), format!("cannot read: {e}"))),
                    }
                } else if path.extension().is_some_and(|e| TEXT_EXTENSIONS.iter().any(|t| e == *t)) {
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
            Ok(Source { origin: dir.display().to_string(), files, binaries })
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
