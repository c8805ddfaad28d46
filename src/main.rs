//! The `ricci` command; everything but the exit code lives in `ricci::cli`.

/// Terms are many small, short-lived allocations; mimalloc serves them faster
/// than the system allocator. (The library leaves the choice to its user.)
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    ricci::cli::main()
}
