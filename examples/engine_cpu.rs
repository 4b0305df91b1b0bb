//! Engine throughput by this thread's CPU time rather than wall time, so that another process on
//! a shared 2-core machine does not move the figure as much (criterion's wall time does).
//!
//! ```text
//! cargo run --release --example engine_cpu                        # tests/corpus/, repeated
//! cargo run --release --example engine_cpu -- training/learned/*.jsonl  # each message once
//! ```
//!
//! `ENGINE_CPU_PASSES=N` runs the corpus N times and prints nothing: under cachegrind, the
//! difference between two such runs, divided by the messages, counts the instructions one message
//! costs, a figure no neighbouring process can move (docs/performance.md).
//!
//! With files, every message is analyzed once, in order: a lazy DFA then meets new text all the
//! time, as in a live guild, instead of settling on a corpus it has seen before. Linux only
//! (`/proc/thread-self/schedstat`).

use bedside::config::{self, Source};
use bedside::detect::{Detector, Message, Role};
use bedside::quality;

fn main() {
    let config = config::load(&Source::embedded()).expect("the built-in configuration loads");
    let detector = Detector::new(&config).expect("it compiles");
    let files: Vec<String> = std::env::args().skip(1).collect();
    if let Some(passes) = std::env::var("ENGINE_CPU_PASSES").ok().and_then(|p| p.parse().ok()) {
        // For `valgrind --tool=cachegrind`: the corpus this many times and nothing else, so that
        // two runs' difference divided by the messages is the instructions one message costs.
        let messages = read(&corpus_files());
        (0..passes).for_each(|_| analyze_all(&detector, &messages));
    } else if files.is_empty() {
        let messages = read(&corpus_files());
        for _ in 0..20 {
            analyze_all(&detector, &messages);
        }
        let best = (0..5).map(|_| cpu_ns_per_message(&detector, &messages, 40)).fold(f64::MAX, f64::min);
        println!("tests/corpus/, {} messages repeated: {}", messages.len(), figure(best));
    } else {
        let messages = read(&files);
        println!("{} messages, each once: {}", messages.len(), figure(cpu_ns_per_message(&detector, &messages, 1)));
    }
}

fn figure(ns: f64) -> String {
    format!("{:.0} messages/s of CPU time ({:.1} µs each)", 1e9 / ns, ns / 1e3)
}

fn cpu_ns_per_message(detector: &Detector, messages: &[(String, Role)], passes: usize) -> f64 {
    let start = cpu_ns();
    for _ in 0..passes {
        analyze_all(detector, messages);
    }
    (cpu_ns() - start) as f64 / (passes * messages.len()) as f64
}

fn analyze_all(detector: &Detector, messages: &[(String, Role)]) {
    for (text, role) in messages {
        std::hint::black_box(detector.analyze(&Message::new(text, *role)));
    }
}

/// This thread's time on a CPU, in nanoseconds (the first field of schedstat).
fn cpu_ns() -> u64 {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").expect("Linux schedstat");
    stat.split_whitespace().next().and_then(|n| n.parse().ok()).expect("a number")
}

fn corpus_files() -> Vec<String> {
    let mut files: Vec<String> = ["tune", "holdout"]
        .iter()
        .flat_map(|split| std::fs::read_dir(format!("tests/corpus/{split}")).expect("run from the repository root"))
        .map(|entry| entry.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .map(|p| p.display().to_string())
        .collect();
    files.sort();
    files
}

/// `text` and `role` of each line of JSON Lines files, read as the quality measures read them.
fn read(files: &[String]) -> Vec<(String, Role)> {
    let mut messages = Vec::new();
    for file in files {
        let content = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{file}: {e}"));
        let samples = quality::parse_jsonl(file, &content).unwrap_or_else(|e| panic!("{e}"));
        messages.extend(samples.into_iter().map(|s| (s.text, s.role)));
    }
    messages
}
