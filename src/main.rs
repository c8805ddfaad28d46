//! The `ricci` command, a client of the library's public API (`cli.rs`).

mod cli;

/// Terms are many small, short-lived allocations; mimalloc serves them faster
/// than the system allocator. (The library leaves the choice to its user.)
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    cli::main()
}
