//! A long fuzz run over the three parsers of outside input: `classify` (JSON Lines of drafts), the
//! DiscordChatExporter reader, and the configuration loader. Each case is a mutation of real
//! input (the labeled corpus, an export, the shipped configuration files) or random bytes, and each
//! must be answered without a panic: every non-blank line of `classify` gets its answer (and half
//! its cases are well-formed lines around a mutated text, which must reach the detector), the export
//! reader returns a result, and the loader a configuration or a list of problems naming their
//! files.
//!
//! ```sh
//! cargo test --release --test fuzz -- --ignored --nocapture              # 1,000,000 cases
//! BEDSIDE_FUZZ_CASES=50000 cargo test --release --test fuzz -- --ignored  # fewer
//! ```
//!
//! The cases are split 50% classify, 30% export, 20% configuration, from a fixed seed
//! (`BEDSIDE_FUZZ_SEED` to change it), so a failure can be replayed.
//!
//! A configuration case mutates one file of the shipped configuration. Compiling the rules'
//! patterns is nearly all a load's time (~120 of ~130 ms), and a mutated file leaves every other
//! pattern as it was, so the cases are split two ways:
//! - **99%: the mutated file, read as Bedside reads it** (`config::load_reusing`: the same parsing,
//!   checks and pattern rewriting as `config::load`), loaded with the files it is read with, and
//!   only a changed pattern compiled; an unchanged one's regex is taken from the shipped rules'. By
//!   kind of file: 35% `bedside.toml`, `tips.toml` or `templates.toml` (with each other); 35% a
//!   rule file (with every word list, so `{lexicon:…}` resolves and a mutated pattern is compiled
//!   for real); 20% a word list (alone); 10% the learned layer's `model/heads.toml` or
//!   `model/vocab.txt` (with `bedside.toml` and each other; the 12 MB token table is not mutated).
//! - **1%: the whole configuration, the way `bedside run`, `config check` and a reload load it**
//!   (`Setup::from_source`): every file, the token table's checks, every pattern compiled, and when
//!   that loads, the detector built and the templates and tips vetted by it.
//!
//! The suite's property tests (`tests/properties.rs`) run a smaller version of the first two on
//! every `cargo test`.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::OnceLock;
use std::time::Instant;

use bedside::config::{Compiled, ConfigError, EMBEDDED, Source};
use bedside::export::{Item, read_export};
use bedside::setup::Setup;

/// A small, fast, reproducible generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

fn setup() -> &'static Setup {
    static SETUP: OnceLock<Setup> = OnceLock::new();
    SETUP.get_or_init(|| Setup::load(None).expect("embedded configuration"))
}

/// Values that have broken parsers before: non-finite and zero numbers, huge ones, empty and odd
/// strings, wrong types, unbalanced brackets, look-alike digits, invalid UTF-8 once lossily read.
const INTERESTING: &[&str] = &[
    "nan",
    "inf",
    "-inf",
    "0",
    "-1",
    "1e308",
    "-0.0",
    "18446744073709551616",
    "\"0\"",
    "\"\"",
    "[]",
    "{}",
    "\"#0\"",
    "null",
    "true",
    "\"\\u0000\"",
    "'''",
    "[[",
    "]]",
    "{",
    "}",
    ",",
    ":",
    "\"",
    "\\",
    "５０３",
    "\u{200B}",
    "😊",
    "\u{FFFD}",
    "\"a\\\"b\"",
    "1.5",
    "999999999999",
    "-9223372036854775808",
];

/// `text` with a few mutations: bytes flipped, removed, repeated or inserted, a slice moved, an
/// interesting value spliced in.
fn mutate(rng: &mut Rng, text: &[u8]) -> Vec<u8> {
    let mut out = text.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(out.len() + 1);
        match rng.below(7) {
            0 if !out.is_empty() => {
                let i = at.min(out.len() - 1);
                out[i] ^= 1 << rng.below(8);
            }
            1 if !out.is_empty() => {
                let end = (at + 1 + rng.below(16)).min(out.len());
                out.drain(at.min(end)..end);
            }
            2 => {
                let end = (at + rng.below(32)).min(out.len());
                let copy = out[at..end].to_vec();
                out.splice(at..at, copy);
            }
            3 => out.insert(at, rng.next() as u8),
            4 => {
                let value = rng.pick(INTERESTING).as_bytes();
                out.splice(at..at, value.iter().copied());
            }
            _ => {
                // Replace the value after an `=` or `:` with an interesting one.
                if let Some(eq) = out[at.min(out.len())..].iter().position(|b| *b == b'=' || *b == b':') {
                    let start = at + eq + 1;
                    let end =
                        out[start..].iter().position(|b| *b == b'\n' || *b == b',').map_or(out.len(), |n| start + n);
                    let mut value = b" ".to_vec();
                    value.extend_from_slice(rng.pick(INTERESTING).as_bytes());
                    out.splice(start..end, value);
                }
            }
        }
    }
    out
}

fn random_bytes(rng: &mut Rng, max: usize) -> Vec<u8> {
    (0..rng.below(max)).map(|_| rng.next() as u8).collect()
}

/// Runs `case` and names the case and its input if it panics.
fn guarded(what: &str, n: u64, input: &[u8], case: impl FnOnce()) {
    if catch_unwind(AssertUnwindSafe(case)).is_err() {
        drop(std::panic::take_hook()); // the default hook again, so this panic is shown
        panic!("{what} case {n} panicked on input {:?}", String::from_utf8_lossy(input));
    }
}

fn corpus_lines() -> Vec<Vec<u8>> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut lines = Vec::new();
    for split in ["tune", "holdout"] {
        for entry in std::fs::read_dir(root.join(split)).expect("corpus folder") {
            let text = std::fs::read(entry.expect("entry").path()).expect("corpus file");
            lines.extend(text.split(|b| *b == b'\n').filter(|l| !l.is_empty()).map(<[u8]>::to_vec));
        }
    }
    lines
}

fn fuzz_classify(rng: &mut Rng, cases: u64) {
    let lines = corpus_lines();
    let texts: Vec<Vec<u8>> = lines
        .iter()
        .filter_map(|l| serde_json::from_slice::<serde_json::Value>(l).ok())
        .filter_map(|v| v["text"].as_str().map(|t| t.as_bytes().to_vec()))
        .collect();
    let detector = &setup().detector;
    let mut input = Vec::new();
    let mut output = Vec::new();
    let mut analyzed = 0u64;
    for n in 0..cases {
        input.clear();
        // Half the cases are well-formed lines around a mutated text, so that the detector itself
        // meets broken text (a mutated JSON line is mostly refused by the parser before it).
        let (line, well_formed) = match rng.below(10) {
            0 => (random_bytes(rng, 200), false),
            1..=4 => {
                let base = &lines[rng.below(lines.len())];
                (mutate(rng, base), false)
            }
            _ => {
                let base = &texts[rng.below(texts.len())];
                let text = mutate(rng, base);
                (well_formed_line(rng, n, &String::from_utf8_lossy(&text)), true)
            }
        };
        input.extend(line.iter().filter(|b| **b != b'\n'));
        input.push(b'\n');
        output.clear();
        guarded("classify", n, &input, || {
            bedside::cli::classify_stream(detector, &input[..], &mut output).expect("io on memory");
        });
        let blank = input.trim_ascii().is_empty();
        assert_eq!(
            output.iter().filter(|b| **b == b'\n').count(),
            usize::from(!blank),
            "classify case {n}: one answer"
        );
        let answer: serde_json::Value = serde_json::from_slice(&output).unwrap_or_default();
        let answered = answer.get("error").is_none();
        assert!(!well_formed || answered, "classify case {n}: a well-formed line is analyzed");
        analyzed += u64::from(answered && !blank);
    }
    println!("classify: {analyzed} of {cases} lines reached the detector");
}

/// A valid `classify` line carrying `text`, with a random role, reply flag and mention count.
fn well_formed_line(rng: &mut Rng, n: u64, text: &str) -> Vec<u8> {
    let role = if rng.below(2) == 0 { "staff" } else { "patient" };
    let line = serde_json::json!({
        "id": format!("fuzz-{n}"),
        "role": role,
        "text": text,
        "is_reply": rng.below(4) == 0,
        "mentions": rng.below(3),
    });
    serde_json::to_vec(&line).expect("a JSON value serializes")
}

fn fuzz_export(rng: &mut Rng, cases: u64) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/export");
    let mut exports: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .expect("examples/export")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| std::fs::read(p).expect("export"))
        .collect();
    // Short exports too, so a mutation lands in the header or the array's structure as often as in
    // a message.
    exports.push(
        br#"{"guild":{"id":"1","name":"G"},"channel":{"id":"2","name":"c","type":"GuildTextChat"},"dateRange":{"after":null,"before":null},"messages":[{"id":"10","type":"Default","timestamp":"2026-01-02T03:04:05+00:00","content":"take 400mg","author":{"id":"5","name":"a","nickname":"A","isBot":false,"roles":[{"id":"9","name":"Staff"}]},"reference":{"messageId":"9"},"mentions":[{"id":"6"}]},{"id":"11","content":null,"author":null}],"messageCount":2}"#
            .to_vec(),
    );
    let small: Vec<Vec<u8>> = exports.iter().map(|e| e[..e.len().min(4000)].to_vec()).collect();
    for n in 0..cases {
        let input = match rng.below(10) {
            0 => random_bytes(rng, 400),
            1 => {
                let base = &exports[rng.below(exports.len())];
                mutate(rng, base)
            }
            _ => {
                let base = &small[rng.below(small.len())];
                mutate(rng, base)
            }
        };
        guarded("export", n, &input, || {
            let _ = read_export(&input[..], |item| {
                if let Item::Message { message, .. } = item {
                    let _ = message.check();
                }
            });
        });
    }
}

/// One configuration case in this many loads the whole configuration (see the module doc).
const WHOLE_ONE_IN: usize = 100;

/// A kind of configuration file, how often a case mutates one, and the files it is loaded with.
struct Share {
    name: &'static str,
    percent: usize,
    files: Vec<&'static str>,
    context: Source,
    cases: u64,
}

fn fuzz_config(rng: &mut Rng, cases: u64) {
    // The shipped configuration, its token table included (borrowed: cloning it copies nothing).
    let shipped = Source::embedded();
    let compiled = Compiled::of(&setup().config);
    let names: Vec<&'static str> = EMBEDDED.iter().map(|(p, _)| *p).collect();
    let under =
        |folder: &str| -> Vec<&'static str> { names.iter().copied().filter(|n| n.starts_with(folder)).collect() };
    let only = |keep: &[&str]| Source {
        origin: "fuzz".into(),
        files: shipped
            .files
            .iter()
            .filter(|(k, _)| keep.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        binaries: Default::default(),
    };
    let settings = vec!["bedside.toml", "tips.toml", "templates.toml"];
    let model = vec!["model/heads.toml", "model/vocab.txt"];
    let mut shares = [
        Share { name: "settings", percent: 35, context: only(&settings), files: settings, cases: 0 },
        Share { name: "rules", percent: 35, context: only(&under("lexicons/")), files: under("rules/"), cases: 0 },
        Share { name: "lexicons", percent: 20, context: only(&[]), files: under("lexicons/"), cases: 0 },
        Share {
            name: "model",
            percent: 10,
            context: only(&["bedside.toml", "model/heads.toml", "model/vocab.txt"]),
            files: model,
            cases: 0,
        },
    ];
    let (mut whole, mut whole_loaded) = (0u64, 0u64);
    let answered = |n: u64, e: ConfigError| {
        assert!(!e.problems.is_empty(), "config case {n}: an error lists its problems");
        assert!(e.problems.iter().all(|p| !p.file.is_empty()), "config case {n}: each problem names its file");
    };
    for n in 0..cases {
        if rng.below(WHOLE_ONE_IN) == 0 {
            whole += 1;
            let mut source = shipped.clone();
            let file = rng.pick(&names).to_string();
            let mutated = mutate(rng, source.files[&file].as_bytes());
            source.files.insert(file, String::from_utf8_lossy(&mutated).into_owned());
            guarded("config (whole)", n, &mutated, || match Setup::from_source(&source) {
                Ok(_) => whole_loaded += 1,
                Err(e) => answered(n, e),
            });
            continue;
        }
        let (roll, mut upto) = (rng.below(100), 0);
        let share = shares
            .iter_mut()
            .find(|s| {
                upto += s.percent;
                roll < upto
            })
            .expect("the shares add up to 100%");
        share.cases += 1;
        let file = rng.pick(&share.files).to_string();
        let mutated = mutate(rng, shipped.files[&file].as_bytes());
        let mut source = share.context.clone();
        source.files.insert(file, String::from_utf8_lossy(&mutated).into_owned());
        guarded("config", n, &mutated, || {
            if let Err(e) = bedside::config::load_reusing(&source, &compiled) {
                answered(n, e);
            }
        });
    }
    let split: Vec<String> = shares.iter().map(|s| format!("{} {}", s.cases, s.name)).collect();
    println!("config loader: {}, {whole} whole ({whole_loaded} of them loaded)", split.join(", "));
}

fn cases() -> u64 {
    std::env::var("BEDSIDE_FUZZ_CASES").ok().and_then(|n| n.replace('_', "").parse().ok()).unwrap_or(1_000_000)
}

#[test]
#[ignore = "a long run: cargo test --release --test fuzz -- --ignored --nocapture"]
fn a_million_mutated_inputs_never_panic() {
    let total = cases();
    let seed = std::env::var("BEDSIDE_FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x5EED_B3D5_1DE0_0001u64);
    // Quiet: the panics `guarded` catches would otherwise print through the default hook.
    std::panic::set_hook(Box::new(|_| {}));
    let (classify, export) = (total / 2, total * 3 / 10);
    let config = total - classify - export;
    for (name, n, run) in [
        ("classify", classify, fuzz_classify as fn(&mut Rng, u64)),
        ("export reader", export, fuzz_export),
        ("config loader", config, fuzz_config),
    ] {
        let mut rng = Rng(seed ^ name.len() as u64);
        let started = Instant::now();
        run(&mut rng, n);
        println!("{name}: {n} cases, no panic, {:.1} s", started.elapsed().as_secs_f64());
    }
    let _ = std::panic::take_hook();
    println!("fuzz: {total} cases in all (seed {seed:#x}), every one answered without a panic");
}
