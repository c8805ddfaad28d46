//! The one table of built-in elementwise functions ([`BUILTINS`]): how each is
//! named in a program, printed, spelled in LaTeX, NumPy and PyTorch, and
//! evaluated. Re-exported from `crate::term`.

use std::rc::Rc;

/// Elementwise functions with known derivatives.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Func {
    /// `exp`.
    Exp,
    /// Natural logarithm.
    Log,
    /// Square root.
    Sqrt,
    /// Hyperbolic tangent.
    Tanh,
    /// The logistic sigmoid `σ`.
    Sigmoid,
    /// `relu`.
    Relu,
    /// `relu'`: the step `[x > 0]`.
    Step,
    /// `softplus`.
    Softplus,
    /// `abs`.
    Abs,
    /// `abs'`: the sign.
    Sign,
    /// Sine.
    Sin,
    /// Cosine.
    Cos,
    /// The error function `erf(x) = 2/√π ∫₀ˣ exp(−t²) dt`.
    Erf,
    /// An opaque function and how often it was differentiated (`h''` is 2).
    Opaque(Rc<str>, u8),
}

/// One argument of a NumPy or PyTorch call that spells a built-in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arg {
    /// The function's argument.
    X,
    /// A literal, written as is (`0`, `0.0`).
    Lit(&'static str),
}

/// How NumPy or PyTorch writes a built-in applied to `x`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Spelling {
    /// A call: the callee and its arguments (`np.maximum(x, 0)`).
    Call(&'static str, &'static [Arg]),
    /// The logistic function written out: `1 / (1 + np.exp(-x))`.
    Logistic,
    /// The step as a comparison cast to the constants' dtype: `(x > 0).to(X.dtype)`.
    PositiveAsDtype,
    /// A scalar function of a Python module, vectorised: `import math` in the
    /// function's body, then `np.vectorize(math.erf, otypes=[float])(x)`
    /// (NumPy has no `erf` of its own, and SPEC §4 allows nothing but NumPy).
    Vectorized(&'static str, &'static str),
}

/// How LaTeX writes a built-in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Latex {
    /// A command before the parenthesised argument (`\\exp`).
    Command(&'static str),
    /// A root over the argument: `\\sqrt{x}`.
    Root,
    /// `\\operatorname{relu}`, primes kept outside (`\\operatorname{relu}'`).
    Operator,
}

/// A built-in elementwise function: the one place that says how it is
/// written, printed, evaluated and generated. Its derivative is data in
/// `rules/derivatives.rules`, keyed by [`Builtin::printed`].
#[derive(Debug)]
pub struct Builtin {
    /// The function.
    pub func: Func,
    /// The names a program may call it by (SPEC §1); none for a derivative
    /// that is only reached by priming (`relu'`).
    pub names: &'static [&'static str],
    /// The printed name (`σ`); also its name in `rules/derivatives.rules`.
    pub printed: &'static str,
    /// The printed name in ASCII (`sigmoid`).
    pub ascii: &'static str,
    /// What `f'` names in a program (`relu'` is the step); `None` makes a
    /// primed name an opaque function.
    pub primed: Option<Func>,
    /// Whether it has a kink at zero (the checker watches its inputs there).
    pub kinked: bool,
    /// Whether it is defined only for a positive argument (the checker draws
    /// the inputs read inside it positive).
    pub positive: bool,
    /// Its spelling in LaTeX.
    pub latex: Latex,
    /// Its numeric value.
    pub eval: fn(f64) -> f64,
    /// Its spelling in NumPy.
    pub numpy: Spelling,
    /// Its spelling in PyTorch.
    pub torch: Spelling,
}

/// Every built-in elementwise function, in the order SPEC §1 lists them.
pub const BUILTINS: &[Builtin] = &[
    Builtin {
        func: Func::Exp,
        names: &["exp"],
        printed: "exp",
        ascii: "exp",
        primed: None,
        kinked: false,
        positive: false,
        latex: Latex::Command("\\exp"),
        eval: |x| x.exp(),
        numpy: Spelling::Call("np.exp", &[Arg::X]),
        torch: Spelling::Call("torch.exp", &[Arg::X]),
    },
    Builtin {
        func: Func::Log,
        names: &["log"],
        printed: "log",
        ascii: "log",
        primed: None,
        kinked: false,
        positive: true,
        latex: Latex::Command("\\log"),
        eval: |x| x.ln(),
        numpy: Spelling::Call("np.log", &[Arg::X]),
        torch: Spelling::Call("torch.log", &[Arg::X]),
    },
    Builtin {
        func: Func::Sqrt,
        names: &["sqrt"],
        printed: "sqrt",
        ascii: "sqrt",
        primed: None,
        kinked: false,
        positive: true,
        latex: Latex::Root,
        eval: |x| x.sqrt(),
        numpy: Spelling::Call("np.sqrt", &[Arg::X]),
        torch: Spelling::Call("torch.sqrt", &[Arg::X]),
    },
    Builtin {
        func: Func::Tanh,
        names: &["tanh"],
        printed: "tanh",
        ascii: "tanh",
        primed: None,
        kinked: false,
        positive: false,
        latex: Latex::Command("\\tanh"),
        eval: |x| x.tanh(),
        numpy: Spelling::Call("np.tanh", &[Arg::X]),
        torch: Spelling::Call("torch.tanh", &[Arg::X]),
    },
    Builtin {
        func: Func::Sigmoid,
        names: &["sigmoid", "σ"],
        printed: "σ",
        ascii: "sigmoid",
        primed: None,
        kinked: false,
        positive: false,
        latex: Latex::Command("\\sigma"),
        eval: |x| 1.0 / (1.0 + (-x).exp()),
        numpy: Spelling::Logistic,
        torch: Spelling::Call("torch.sigmoid", &[Arg::X]),
    },
    Builtin {
        func: Func::Relu,
        names: &["relu"],
        printed: "relu",
        ascii: "relu",
        primed: Some(Func::Step),
        kinked: true,
        positive: false,
        latex: Latex::Operator,
        eval: |x| x.max(0.0),
        numpy: Spelling::Call("np.maximum", &[Arg::X, Arg::Lit("0")]),
        torch: Spelling::Call("torch.relu", &[Arg::X]),
    },
    Builtin {
        func: Func::Step,
        names: &[],
        printed: "relu'",
        ascii: "relu'",
        primed: None,
        kinked: true,
        positive: false,
        latex: Latex::Operator,
        eval: |x| if x > 0.0 { 1.0 } else { 0.0 },
        numpy: Spelling::Call("np.heaviside", &[Arg::X, Arg::Lit("0.0")]),
        torch: Spelling::PositiveAsDtype,
    },
    Builtin {
        func: Func::Softplus,
        names: &["softplus"],
        printed: "softplus",
        ascii: "softplus",
        primed: None,
        kinked: false,
        positive: false,
        latex: Latex::Operator,
        eval: |x| x.exp().ln_1p(),
        numpy: Spelling::Call("np.logaddexp", &[Arg::Lit("0"), Arg::X]),
        torch: Spelling::Call("torch.nn.functional.softplus", &[Arg::X]),
    },
    Builtin {
        func: Func::Abs,
        names: &["abs"],
        printed: "abs",
        ascii: "abs",
        primed: Some(Func::Sign),
        kinked: true,
        positive: false,
        latex: Latex::Operator,
        eval: |x| x.abs(),
        numpy: Spelling::Call("np.abs", &[Arg::X]),
        torch: Spelling::Call("torch.abs", &[Arg::X]),
    },
    Builtin {
        func: Func::Sign,
        names: &[],
        printed: "sign",
        ascii: "sign",
        primed: None,
        kinked: true,
        positive: false,
        latex: Latex::Operator,
        eval: |x| x.signum(),
        numpy: Spelling::Call("np.sign", &[Arg::X]),
        torch: Spelling::Call("torch.sign", &[Arg::X]),
    },
    Builtin {
        func: Func::Sin,
        names: &["sin"],
        printed: "sin",
        ascii: "sin",
        primed: None,
        kinked: false,
        positive: false,
        latex: Latex::Command("\\sin"),
        eval: |x| x.sin(),
        numpy: Spelling::Call("np.sin", &[Arg::X]),
        torch: Spelling::Call("torch.sin", &[Arg::X]),
    },
    Builtin {
        func: Func::Cos,
        names: &["cos"],
        printed: "cos",
        ascii: "cos",
        primed: None,
        kinked: false,
        positive: false,
        latex: Latex::Command("\\cos"),
        eval: |x| x.cos(),
        numpy: Spelling::Call("np.cos", &[Arg::X]),
        torch: Spelling::Call("torch.cos", &[Arg::X]),
    },
    Builtin {
        func: Func::Erf,
        names: &["erf"],
        printed: "erf",
        ascii: "erf",
        primed: None,
        kinked: false,
        positive: false,
        latex: Latex::Operator,
        eval: erf,
        numpy: Spelling::Vectorized("math", "erf"),
        torch: Spelling::Call("torch.erf", &[Arg::X]),
    },
];

/// The error function to within a few units in the last place, which the
/// finite differences of `--check` need (Rust's `std` has none): the series
/// `2/√π e^(−x²) Σ 2ⁿ x^(2n+1) / (1·3···(2n+1))`, whose terms are all positive,
/// below |x| = 3, and the continued fraction of `erfc` above.
pub fn erf(x: f64) -> f64 {
    let a = x.abs();
    let value = if a < 3.0 {
        let (mut term, mut sum, mut n) = (a, a, 0.0);
        while term > sum * 1e-17 {
            n += 1.0;
            term *= 2.0 * a * a / (2.0 * n + 1.0);
            sum += term;
        }
        2.0 / std::f64::consts::PI.sqrt() * (-a * a).exp() * sum
    } else if a < 6.0 {
        // erfc(a) = e^(−a²)/√π · 1/(a + (1/2)/(a + 1/(a + (3/2)/(a + …)))), from the tail
        let mut f = a;
        for k in (1..=60).rev() {
            f = a + f64::from(k) / 2.0 / f;
        }
        1.0 - (-a * a).exp() / std::f64::consts::PI.sqrt() / f
    } else {
        1.0
    };
    value.copysign(x)
}

const fn source_name_count() -> usize {
    let mut n = 0;
    let mut k = 0;
    while k < BUILTINS.len() {
        n += BUILTINS[k].names.len();
        k += 1;
    }
    n
}

const SOURCE_NAMES: [&str; source_name_count()] = {
    let mut out = [""; source_name_count()];
    let (mut n, mut k) = (0, 0);
    while k < BUILTINS.len() {
        let mut j = 0;
        while j < BUILTINS[k].names.len() {
            out[n] = BUILTINS[k].names[j];
            n += 1;
            j += 1;
        }
        k += 1;
    }
    out
};

/// The names a program may call a built-in by, in the order of [`BUILTINS`]
/// (`sigmoid` and `σ` are one function).
pub const BUILTIN_NAMES: &[&str] = &SOURCE_NAMES;

impl Func {
    /// Its row of [`BUILTINS`]; `None` for an opaque function.
    pub fn builtin(&self) -> Option<&'static Builtin> {
        BUILTINS.iter().find(|b| b.func == *self)
    }

    /// The built-in whose printed name is `printed` (`σ`, `relu'`).
    pub fn from_printed(printed: &str) -> Option<Func> {
        BUILTINS.iter().find(|b| b.printed == printed).map(|b| b.func.clone())
    }

    /// The built-in or opaque function that a call names (`sigmoid`, `σ`, `h'`).
    pub fn from_name(name: &str) -> Func {
        let primes = name.len() - name.trim_end_matches('\'').len();
        let base = name.trim_end_matches('\'');
        let Some(b) = BUILTINS.iter().find(|b| b.names.contains(&base)) else {
            return Func::Opaque(base.into(), primes as u8);
        };
        (0..primes).fold(b.func.clone(), |f, _| {
            match f.builtin().and_then(|b| b.primed.clone()) {
                Some(primed) => primed,
                // a primed built-in other than relu' and abs' is an opaque name
                None => Func::Opaque(format!("{}'", f.name(false)).into(), 0),
            }
        })
    }

    /// The printed name (`σ`, `relu'`, `h''`).
    pub fn name(&self, ascii: bool) -> String {
        match (self, self.builtin()) {
            (Func::Opaque(name, primes), _) => format!("{name}{}", "'".repeat(*primes as usize)),
            (_, Some(b)) if ascii => b.ascii.into(),
            (_, Some(b)) => b.printed.into(),
            (_, None) => unreachable!("every function but an opaque one is in BUILTINS"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erf_agrees_with_reference_values() {
        // erf at 0.1, 0.5, 1, 2, 3, 4 and 5.5 (Abramowitz and Stegun, Table 7.1; mpmath)
        let table = [
            (0.1, 0.112_462_916_018_284_9),
            (0.5, 0.520_499_877_813_046_5),
            (1.0, 0.842_700_792_949_714_9),
            (2.0, 0.995_322_265_018_952_7),
            (3.0, 0.999_977_909_503_001_4),
            (4.0, 0.999_999_984_582_742_1),
            (5.5, 0.999_999_999_999_992_6),
        ];
        for (x, want) in table {
            assert!((erf(x) - want).abs() < 4e-16, "erf({x}) = {} not {want}", erf(x));
            assert!((erf(-x) + want).abs() < 4e-16);
        }
        assert_eq!(erf(0.0), 0.0);
        assert_eq!(erf(9.0), 1.0);
        // its derivative, 2/√π e^(−x²), by central differences
        for x in [-1.5, -0.3, 0.7, 2.9, 3.1] {
            let h = 1e-5;
            let fd = (erf(x + h) - erf(x - h)) / (2.0 * h);
            let exact = 2.0 / std::f64::consts::PI.sqrt() * (-x * x).exp();
            assert!((fd - exact).abs() < 1e-9, "erf'({x}): {fd} vs {exact}");
        }
    }

    #[test]
    fn the_source_names_are_the_table_s_in_order() {
        assert_eq!(
            BUILTIN_NAMES,
            ["exp", "log", "sqrt", "tanh", "sigmoid", "σ", "relu", "softplus", "abs", "sin", "cos", "erf"]
        );
        assert_eq!(crate::syntax::check::BUILTINS, BUILTIN_NAMES);
    }

    #[test]
    fn every_function_is_in_the_table_once_and_reads_back() {
        for (k, b) in BUILTINS.iter().enumerate() {
            assert!(BUILTINS[k + 1..]
                .iter()
                .all(|o| o.func != b.func && o.printed != b.printed));
            assert_eq!(b.func.builtin().map(|r| r.printed), Some(b.printed));
            assert_eq!(Func::from_printed(b.printed), Some(b.func.clone()));
            assert_eq!(b.func.name(false), b.printed);
            assert_eq!(b.func.name(true), b.ascii);
            for name in b.names {
                assert_eq!(Func::from_name(name), b.func);
            }
        }
        assert!(Func::Opaque("h".into(), 0).builtin().is_none());
    }

    #[test]
    fn names_and_primes() {
        assert_eq!(Func::from_name("σ"), Func::Sigmoid);
        assert_eq!(Func::from_name("relu'"), Func::Step);
        assert_eq!(Func::from_name("abs'"), Func::Sign);
        assert_eq!(Func::from_name("relu''"), Func::Opaque("relu''".into(), 0));
        assert_eq!(Func::from_name("exp'"), Func::Opaque("exp'".into(), 0));
        assert_eq!(Func::from_name("h''"), Func::Opaque("h".into(), 2));
        assert_eq!(Func::from_name("sign"), Func::Opaque("sign".into(), 0));
        assert_eq!(Func::Sigmoid.name(false), "σ");
        assert_eq!(Func::Sigmoid.name(true), "sigmoid");
        assert_eq!(Func::Opaque("h".into(), 2).name(false), "h''");
    }

    #[test]
    fn numeric_values() {
        let at = |f: Func, x: f64| (f.builtin().unwrap().eval)(x);
        assert_eq!(at(Func::Step, 0.0), 0.0);
        assert_eq!(at(Func::Step, 2.0), 1.0);
        assert_eq!(at(Func::Relu, -1.0), 0.0);
        assert_eq!(at(Func::Sign, -3.0), -1.0);
        assert!((at(Func::Sigmoid, 0.0) - 0.5).abs() < 1e-15);
        assert!((at(Func::Softplus, 0.0) - 2f64.ln()).abs() < 1e-15);
        assert!((at(Func::Sin, 1.0) - 1f64.sin()).abs() < 1e-15);
        assert!((at(Func::Cos, 1.0) - 1f64.cos()).abs() < 1e-15);
        assert!(BUILTINS
            .iter()
            .filter(|b| b.positive)
            .map(|b| &b.func)
            .eq([&Func::Log, &Func::Sqrt]));
        assert!(BUILTINS.iter().filter(|b| b.kinked).map(|b| &b.func).eq([
            &Func::Relu,
            &Func::Step,
            &Func::Abs,
            &Func::Sign
        ]));
    }
}
