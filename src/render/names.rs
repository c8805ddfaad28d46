//! How names print: `W^(1)` as `W⁽¹⁾`, gradients as `∂L/∂Y`, in Unicode or ASCII.

/// The notation results are written in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Style {
    /// Unicode text: `Σ`, `δ`, `∂L/∂Y`, `ᵀ`, `⊙`.
    #[default]
    Unicode,
    /// ASCII only (`--ascii`): `sum`, `delta`, `dL/dY`, `^T`, `.*`.
    Ascii,
    /// LaTeX math: `\sum`, `\delta`, `\frac{\partial L}{\partial Y}`, `^\top`, `\odot`.
    Latex,
}

impl Style {
    /// Whether only ASCII may be written.
    pub fn ascii(self) -> bool {
        self != Style::Unicode
    }

    fn pick(self, unicode: &'static str, ascii: &'static str, latex: &'static str) -> &'static str {
        match self {
            Style::Unicode => unicode,
            Style::Ascii => ascii,
            Style::Latex => latex,
        }
    }

    /// Minus sign.
    pub fn minus(self) -> &'static str {
        self.pick("−", "-", "-")
    }

    /// The explicit product sign between a scalar fraction and a matrix: `·`.
    pub fn dot(self) -> &'static str {
        self.pick("·", "*", "\\cdot")
    }

    /// π.
    pub fn pi(self) -> &'static str {
        self.pick("π", "pi", "\\pi")
    }

    /// The summation sign.
    pub fn sum(self) -> &'static str {
        self.pick("Σ", "sum", "\\sum")
    }

    /// The Kronecker delta.
    pub fn delta(self) -> &'static str {
        self.pick("δ", "delta", "\\delta")
    }

    /// The transpose mark.
    pub fn transpose(self) -> &'static str {
        self.pick("ᵀ", "^T", "^\\top")
    }

    /// The Hadamard product.
    pub fn had(self) -> &'static str {
        self.pick("⊙", ".*", "\\odot")
    }

    /// Elementwise division.
    pub fn hdiv(self) -> &'static str {
        self.pick("⊘", "./", "\\oslash")
    }

    /// The Euclidean norm of a vector: `‖x‖`, `||x||`, `\lVert x \rVert`.
    pub fn norm(self, x: &str) -> String {
        match self {
            Style::Unicode => format!("‖{x}‖"),
            Style::Ascii => format!("||{x}||"),
            Style::Latex => format!("\\lVert {x} \\rVert"),
        }
    }

    /// The column of ones.
    pub fn ones(self) -> &'static str {
        self.pick("1", "1", "\\mathbf{1}")
    }

    /// `(s)`, or `\left(s\right)` in LaTeX.
    pub fn paren(self, s: &str) -> String {
        match self {
            // `\left…\right` only around tall content (a fraction, a sum):
            // around `relu'(s_i)` it makes the parentheses too tall
            Style::Latex if is_tall(s) => format!("\\left({s}\\right)"),
            _ => format!("({s})"),
        }
    }

    /// A fraction `a/b` (`\frac{a}{b}`).
    pub fn frac(self, a: &str, b: &str) -> String {
        match self {
            Style::Latex => format!("\\frac{{{a}}}{{{b}}}"),
            _ => format!("{a}/{b}"),
        }
    }

    /// A subscript of index names: `_ij`, `_{i1,j}`, `_{ij}` in LaTeX.
    pub fn subscript(self, ix: &[String]) -> String {
        if ix.is_empty() {
            return String::new();
        }
        let simple = ix.iter().all(|i| i.chars().count() == 1);
        match (self, simple) {
            (Style::Latex, true) => format!("_{{{}}}", ix.concat()),
            (_, true) => format!("_{}", ix.concat()),
            (_, false) => format!("_{{{}}}", ix.join(",")),
        }
    }

    /// A function applied: `exp(x)`, `\exp\left(x\right)`, `\sqrt{x}`.
    pub fn call(self, f: &crate::term::Func, arg: &str) -> String {
        use crate::term::{Func, Latex};
        if self != Style::Latex {
            return format!("{}({arg})", f.name(self.ascii()));
        }
        // a built-in is spelt as `crate::term::BUILTINS` says
        let name = match (f, f.builtin().map(|b| b.latex)) {
            (Func::Opaque(n, primes), _) => format!("{}{}", latex_name(n), "'".repeat(*primes as usize)),
            (_, Some(Latex::Root)) => return format!("\\sqrt{{{arg}}}"),
            (_, Some(Latex::Command(command))) => command.to_string(),
            (other, _) => {
                let n = other.name(true);
                let base = n.trim_end_matches('\'');
                format!("\\operatorname{{{base}}}{}", &n[base.len()..])
            }
        };
        format!("{name}{}", self.paren(arg))
    }
}

fn superscript_char(c: char) -> Option<char> {
    Some(match c {
        '0' => '⁰',
        '1' => '¹',
        '2' => '²',
        '3' => '³',
        '4' => '⁴',
        '5' => '⁵',
        '6' => '⁶',
        '7' => '⁷',
        '8' => '⁸',
        '9' => '⁹',
        '(' => '⁽',
        ')' => '⁾',
        'L' => 'ᴸ',
        'l' => 'ˡ',
        'n' => 'ⁿ',
        'i' => 'ⁱ',
        'k' => 'ᵏ',
        _ => return None,
    })
}

/// The inverse of [`superscript_char`].
fn plain_char(c: char) -> Option<char> {
    "0123456789()Llnik".chars().find(|&p| superscript_char(p) == Some(c))
}

/// The name a Unicode display spelling stands for: `W⁽¹⁾` → `W^(1)`, the
/// inverse of [`tensor`] in Unicode, so that a name can be typed back as ricci
/// prints it. `None` when `name` ends in no superscript label.
pub fn from_superscript(name: &str) -> Option<String> {
    let (base, rest) = name.split_once('⁽')?;
    let label = rest.strip_suffix('⁾')?;
    let label: String = label.chars().map(plain_char).collect::<Option<_>>()?;
    (!base.is_empty() && !label.is_empty()).then(|| format!("{base}^({label})"))
}

/// A tensor name for display: `W^(1)` → `W⁽¹⁾` (when every character has a
/// superscript form), unchanged in ASCII.
pub fn tensor(name: &str, style: Style) -> String {
    if let Some(made) = made(name, style) {
        return made;
    }
    if style == Style::Latex {
        return latex_name(name);
    }
    if style.ascii() {
        // `W^(1)` is ASCII already and must stay distinct from `W1`.
        return match name.split_once("^(") {
            Some((base, rest)) => format!("{}^({}", ascii_name(base), rest),
            None => ascii_name(name),
        };
    }
    match name.split_once("^(") {
        Some((base, rest)) => {
            let label = rest.trim_end_matches(')');
            let sup: Option<String> = format!("({label})").chars().map(superscript_char).collect();
            match sup {
                Some(s) => format!("{base}{s}"),
                None => name.to_string(),
            }
        }
        None => name.to_string(),
    }
}

/// The left side of a result's matrix form, by its kind: `∂L/∂W`, a
/// Jacobian's `∂z/∂s`, a Hessian's `∂²L/∂w∂w`, an HVP's `∂²L/∂w∂w v`.
pub fn result(of: &str, r: &crate::derive::GradientResult, style: Style) -> String {
    use crate::derive::Kind;
    let hessian = || match style {
        Style::Latex => format!(
            "\\frac{{\\partial^2 {}}}{{\\partial {} \\partial {}}}",
            latex_name(of),
            latex_name(&r.name),
            latex_name(&r.name)
        ),
        Style::Ascii => format!(
            "d2{}/d{} d{}",
            tensor(of, style),
            tensor(&r.name, style),
            tensor(&r.name, style)
        ),
        Style::Unicode => format!(
            "∂²{}/∂{}∂{}",
            tensor(of, style),
            tensor(&r.name, style),
            tensor(&r.name, style)
        ),
    };
    match r.kind {
        Kind::Gradient | Kind::Jacobian => gradient(of, &r.name, style),
        Kind::Hessian => hessian(),
        Kind::Hvp => format!("{} {}", hessian(), tensor(r.direction().unwrap_or("V"), style)),
    }
}

/// A synthetic tensor's name as it reads: a Hessian's gradient `∂L/∂w` as
/// `(∂L/∂w)`, an HVP's `∂L/∂w·v` as the inner product `⟨∂L/∂w, v⟩`.
fn made(name: &str, style: Style) -> Option<String> {
    let (of, rest) = name.strip_prefix('∂')?.split_once("/∂")?;
    let (wrt, v) = match rest.split_once('·') {
        Some((w, v)) => (w, Some(v)),
        None => (rest, None),
    };
    let g = gradient(of, wrt, style);
    Some(match (v, style) {
        (None, Style::Latex) => format!("\\left({g}\\right)"),
        (None, _) => format!("({g})"),
        (Some(v), Style::Latex) => format!("\\left\\langle {g}, {} \\right\\rangle", latex_name(v)),
        (Some(v), Style::Ascii) => format!("<{g}, {}>", tensor(v, style)),
        (Some(v), Style::Unicode) => format!("⟨{g}, {}⟩", tensor(v, style)),
    })
}

/// `∂L/∂Y` or `dL/dY`.
pub fn gradient(of: &str, wrt: &str, style: Style) -> String {
    if style == Style::Latex {
        return format!(
            "\\frac{{\\partial {}}}{{\\partial {}}}",
            latex_name(of),
            latex_name(wrt)
        );
    }
    if style.ascii() {
        format!("d{}/d{}", tensor(of, style), tensor(wrt, style))
    } else {
        format!("∂{}/∂{}", tensor(of, style), tensor(wrt, style))
    }
}

const GREEK: &[(char, &str)] = &[
    ('α', "alpha"),
    ('β', "beta"),
    ('γ', "gamma"),
    ('ε', "epsilon"),
    ('ζ', "zeta"),
    ('η', "eta"),
    ('θ', "theta"),
    ('ι', "iota"),
    ('κ', "kappa"),
    ('λ', "lambda"),
    ('μ', "mu"),
    ('ν', "nu"),
    ('ξ', "xi"),
    ('ο', "omicron"),
    ('π', "pi"),
    ('ρ', "rho"),
    ('σ', "sigma"),
    ('ς', "sigma"),
    ('τ', "tau"),
    ('υ', "upsilon"),
    ('φ', "phi"),
    ('χ', "chi"),
    ('ψ', "psi"),
    ('ω', "omega"),
    ('Α', "Alpha"),
    ('Β', "Beta"),
    ('Γ', "Gamma"),
    ('Θ', "Theta"),
    ('Λ', "Lambda"),
    ('Ξ', "Xi"),
    ('Π', "Pi"),
    ('Φ', "Phi"),
    ('Ψ', "Psi"),
    ('Ω', "Omega"),
];

/// An ASCII identifier for a name: `W^(1)` → `W1`, `ŷ` → `yhat`, `λ` → `lambda`.
pub fn ascii_name(name: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let mut out = String::new();
    for c in name.nfd() {
        match c {
            '^' | '(' | ')' | '{' | '}' => {}
            '\u{0302}' => out.push_str("hat"),
            '\u{0303}' => out.push_str("tilde"),
            '\u{0304}' => out.push_str("bar"),
            '\u{0307}' => out.push_str("dot"),
            c if c.is_ascii_alphanumeric() || c == '_' => out.push(c),
            c => match GREEK.iter().find(|(g, _)| *g == c) {
                Some((_, spelled)) => out.push_str(spelled),
                None if ('\u{0300}'..='\u{036F}').contains(&c) => {}
                None => out.push_str(&format!("u{:04x}", c as u32)),
            },
        }
    }
    out
}

/// A name in LaTeX: `W^(1)` → `W^{(1)}`, `ŷ` → `\hat{y}`, `λ` → `\lambda`,
/// a multi-letter name upright (`\mathrm{yhat}`).
pub fn latex_name(name: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    if let Some(made) = made(name, Style::Latex) {
        return made;
    }
    let (base, sup) = match name.split_once("^(") {
        Some((b, rest)) => (b, Some(rest.trim_end_matches(')'))),
        None => (name, None),
    };
    let mut letters: Vec<String> = Vec::new();
    for c in base.nfd() {
        let accent = match c {
            '\u{0302}' => Some("hat"),
            '\u{0303}' => Some("tilde"),
            '\u{0304}' => Some("bar"),
            '\u{0307}' => Some("dot"),
            _ => None,
        };
        match (accent, letters.last_mut()) {
            (Some(a), Some(last)) => *last = format!("\\{a}{{{last}}}"),
            (Some(_), None) => {}
            (None, _) => letters.push(match GREEK.iter().find(|(g, _)| *g == c) {
                Some((_, spelled)) => format!("\\{spelled} "),
                None => c.to_string(),
            }),
        }
    }
    // Trailing digits read as part of the name: `W1`.
    let alpha = letters.iter().filter(|l| l.chars().all(char::is_alphabetic)).count();
    let mut out = if alpha > 1 && letters.iter().all(|l| l.chars().count() == 1) {
        format!("\\mathrm{{{}}}", letters.concat())
    } else {
        letters.concat().trim_end().to_string()
    };
    if let Some(s) = sup {
        out = format!("{out}^{{({s})}}");
    }
    out
}

/// A matrix function of the matrix named `a`, as the matrix form writes it:
/// `A⁻¹` (`A⁻ᵀ` when `transposed`), `det(A)`, `log det(A)`; in ASCII
/// `inv(A)`, `inv(A)^T`, `det(A)`, `logdet(A)`; in LaTeX `A^{-1}`,
/// `A^{-\top}`, `\det(A)`, `\log\det(A)`.
pub fn matrix_fn(f: crate::term::MatrixFn, a: &str, transposed: bool, style: Style) -> String {
    use crate::term::MatrixFn;
    let name = tensor(a, style);
    let exponent = match (style, transposed) {
        (Style::Latex, false) => "^{-1}",
        (Style::Latex, true) => "^{-\\top}",
        (_, false) => "⁻¹",
        (_, true) => "⁻ᵀ",
    };
    match (f, style) {
        (MatrixFn::Inv, Style::Latex) if name.contains('^') => format!("{{{name}}}{exponent}"),
        (MatrixFn::Inv, Style::Ascii) => format!("inv({name}){}", if transposed { "^T" } else { "" }),
        (MatrixFn::Inv, _) => format!("{name}{exponent}"),
        (MatrixFn::Det, Style::Latex) => format!("\\det\\left({name}\\right)"),
        (MatrixFn::LogDet, Style::Latex) => format!("\\log\\det\\left({name}\\right)"),
        (MatrixFn::Det, _) => format!("det({name})"),
        (MatrixFn::LogDet, Style::Ascii) => format!("logdet({name})"),
        (MatrixFn::LogDet, _) => format!("log det({name})"),
    }
}

/// Whether LaTeX `s` is taller than a line of text: it holds a fraction, a
/// sum or a product sign, or parentheses that are themselves stretched.
fn is_tall(s: &str) -> bool {
    ["\\frac", "\\sum", "\\prod", "\\left", "\\sqrt", "\\dfrac"]
        .iter()
        .any(|t| s.contains(t))
}
