//! The `orderflow` command line (thin: everything lives in `orderflow::cli`).

fn main() -> std::process::ExitCode {
    orderflow::cli::main()
}
