//! The learned layer: its tokenizer against the reference's own output, its findings' shape, its
//! behaviour on bad input, and its quality on the committed held-out splits (never trained on).

use std::sync::OnceLock;

use bedside::config::{self, Source};
use bedside::detect::learned::Embedder;
use bedside::detect::{Detector, Label, Message, Role};
use bedside::quality::{Counts, Figures, Layer, Sample, measure, parse_jsonl};

fn config() -> &'static config::Config {
    static CONFIG: OnceLock<config::Config> = OnceLock::new();
    CONFIG.get_or_init(|| config::load(&Source::embedded()).expect("the embedded configuration loads"))
}

fn detector() -> &'static Detector {
    static DETECTOR: OnceLock<Detector> = OnceLock::new();
    DETECTOR.get_or_init(|| Detector::new(config()).expect("the embedded configuration compiles"))
}

#[derive(serde::Deserialize)]
struct Reference {
    text: String,
    ids: Vec<u32>,
    vec8: Vec<f32>,
}

/// The tokenizer and pooling reproduce what the reference implementation (Python, HF tokenizers)
/// computed for awkward texts: accents, emoji, CJK, punctuation, contractions, a long text.
#[test]
fn tokens_and_vectors_match_the_reference() {
    let model = config().model.as_ref().expect("the layer is on by default");
    let embedder = Embedder::new(model);
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/model/reference.jsonl"))
        .expect("config/model/reference.jsonl");
    let mut checked = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let r: Reference = serde_json::from_str(line).expect("a reference line");
        let ids: Vec<u32> = embedder.tokens(&r.text).iter().map(|t| t.id).collect();
        assert_eq!(ids, r.ids, "token ids differ for a reference text of {} bytes", r.text.len());
        let (mean, _) = embedder.mean(&r.text);
        let norm = mean.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
        for (k, want) in r.vec8.iter().enumerate() {
            let got = mean[k] / norm;
            assert!((got - want).abs() < 1e-3, "dimension {k}: {got} vs {want}");
        }
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} reference texts");
}

#[test]
fn bad_input_gets_a_defined_answer() {
    let d = detector();
    let mut random = String::new();
    let mut x: u32 = 12345;
    for _ in 0..5000 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        if let Some(c) = char::from_u32(x % 0x11_0000) {
            random.push(c);
        }
    }
    let long = "please start taking the tablets twice a day and stop the cream. ".repeat(16_000);
    for text in ["", "   ", "🙂🙂🙂", "¿Dónde está la farmacia? Necesito ayuda.", "中文测试文本", &random, &long]
    {
        for role in [Role::Staff, Role::Patient] {
            let analysis = d.analyze(&Message::new(text, role));
            for f in &analysis.findings {
                assert!(
                    f.start <= f.end
                        && f.end <= text.len()
                        && text.is_char_boundary(f.start)
                        && text.is_char_boundary(f.end)
                );
            }
        }
    }
    // Too few words it knows: the layer abstains rather than guess.
    assert!(d.learned_reading("🙂🙂🙂", Role::Patient).is_none());
    assert!(d.learned_reading("", Role::Staff).is_none());
    assert!(d.learned_reading("ok", Role::Staff).is_none());
}

fn committed_samples() -> Vec<Sample> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/training/learned");
    let mut files: Vec<_> = std::fs::read_dir(dir).expect("training/learned").flatten().map(|e| e.path()).collect();
    files.retain(|p| p.extension().is_some_and(|e| e == "jsonl"));
    files.sort();
    let mut samples = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("readable");
        samples.extend(parse_jsonl(&file.display().to_string(), &text).expect("valid samples"));
    }
    samples
}

fn heldout_figures() -> &'static Figures {
    static FIGURES: OnceLock<Figures> = OnceLock::new();
    FIGURES.get_or_init(|| {
        let samples = committed_samples();
        measure(detector(), samples.iter().filter(|s| s.is_heldout()))
    })
}

fn pooled(sources: &[&str], label: Label, layer: Layer) -> Counts {
    let mut total = Counts::default();
    for ((source, l, y), c) in heldout_figures() {
        if *l == label && *y == layer && sources.contains(&source.as_str()) {
            total.tp += c.tp;
            total.fp += c.fp;
            total.fn_ += c.fn_;
            total.tn += c.tn;
        }
    }
    total
}
