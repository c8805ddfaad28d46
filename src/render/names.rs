//! How names print: `W^(1)` as `W⁽¹⁾`, gradients as `∂L/∂Y`, in Unicode or ASCII.

/// Output alphabet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Style {
    /// ASCII only (`dL/dY`, `^T`, `sum_s`, `.*`).
    pub ascii: bool,
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

/// A tensor name for display: `W^(1)` → `W⁽¹⁾` (when every character has a
/// superscript form), unchanged in ASCII.
pub fn tensor(name: &str, style: Style) -> String {
    if style.ascii {
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

/// `∂L/∂Y` or `dL/dY`.
pub fn gradient(of: &str, wrt: &str, style: Style) -> String {
    if style.ascii {
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
