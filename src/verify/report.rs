//! What a comparison with finite differences says: the [`Report`] of one
//! `--wrt`, its [`Verdict`] and the reason, and the relative error it is
//! judged by.

use ndarray::ArrayD;

/// How the derived forms compare with finite differences, for one `--wrt`.
#[derive(Clone, Debug)]
pub struct Report {
    /// The tensor.
    pub wrt: String,
    /// Largest relative error of the index form.
    pub index_error: f64,
    /// Largest relative error of the matrix form (gradient layout), if there is one.
    pub matrix_error: Option<f64>,
    /// Entries not compared because they sit at a kink of relu or abs.
    pub skipped: usize,
    /// The loss or a finite difference was not a finite number (f64 overflow).
    pub overflow: bool,
    /// The rounding floor of the finite differences, relative like the errors:
    /// `ε |L| / h` at the largest loss evaluated. An error no larger than a few
    /// times this can be rounding, not a wrong form.
    pub noise: f64,
    /// Why nothing could be compared, whatever the tolerance: the loss never
    /// varies, every entry sits at a kink, an assumption does not hold or the
    /// perturbations leave it (see the module documentation).
    pub undecided: Option<String>,
    /// The largest finite difference compared, in absolute value.
    pub largest: f64,
    /// Whether the derived index form is exactly the number 0.
    pub zero_form: bool,
}

/// What a comparison with finite differences says about a derived form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The form agrees with finite differences within the tolerance.
    Agrees,
    /// The form disagrees by more than the tolerance and more than rounding explains.
    Disagrees,
    /// The finite differences cannot tell (see the module documentation).
    Undecided,
}

impl Verdict {
    /// As `--check` prints it: `ok`, `FAILED`, `UNDECIDED`.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Agrees => "ok",
            Verdict::Disagrees => "FAILED",
            Verdict::Undecided => "UNDECIDED",
        }
    }
}

/// A verdict and, unless it is ok, why.
#[derive(Clone, Debug, PartialEq)]
pub struct Judgement {
    /// The verdict.
    pub verdict: Verdict,
    /// Why the verdict is not ok.
    pub reason: Option<String>,
}

/// How many times the estimated rounding floor a disagreement may be and still
/// be rounding: the floor assumes a loss exact to one unit in the last place,
/// and a loss through `exp` and sums is off by tens.
pub const NOISE_FACTOR: f64 = 100.0;

impl Report {
    /// The verdict on the index form and on the matrix form (if any) at `tolerance`.
    pub fn verdict(&self, tolerance: f64) -> Verdict {
        self.judge(tolerance).verdict
    }

    /// The verdict at `tolerance` and the reason when it is not ok.
    pub fn judge(&self, tolerance: f64) -> Judgement {
        let undecided = |reason: String| Judgement {
            verdict: Verdict::Undecided,
            reason: Some(reason),
        };
        if self.overflow {
            return undecided("the loss is not a finite f64 at the random inputs: nothing could be compared".into());
        }
        if let Some(reason) = &self.undecided {
            return undecided(reason.clone());
        }
        let forms = [
            ("index form", Some(self.index_error)),
            ("matrix form", self.matrix_error),
        ];
        let off: Vec<String> = forms
            .iter()
            .filter_map(|(what, e)| e.map(|e| (what, e)))
            .filter(|(_, e)| e.is_nan() || *e > tolerance && *e > NOISE_FACTOR * self.noise)
            .map(|(what, e)| format!("the {what} is off by {e:.1e}"))
            .collect();
        if !off.is_empty() {
            return Judgement {
                verdict: Verdict::Disagrees,
                reason: Some(format!("{}, above the tolerance {tolerance:.0e}", off.join(" and "))),
            };
        }
        if forms.iter().any(|(_, e)| e.is_some_and(|e| e > tolerance)) && self.noise.is_infinite() {
            return undecided(
                "a finite-difference step moves the argument of an opaque function by more than \
                 0.1, so its stand-in a sin x + b x oscillates faster than the differences resolve"
                    .to_string(),
            );
        }
        if forms.iter().any(|(_, e)| e.is_some_and(|e| e > tolerance)) {
            return undecided(format!(
                "rounding and truncation in the finite differences reach {:.1e} relative: the loss \
                 is too large or too curved beside its gradient at these inputs to tell",
                self.noise
            ));
        }
        if self.zero_form && self.largest == 0.0 {
            // independence, confirmed by a loss that varies (see the module documentation)
        } else if self.largest == 0.0 {
            return undecided(format!(
                "every finite difference by {} is exactly 0 while the derived form is not 0: the loss \
                 does not move with {} at these inputs (an underflow, or a relu that is off everywhere), \
                 so the form could not be compared",
                self.wrt, self.wrt
            ));
        } else if self.largest <= tolerance {
            return undecided(format!(
                "the largest finite difference, {:.1e}, is within the tolerance {tolerance:.0e}: \
                 the check cannot tell the derived form from 0",
                self.largest
            ));
        }
        Judgement {
            verdict: Verdict::Agrees,
            reason: None,
        }
    }
}

/// Largest elementwise difference, relative to the largest magnitude (or absolute
/// when the gradient is zero).
/// Entries where `b` (the finite differences) is NaN sit at a kink and are not
/// compared; a NaN in `a` (a derived form) is an infinite error.
pub fn relative_error(a: &ArrayD<f64>, b: &ArrayD<f64>) -> f64 {
    if a.shape() != b.shape() {
        return f64::INFINITY;
    }
    let diff = a.iter().zip(b.iter()).fold(0.0f64, |m, (x, y)| {
        if y.is_nan() {
            m
        } else if x.is_nan() {
            f64::INFINITY
        } else {
            m.max((x - y).abs())
        }
    });
    diff / scale(b)
}

/// What errors are relative to: the largest finite difference compared, or 1.
pub(super) fn scale(b: &ArrayD<f64>) -> f64 {
    b.iter()
        .filter(|x| !x.is_nan())
        .fold(0.0f64, |m, x| m.max(x.abs()))
        .max(1.0)
}
