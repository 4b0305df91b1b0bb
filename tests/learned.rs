//! The learned layer: its tokenizer against the reference's own output, its findings' shape, its
//! behaviour on bad input, and its quality on the committed held-out splits (never trained on).

use std::sync::OnceLock;

use bedside::config::{self, Source};
use bedside::detect::learned::Embedder;
use bedside::detect::{Detector, Label, Message, NotCounted, Role};
use bedside::quality::{Counts, Figures, Layer, Sample, measure, parse_jsonl};

fn config() -> &'static config::Config {
    static CONFIG: OnceLock<config::Config> = OnceLock::new();
    CONFIG.get_or_init(|| config::load(&Source::embedded()).expect("the embedded configuration loads"))
}

fn detector() -> &'static Detector {
    static DETECTOR: OnceLock<Detector> = OnceLock::new();
    DETECTOR.get_or_init(|| Detector::new(config()).expect("the embedded configuration compiles"))
}

/// The shipped configuration with the learned layer's settings edited.
fn with_settings(edit: impl FnOnce(&mut config::model::ModelSettings)) -> Detector {
    let mut config = config().clone();
    edit(&mut config.model.as_mut().expect("the layer is on").settings);
    Detector::new(&config).expect("compiles")
}

/// The shipped configuration with the layer also deciding advice (off by default, see bedside.toml).
fn with_advice() -> &'static Detector {
    static DETECTOR: OnceLock<Detector> = OnceLock::new();
    DETECTOR.get_or_init(|| with_settings(|s| s.decides_advice = true))
}

#[test]
fn by_default_the_layer_decides_feedback_but_not_advice() {
    let advice = "I suggest you start antibiotic eye drops straight away.";
    let default = detector().analyze(&Message::new(advice, Role::Staff));
    assert!(!default.findings.iter().any(|f| f.rule.starts_with("model.")), "advice is off by default");
    let on = with_advice().analyze(&Message::new(advice, Role::Staff));
    assert!(on.findings.iter().any(|f| &*f.rule == "model.medical_advice"), "and works when turned on");
    let praise =
        detector().analyze(&Message::new("The ambulance came quickly and the crew were brilliant.", Role::Patient));
    assert!(praise.findings.iter().any(|f| &*f.rule == "model.feedback"), "{:?}", praise.findings);
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
    let embedder = Embedder::new(model).expect("a loaded model has its table");
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
        measure(with_advice(), samples.iter().filter(|s| s.is_heldout()))
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

/// Both layers together on the committed held-out splits, as recorded in docs/learned.md when the
/// heads and thresholds were last set. A change that loses more than 0.03 of any of them fails here.
const SLACK: f64 = 0.03;

#[test]
fn held_out_real_text_keeps_its_recorded_figures() {
    let doctors = pooled(&["aci-bench", "mts-dialog", "primock57"], Label::MedicalAdvice, Layer::Both);
    let recall = doctors.recall().expect("held-out doctor turns labeled as advice");
    assert!(recall >= 0.271 - SLACK, "advice recall on held-out doctor turns {recall:.3}");
    // The layer must add to what the rules catch on real text, or it is not worth its cost.
    let rules = pooled(&["aci-bench", "mts-dialog", "primock57"], Label::MedicalAdvice, Layer::Rules);
    assert!(recall > rules.recall().unwrap_or(0.0) + 0.10, "the learned layer adds too little to the rules");

    let general = pooled(&["medquad"], Label::MedicalAdvice, Layer::Both).false_positive_rate().expect("MedQuAD");
    assert!(general <= 0.019 + SLACK, "general information flagged as advice: {general:.3}");

    let feedback = pooled(&["written-feedback"], Label::Feedback, Layer::Both).recall().expect("written feedback");
    assert!(feedback >= 0.593 - SLACK, "feedback recall on held-out written feedback {feedback:.3}");
    let questions = pooled(&["meqsum", "mediqa2021"], Label::Feedback, Layer::Both).false_positive_rate().unwrap();
    assert!(questions <= 0.124 + SLACK, "patients' questions taken as feedback: {questions:.3}");
    let booking = pooled(&["sgd"], Label::Feedback, Layer::Both).false_positive_rate().unwrap();
    assert!(booking <= 0.080 + SLACK, "booking talk taken as feedback: {booking:.3}");
}

#[test]
fn a_model_finding_explains_itself() {
    let d = with_advice();
    let text = "Based on your symptoms it sounds like a vitamin deficiency. I'd suggest getting bloods done and \
                starting a supplement, Mrs Kowalski.";
    let analysis = d.analyze(&Message::new(text, Role::Staff));
    let finding = analysis.findings.iter().find(|f| &*f.rule == "model.medical_advice").expect("the layer flags it");
    assert!(analysis.has(Label::MedicalAdvice));
    let reason = finding.reason();
    assert!(reason.contains("probability 0.9"), "{reason}");
    assert!(reason.contains("words “"), "{reason}");
    assert!(!reason.to_lowercase().contains("kowalski"), "a name is never quoted: {reason}");
    assert!(finding.start < finding.end && text.is_char_boundary(finding.start) && text.is_char_boundary(finding.end));
    assert!(d.fix_for("model.medical_advice").is_some());

    // General information and booking talk stay clean.
    for clean in ["Flu shots are in! Walk-ins welcome Monday to Friday.", "Call us on the main line to book a time."] {
        let a = d.analyze(&Message::new(clean, Role::Staff));
        assert!(!a.findings.iter().any(|f| f.rule.starts_with("model.")), "{clean}");
    }
}

/// The shipped configuration with `model.overrule_feedback_below` set (off by default).
fn with_overrule(below: f32) -> Detector {
    with_settings(|s| s.overrule_feedback_below = below)
}

/// A question that closes with thanks: the rules see praise, the layer reads a question. Overruled,
/// the rules' finding is still shown, not counted, and says why; real praise still counts.
#[test]
fn the_layer_can_overrule_the_rules_feedback_on_a_question() {
    let question = "Is it safe to take melatonin every night for sleep? Thank you very much doctor";
    let praise = "The front desk team was so kind to my grandma today, thank you!";
    let reading = detector().learned_reading(question, Role::Patient).expect("the layer reads it");
    assert!(reading.probability < 0.2, "the layer reads a question: {}", reading.probability);

    let plain = detector().analyze(&Message::new(question, Role::Patient));
    assert!(plain.has(Label::Feedback), "off by default, the rules count: {:?}", plain.findings);

    let overruling = with_overrule(0.2);
    let overruled = overruling.analyze(&Message::new(question, Role::Patient));
    assert!(!overruled.has(Label::Feedback), "{:?}", overruled.findings);
    assert_eq!(overruled.feedback_kind, None);
    let kept = overruled.findings.iter().find(|f| f.label() == Label::Feedback).expect("still reported");
    assert_eq!(kept.not_counted, Some(NotCounted::ReadsAsNotFeedback));
    assert!(kept.not_counted.as_ref().is_some_and(|n| n.explain().contains("overrule_feedback_below")));

    let control = overruling.analyze(&Message::new(praise, Role::Patient));
    assert!(control.has(Label::Feedback), "real praise still counts: {:?}", control.findings);
}

/// A running bot keeps its configuration but not the token table: the detector already holds the
/// per-token scores, and reads exactly as one compiled from a configuration that kept it.
#[test]
fn a_setup_lets_the_token_table_go_and_reads_the_same() {
    let setup = bedside::setup::Setup::load(None).expect("the built-in configuration");
    let model = setup.config.model.as_ref().expect("the layer is on by default");
    assert!(model.table.is_none(), "the table is released");
    assert_eq!(model.shape.0, model.vocab.len(), "its shape is still known");
    let kept = Detector::new(config()).expect("it compiles");
    for (text, role) in [
        ("The reception staff were lovely and the wait was short.", Role::Patient),
        ("Wait times to get through on the phone.", Role::Patient),
        ("I suggest you start antibiotic eye drops straight away.", Role::Staff),
        ("Flu shots are in, call us to book.", Role::Staff),
    ] {
        let message = Message::new(text, role);
        assert_eq!(setup.detector.analyze(&message), kept.analyze(&message), "{text}");
    }
    let again = Detector::new(&setup.config).expect_err("compiling a released model again");
    assert!(again.to_string().contains("token table was released"), "{again}");
}
