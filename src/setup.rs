//! A configuration ready to run: loaded, validated, its rules compiled into a [`Detector`], and
//! its acknowledgement templates and tips vetted by that detector (a reply or tip Bedside would
//! itself flag is a config error, named by file and entry).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::acknowledge;
use crate::config::{self, Config, ConfigError, Problem, Source};
use crate::detect::{Detector, Message, Role};

/// Everything a run needs from configuration.
#[derive(Clone, Debug)]
pub struct Setup {
    pub config: Arc<Config>,
    pub detector: Arc<Detector>,
    /// The directory it was read from (`None`: the built-in configuration), so that the running
    /// bot can read it again on a reload.
    pub dir: Option<PathBuf>,
}

impl Setup {
    /// Loads from a directory, or the embedded defaults when `dir` is `None`.
    pub fn load(dir: Option<&Path>) -> Result<Setup, ConfigError> {
        let source = match dir {
            Some(dir) => Source::from_dir(dir)?,
            None => Source::embedded(),
        };
        let setup = Setup::from_source(&source)?;
        Ok(Setup { dir: dir.map(Path::to_path_buf), ..setup })
    }

    pub fn from_source(source: &Source) -> Result<Setup, ConfigError> {
        let config = config::load(source)?;
        let detector = Detector::new(&config)
            .map_err(|e| ConfigError { problems: vec![Problem::new("rules/", e.to_string())] })?;
        let mut problems = Vec::new();
        for kind in crate::detect::FeedbackKind::ALL {
            for (i, template) in config.templates.for_kind(kind).iter().enumerate() {
                let rendered = acknowledge::render(template, &config.practice);
                if let Err(why) = acknowledge::vet(&rendered, &config.templates.forbidden, &detector) {
                    problems.push(Problem::new("templates.toml", format!("{kind} template {}: {why}", i + 1)));
                }
            }
        }
        for tip in &config.tips.tips {
            let analysis = detector.analyze(&Message::new(&tip.text, Role::Staff));
            if let Some(f) = analysis.counted().next() {
                problems.push(Problem::in_rule(
                    "tips.toml",
                    &tip.id,
                    format!("Bedside would flag this tip itself (rule `{}`: {})", f.rule, f.rule_reason),
                ));
            }
        }
        if !problems.is_empty() {
            return Err(ConfigError { problems });
        }
        // The detector holds the learned layer's per-token scores; the table they came from
        // would stay in memory for as long as the bot runs (measured in docs/performance.md).
        let mut config = config;
        if let Some(model) = config.model.as_mut() {
            model.release_table();
        }
        // Vetting grew each regex's match caches on text no run will see again (measured: ~9 MB,
        // over half of `bedside check`'s heap); what runs from here starts with empty ones.
        Ok(Setup { config: Arc::new(config), detector: Arc::new(detector.fresh()), dir: None })
    }
}
