//! Property: what `ricci derive` writes on standard output is a valid file of
//! its format even with `--check`, whose report goes to standard error —
//! `--format json --check` parses as JSON (with a `"check"` object per result)
//! and `--format numpy --check` compiles as Python — for generated programs.
//!
//! Each case runs the binary twice; 100 cases by default,
//! `RICCI_OUTPUT_CASES` sets more. The Python sources are compiled by one
//! `python3` process at the end (skipped with a message when there is no
//! python3, except in CI).

use std::io::Write;
use std::process::{Command, Stdio};

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;

mod common;
mod generator;

fn cases() -> usize {
    std::env::var("RICCI_OUTPUT_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100)
}

/// The generated programs, with the tensor to differentiate by.
fn programs() -> Vec<(String, String)> {
    let mut runner = TestRunner::deterministic();
    let choices = proptest::collection::vec(proptest::arbitrary::any::<u32>(), 8..64);
    (0..cases())
        .map(|_| generator::program(&choices.new_tree(&mut runner).expect("a value").current()))
        .collect()
}

#[test]
fn json_and_numpy_stay_valid_with_check() {
    let mut python = Vec::new();
    for (source, wrt) in programs() {
        let args = |format| ["derive", "-", "--wrt", wrt.as_str(), "--format", format, "--check"];
        let json = common::ricci(&args("json"), source.as_bytes());
        let stdout = String::from_utf8_lossy(&json.stdout);
        let stderr = String::from_utf8_lossy(&json.stderr);
        // exit 1 is a failed or undecided check: still a whole, valid JSON object
        assert!(
            matches!(json.status.code(), Some(0 | 1)),
            "--wrt {wrt}\n{source}\n{stderr}"
        );
        let value: serde_json::Value = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("--wrt {wrt}\n{source}\nnot JSON ({e}):\n{stdout}"));
        for result in value["results"].as_array().expect("results") {
            let check = &result["check"];
            assert!(
                check.is_object() && check["verdict"].is_string(),
                "--wrt {wrt}\n{source}\nno check object in {result}"
            );
        }
        assert!(
            stderr.contains("check "),
            "--wrt {wrt}\n{source}\nno report on stderr: {stderr}"
        );

        let numpy = common::ricci(&args("numpy"), source.as_bytes());
        assert!(
            matches!(numpy.status.code(), Some(0 | 1)),
            "--wrt {wrt}\n{source}\n{}",
            String::from_utf8_lossy(&numpy.stderr)
        );
        python.push((source, String::from_utf8_lossy(&numpy.stdout).into_owned()));
    }
    compile_all(&python);
}

/// Compiles every Python source in one `python3` process; each failure names
/// its program.
fn compile_all(sources: &[(String, String)]) {
    let script = "import json, sys\n\
        bad = []\n\
        for program, code in json.load(sys.stdin):\n\
        \x20   try:\n\
        \x20       compile(code, '<ricci>', 'exec')\n\
        \x20   except SyntaxError as e:\n\
        \x20       bad.append(program + '\\n' + code + '\\n' + str(e))\n\
        print('\\n\\n'.join(bad))\n\
        sys.exit(1 if bad else 0)\n";
    let child = Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!("skipping the Python compile check: no python3 ({e})");
            return;
        }
        Err(e) => panic!("python3 is needed in CI: {e}"),
    };
    let input = serde_json::to_vec(sources).expect("sources serialise");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&input)
        .expect("python reads");
    let out = child.wait_with_output().expect("python finishes");
    assert!(
        out.status.success(),
        "generated NumPy that does not compile:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
