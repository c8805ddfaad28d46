//! The `ricci` command; everything but the exit code lives in `ricci::cli`.

fn main() -> std::process::ExitCode {
    ricci::cli::main()
}
