//! What Bedside writes to its log, and what never reaches it: message content.
//!
//! Bedside's own events carry ids and rule ids only. Its dependencies do not promise that:
//! serenity 0.12 logs a gateway frame it cannot parse in full (`Err deserializing text: …; text:
//! {payload}`, at warn, which the default filter shows), an event whose body it cannot parse with its
//! whole value (`An unknown event was received: UnknownEvent {…}`, at debug), a serde error that quotes
//! the offending value (`Unhandled error: Json(…"invalid type: string \"…\"…)`, at warn); tungstenite
//! logs every frame's text at trace; and serenity's `#[instrument]` spans record the event being
//! handled as a field. So, in front of every sink:
//! - [`Guard`], a layer: a dependency's span is never recorded, and a dependency's event that is known
//!   to quote a payload, or looks like one, is withheld and counted ([`withheld`]). The count is logged
//!   when the bot stops, so a run shows that something was kept out and at which level.
//! - [`Fields`], the field formatter: the quoted parts of an `error` field (a serde error read from
//!   Discord quotes the value it choked on) are replaced by `"…"`.
//! - [`install_panic_hook`]: a panic logs where it happened and on which thread, never its message
//!   (a bad string slice quotes up to 256 bytes of the string).

use std::fmt::{self, Write as _};
use std::sync::atomic::{AtomicU64, Ordering};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::FormatFields;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::layer::{Context, Layer};

/// The default filter: Bedside's events from info, serenity's from warn, other dependencies' none.
pub const DEFAULT_FILTER: &str = "bedside=info,serenity=warn";

/// How many dependency events were withheld since the process started, by level (error … trace).
static WITHHELD: [AtomicU64; 5] = [const { AtomicU64::new(0) }; 5];

/// Phrases of dependency events known to quote a payload or part of one (case is ignored).
const QUOTING: &[&str] = &[
    // serenity, gateway/ws.rs and client/dispatch.rs
    "deserializing text",
    "deserializing bytes",
    "failing bytes",
    "unknown event",
    "unknownevent",
    // serde errors quote the value they could not read
    "invalid type",
    "invalid value",
    "unknown variant",
    "unknown field",
    // tungstenite, protocol/mod.rs and protocol/frame: each frame's text or bytes at trace
    "received message",
    "sending frame",
    "received frame",
    "writing frame",
    "payload",
    // serenity, http/client.rs: a failed REST response with its body
    "unsuccessful response",
];

/// Longer than this, a dependency's event is taken for a dump of something it received.
const LONGEST_PLAIN: usize = 600;

/// Whether an event is Bedside's own (its events carry ids and rule ids, never text).
fn is_ours(target: &str) -> bool {
    target == "bedside" || target.starts_with("bedside::")
}

/// Whether a dependency event's rendered fields quote, or may quote, a payload.
pub fn may_quote_payload(rendered: &str) -> bool {
    if rendered.len() > LONGEST_PLAIN || rendered.contains("{\"") || rendered.contains("\":") {
        return true;
    }
    let lower = rendered.to_lowercase();
    QUOTING.iter().any(|p| lower.contains(p))
}

/// How many dependency events were withheld, in all.
pub fn withheld() -> u64 {
    WITHHELD.iter().map(|n| n.load(Ordering::Relaxed)).sum()
}

/// Logs how many dependency events were withheld (at the level of the most severe), if any.
pub fn report_withheld() {
    let counts: Vec<u64> = WITHHELD.iter().map(|n| n.load(Ordering::Relaxed)).collect();
    if counts.iter().all(|n| *n == 0) {
        return;
    }
    let [e, w, i, d, t] = [counts[0], counts[1], counts[2], counts[3], counts[4]];
    let note = "dependency log events withheld: they quote, or may quote, a message's payload";
    if e + w > 0 {
        tracing::warn!(error = e, warn = w, info = i, debug = d, trace = t, "{note}");
    } else {
        tracing::info!(error = e, warn = w, info = i, debug = d, trace = t, "{note}");
    }
}

fn level_index(level: &Level) -> usize {
    match *level {
        Level::ERROR => 0,
        Level::WARN => 1,
        Level::INFO => 2,
        Level::DEBUG => 3,
        Level::TRACE => 4,
    }
}

/// The layer in front of every sink (see the module's documentation). It filters only: an event it
/// passes is formatted by the sinks behind it, through [`Fields`].
#[derive(Clone, Copy, Debug, Default)]
pub struct Guard;

impl<S: Subscriber> Layer<S> for Guard {
    fn enabled(&self, metadata: &Metadata<'_>, _ctx: Context<'_, S>) -> bool {
        // A dependency's span may record its function's arguments (serenity's handle the event).
        !metadata.is_span() || is_ours(metadata.target())
    }

    fn event_enabled(&self, event: &Event<'_>, _ctx: Context<'_, S>) -> bool {
        let metadata = event.metadata();
        if is_ours(metadata.target()) {
            return true;
        }
        let mut rendered = Rendered(String::new());
        event.record(&mut rendered);
        if may_quote_payload(&rendered.0) {
            WITHHELD[level_index(metadata.level())].fetch_add(1, Ordering::Relaxed);
            return false;
        }
        true
    }
}

/// Every field of an event, as text, to judge it by.
struct Rendered(String);

impl Visit for Rendered {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let _ = write!(self.0, "{}={:?} ", field.name(), value);
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        let _ = write!(self.0, "{}={} ", field.name(), value);
    }
}

/// Formats fields as tracing-subscriber's default does (`message` first and bare, then
/// `name=value`), except that the quoted parts of an `error` field are replaced by `"…"`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Fields;

impl<'writer> FormatFields<'writer> for Fields {
    fn format_fields<R: RecordFields>(&self, writer: Writer<'writer>, fields: R) -> fmt::Result {
        let mut visitor = FieldWriter { writer, first: true, result: Ok(()) };
        fields.record(&mut visitor);
        visitor.result
    }
}

struct FieldWriter<'writer> {
    writer: Writer<'writer>,
    first: bool,
    result: fmt::Result,
}

impl FieldWriter<'_> {
    fn write(&mut self, name: &str, value: &str) {
        if self.result.is_err() || name.starts_with("log.") {
            return; // log-crate records' metadata, shown by the formatter already
        }
        let gap = if self.first { "" } else { " " };
        self.first = false;
        let name = name.strip_prefix("r#").unwrap_or(name);
        self.result = if name == "message" {
            write!(self.writer, "{gap}{value}")
        } else if name == "error" {
            write!(self.writer, "{gap}{name}={}", redact_quoted(value))
        } else {
            write!(self.writer, "{gap}{name}={value}")
        };
    }
}

impl Visit for FieldWriter<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.write(field.name(), &format!("{value:?}"));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.write(field.name(), value);
        } else {
            self.write(field.name(), &format!("{value:?}"));
        }
    }
}

/// `text` with every quoted part (`"…"`, `` `…` ``, escaped quotes included) replaced by `"…"`.
pub fn redact_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let close = match c {
            '"' => '"',
            '`' => '`',
            '\\' if chars.peek() == Some(&'"') => {
                chars.next();
                // An escaped quote opens a part that an escaped quote closes.
                let mut previous = ' ';
                for inner in chars.by_ref() {
                    if inner == '"' && previous == '\\' {
                        break;
                    }
                    previous = inner;
                }
                out.push_str("\"…\"");
                continue;
            }
            other => {
                out.push(other);
                continue;
            }
        };
        let mut escaped = false;
        for inner in chars.by_ref() {
            if escaped {
                escaped = false;
            } else if inner == '\\' {
                escaped = true;
            } else if inner == close {
                break;
            }
        }
        out.push_str("\"…\"");
    }
    out
}

/// Sets the process's panic hook: the panic's place and thread go to the log (or to stderr before
/// logging is set up), its message never does.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let at = info.location().map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column())).unwrap_or_default();
        let thread = std::thread::current().name().unwrap_or("unnamed").to_string();
        if tracing::dispatcher::has_been_set() {
            tracing::error!(at = %at, thread = %thread, "panicked (the panic's message is not logged: it may quote a message)");
        } else {
            eprintln!("bedside: an internal error (a panic) at {at} on thread {thread}");
        }
    }));
}

/// Sets up logging to stderr for `bedside run`: `RUST_LOG` (else [`DEFAULT_FILTER`]) behind the
/// [`Guard`], fields formatted by [`Fields`].
pub fn init_stderr() {
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(DEFAULT_FILTER));
    let sink = tracing_subscriber::fmt::layer()
        .fmt_fields(Fields)
        .with_writer(std::io::stderr)
        .with_ansi(std::env::var_os("NO_COLOR").is_none());
    // The filter first, so the guard judges (and counts) only events that would be written.
    let _ = tracing_subscriber::registry().with(filter).with(Guard).with(sink).try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_parts_are_replaced_and_the_rest_kept() {
        assert_eq!(redact_quoted(r#"Json(Error("invalid type: string \"Mrs Alvarez\"", line: 1))"#), {
            r#"Json(Error("…", line: 1))"#
        });
        assert_eq!(
            redact_quoted("unknown variant `Alvarez`, expected one of"),
            "unknown variant \"…\", expected one of"
        );
        assert_eq!(redact_quoted(r#"a \"quoted\" word"#), r#"a "…" word"#);
        assert_eq!(redact_quoted("Http(404 Not Found)"), "Http(404 Not Found)");
        assert_eq!(redact_quoted("an \"unterminated"), "an \"…\"");
    }

    #[test]
    fn dependency_events_that_quote_payloads_are_recognised() {
        for quoting in [
            r#"Err deserializing text: Error("expected u64"); text: {"op":0,"d":{"content":"x"}}"#,
            "An unknown event was received: UnknownEvent { kind: \"MESSAGE_CREATE\", value: Object {} }",
            "[ShardInfo] Unhandled error: Json(Error(\"invalid type: string \\\"x\\\", expected u64\"))",
            "Received message {\"t\":\"MESSAGE_CREATE\"}",
            &"a".repeat(LONGEST_PLAIN + 1),
        ] {
            assert!(may_quote_payload(quoting), "{quoting}");
        }
        for plain in ["[ShardRunner] Running", "Shutting down shard 0", "[Shard] Received Ready", "Resumed"] {
            assert!(!may_quote_payload(plain), "{plain}");
        }
    }
}
