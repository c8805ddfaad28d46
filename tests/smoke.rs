//! Smoke test through the built binary: 5,000 random byte strings and 5,000
//! mutations of valid programs. Each run ends in time, with exit 0 or 2, no
//! panic, and nothing on stdout when it exits 2.

use std::time::{Duration, Instant};

mod common;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn run(args: &[&str], input: &[u8]) -> (Option<i32>, Vec<u8>, Vec<u8>, Duration) {
    let started = Instant::now();
    let out = common::ricci(args, input);
    (out.status.code(), out.stdout, out.stderr, started.elapsed())
}

fn assert_clean(args: &[&str], input: &[u8]) {
    let (code, stdout, stderr, took) = run(args, input);
    let shown = String::from_utf8_lossy(input);
    assert!(took < Duration::from_secs(5), "took {took:?} on {shown:?}");
    assert!(
        matches!(code, Some(0) | Some(2)),
        "exit {code:?} on {shown:?}: {}",
        String::from_utf8_lossy(&stderr)
    );
    assert!(
        !String::from_utf8_lossy(&stderr).contains("panicked"),
        "panic on {shown:?}"
    );
    if code == Some(2) {
        assert!(stdout.is_empty(), "stdout on exit 2 for {shown:?}");
    }
}

fn cases() -> usize {
    std::env::var("RICCI_SMOKE_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5000)
}

#[test]
fn random_bytes() {
    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    for _ in 0..cases() {
        let len = rng.below(64);
        let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        assert_clean(&["check", "-"], &bytes);
    }
}

#[test]
fn mutated_programs() {
    let seeds: Vec<String> = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/cases/derive"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    let alphabet: Vec<char> = " ()_^=+-*/;#\nXYWijkΣδσ0123.,{}'hexp".chars().collect();
    let mut rng = Rng(0x5EED_1234_ABCD_0002);
    for n in 0..cases() {
        let mut chars: Vec<char> = seeds[rng.below(seeds.len())].chars().collect();
        for _ in 0..1 + rng.below(4) {
            let at = rng.below(chars.len().max(1));
            match rng.below(3) {
                0 if !chars.is_empty() => {
                    chars.remove(at);
                }
                1 => chars.insert(at.min(chars.len()), alphabet[rng.below(alphabet.len())]),
                _ if !chars.is_empty() => chars[at] = alphabet[rng.below(alphabet.len())],
                _ => {}
            }
        }
        let program: String = chars.into_iter().collect();
        // every tenth mutant also goes through the whole pipeline
        if n % 10 == 0 {
            assert_clean(&["derive", "-", "--wrt", "W", "--format", "json"], program.as_bytes());
        } else {
            assert_clean(&["check", "-"], program.as_bytes());
        }
    }
}
