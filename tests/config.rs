//! Configuration is validated at load: every problem at once, each naming its file and rule.

use std::path::{Path, PathBuf};
use std::process::Command;

use bedside::config::{EMBEDDED, EMBEDDED_BINARIES, Source};
use bedside::setup::Setup;

fn config_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("config")
}

/// A copy of the shipped config in a temporary directory, to break on purpose.
fn copy_config() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (path, text) in EMBEDDED {
        let target = dir.path().join(path);
        std::fs::create_dir_all(target.parent().expect("parent")).expect("mkdir");
        std::fs::write(target, text).expect("write");
    }
    for (path, bytes) in EMBEDDED_BINARIES {
        std::fs::write(dir.path().join(path), bytes).expect("write");
    }
    dir
}

fn edit(dir: &Path, file: &str, from: &str, to: &str) {
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path).expect("read");
    assert!(text.contains(from), "{file} has no {from:?}");
    std::fs::write(path, text.replacen(from, to, 1)).expect("write");
}

#[test]
fn every_shipped_file_is_embedded_and_identical() {
    let on_disk = Source::from_dir(&config_dir()).expect("config/ reads");
    let embedded = Source::embedded();
    let disk_names: Vec<&String> = on_disk.files.keys().collect();
    let embedded_names: Vec<&String> = embedded.files.keys().collect();
    assert_eq!(disk_names, embedded_names, "add new config files to EMBEDDED in src/config/source.rs");
    assert_eq!(on_disk.files, embedded.files);
}

#[test]
fn the_shipped_config_loads_from_the_directory_too() {
    let setup = Setup::load(Some(&config_dir())).expect("config/ is valid");
    assert!(setup.detector.rule_count() > 20);
}

#[test]
fn every_problem_is_reported_at_once_with_file_and_rule() {
    let dir = copy_config();
    let d = dir.path();
    edit(d, "rules/advice.toml", "id = \"advice.dose\"\nkind = \"dose\"", "id = \"advice.dose\"\nkind = \"dosage\"");
    edit(
        d,
        "rules/advice.toml",
        "score = 0.25\ntrigger = { pattern = '''\\b(?:sounds",
        "score = 0.25\ntrigger = { pattern = '''\\b(?:(sounds",
    );
    edit(
        d,
        "rules/identifiers.toml",
        "id = \"id.fax\"\nkind = \"fax\"",
        "id = \"id.fax\"\nkind = \"fax\"\ncolour = \"blue\"",
    );
    edit(
        d,
        "rules/feedback.toml",
        "match = { lexicon = \"feedback_targets\" }",
        "match = { lexicon = \"feedback_target\" }",
    );
    edit(d, "bedside.toml", "medical_advice = 0.7", "medical_advice = 7.0");
    std::fs::write(d.join("lexicons/empty.toml"), "description = \"nothing\"\nterms = []\n").expect("write");

    let error = Setup::load(Some(d)).expect_err("broken config must not load");
    let text = error.to_string();
    for expected in [
        "rules/advice.toml: rule `advice.dose`: unknown kind `dosage`",
        "rules/advice.toml: rule `advice.diagnosis`: trigger: bad regex",
        "rules/identifiers.toml: rule `id.fax`: unknown field `colour`",
        "rules/feedback.toml: rule `feedback.praise`: signal 1 (`about the practice or its services`): unknown lexicon `feedback_target`",
        "bedside.toml: thresholds.medical_advice = 7 is out of range",
        "lexicons/empty.toml: the word list is empty",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    assert!(error.problems.len() >= 6);
}

#[test]
fn templates_and_tips_that_bedside_would_flag_are_rejected() {
    let dir = copy_config();
    let d = dir.path();
    edit(
        d,
        "templates.toml",
        "\"This made our day — thank you for taking the time to share it.\"",
        "\"So glad your visit went well!\"",
    );
    edit(
        d,
        "templates.toml",
        "\"Great idea — thank you. We've passed it on to the team to consider.\"",
        "\"Great idea, Mrs. Alvarez — your crown is ready too.\"",
    );
    let tips = std::fs::read_to_string(d.join("tips.toml")).expect("tips");
    std::fs::write(
        d.join("tips.toml"),
        format!("{tips}\n[[tip]]\nid = \"bad-dose\"\nkind = \"tip\"\ntopic = \"general\"\ntext = \"Take 400mg ibuprofen every 6 hours for tooth pain.\"\n"),
    )
    .expect("write");
    let text = Setup::load(Some(d)).expect_err("must be rejected").to_string();
    assert!(text.contains("templates.toml: praise template 2: contains \"your visit\""), "{text}");
    assert!(text.contains("templates.toml: suggestion template 2"), "{text}");
    assert!(text.contains("tips.toml: rule `bad-dose`: Bedside would flag this tip itself"), "{text}");
}

#[test]
fn complaint_templates_must_invite_private_contact() {
    let dir = copy_config();
    edit(dir.path(), "templates.toml", "please call us privately at {practice_phone} so", "please get in touch so");
    let text = Setup::load(Some(dir.path())).expect_err("must be rejected").to_string();
    assert!(text.contains("must invite private contact"), "{text}");
}

#[test]
fn broken_toml_names_the_file_and_position() {
    let dir = copy_config();
    std::fs::write(dir.path().join("bedside.toml"), "[practice\nname = 1").expect("write");
    let text = Setup::load(Some(dir.path())).expect_err("broken").to_string();
    assert!(text.contains("bedside.toml: TOML parse error at line 1"), "{text}");
}

#[test]
fn config_check_command_exits_2_with_every_problem_and_0_when_valid() {
    let bin = env!("CARGO_BIN_EXE_bedside");
    let ok = Command::new(bin).args(["config", "check"]).arg(config_dir()).output().expect("runs");
    assert_eq!(ok.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&ok.stdout).contains("Configuration OK"));

    let dir = copy_config();
    edit(dir.path(), "bedside.toml", "feedback = 0.6", "feedback = -1");
    edit(dir.path(), "bedside.toml", "roles = [\"Staff\", \"Clinician\", \"Front Desk\"]", "roles = []");
    let bad = Command::new(bin).args(["config", "check"]).arg(dir.path()).output().expect("runs");
    assert_eq!(bad.status.code(), Some(2));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("thresholds.feedback = -1") && err.contains("staff.roles is empty"), "{err}");
}

#[test]
fn zero_ids_and_numbers_that_are_not_finite_are_reported_like_any_other_problem() {
    let dir = copy_config();
    let d = dir.path();
    edit(d, "bedside.toml", "alert_channel = \"staff-alerts\"", "alert_channel = \"0\"");
    edit(d, "bedside.toml", "roles = [\"Staff\",", "roles = [\"000\", \"Staff\",");
    edit(d, "bedside.toml", "stale_after_days = 5", "stale_after_days = nan");
    edit(d, "tips.toml", "cooloff_days = 30", "cooloff_days = nan");
    let text = Setup::load(Some(d)).expect_err("must be rejected").to_string();
    for expected in [
        "bedside.toml: discord.alert_channel: `0` is not a Discord id",
        "bedside.toml: staff.roles: `000` is not a Discord id",
        "bedside.toml: stagnation.stale_after_days = NaN is out of range",
        "tips.toml: cooloff_days = NaN is out of range",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    edit(d, "tips.toml", "cooloff_days = nan", "cooloff_days = inf");
    let text = Setup::load(Some(d)).expect_err("must be rejected").to_string();
    assert!(text.contains("tips.toml: cooloff_days = inf is out of range"), "{text}");

    let bin = env!("CARGO_BIN_EXE_bedside");
    let checked = Command::new(bin).args(["config", "check"]).arg(d).output().expect("runs");
    assert_eq!(checked.status.code(), Some(2), "reported, not a panic");
    let err = String::from_utf8_lossy(&checked.stderr);
    assert!(err.contains("`0` is not a Discord id") && err.contains("cooloff_days = inf"), "{err}");
}

#[test]
fn the_learned_layers_files_and_settings_are_checked_with_everything_else() {
    let dir = copy_config();
    let d = dir.path();
    edit(d, "bedside.toml", "medical_advice = 0.97", "medical_advice = 1.5");
    edit(d, "bedside.toml", "overrule_feedback_below = 0.0", "overrule_feedback_below = 0.96");
    let table = std::fs::read(d.join("model/table.bin")).expect("table");
    std::fs::write(d.join("model/table.bin"), &table[..table.len() - 7]).expect("truncate");
    let text = Setup::load(Some(d)).expect_err("must be rejected").to_string();
    assert!(text.contains("model.medical_advice = 1.5 is not a probability"), "{text}");
    assert!(
        text.contains("model.overrule_feedback_below = 0.96 must be at least 0 and below model.feedback"),
        "{text}"
    );
    assert!(text.contains("model/table.bin: 11842545 bytes, but its header says"), "{text}");

    // Off, the files are not needed at all.
    let dir = copy_config();
    let d = dir.path();
    edit(d, "bedside.toml", "enabled = true", "enabled = false");
    std::fs::remove_file(d.join("model/table.bin")).expect("remove");
    let setup = Setup::load(Some(d)).expect("runs on the rules alone");
    assert!(setup.config.model.is_none());
}
