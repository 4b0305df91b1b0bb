//! The `bedside` binary: everything lives in the library; see `bedside::cli`.

fn main() -> std::process::ExitCode {
    bedside::cli::main()
}
