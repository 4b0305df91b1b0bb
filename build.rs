//! Compiles the name lists in `src/detect/names/` into two `fst` sets, embedded in the binary.
//!
//! Why at build time: the surname list is 695 KB of text; as a finite-state set it is a few
//! hundred KB that is searched in place, with nothing to parse or allocate when Bedside starts.

use std::env;
use std::fs;
use std::path::Path;

fn main() {
    let out = env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    for (list, file) in [("first", "first.txt"), ("surnames", "surnames.txt")] {
        let source = Path::new("src/detect/names").join(file);
        println!("cargo:rerun-if-changed={}", source.display());
        let text = fs::read_to_string(&source).unwrap_or_else(|e| panic!("{}: {e}", source.display()));
        // Lowercase ASCII, as the finder looks words up (the lists are the Census's ASCII spellings).
        let mut names: Vec<String> = text
            .lines()
            .map(|l| l.trim().to_ascii_lowercase())
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect();
        names.sort();
        names.dedup();
        let set = fst::Set::from_iter(names).unwrap_or_else(|e| panic!("{}: {e}", source.display()));
        let path = Path::new(&out).join(format!("{list}.fst"));
        fs::write(&path, set.as_fst().as_bytes()).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
}
