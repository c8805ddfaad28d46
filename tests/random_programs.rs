//! Property: every derivation of a random well-formed program agrees with
//! finite differences, in index form and in matrix form.
//!
//! The programs come from `generator` (shared with `tests/outputs.rs`); each is
//! built from a vector of choices, so proptest shrinks a failure to a small
//! program. 2,000 cases by default; `RICCI_PROPTEST_CASES` sets more.
//! Every failure ever found stays below as a regression case.

use proptest::prelude::*;
use ricci::Verdict;

mod generator;
use generator::program;

/// Derives and checks one program: `Ok(true)` when every form agrees with finite
/// differences, `Ok(false)` when the check cannot decide — the loss overflows
/// f64 at the random inputs (`exp(x² exp(x))`), or is so large that rounding in
/// the differences explains the disagreement (a loss of 1e13 through
/// `exp(exp(x))`); the check reports either as a failure, never as a pass —
/// and `Err` with the derivation when a form is off.
fn check(source: &str, wrt: &str) -> Result<bool, String> {
    let request = ricci::Request {
        wrt: vec![wrt.to_string()],
        ..Default::default()
    };
    let d = ricci::derive(source, &request).map_err(|e| match e {
        ricci::Error::Program(_) => format!("does not load:\n{}", e.render("p", source)),
        ricci::Error::Request(d) => d.message,
    })?;
    let mut decided = true;
    for r in d.check(11, &[]) {
        // Relative to the gradient's size; the loss can reach e^e, so 1e-5.
        match r.verdict(1e-5) {
            Verdict::Agrees => {}
            Verdict::Undecided => decided = false,
            Verdict::Disagrees => {
                return Err(format!(
                    "off by {:e} (index form), {:?} (matrix form), rounding floor {:e}:\n{}",
                    r.index_error,
                    r.matrix_error,
                    r.noise,
                    d.text(Default::default(), false)
                ))
            }
        }
    }
    Ok(decided)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("RICCI_PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(2000),
        max_shrink_iters: 2000,
        ..ProptestConfig::default()
    })]

    #[test]
    fn derivations_of_random_programs_pass_the_check(choices in prop::collection::vec(any::<u32>(), 8..64)) {
        let (source, wrt) = program(&choices);
        match check(&source, &wrt) {
            Ok(decided) => {
                // A program the check cannot decide is rejected, not passed:
                // proptest fails the run if more than its global limit are rejected.
                prop_assume!(decided, "finite differences cannot decide");
            }
            Err(e) => prop_assert!(false, "--wrt {wrt}\n{source}\n{e}"),
        }
    }
}

/// Programs the property test once failed on, kept as regressions.
#[test]
fn regressions() {
    for (source, wrt) in REGRESSIONS {
        match check(source, wrt) {
            Ok(true) => {}
            Ok(false) => panic!("--wrt {wrt}\n{source}\nfinite differences cannot decide"),
            Err(e) => panic!("--wrt {wrt}\n{source}\n{e}"),
        }
    }
}

const REGRESSIONS: &[(&str, &str)] = &[
    // factoring across a sum whose terms broadcast differently gave a
    // shape-invalid matrix form (fixed: `same-shape` conditions in rules/matrix.rules)
    (
        "D0_ij = A2_ij + v1_j + A3_ij\nD1_i = 1/2 v4_i + Σ_mn D0_im D0_mn\nL = Σ_i D1_i^2",
        "v1",
    ),
    // associativity across an inner product used as a scalar: (aᵀ b) c ≠ aᵀ (b c)
    // (fixed: `chain` conditions on mm-assoc)
    (
        "D0_i = v1_i + v1_i\nD1_i = exp(Σ_l A2_il v3_l) + D0_i\nD2_ij = A4_ij + A4_ij + A4_ij + v5_j + Σ_m A6_ijm D1_m\nD3_i = v7_i + v7_i + 1/2 v8_i + Σ_mn D2_im D2_mn\nL = Σ_i D3_i^2",
        "v5",
    ),
    // an intermediate that relu leaves at exactly 0 sits at a kink of the next
    // relu: finite differences there measure 1/2 (fixed: such entries are skipped)
    (
        "D0_ij = relu(1/2 A1_ij)\nD1_ij = relu(D0_ij) + v2_j\nD2_ij = (1/2 D1_ij) (2/2 D1_ij)\nD3_ij = 1/2 D2_ij",
        "D0",
    ),
    // a gradient constant along its index had a 1×1 matrix form (fixed: a scalar
    // from elimination is broadcast)
    (
        "D0_ij = exp(A1_ij) / Σ_k exp(A1_ik)\nD1_ij = exp(D0_ij) + v2_j\nD2_i = v3_i + v3_i + 1/2 v3_i + Σ_mn A4_im D1_mn\nL = Σ_i D2_i^2",
        "v2",
    ),
];
