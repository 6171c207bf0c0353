//! The `orderflow` command line (thin: everything lives in `orderflow::cli`).

// mimalloc: the import and batch paths allocate many small strings; the system allocator was
// a quarter of the profile.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    orderflow::cli::main()
}
