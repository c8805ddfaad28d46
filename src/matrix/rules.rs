//! Rules as data: `rules/matrix.rules` compiled into egg rewrites, with the
//! shape conditions they may carry and the filter that leaves out rules which
//! can never match.

use egg::{EGraph, Id, Pattern, Rewrite};

use super::language::{MatLang, Shapes};
use super::mat::Shape;
use crate::rules::RuleError;

type Check = Box<dyn Fn(&mut EGraph<MatLang, Shapes>, Id, &egg::Subst) -> bool + Send + Sync>;

/// A named side condition on the shapes of pattern variables.
fn condition(name: &str, vars: &[String]) -> Result<Check, String> {
    let vars: Vec<egg::Var> = vars
        .iter()
        .map(|v| v.parse().map_err(|e| format!("{e}")))
        .collect::<Result<_, _>>()?;
    let one: Option<fn(Shape) -> bool> = match name {
        "column" => Some(|s| s.0.is_some() && s.1.is_none()),
        "row" => Some(|s| s.0.is_none() && s.1.is_some()),
        "scalar" => Some(|s| s.0.is_none() && s.1.is_none()),
        _ => None,
    };
    match (one, name, vars.as_slice()) {
        (Some(test), _, [v]) => {
            let v = *v;
            Ok(Box::new(move |eg, _, subst| test(eg[subst[v]].data)))
        }
        (None, "same-shape", [a, b]) => {
            let (a, b) = (*a, *b);
            Ok(Box::new(move |eg, _, subst| eg[subst[a]].data == eg[subst[b]].data))
        }
        (None, "chain", [a, b]) => {
            let (a, b) = (*a, *b);
            Ok(Box::new(move |eg, _, subst| eg[subst[a]].data.1 == eg[subst[b]].data.0))
        }
        _ => Err(format!("unknown condition `{name}` on {} variable(s)", vars.len())),
    }
}

/// The rules of `rules/matrix.rules` as egg rewrites.
#[cfg(test)]
pub fn rewrites() -> Result<Vec<Rewrite<MatLang, Shapes>>, RuleError> {
    Ok(compile()?.into_iter().map(|r| r.rewrite).collect())
}

/// A rewrite with the operators it needs to match and the ones it builds.
pub(super) struct Rule {
    pub(super) rewrite: Rewrite<MatLang, Shapes>,
    needs: Ops,
    makes: Ops,
}

/// A set of operators of [`MatLang`], one bit each (leaves are always there).
type Ops = u16;

/// The operator of `node` as a one-bit set (nothing for a leaf).
pub(super) fn op(node: &MatLang) -> Ops {
    1 << match node {
        MatLang::T(_) => 0,
        MatLang::MatMul(_) => 1,
        MatLang::Had(_) => 2,
        MatLang::HDiv(_) => 3,
        MatLang::Add(_) => 4,
        MatLang::Sub(_) => 5,
        MatLang::Neg(_) => 6,
        MatLang::Scale(_) => 7,
        MatLang::Diag(_) => 8,
        MatLang::Map(_) => 9,
        MatLang::Pow(_) => 10,
        MatLang::Leaf(_) => return 0,
    }
}

fn ops_of(p: &Pattern<MatLang>) -> Ops {
    p.ast.as_ref().iter().fold(0, |ops, n| match n {
        egg::ENodeOrVar::ENode(n) => ops | op(n),
        egg::ENodeOrVar::Var(_) => ops,
    })
}

/// The rules that can ever match in an e-graph that starts with the operators
/// `ops`: a rule whose left side needs an operator that no rule can build is
/// searched for nothing in every iteration. Rules that can fire add what their
/// right sides build, to a fixpoint. The run is the same as with every rule
/// (the others never match), only without their searches.
pub(super) fn applicable(mut ops: Ops) -> Vec<&'static Rewrite<MatLang, Shapes>> {
    let all = rules();
    let mut taken = vec![false; all.len()];
    loop {
        let before = ops;
        for (r, t) in all.iter().zip(taken.iter_mut()) {
            if !*t && r.needs & !ops == 0 {
                *t = true;
                ops |= r.makes;
            }
        }
        if ops == before {
            break;
        }
    }
    all.iter()
        .zip(taken)
        .filter(|(_, t)| *t)
        .map(|(r, _)| &r.rewrite)
        .collect()
}

fn compile() -> Result<Vec<Rule>, RuleError> {
    let specs = crate::rules::parse("rules/matrix.rules", crate::rules::MATRIX_RULES)?;
    let mut out = Vec::new();
    for r in specs {
        let lhs: Pattern<MatLang> = r.lhs.parse().map_err(|e| RuleError::refused(&r.at, e))?;
        let rhs: Pattern<MatLang> = r.rhs.parse().map_err(|e| RuleError::refused(&r.at, e))?;
        let mut conditions = Vec::new();
        for c in &r.conditions {
            match c.split_first() {
                Some((name, vars)) => conditions.push(condition(name, vars).map_err(|e| RuleError::refused(&r.at, e))?),
                None => return Err(RuleError::refused(&r.at, "an empty condition")),
            }
        }
        let (l, m) = (ops_of(&lhs), ops_of(&rhs));
        let rule = |rewrite, needs, makes| Rule { rewrite, needs, makes };
        if conditions.is_empty() {
            out.push(rule(
                Rewrite::new(r.name.clone(), lhs.clone(), rhs.clone()).map_err(|e| RuleError::refused(&r.at, e))?,
                l,
                m,
            ));
        } else {
            let applier = egg::ConditionalApplier {
                condition: move |eg: &mut EGraph<MatLang, Shapes>, id: Id, s: &egg::Subst| {
                    conditions.iter().all(|c| c(eg, id, s))
                },
                applier: rhs.clone(),
            };
            out.push(rule(
                Rewrite::new(r.name.clone(), lhs.clone(), applier).map_err(|e| RuleError::refused(&r.at, e))?,
                l,
                m,
            ));
        }
        if r.both_ways {
            out.push(rule(
                Rewrite::new(format!("{}-rev", r.name), rhs, lhs).map_err(|e| RuleError::refused(&r.at, e))?,
                m,
                l,
            ));
        }
    }
    Ok(out)
}

pub(super) fn rules() -> &'static [Rule] {
    static RULES: std::sync::OnceLock<Vec<Rule>> = std::sync::OnceLock::new();
    RULES.get_or_init(|| compile().unwrap_or_else(|e| panic!("{e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every rule of the file builds, the conditions included; a rule that
    /// names no operator the e-graph starts with, nor one a rule builds from
    /// those, is left out.
    #[test]
    fn every_rule_builds_and_the_filter_follows_what_rules_make() {
        assert_eq!(rewrites().unwrap().len(), rules().len());
        assert!(rules().len() >= 40, "{}", rules().len());
        let transpose_only = applicable(op(&MatLang::T(Id::from(0))));
        let names: Vec<String> = transpose_only.iter().map(|r| r.name.to_string()).collect();
        assert!(names.contains(&"t-t".to_string()), "{names:?}");
        assert!(!names.iter().any(|n| n.starts_with("had-factor")), "{names:?}");
        assert_eq!(applicable(Ops::MAX).len(), rules().len());
    }

    #[test]
    fn an_unknown_condition_or_a_wrong_arity_is_an_error() {
        let vars = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(condition("column", &vars(&["?a"])).is_ok());
        let e = condition("square", &vars(&["?a"])).err().unwrap();
        assert_eq!(e, "unknown condition `square` on 1 variable(s)");
        assert!(condition("chain", &vars(&["?a"])).is_err());
    }
}
