//! Running the built binary with arguments and standard input.

use std::io::Write;
use std::process::{Command, Output, Stdio};

/// Runs `ricci ARGS` with `stdin` as its input.
pub fn ricci(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ricci"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ricci runs");
    let mut input = child.stdin.take().expect("piped stdin");
    let data = stdin.to_vec();
    // write from another thread, so a large input cannot deadlock against a full stdout
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let out = child.wait_with_output().expect("ricci finishes");
    writer.join().expect("writer thread");
    out
}
