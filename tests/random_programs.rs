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
    check_request(source, &request)
}

/// Derives and checks one request (a gradient, a Jacobian, a Hessian, an
/// HVP), as [`check`] does.
fn check_request(source: &str, request: &ricci::Request) -> Result<bool, String> {
    let wrt = &request.wrt[0];
    let d = ricci::derive(source, request).map_err(|e| match e {
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
                    "{wrt}: off by {:e} (index form), {:?} (matrix form), rounding floor {:e}:\n{}",
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

/// The second-derivative requests of a random program: the Jacobian of its
/// last definition, and (with the loss defined as the sum of its squares
/// where the program leaves it unknown) the Hessian and the HVP.
fn second_requests(source: &str, wrt: &str) -> (String, Vec<ricci::Request>) {
    let last = source
        .lines()
        .rev()
        .find(|l| l.starts_with('D'))
        .and_then(|l| l.split('_').next())
        .unwrap_or("D0")
        .to_string();
    let with_loss = if source.lines().any(|l| l.starts_with("L = ")) {
        source.to_string()
    } else {
        let line = source.lines().rev().find(|l| l.starts_with('D')).unwrap_or_default();
        let order = line.split(" = ").next().unwrap_or_default().len() - last.len() - 1;
        let ix = ["i", "ij"][order.clamp(1, 2) - 1];
        format!("{source}\nL = Σ_{ix} {last}_{ix}^2")
    };
    let base = ricci::Request {
        wrt: vec![wrt.to_string()],
        ..Default::default()
    };
    let requests = vec![
        ricci::Request {
            of: last,
            ..base.clone()
        },
        ricci::Request {
            hessian: true,
            ..base.clone()
        },
        ricci::Request {
            hvp: Some("Vd".into()),
            ..base
        },
    ];
    (with_loss, requests)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("RICCI_PROPTEST_SECOND_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(150),
        max_shrink_iters: 500,
        ..ProptestConfig::default()
    })]

    /// Jacobians, Hessians and HVPs of random programs against finite
    /// differences of the output and of the gradient (150 programs by
    /// default, each three requests; `RICCI_PROPTEST_SECOND_CASES` sets more).
    #[test]
    fn second_derivatives_of_random_programs_pass_the_check(choices in prop::collection::vec(any::<u32>(), 8..64)) {
        let (source, wrt) = program(&choices);
        let (with_loss, requests) = second_requests(&source, &wrt);
        let mut decided = true;
        for r in &requests {
            match check_request(&with_loss, r) {
                Ok(d) => decided &= d,
                Err(e) => prop_assert!(false, "{r:?}\n{with_loss}\n{e}"),
            }
        }
        prop_assume!(decided, "finite differences cannot decide");
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

/// Second-derivative requests the property test once failed on.
#[test]
fn second_derivative_regressions() {
    // saturation moved an inner product used as a scalar into a chain
    // (`D1 diag(v1) 1ᵀ D1 (9 1)`): an ill-formed matrix form is never shown
    let source = "D0_i = (v1_i) (v1_i) + v1_i\nD1_ij = A2_ij + D0_j\nD2_ij = Σ_k D1_ik D1_kj\nD3_ij = 3/2 D2_ij\nL = Σ_ij D3_ij^2";
    let request = ricci::Request {
        wrt: vec!["v1".into()],
        hessian: true,
        ..Default::default()
    };
    assert_eq!(check_request(source, &request), Ok(true));
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
