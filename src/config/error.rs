//! Config problems, each naming the file, the rule (when there is one) and the cause, and the
//! list of all of them that a load returns at once.

use std::fmt;

/// One thing wrong with the configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub file: String,
    pub rule: Option<String>,
    pub problem: String,
}

impl Problem {
    pub fn new(file: impl Into<String>, problem: impl Into<String>) -> Self {
        Problem { file: file.into(), rule: None, problem: problem.into() }
    }

    pub fn in_rule(file: impl Into<String>, rule: impl Into<String>, problem: impl Into<String>) -> Self {
        Problem { file: file.into(), rule: Some(rule.into()), problem: problem.into() }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.rule {
            Some(rule) => write!(f, "{}: rule `{}`: {}", self.file, rule, self.problem),
            None => write!(f, "{}: {}", self.file, self.problem),
        }
    }
}

/// Every problem found while loading a configuration. Never empty.
#[derive(Debug, thiserror::Error)]
pub struct ConfigError {
    pub problems: Vec<Problem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        writeln!(f, "the configuration has {n} problem{}:", if n == 1 { "" } else { "s" })?;
        for problem in &self.problems {
            writeln!(f, "  - {problem}")?;
        }
        Ok(())
    }
}

/// Collects problems while a load goes on, so that one run reports all of them.
#[derive(Debug, Default)]
pub struct Problems(Vec<Problem>);

impl Problems {
    pub fn push(&mut self, problem: Problem) {
        self.0.push(problem);
    }

    pub fn file(&mut self, file: &str, problem: impl Into<String>) {
        self.push(Problem::new(file, problem));
    }

    pub fn rule(&mut self, file: &str, rule: &str, problem: impl Into<String>) {
        self.push(Problem::in_rule(file, rule, problem));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// `Ok(())` when nothing was wrong, else every problem collected.
    pub fn finish(self) -> Result<(), ConfigError> {
        if self.0.is_empty() { Ok(()) } else { Err(ConfigError { problems: self.0 }) }
    }
}
