//! Detection throughput on one core: typical chat messages (~150 bytes, with emoji and accents);
//! every message of the labeled corpus in turn (913 varied, deliberately hard messages, a fairer
//! picture of real traffic than eight messages repeated); the identifiers pass that masks a
//! patient's words, against a full staff analysis; and how the cost grows with length.
//!
//! `cargo bench --bench engine` — criterion prints time per message; messages per second is
//! 1 / that time (the "thrpt" line gives elements/s).

use bedside::detect::{Message, Role};
use bedside::setup::Setup;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

const TYPICAL: &[(&str, Role)] = &[
    ("Flu shots are in! Walk-ins welcome Saturday 9–1, or call (503) 555-0100 to book. See you there 💉", Role::Staff),
    (
        "Reminder: stay hydrated in this heat ☀️ and keep sunscreen handy — SPF 30 or higher, reapply every two hours.",
        Role::Staff,
    ),
    (
        "We'd want to take a look at that — please call the front desk and we'll find you a slot this week. 🦷",
        Role::Staff,
    ),
    (
        "take 400mg ibuprofen every 6 hours for that tooth and alternate with Tylenol if it's still bad tonight",
        Role::Staff,
    ),
    ("Mrs. Alvarez, your crown fitting on 10/14 is confirmed for 9:30 with Dr. Hoffmann — see you then!", Role::Staff),
    ("Waited 50 minutes past my appointment time again and the front desk never called. Not okay 😤", Role::Patient),
    ("The hygienist was so gentle with my son today, thank you all! He actually wants to come back ❤️", Role::Patient),
    ("is it normal for a new filling to feel sensitive for a week? café au lait doesn't help lol ☕", Role::Patient),
];

fn bench(c: &mut Criterion) {
    let setup = Setup::load(None).expect("embedded configuration");
    let detector = &setup.detector;

    let mut group = c.benchmark_group("analyze");
    group.throughput(Throughput::Elements(TYPICAL.len() as u64));
    group.bench_function("typical chat messages", |b| {
        b.iter(|| {
            for (text, role) in TYPICAL {
                std::hint::black_box(detector.analyze(&Message::new(text, *role)));
            }
        })
    });

    // Varied text keeps the regex engines' lazy DFAs building new states; the same eight messages
    // repeated never do, so the figure above is the best case and this one the realistic one.
    let corpus = corpus();
    group.throughput(Throughput::Elements(corpus.len() as u64));
    group.bench_function("every corpus message", |b| {
        b.iter(|| {
            for (text, role) in &corpus {
                std::hint::black_box(detector.analyze(&Message::new(text, *role)));
            }
        })
    });
    group.finish();

    // A patient's feedback is analyzed as feedback, then its identifiers are masked before staff
    // see it: what that masking costs, against the full staff analysis it replaced.
    let patients: Vec<&str> =
        corpus.iter().filter(|(_, role)| *role == Role::Patient).map(|(t, _)| t.as_str()).collect();
    let mut masking = c.benchmark_group("masking patient messages");
    masking.throughput(Throughput::Elements(patients.len() as u64));
    masking.bench_function("identifiers pass", |b| {
        b.iter(|| {
            for text in &patients {
                std::hint::black_box(detector.identifiers(text, false, 0));
            }
        })
    });
    masking.bench_function("full staff analysis", |b| {
        b.iter(|| {
            for text in &patients {
                std::hint::black_box(detector.analyze(&Message::new(text, Role::Staff)));
            }
        })
    });
    masking.finish();

    let mut by_length = c.benchmark_group("analyze by length");
    let unit = "Great question! Stay hydrated ☀️ and call (503) 555-0100 to book with Dr. Raman. ";
    for repeat in [1usize, 4, 16, 64] {
        let text = unit.repeat(repeat);
        by_length.throughput(Throughput::Bytes(text.len() as u64));
        by_length.bench_with_input(BenchmarkId::from_parameter(text.len()), &text, |b, text| {
            b.iter(|| std::hint::black_box(detector.analyze(&Message::new(text, Role::Staff))))
        });
    }
    by_length.finish();
}

/// Every message of `tests/corpus`, with its author's role.
fn corpus() -> Vec<(String, Role)> {
    let mut files: Vec<_> = ["tune", "holdout"]
        .iter()
        .flat_map(|split| {
            std::fs::read_dir(format!("{}/tests/corpus/{split}", env!("CARGO_MANIFEST_DIR"))).expect("corpus")
        })
        .map(|entry| entry.expect("corpus entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    let mut messages = Vec::new();
    for file in files {
        for line in std::fs::read_to_string(&file).expect("corpus file").lines().filter(|l| !l.trim().is_empty()) {
            let v: serde_json::Value = serde_json::from_str(line).expect("corpus line");
            let role = if v["role"] == "staff" { Role::Staff } else { Role::Patient };
            messages.push((v["text"].as_str().expect("text").to_string(), role));
        }
    }
    messages
}

criterion_group!(benches, bench);
criterion_main!(benches);
