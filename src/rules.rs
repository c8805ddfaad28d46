//! Rules as data: the files in `rules/`, compiled in and read at start-up.
//!
//! One rule a line: `name: lhs => rhs [if condition, …]`, or `<=>` for both
//! directions; `#` starts a comment. Sides are s-expressions read by egg's
//! pattern parser. A line that does not parse stops start-up with its file
//! and line (a unit test loads every file, so such a line never ships).

/// `rules/matrix.rules`: rewrites over matrix forms.
pub const MATRIX_RULES: &str = include_str!("../rules/matrix.rules");
/// `rules/derivatives.rules`: the derivative of every built-in function.
pub const DERIVATIVE_RULES: &str = include_str!("../rules/derivatives.rules");

/// One rule as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleSpec {
    /// Its name, kebab-case.
    pub name: String,
    /// Left side.
    pub lhs: String,
    /// Right side.
    pub rhs: String,
    /// `<=>`: also right to left.
    pub both_ways: bool,
    /// Side conditions, each a name and its arguments (`column ?a`).
    pub conditions: Vec<Vec<String>>,
    /// Where it was written: `rules/x.rules:12`.
    pub at: String,
}

/// Reads a rule file; `file` names it in errors.
pub fn parse(file: &str, text: &str) -> Result<Vec<RuleSpec>, String> {
    let mut out = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let at = format!("{file}:{}", n + 1);
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let (name, rest) = line
            .split_once(':')
            .ok_or_else(|| format!("{at}: expected `name: lhs => rhs`"))?;
        let name = name.trim();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(format!(
                "{at}: a rule name is kebab-case letters, digits and `-`, not `{name}`"
            ));
        }
        let (rule, conditions) = match rest.split_once(" if ") {
            Some((r, c)) => (r, c),
            None => (rest, ""),
        };
        let (lhs, rhs, both_ways) = if let Some((l, r)) = rule.split_once("<=>") {
            (l, r, true)
        } else if let Some((l, r)) = rule.split_once("=>") {
            (l, r, false)
        } else {
            return Err(format!("{at}: expected `=>` or `<=>`"));
        };
        let conditions: Vec<Vec<String>> = conditions
            .split(',')
            .map(|c| c.split_whitespace().map(String::from).collect::<Vec<_>>())
            .filter(|c| !c.is_empty())
            .collect();
        for side in [lhs, rhs] {
            side.trim()
                .parse::<egg::Pattern<egg::SymbolLang>>()
                .map_err(|e| format!("{at}: cannot read `{}`: {e}", side.trim()))?;
        }
        out.push(RuleSpec {
            name: name.to_string(),
            lhs: lhs.trim().to_string(),
            rhs: rhs.trim().to_string(),
            both_ways,
            conditions,
            at,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_file_loads() {
        let matrix = parse("rules/matrix.rules", MATRIX_RULES).unwrap();
        assert!(matrix.len() >= 20);
        crate::egraph::rewrites().expect("matrix rules build");
        let derivatives = parse("rules/derivatives.rules", DERIVATIVE_RULES).unwrap();
        assert_eq!(derivatives.len(), 10);
        crate::diff::table().expect("derivative table builds");
    }

    #[test]
    fn a_bad_line_names_its_file_and_line() {
        let e = parse("x.rules", "ok: (T (T ?a)) => ?a\n\nbad (T ?a) ?a\n").unwrap_err();
        assert!(e.starts_with("x.rules:3:"), "{e}");
        let e = parse("x.rules", "t: (T (T ?a) => ?a\n").unwrap_err();
        assert!(e.starts_with("x.rules:1: cannot read"), "{e}");
    }
}
