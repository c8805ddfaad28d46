//! The built binary: exit codes, stdout/stderr discipline, and hostile input.

use std::process::Output;

mod common;
use common::ricci;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Bad input: status 2, nothing on stdout, a located message on stderr, no panic.
fn assert_rejected(out: &Output, needle: &str) {
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    assert!(out.stdout.is_empty(), "stdout not empty: {}", text(&out.stdout));
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.contains(needle), "expected {needle:?} in {err}");
}

#[test]
fn check_prints_the_canonical_form_of_the_example() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/linear.ricci");
    let out = ricci(&["check", example], b"");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "index s : S\nindex m : M\nindex n : N\nY_sn = Σ_m X_sm W_nm + b_n\n"
    );
}

#[test]
fn check_reads_stdin_and_inline_programs() {
    let out = ricci(&["check", "-"], b"Y_ij = sum_k A_ik B_kj");
    assert_eq!(text(&out.stdout), "Y_ij = Σ_k A_ik B_kj\n");
    let out = ricci(&["check"], "L = Σ_k x_k^2".as_bytes());
    assert_eq!(text(&out.stdout), "L = Σ_k x_k^2\n");
    let out = ricci(&["check", "--einstein", "-e", "Y_ij = A_ik B_kj"], b"");
    assert_eq!(text(&out.stdout), "Y_ij = Σ_k A_ik B_kj\n");
}

#[test]
fn a_bad_program_exits_2_with_line_and_column() {
    let out = ricci(&["check", "-"], b"index s : S\nY_ij = A_ik B_kj\n");
    assert_rejected(&out, "<stdin>:2:11");
    assert!(text(&out.stderr).contains("^ unbound index"));
}

#[test]
fn a_missing_file_exits_2() {
    let out = ricci(&["check", "/nonexistent/prog.ricci"], b"");
    assert_rejected(&out, "cannot read /nonexistent/prog.ricci");
}

#[test]
fn bad_usage_exits_2() {
    let out = ricci(&["derive", "-e", "Y_i = X_i"], b"");
    assert_rejected(&out, "--wrt");
    let out = ricci(&["derive", "-e", "Y_i = X_i", "--wrt", "X", "--format", "pdf"], b"");
    assert_rejected(&out, "pdf");
}

#[test]
fn random_bytes_are_rejected_cleanly() {
    // A fixed xorshift stream: 100,000 bytes of garbage, then the same as text.
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let bytes: Vec<u8> = (0..100_000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    assert_rejected(&ricci(&["check", "-"], &bytes), "not valid UTF-8");
    let alphabet: Vec<char> = " ()_^=+-*/;#\nXYijkΣ0123.".chars().collect();
    let printable: String = bytes.iter().map(|b| alphabet[(*b as usize) % alphabet.len()]).collect();
    assert_rejected(&ricci(&["check", "-"], printable.as_bytes()), "<stdin>:");
}

#[test]
fn deep_nesting_is_a_named_limit() {
    let program = format!("y = {}x{}", "(".repeat(10_000), ")".repeat(10_000));
    assert_rejected(&ricci(&["check", "-"], program.as_bytes()), "--max-depth");
    let sums: String = (0..10_000).map(|i| format!("Σ_{{i{i}}} ")).collect();
    let program = format!("y = {sums} x");
    assert_rejected(&ricci(&["check", "-"], program.as_bytes()), "--max-depth");
}

#[test]
fn a_one_mebibyte_line_is_a_named_limit() {
    let program = format!("y = {}x", "x + ".repeat(1 << 18));
    assert!(program.len() > 1 << 20);
    assert_rejected(&ricci(&["check", "-"], program.as_bytes()), "--max-input-bytes");
}

#[test]
fn limits_can_be_raised() {
    let program = format!("y = {}x{}", "(".repeat(100), ")".repeat(100));
    assert_rejected(&ricci(&["check", "-"], program.as_bytes()), "--max-depth");
    let out = ricci(&["check", "--max-depth", "200", "-"], program.as_bytes());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "y = x\n");
}

/// Findings of the fuzzers, kept: each must be rejected cleanly and quickly.
/// (A failed call used to be re-read as juxtaposition: exponential backtracking.)
#[test]
fn fuzz_findings_are_rejected_quickly() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/cases/fuzz");
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "ricci") {
            continue; // the derive fuzzer's, below
        }
        let bytes = std::fs::read(&path).unwrap();
        let started = std::time::Instant::now();
        let out = ricci(&["check", "-"], &bytes);
        assert!(
            started.elapsed() < std::time::Duration::from_secs(2),
            "{} took {:?}",
            path.display(),
            started.elapsed()
        );
        assert!(
            matches!(out.status.code(), Some(0) | Some(2)),
            "{}: {:?}",
            path.display(),
            out.status
        );
        assert!(!text(&out.stderr).contains("panicked"), "{}", path.display());
    }
}

/// Programs the derive fuzzer found slow (`# wrt: X` on the first line): each
/// derives, with steps, in JSON, within a bound.
#[test]
fn derive_fuzz_findings_end_quickly() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/cases/fuzz");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "ricci") {
            continue;
        }
        let source = std::fs::read_to_string(&path).unwrap();
        let wrt = source
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# wrt: "))
            .expect("# wrt: X first");
        let started = std::time::Instant::now();
        let out = ricci(&["derive", "-", "--wrt", wrt, "--format", "json"], source.as_bytes());
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{} took {:?}",
            path.display(),
            started.elapsed()
        );
        assert_eq!(out.status.code(), Some(0), "{}: {}", path.display(), text(&out.stderr));
        seen += 1;
    }
    assert!(seen >= 1);
}

#[test]
fn the_statement_limit_is_named() {
    let program: String = (0..20).map(|n| format!("Y{n}_i = X_i\n")).collect();
    assert_rejected(
        &ricci(&["check", "--max-statements", "10", "-"], program.as_bytes()),
        "--max-statements",
    );
    let out = ricci(&["check", "--max-statements", "20", "-"], program.as_bytes());
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn the_index_limit_is_named() {
    // 12 distinct indices: a sum over 11 of them.
    let program = "Y_a = Σ_{b,c,d,e,f,g,h,i,j,k,l} X_{a,b,c,d,e,f,g,h,i,j,k,l}\n";
    let out = ricci(&["check", "--max-indices", "11", "-"], program.as_bytes());
    assert_rejected(&out, "--max-indices");
    assert!(text(&out.stderr).contains("<stdin>:1:30"), "{}", text(&out.stderr));
    let out = ricci(&["check", "--max-indices", "12", "-"], program.as_bytes());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

/// After a syntax error the other statements are still read: every slip is listed.
#[test]
fn every_syntax_error_is_listed() {
    let program = "Y_i = (X_i\nZ_i = Y_i +\nW_i = Z_i\nV_i = ) W_i\n";
    let out = ricci(&["check", "-"], program.as_bytes());
    assert_rejected(&out, "");
    let stderr = text(&out.stderr);
    for at in ["<stdin>:1:11", "<stdin>:2:12", "<stdin>:4:7"] {
        assert!(stderr.contains(at), "no error at {at} in\n{stderr}");
    }
    assert!(!stderr.contains("<stdin>:3:"), "{stderr}");
}

#[test]
fn an_egraph_limit_is_reported_and_the_result_still_printed() {
    let args = [
        "derive",
        "-e",
        "L = Σ_ij x_i A_ij x_j",
        "--wrt",
        "x",
        "--max-egraph-nodes",
        "1",
        "--check",
    ];
    let out = ricci(&args, b"");
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("stopped at its node limit"), "{stdout}");
    assert!(stdout.contains("--max-egraph-nodes"), "{stdout}");
    // the unlimited run finds the factored form
    let out = ricci(&["derive", "-e", "L = Σ_ij x_i A_ij x_j", "--wrt", "x"], b"");
    assert!(text(&out.stdout).contains("(Aᵀ + A) x"), "{}", text(&out.stdout));
}

/// A loss far larger than its gradient drowns the finite differences in
/// rounding: `--check` says it cannot tell and fails, it never passes.
#[test]
fn check_that_cannot_tell_says_so_and_fails() {
    let out = ricci(
        &[
            "derive",
            "-e",
            "L = Σ_i (exp(exp(4)) y_i + x_i)",
            "--wrt",
            "x",
            "--check",
        ],
        b"",
    );
    // the report is on standard error
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("check x:") && stderr.contains("UNDECIDED"), "{stderr}");
    assert!(
        stderr.contains("rounding and truncation in the finite differences"),
        "{stderr}"
    );
    assert!(!text(&out.stdout).contains("check x:"), "{}", text(&out.stdout));
    // the same form on a loss of ordinary size is checked
    let out = ricci(&["derive", "-e", "L = Σ_i (4 y_i + x_i)", "--wrt", "x", "--check"], b"");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("check x: relative error"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn huge_exponents_do_not_hang() {
    let out = ricci(
        &["derive", "-e", "L = Σ_i x_i^1000000 + 2^100000 Σ_i x_i", "--wrt", "x"],
        b"",
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains("1000000 x^∘999999"));
}

/// A deep chain's index form nests one Σ per layer; `--check` evaluates each
/// Σ once per assignment of its free indices, not once per outer iteration.
#[test]
fn check_on_a_deep_chain_ends_quickly() {
    let mut lines = vec!["s1_i = Σ_j W1_ij x_j + b1_i".to_string()];
    for l in 1..16 {
        lines.push(format!("s{}_i = Σ_j W{}_ij tanh(s{l}_j) + b{}_i", l + 1, l + 1, l + 1));
    }
    lines.push("L = Σ_i (s16_i - y_i)^2".into());
    let program = lines.join("\n");
    let started = std::time::Instant::now();
    let out = ricci(&["derive", "-", "--wrt", "W1", "--check"], program.as_bytes());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
}

/// `max(a, b)` writes `b` twice: nested thirty deep it would be 10⁹ nodes. The
/// bound on the lowered size refuses it at once, saying which bound was hit.
#[test]
fn nested_max_is_refused_before_it_explodes() {
    let mut e = "x_k".to_string();
    for _ in 0..30 {
        e = format!("max(y_k, {e})");
    }
    let program = format!("L = Σ_k {e}");
    for command in ["check", "derive"] {
        let out = ricci(
            &[command, "-e", &program, "--wrt", "x"][..if command == "check" { 3 } else { 5 }],
            b"",
        );
        assert_rejected(
            &out,
            "too large once `max`, `min`, `mean` and `softmax` are written out",
        );
    }
}
