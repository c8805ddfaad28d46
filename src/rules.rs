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

/// A rule file, or a table built from it, that cannot be read: where (`at`,
/// `rules/x.rules:12`) and why. Its message starts with the place.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// A line that is not `name: …`.
    #[error("{at}: expected `name: lhs => rhs`")]
    NoName {
        /// Where.
        at: String,
    },
    /// A name that is not kebab-case.
    #[error("{at}: a rule name is kebab-case letters, digits and `-`, not `{name}`")]
    BadName {
        /// Where.
        at: String,
        /// The name as written.
        name: String,
    },
    /// A rule without `=>` or `<=>`.
    #[error("{at}: expected `=>` or `<=>`")]
    NoArrow {
        /// Where.
        at: String,
    },
    /// A side that is not an s-expression pattern.
    #[error("{at}: cannot read `{side}`: {reason}")]
    BadSide {
        /// Where.
        at: String,
        /// The side as written.
        side: String,
        /// What egg's pattern parser said.
        reason: String,
    },
    /// A rule that reads as a rule but that the table built from it refuses:
    /// a pattern outside the table's language, an unknown function or condition.
    #[error("{at}: {reason}")]
    Refused {
        /// Where.
        at: String,
        /// Why.
        reason: String,
    },
}

impl RuleError {
    /// [`RuleError::Refused`]: the rule at `at` is refused for `reason`.
    pub fn refused(at: &str, reason: impl std::fmt::Display) -> RuleError {
        RuleError::Refused {
            at: at.to_string(),
            reason: reason.to_string(),
        }
    }
}

/// Reads a rule file; `file` names it in errors.
pub fn parse(file: &str, text: &str) -> Result<Vec<RuleSpec>, RuleError> {
    let mut out = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let at = format!("{file}:{}", n + 1);
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let (name, rest) = line
            .split_once(':')
            .ok_or_else(|| RuleError::NoName { at: at.clone() })?;
        let name = name.trim();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(RuleError::BadName {
                at,
                name: name.to_string(),
            });
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
            return Err(RuleError::NoArrow { at });
        };
        let conditions: Vec<Vec<String>> = conditions
            .split(',')
            .map(|c| c.split_whitespace().map(String::from).collect::<Vec<_>>())
            .filter(|c| !c.is_empty())
            .collect();
        for side in [lhs, rhs] {
            side.trim()
                .parse::<egg::Pattern<egg::SymbolLang>>()
                .map_err(|e| RuleError::BadSide {
                    at: at.clone(),
                    side: side.trim().to_string(),
                    reason: e.to_string(),
                })?;
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
        let derivatives = parse("rules/derivatives.rules", DERIVATIVE_RULES).unwrap();
        assert_eq!(derivatives.len(), crate::term::BUILTINS.len());
        crate::diff::table().expect("derivative table builds");
    }

    #[test]
    fn a_bad_line_names_its_file_and_line() {
        let e = parse("x.rules", "ok: (T (T ?a)) => ?a\n\nbad (T ?a) ?a\n").unwrap_err();
        assert_eq!(e, RuleError::NoName { at: "x.rules:3".into() });
        assert_eq!(e.to_string(), "x.rules:3: expected `name: lhs => rhs`");
        let e = parse("x.rules", "t: (T (T ?a) => ?a\n").unwrap_err();
        assert!(
            matches!(&e, RuleError::BadSide { side, .. } if side == "(T (T ?a)"),
            "{e:?}"
        );
        assert!(e.to_string().starts_with("x.rules:1: cannot read `(T (T ?a)`: "), "{e}");
        let e = parse("x.rules", "Bad_Name: x => x\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "x.rules:1: a rule name is kebab-case letters, digits and `-`, not `Bad_Name`"
        );
        let e = parse("x.rules", "t: x = x\n").unwrap_err();
        assert_eq!(e, RuleError::NoArrow { at: "x.rules:1".into() });
        let e = crate::rules::RuleError::refused("x.rules:2", "an empty condition");
        assert_eq!(e.to_string(), "x.rules:2: an empty condition");
    }
}
