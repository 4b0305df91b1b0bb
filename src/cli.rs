//! The `bedside` command line: `check`, `classify`, `scan`, `config check` (and, from the live
//! bot, `run`). Each command reads its input, asks the core, and prints; exit codes are
//! 0 clean, 1 found, 2 error (for `scan`, any input it could not read; `classify` answers an
//! unreadable line in place and exits 1).

use std::io::{self, BufRead, BufWriter, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use serde::{Deserialize, Serialize};

use crate::config::ConfigError;
use crate::detect::{Analysis, Detector, Finding, Message, Role};
use crate::export::{self, Item};
use crate::scan::Scanner;
use crate::setup::Setup;

#[derive(Debug, Parser)]
#[command(name = "bedside", version, about = "Keeps a healthcare practice's Discord server professional.")]
pub struct Cli {
    /// Configuration directory (default: the configuration built into bedside).
    #[arg(long, global = true, env = "BEDSIDE_CONFIG", value_name = "DIR")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check one draft: prints the verdict and each finding. Exit 0 clean, 1 flagged, 2 error.
    Check {
        /// The text to check (default: standard input).
        text: Option<String>,
        /// Who would post it.
        #[arg(long, value_enum, default_value_t = RoleArg::Staff)]
        role: RoleArg,
        /// Check it as a reply to someone.
        #[arg(long)]
        reply: bool,
    },
    /// Classify JSON Lines from stdin ({"id","role","text"}) into JSON Lines on stdout.
    Classify,
    /// Audit DiscordChatExporter JSON exports (files or folders of them). Exit 0 nothing flagged,
    /// 1 a staff message flagged, 2 an input could not be read (named on stderr; the rest is still read).
    Scan {
        #[arg(required = true, value_name = "EXPORT")]
        exports: Vec<PathBuf>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Another staff role (name or id); adds to the configured ones.
        #[arg(long = "staff-role", value_name = "NAME_OR_ID")]
        staff_roles: Vec<String>,
        /// How many flagged messages and unanswered feedback items to list (counts are always complete).
        #[arg(long, default_value_t = 200, value_name = "N")]
        max_listed: usize,
    },
    /// Run the bot on Discord. Needs DISCORD_TOKEN (environment or .env); flags override config/.
    Run {
        /// A channel to watch (name or id; threads under it too). Replaces discord.watch.
        #[arg(long = "watch", value_name = "CHANNEL")]
        watch: Vec<String>,
        /// Another staff role (name or id); adds to staff.roles.
        #[arg(long = "staff-role", value_name = "ROLE")]
        staff_roles: Vec<String>,
        /// The private channel for flags (name or id).
        #[arg(long, value_name = "CHANNEL")]
        alert_channel: Option<String>,
        /// The private channel where patient feedback is shared (name or id).
        #[arg(long, value_name = "CHANNEL")]
        feedback_channel: Option<String>,
        /// How many gateway connections (shards) to open. Default: as many as Discord recommends
        /// (one below 1,000 servers). A host serving several practices can open more: each shard
        /// reads its own servers' events, so a burst in one server waits less in front of others.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
        shards: Option<u32>,
    },
    /// A report from the store (DATABASE_URL): posts, flags by label and rule, dismissal rates,
    /// time to fix, feedback, quiet channels, and a weekly chart (HTML).
    Report {
        /// How far back: `30d`, `12w`, `48h`.
        #[arg(long, default_value = "30d")]
        since: String,
        #[arg(long, value_enum, default_value_t = ReportFormat::Markdown)]
        format: ReportFormat,
    },
    /// Validate a configuration directory and summarise it.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Print every problem, or a summary of what is configured.
    Check {
        /// The directory (default: --config, else the built-in configuration).
        dir: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum RoleArg {
    Staff,
    Patient,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Role {
        match r {
            RoleArg::Staff => Role::Staff,
            RoleArg::Patient => Role::Patient,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Markdown,
    Html,
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Markdown,
    Json,
    Jsonl,
}

/// Runs the command line and returns the process's exit code.
pub fn main() -> ExitCode {
    // Secrets and settings may come from a .env file; a missing file is fine.
    let _ = dotenvy::dotenv();
    crate::logs::install_panic_hook();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            if let Some(config) = e.downcast_ref::<ConfigError>() {
                eprint!("bedside: {config}");
            } else {
                eprintln!("bedside: {e:#}");
            }
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Config { action: ConfigAction::Check { dir } } => {
            config_check(dir.as_deref().or(cli.config.as_deref()))
        }
        command => {
            let setup = Setup::load(cli.config.as_deref())?;
            match command {
                Command::Check { text, role, reply } => check(&setup, text, role.into(), reply),
                Command::Classify => classify(&setup.detector),
                Command::Scan { exports, format, staff_roles, max_listed } => {
                    scan(&setup, &exports, format, &staff_roles, max_listed)
                }
                Command::Run { watch, staff_roles, alert_channel, feedback_channel, shards } => run_bot(
                    setup,
                    crate::discord::Overrides { watch, staff_roles, alert_channel, feedback_channel },
                    shards,
                ),
                Command::Report { since, format } => report(&setup, &since, format),
                Command::Config { .. } => unreachable!("handled above"),
            }
        }
    }
}

const NO_TOKEN: &str = "DISCORD_TOKEN is not set.

Bedside needs a bot token to connect to Discord:
  1. Open https://discord.com/developers/applications and create (or pick) an application.
  2. Bot → Reset Token, and copy it.
  3. Put it in the environment, or in a .env file next to where you run bedside:
       DISCORD_TOKEN=your-token-here
See README.md (\"Run it on your server\") and .env.example.
";

fn run_bot(setup: Setup, overrides: crate::discord::Overrides, shards: Option<u32>) -> Result<ExitCode> {
    let token = match std::env::var("DISCORD_TOKEN") {
        Ok(t) if !t.trim().is_empty() => t.trim().to_string(),
        _ => {
            eprint!("bedside: {NO_TOKEN}");
            return Ok(ExitCode::from(2));
        }
    };
    let api_base = std::env::var("BEDSIDE_DISCORD_API").ok().filter(|s| !s.trim().is_empty());
    let url = std::env::var("DATABASE_URL").ok().filter(|s| !s.trim().is_empty());
    let store = match open_store(url.as_deref()) {
        Ok(store) => std::sync::Arc::new(store),
        Err(e) => {
            eprintln!("bedside: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    crate::logs::init_stderr();
    tune_malloc();
    release_freed_memory();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the runtime")?;
    let services = crate::discord::Services::new(store);
    let _hangups = runtime.spawn(reload_on_hangup(services.reload.clone()));
    runtime.block_on(crate::discord::run(
        setup,
        crate::discord::Connection { token, api_base, shards },
        overrides,
        services,
        shutdown_signal(),
    ))?;
    Ok(ExitCode::SUCCESS)
}

fn report(setup: &Setup, since: &str, format: ReportFormat) -> Result<ExitCode> {
    let Some(period) = crate::report::parse_since(since) else {
        anyhow::bail!("--since `{since}` is not a period like 30d, 12w or 48h");
    };
    let url = std::env::var("DATABASE_URL").ok().filter(|s| !s.trim().is_empty());
    let path = crate::store::database_path(url.as_deref().unwrap_or(crate::store::DEFAULT_URL))?;
    if !path.exists() {
        anyhow::bail!("{}: no database yet (Bedside creates it when `bedside run` starts)", path.display());
    }
    let store = crate::store::Store::open(&path)?;
    let now =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default();
    let data = store.report_data(now.saturating_sub(period), setup.config.stagnation.stale_after.as_secs())?;
    let report = crate::report::build(&data, now);
    let mut out = io::stdout().lock();
    match format {
        ReportFormat::Markdown => write!(out, "{}", report.to_markdown())?,
        ReportFormat::Html => writeln!(out, "{}", report.to_html())?,
        ReportFormat::Json => writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// Holds glibc's allocator to a shape that suits a small long-running service. By default each
/// thread that allocates gets its own heap arena (up to 8 per core), and allocations over a
/// threshold that grows at run time stay in those heaps; a burst spread over the workers leaves
/// freed holes in every arena. One arena, and large blocks (the regexes' growing lazy-DFA caches)
/// always mmap'd and so returned when freed, keep the bot's peak lower. Measured in the load run's
/// 2,000-message flood, same build: two arenas and the default threshold 52–56 MB, this 47–52 MB;
/// the drain stays within 1.3–1.7 s. Must run before the runtime's threads start.
fn tune_malloc() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; called before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}

/// Hands memory freed so far back to the operating system: loading the configuration built and
/// dropped several MB (vetting templates and tips grows regex caches, see `Detector::fresh`), which
/// glibc would otherwise keep for the life of the process.
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free heap pages to the system.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Opens the store named by `DATABASE_URL` (default `sqlite://data/bedside.db`).
fn open_store(url: Option<&str>) -> Result<crate::store::Store, crate::store::StoreError> {
    let path = crate::store::database_path(url.unwrap_or(crate::store::DEFAULT_URL))?;
    crate::store::Store::open(&path)
}

/// Resolves on Ctrl-C or SIGTERM.
/// Rings `reload` on each SIGHUP, the usual way to ask a daemon to read its configuration again.
async fn reload_on_hangup(reload: std::sync::Arc<tokio::sync::Notify>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::hangup()) {
            Ok(mut hangups) => {
                while hangups.recv().await.is_some() {
                    tracing::info!("SIGHUP: reloading the configuration");
                    reload.notify_one();
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot listen for SIGHUP; `/bedside reload` still works"),
        }
    }
    #[cfg(not(unix))]
    let _ = reload;
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn config_check(dir: Option<&Path>) -> Result<ExitCode> {
    let setup = Setup::load(dir)?;
    let c = &setup.config;
    println!("Configuration OK: {}", c.origin);
    println!(
        "  practice: {} ({} phone, {} fax, {} email, {} staff name words)",
        c.practice.name,
        c.practice.phones.len(),
        c.practice.faxes.len(),
        c.practice.emails.len(),
        c.practice.staff_words.len()
    );
    println!(
        "  staff roles: {}{}",
        c.staff.roles.join(", "),
        c.staff.fallback_permission.as_deref().map(|p| format!(" (or permission {p})")).unwrap_or_default()
    );
    println!(
        "  thresholds: medical_advice {}, patient_details {}, feedback {}",
        c.thresholds.medical_advice, c.thresholds.patient_details, c.thresholds.feedback
    );
    for label in crate::detect::Label::ALL {
        let rules: Vec<&str> = c.rules.iter().filter(|r| r.kind.label() == label).map(|r| &*r.id).collect();
        println!("  {} rules ({}): {}", label, rules.len(), rules.join(", "));
    }
    let lexicons: Vec<String> =
        c.lexicons.iter().map(|(n, l)| format!("{n} ({})", l.terms.len() + l.ambiguous.len())).collect();
    println!("  word lists: {}", lexicons.join(", "));
    match &c.model {
        Some(m) => println!(
            "  learned layer: on (medical_advice at p ≥ {}, feedback at p ≥ {}; abstains below {} known words; \
             {} tokens × {} dims; heads: {})",
            m.settings.medical_advice,
            m.settings.feedback,
            m.settings.min_known_tokens,
            m.shape.0,
            m.shape.1,
            m.heads.provenance
        ),
        None => println!("  learned layer: off (model.enabled = false in bedside.toml)"),
    }
    println!(
        "  templates: {} praise, {} complaint, {} suggestion",
        c.templates.praise.len(),
        c.templates.complaint.len(),
        c.templates.suggestion.len()
    );
    println!("  tips: {} (cool-off {} days)", c.tips.tips.len(), c.tips.cooloff.as_secs() / 86400);
    println!(
        "  watching: {}",
        if c.discord.watch.is_empty() {
            "(set discord.watch or pass --watch)".to_string()
        } else {
            c.discord.watch.join(", ")
        }
    );
    Ok(ExitCode::SUCCESS)
}

fn check(setup: &Setup, text: Option<String>, role: Role, reply: bool) -> Result<ExitCode> {
    let text = match text {
        Some(t) => t,
        None => {
            let mut buf = String::new();
            io::stdin().read_to_string(&mut buf).context("reading the draft from standard input")?;
            buf
        }
    };
    let analysis = setup.detector.analyze(&Message::new(&text, role).reply(reply));
    let colour = io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    print!("{}", render_check(&text, &analysis, &setup.detector, colour));
    Ok(if analysis.is_clean() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// The human-readable verdict for `check`: each finding with its rule, reason, fix and the span
/// highlighted in its line.
pub fn render_check(text: &str, analysis: &Analysis, detector: &Detector, colour: bool) -> String {
    let paint = |code: &str, s: &str| {
        if colour { format!("\x1b[{code}m{s}\x1b[0m") } else { s.to_string() }
    };
    let mut out = String::new();
    if analysis.is_clean() {
        out.push_str(&paint("32", "✓ clean"));
        out.push_str(": nothing to flag.\n");
    } else {
        let labels: Vec<&str> = analysis.labels.iter().map(|l| l.as_str()).collect();
        out.push_str(&paint("31;1", "✗ flagged"));
        out.push_str(&format!(": {}", labels.join(", ")));
        if let Some(kind) = analysis.feedback_kind {
            out.push_str(&format!(" ({kind})"));
        }
        out.push('\n');
    }
    for f in &analysis.findings {
        let marker = if f.counted() { paint("31", "●") } else { paint("90", "○") };
        out.push_str(&format!(
            "\n{marker} {} · {} · rule {} · {}\n",
            f.label(),
            f.kind,
            paint("1", &f.rule),
            f.severity
        ));
        out.push_str(&format!("  why: {}\n", f.reason()));
        out.push_str(&format!("  where: {}\n", highlight(text, f, colour)));
        if f.counted() {
            if let Some(fix) = detector.fix_for(&f.rule) {
                out.push_str(&format!("  fix: {fix}\n"));
            }
        }
    }
    out
}

/// The finding's span in up to 50 characters of context, marked with «» (or colour).
fn highlight(text: &str, f: &Finding, colour: bool) -> String {
    let (start, end) = (f.start.min(text.len()), f.end.min(text.len()));
    if !text.is_char_boundary(start) || !text.is_char_boundary(end) {
        return String::new();
    }
    let before: String = text[..start].chars().rev().take(50).collect::<Vec<_>>().into_iter().rev().collect();
    let after: String = text[end..].chars().take(50).collect();
    let span = &text[start..end];
    let marked = if colour { format!("\x1b[4;33m{span}\x1b[0m") } else { format!("«{span}»") };
    let flat = |s: &str| s.replace(['\n', '\r'], " ");
    format!("{}{}{}", flat(&before), marked, flat(&after))
}

/// One input line of `classify`.
#[derive(Deserialize)]
struct ClassifyInput {
    id: String,
    role: Role,
    text: String,
    #[serde(default)]
    is_reply: bool,
    #[serde(default)]
    mentions: usize,
}

#[derive(Serialize)]
struct ClassifyOutput<'a> {
    id: &'a str,
    labels: Vec<&'static str>,
    feedback_kind: Option<&'static str>,
    findings: Vec<FindingOut>,
}

#[derive(Serialize)]
pub struct FindingOut {
    pub label: &'static str,
    pub kind: &'static str,
    pub rule: String,
    pub start: usize,
    pub end: usize,
    pub severity: &'static str,
    pub reason: String,
    pub counted: bool,
}

impl From<&Finding> for FindingOut {
    fn from(f: &Finding) -> Self {
        FindingOut {
            label: f.label().as_str(),
            kind: f.kind.as_str(),
            rule: f.rule.to_string(),
            start: f.start,
            end: f.end,
            severity: f.severity.as_str(),
            reason: f.reason(),
            counted: f.counted(),
        }
    }
}

/// `classify`: one output line per input line, in order; unreadable lines get an error object in
/// their place and make the exit status 1. Memory stays flat: one line at a time.
pub fn classify(detector: &Detector) -> Result<ExitCode> {
    let stdin = io::stdin().lock();
    let stdout = io::stdout().lock();
    let bad = classify_stream(detector, stdin, stdout)?;
    Ok(if bad == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// The `classify` loop over any reader and writer; returns how many lines could not be read.
pub fn classify_stream(detector: &Detector, input: impl BufRead, output: impl Write) -> Result<u64> {
    let mut input = input;
    let mut out = BufWriter::with_capacity(1 << 16, output);
    let mut line = Vec::with_capacity(1024);
    let mut number = 0u64;
    let mut bad = 0u64;
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line).context("reading standard input")? == 0 {
            break;
        }
        number += 1;
        let trimmed = line.trim_ascii();
        if trimmed.is_empty() {
            continue;
        }
        match serde_json::from_slice::<ClassifyInput>(trimmed) {
            Ok(item) => {
                let analysis =
                    detector.analyze(&Message::new(&item.text, item.role).reply(item.is_reply).mentions(item.mentions));
                let output = ClassifyOutput {
                    id: &item.id,
                    labels: analysis.labels.iter().map(|l| l.as_str()).collect(),
                    feedback_kind: analysis.feedback_kind.map(|k| k.as_str()),
                    findings: analysis.findings.iter().map(FindingOut::from).collect(),
                };
                serde_json::to_writer(&mut out, &output)?;
            }
            Err(e) => {
                bad += 1;
                serde_json::to_writer(&mut out, &serde_json::json!({ "line": number, "error": e.to_string() }))?;
            }
        }
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(bad)
}

/// Audits exports. Exit status: 2 when any input (a file, or a message in one) could not be read,
/// since an error outranks a finding (as with ripgrep); else 1 when a staff message was flagged;
/// else 0. Each problem goes to stderr as it is found, naming its file, and stays in the report.
fn scan(
    setup: &Setup,
    exports: &[PathBuf],
    format: Format,
    extra_roles: &[String],
    max_listed: usize,
) -> Result<ExitCode> {
    let mut staff = setup.config.staff.clone();
    staff.roles.extend(extra_roles.iter().map(|r| r.trim().to_lowercase()));
    let mut scanner = Scanner::new(&setup.detector, staff, max_listed);
    let files = export_files(exports, &mut scanner);
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let progress = progress_bar(&files);
    let mut told = 0;
    let mut tell = |scanner: &Scanner<'_>| {
        for p in &scanner.problems()[told..] {
            progress.suspend(|| eprintln!("bedside: {p}"));
        }
        told = scanner.problems().len();
    };
    tell(&scanner);

    for path in &files {
        scanner.start_file(path.display().to_string());
        let file = match std::fs::File::open(path) {
            Ok(f) => f,
            Err(e) => {
                scanner.problem(format!("cannot open: {e}"));
                tell(&scanner);
                continue;
            }
        };
        let reader = io::BufReader::with_capacity(1 << 20, progress.wrap_read(file));
        let mut malformed = Vec::new();
        let mut write_error = None;
        let result = export::read_export(reader, |item| match item {
            Item::Message { header, message, .. } => scanner.add(header, &message, |scanned| {
                if format == Format::Jsonl && !scanned.analysis.labels.is_empty() && write_error.is_none() {
                    if let Err(e) = write_jsonl(&mut out, &scanned) {
                        write_error = Some(e);
                    }
                }
            }),
            Item::Malformed { index, problem } => malformed.push(format!("message #{}: {problem}", index + 1)),
        });
        if let Some(e) = write_error {
            return Err(e).context("writing the report");
        }
        for problem in malformed {
            scanner.malformed(problem);
        }
        if let Err(e) = result {
            scanner.problem(e.to_string());
        }
        scanner.finish_file();
        tell(&scanner);
    }
    progress.finish_and_clear();
    let report = scanner.finish();
    match format {
        Format::Text => write!(out, "{}", report.to_text())?,
        Format::Markdown => write!(out, "{}", report.to_markdown())?,
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &report)?;
            writeln!(out)?;
        }
        // Its problems are on stderr already; stdout carries only the flagged messages.
        Format::Jsonl => {}
    }
    out.flush()?;
    Ok(if !report.problems.is_empty() {
        ExitCode::from(2)
    } else if report.flagged_messages > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn write_jsonl(out: &mut impl Write, s: &crate::scan::Scanned<'_>) -> Result<()> {
    let author_id = s.message.author.as_ref().map(|a| a.id.as_str()).unwrap_or_default();
    let line = serde_json::json!({
        "message_id": s.message.id,
        "channel_id": s.header.channel.id,
        "author_id": author_id,
        "labels": s.analysis.labels.iter().map(|l| l.as_str()).collect::<Vec<_>>(),
        "feedback_kind": s.analysis.feedback_kind.map(|k| k.as_str()),
        "findings": s.analysis.findings.iter().map(FindingOut::from).collect::<Vec<_>>(),
    });
    serde_json::to_writer(&mut *out, &line)?;
    out.write_all(b"\n")?;
    Ok(())
}

/// Expands folders into the `.json` files under them, sorted; files are taken as given. A path
/// that cannot be read is the scanner's problem, named, and the others are still read.
fn export_files(paths: &[PathBuf], scanner: &mut Scanner<'_>) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut pending = vec![path.clone()];
            let mut found = Vec::new();
            while let Some(dir) = pending.pop() {
                let entries = match std::fs::read_dir(&dir) {
                    Ok(entries) => entries,
                    Err(e) => {
                        scanner.unreadable(dir.display().to_string(), format!("cannot read this folder: {e}"));
                        continue;
                    }
                };
                for entry in entries {
                    match entry {
                        Ok(entry) if entry.path().is_dir() => pending.push(entry.path()),
                        Ok(entry) if entry.path().extension().is_some_and(|e| e.eq_ignore_ascii_case("json")) => {
                            found.push(entry.path())
                        }
                        Ok(_) => {}
                        Err(e) => {
                            scanner.unreadable(dir.display().to_string(), format!("cannot read this folder: {e}"))
                        }
                    }
                }
            }
            if found.is_empty() {
                scanner.unreadable(path.display().to_string(), "no .json exports in this folder");
            }
            found.sort();
            files.extend(found);
        } else if path.exists() {
            files.push(path.clone());
        } else {
            scanner.unreadable(path.display().to_string(), "no such file or folder");
        }
    }
    files
}

fn progress_bar(files: &[PathBuf]) -> indicatif::ProgressBar {
    if !io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let total: u64 = files.iter().filter_map(|f| std::fs::metadata(f).ok()).map(|m| m.len()).sum();
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template("scanning {bar:40} {bytes}/{total_bytes} ({bytes_per_sec}, {eta})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}
