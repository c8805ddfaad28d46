//! ∂/∂T over index terms: the result carries Kronecker deltas, and sums,
//! products, quotients, powers and elementwise functions follow their rules.

use num_rational::BigRational;
use num_traits::One;

use crate::term::{Func, Ix, MatrixFn, Name, Term};

/// The derivative of `t` with respect to the tensor `wrt` at indices `at`:
/// `∂X_ab/∂X_ij = δ_ai δ_bj`; every other name is constant.
pub fn differentiate(t: &Term, wrt: &Name, at: &[Ix]) -> Term {
    match t {
        Term::Num(_) | Term::Pi | Term::Delta(..) => Term::zero(),
        Term::Var(name, ix) if name == wrt => {
            let deltas: Vec<Term> = ix
                .iter()
                .zip(at)
                .map(|(a, b)| Term::Delta(a.clone(), b.clone()))
                .collect();
            match deltas.len() {
                0 => Term::one(),
                1 => deltas.into_iter().next().unwrap(),
                _ => Term::Mul(deltas),
            }
        }
        Term::Var(Name::Matrix(f, a), ix) if matches!(wrt, Name::Tensor(w) if w == a) => {
            matrix_derivative(*f, a, ix, at)
        }
        Term::Var(..) => Term::zero(),
        Term::Add(_) | Term::Sum(..) => t.map_children(|x| differentiate(x, wrt, at)),
        Term::Mul(fs) => {
            let mut terms = Vec::new();
            for k in 0..fs.len() {
                let d = differentiate(&fs[k], wrt, at);
                if d.is_zero() {
                    continue;
                }
                let mut v: Vec<Term> = fs.clone();
                v[k] = d;
                terms.push(Term::Mul(v));
            }
            Term::Add(terms)
        }
        Term::Pow(b, e) => {
            let d = differentiate(b, wrt, at);
            if d.is_zero() {
                return Term::zero();
            }
            // `b` and `∂b` stand side by side: each keeps its own Σ indices
            Term::Mul(vec![
                Term::Num(e.clone()),
                Term::Pow(Box::new(apart(b)), e - BigRational::one()),
                d,
            ])
        }
        Term::Fn(f, x) => {
            let d = differentiate(x, wrt, at);
            if d.is_zero() {
                return Term::zero();
            }
            Term::Mul(vec![derivative(f, &apart(x)), d])
        }
    }
}

/// A copy of `t` that can stand beside `t` in one product: its Σ indices
/// replaced by fresh ones (two sums over one bound index side by side would be
/// read as one sum over that index twice).
fn apart(t: &Term) -> Term {
    fn binds(t: &Term) -> bool {
        matches!(t, Term::Sum(..)) || t.children().iter().any(binds)
    }
    if binds(t) {
        t.refresh_bound()
    } else {
        t.clone()
    }
}

/// ∂F/∂A_ij of a matrix function `F` of `A` at the indices `ix` of its use
/// (SPEC §1; `A` a general, not symmetric, matrix):
/// ∂(A⁻¹)_ab/∂A_ij = −(A⁻¹)_ai (A⁻¹)_jb, ∂ det A/∂A_ij = det A (A⁻¹)_ji,
/// ∂ logdet A/∂A_ij = (A⁻¹)_ji.
fn matrix_derivative(f: MatrixFn, a: &std::rc::Rc<str>, ix: &[Ix], at: &[Ix]) -> Term {
    let [i, j] = at else {
        unreachable!("the checker lets only a matrix under `{}`", f.source())
    };
    match (f, ix) {
        (MatrixFn::Inv, [p, q]) => Term::Mul(vec![
            Term::int(-1),
            Term::inv(a, p.clone(), i.clone()),
            Term::inv(a, j.clone(), q.clone()),
        ]),
        (MatrixFn::Det, []) => Term::Mul(vec![
            Term::Var(Name::Matrix(MatrixFn::Det, a.clone()), vec![]),
            Term::inv(a, j.clone(), i.clone()),
        ]),
        (MatrixFn::LogDet, []) => Term::inv(a, j.clone(), i.clone()),
        _ => unreachable!("the checker gives `{}` {} indices", f.source(), f.order()),
    }
}

/// The derivative table of `rules/derivatives.rules`: function name → `f'(?x)`.
pub type Table = Vec<(String, egg::Pattern<egg::SymbolLang>)>;

/// Reads the derivative table; an unknown function name is an error with its line.
pub fn table() -> Result<Table, crate::rules::RuleError> {
    use crate::rules::RuleError;
    let specs = crate::rules::parse("rules/derivatives.rules", crate::rules::DERIVATIVE_RULES)?;
    let mut out = Vec::new();
    for r in specs {
        let lhs: egg::RecExpr<egg::SymbolLang> = r
            .lhs
            .replace("?x", "x")
            .parse()
            .map_err(|e| RuleError::refused(&r.at, e))?;
        let op = lhs.as_ref().last().map(|n| n.op.to_string()).unwrap_or_default();
        if builtin(&op).is_none() {
            return Err(RuleError::refused(&r.at, format!("`{op}` is not a built-in function")));
        }
        let rhs: egg::Pattern<egg::SymbolLang> = r.rhs.parse().map_err(|e| RuleError::refused(&r.at, e))?;
        instantiate(&rhs, &Term::Pi).ok_or_else(|| RuleError::refused(&r.at, format!("cannot read `{}`", r.rhs)))?;
        out.push((op, rhs));
    }
    Ok(out)
}

fn builtin(name: &str) -> Option<Func> {
    Func::from_printed(name)
}

/// Builds the term a derivative pattern stands for, with `?x` as `x`.
fn instantiate(p: &egg::Pattern<egg::SymbolLang>, x: &Term) -> Option<Term> {
    use egg::ENodeOrVar;
    let nodes = p.ast.as_ref();
    fn go(nodes: &[ENodeOrVar<egg::SymbolLang>], at: usize, x: &Term) -> Option<Term> {
        match &nodes[at] {
            ENodeOrVar::Var(_) => Some(x.clone()),
            ENodeOrVar::ENode(n) => {
                let op = n.op.as_str();
                let kids: Vec<usize> = n.children.iter().map(|c| usize::from(*c)).collect();
                let arg = |k: usize| go(nodes, kids[k], x);
                Some(match (op, kids.len()) {
                    ("*", _) => Term::Mul(kids.iter().map(|&c| go(nodes, c, x)).collect::<Option<_>>()?),
                    ("+", _) => Term::Add(kids.iter().map(|&c| go(nodes, c, x)).collect::<Option<_>>()?),
                    ("neg", 1) => Term::negate(arg(0)?),
                    ("pow", 2) => {
                        let Term::Num(e) = arg(1)? else { return None };
                        Term::Pow(Box::new(arg(0)?), e)
                    }
                    (f, 1) => Term::Fn(builtin(f)?, Box::new(arg(0)?)),
                    ("π", 0) => Term::Pi,
                    (number, 0) => Term::Num(parse_rational(number)?),
                    _ => return None,
                })
            }
        }
    }
    go(nodes, nodes.len() - 1, x)
}

fn parse_rational(s: &str) -> Option<BigRational> {
    let (n, d) = s.split_once('/').unwrap_or((s, "1"));
    let n: num_bigint::BigInt = n.parse().ok()?;
    let d: num_bigint::BigInt = d.parse().ok()?;
    (d != 0.into()).then(|| BigRational::new(n, d))
}

/// `f'(x)` for an elementwise function: built-ins from the table in
/// `rules/derivatives.rules`, `h'` for an opaque `h`.
pub fn derivative(f: &Func, x: &Term) -> Term {
    static TABLE: std::sync::OnceLock<Table> = std::sync::OnceLock::new();
    if let Func::Opaque(name, primes) = f {
        return Term::Fn(Func::Opaque(name.clone(), primes + 1), Box::new(x.clone()));
    }
    let table = TABLE.get_or_init(|| table().unwrap_or_else(|e| panic!("{e}")));
    let name = f.name(false);
    let (_, rhs) = table
        .iter()
        .find(|(n, _)| *n == name)
        .unwrap_or_else(|| panic!("rules/derivatives.rules has no rule for `{name}`"));
    instantiate(rhs, x).expect("checked when the table was read")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::term::BUILTINS;

    /// The function a rule of `rules/derivatives.rules` differentiates.
    fn rule_heads() -> Vec<String> {
        let specs = crate::rules::parse("rules/derivatives.rules", crate::rules::DERIVATIVE_RULES).unwrap();
        specs
            .iter()
            .map(|r| {
                let lhs: egg::RecExpr<egg::SymbolLang> = r.lhs.replace("?x", "x").parse().unwrap();
                lhs.as_ref().last().unwrap().op.to_string()
            })
            .collect()
    }

    #[test]
    fn every_builtin_has_exactly_one_derivative_rule() {
        let heads = rule_heads();
        for b in BUILTINS {
            let n = heads.iter().filter(|h| *h == b.printed).count();
            assert_eq!(n, 1, "`{}` has {n} rules in rules/derivatives.rules", b.printed);
        }
    }

    #[test]
    fn every_derivative_rule_names_a_builtin() {
        let heads = rule_heads();
        assert_eq!(heads.len(), BUILTINS.len());
        for h in heads {
            assert!(Func::from_printed(&h).is_some(), "`{h}` is not a built-in");
        }
        assert_eq!(table().unwrap().len(), BUILTINS.len());
    }

    #[test]
    fn a_rule_for_an_unknown_function_is_refused() {
        assert!(builtin("cosh").is_none());
        assert!(
            builtin("sigmoid").is_none(),
            "rules name a function by its printed name, `σ`"
        );
        assert_eq!(builtin("σ"), Some(Func::Sigmoid));
        assert_eq!(builtin("relu'"), Some(Func::Step));
    }
}
