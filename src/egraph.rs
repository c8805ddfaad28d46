//! Equality saturation over matrix forms with the rules of `rules/matrix.rules`.
//!
//! The recogniser (`matrix.rs`) gives one matrix form; this pass puts it in an
//! e-graph, applies the rules (transpose algebra, associativity, factoring,
//! scalar factors, the vector `diag` rule) within explicit limits, and
//! extracts the cheapest equivalent form — also of the transpose, for
//! numerator layout and for vectors that read better as rows. A shape analysis
//! guards the rules that only hold for vectors.

use std::time::Duration;

use egg::{Analysis, CostFunction, DidMerge, EGraph, Id, Language, Pattern, RecExpr, Rewrite, Runner, Symbol};
use num_rational::BigRational;

use crate::matrix::Mat;
use crate::rules::RuleError;
use crate::term::{Func, Term};

mod language {
    // define_language! does not take docs on variants; the operators are
    // documented in rules/matrix.rules.
    #![allow(missing_docs)]
    use egg::{define_language, Id, Symbol};

    define_language! {
        /// The matrix language of the e-graph; leaves index a side table.
        pub enum MatLang {
            "T" = T(Id),
            "mm" = MatMul([Id; 2]),
            "had" = Had([Id; 2]),
            "hdiv" = HDiv([Id; 2]),
            "add" = Add([Id; 2]),
            "sub" = Sub([Id; 2]),
            "neg" = Neg(Id),
            "scale" = Scale([Id; 2]),
            "diag" = Diag(Id),
            "map" = Map([Id; 2]),
            "pow" = Pow([Id; 2]),
            Leaf(Symbol),
        }
    }
}

pub use language::MatLang;

/// Rows and columns as dimension classes (`None` for 1).
pub type Shape = (Option<u32>, Option<u32>);

/// What the leaves stand for.
#[derive(Default, Clone, Debug)]
pub struct Leaves {
    mats: Vec<Mat>,
    scalars: Vec<Term>,
    funcs: Vec<Func>,
    exponents: Vec<BigRational>,
}

impl Leaves {
    fn shape(&self, s: &str) -> Shape {
        match s.split_at(1) {
            ("L", n) => n
                .parse::<usize>()
                .ok()
                .and_then(|n| self.mats.get(n))
                .map(crate::matrix::shape)
                .unwrap_or((None, None)),
            _ => (None, None),
        }
    }
}

/// The shape analysis; it owns the leaf table so that leaves know their shapes.
#[derive(Default, Clone, Debug)]
pub struct Shapes {
    leaves: Leaves,
}

fn wider(a: Shape, b: Shape) -> Shape {
    let n = |s: &Shape| s.0.is_some() as u8 + s.1.is_some() as u8;
    if n(&b) > n(&a) {
        b
    } else {
        a
    }
}

impl Analysis<MatLang> for Shapes {
    type Data = Shape;

    fn make(egraph: &mut EGraph<MatLang, Self>, enode: &MatLang) -> Shape {
        let s = |id: &Id| egraph[*id].data;
        match enode {
            MatLang::Leaf(sym) => egraph.analysis.leaves.shape(sym.as_str()),
            MatLang::T(a) => (s(a).1, s(a).0),
            // a 1×1 factor scales: the product has the other factor's shape
            MatLang::MatMul([a, b]) => match (s(a), s(b)) {
                ((None, None), other) | (other, (None, None)) => other,
                (x, y) => (x.0, y.1),
            },
            MatLang::Had([a, b]) | MatLang::HDiv([a, b]) | MatLang::Add([a, b]) | MatLang::Sub([a, b]) => {
                wider(s(a), s(b))
            }
            MatLang::Neg(a) | MatLang::Pow([a, _]) => s(a),
            MatLang::Scale([_, a]) | MatLang::Map([_, a]) => s(a),
            MatLang::Diag(v) => (s(v).0, s(v).0),
        }
    }

    fn merge(&mut self, a: &mut Shape, b: Shape) -> DidMerge {
        // Equal classes have equal shapes; keep the first.
        let _ = b;
        let _ = a;
        DidMerge(false, false)
    }
}

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
struct Rule {
    rewrite: Rewrite<MatLang, Shapes>,
    needs: Ops,
    makes: Ops,
}

/// A set of operators of [`MatLang`], one bit each (leaves are always there).
type Ops = u16;

fn op(node: &MatLang) -> Ops {
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
fn applicable(mut ops: Ops) -> Vec<&'static Rewrite<MatLang, Shapes>> {
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

fn rules() -> &'static [Rule] {
    static RULES: std::sync::OnceLock<Vec<Rule>> = std::sync::OnceLock::new();
    RULES.get_or_init(|| compile().unwrap_or_else(|e| panic!("{e}")))
}

// ---------------------------------------------------------------------------
// Mat ⇄ RecExpr.

/// The position of `x` in `table`, added if new: equal leaves are one e-class.
fn intern<T: PartialEq + Clone>(table: &mut Vec<T>, x: &T) -> usize {
    match table.iter().position(|y| y == x) {
        Some(n) => n,
        None => {
            table.push(x.clone());
            table.len() - 1
        }
    }
}

fn to_expr(m: &Mat, leaves: &mut Leaves, e: &mut RecExpr<MatLang>) -> Id {
    let leaf = |e: &mut RecExpr<MatLang>, s: String| e.add(MatLang::Leaf(Symbol::from(s)));
    match m {
        Mat::Var(..) | Mat::Scalar(_) | Mat::Ones(_) | Mat::Eye(_) => {
            let n = intern(&mut leaves.mats, m);
            leaf(e, format!("L{n}"))
        }
        Mat::T(x) => {
            let a = to_expr(x, leaves, e);
            e.add(MatLang::T(a))
        }
        Mat::MatMul(xs) | Mat::Had(xs) => {
            let mut acc = to_expr(&xs[0], leaves, e);
            for x in &xs[1..] {
                let b = to_expr(x, leaves, e);
                acc = e.add(if matches!(m, Mat::MatMul(_)) {
                    MatLang::MatMul([acc, b])
                } else {
                    MatLang::Had([acc, b])
                });
            }
            acc
        }
        Mat::HDiv(a, b) => {
            let a = to_expr(a, leaves, e);
            let b = to_expr(b, leaves, e);
            e.add(MatLang::HDiv([a, b]))
        }
        Mat::Add(ts) => {
            let (neg0, x0) = &ts[0];
            let mut acc = to_expr(x0, leaves, e);
            if *neg0 {
                acc = e.add(MatLang::Neg(acc));
            }
            for (neg, x) in &ts[1..] {
                let b = to_expr(x, leaves, e);
                acc = e.add(if *neg {
                    MatLang::Sub([acc, b])
                } else {
                    MatLang::Add([acc, b])
                });
            }
            acc
        }
        Mat::Scale(s, x) => {
            let n = intern(&mut leaves.scalars, s);
            let s = leaf(e, format!("S{n}"));
            let x = to_expr(x, leaves, e);
            e.add(MatLang::Scale([s, x]))
        }
        Mat::Map(f, x) => {
            let n = intern(&mut leaves.funcs, f);
            let f = leaf(e, format!("F{n}"));
            let x = to_expr(x, leaves, e);
            e.add(MatLang::Map([f, x]))
        }
        Mat::Pow(x, p) => {
            let n = intern(&mut leaves.exponents, p);
            let x = to_expr(x, leaves, e);
            let p = leaf(e, format!("E{n}"));
            e.add(MatLang::Pow([x, p]))
        }
        Mat::Diag(v) => {
            let v = to_expr(v, leaves, e);
            e.add(MatLang::Diag(v))
        }
    }
}

fn from_expr(e: &RecExpr<MatLang>, id: Id, leaves: &Leaves) -> Option<Mat> {
    let node = &e[id];
    let go = |i: &Id| from_expr(e, *i, leaves);
    let index = |i: &Id| -> Option<(char, usize)> {
        match &e[*i] {
            MatLang::Leaf(s) => {
                let (k, n) = s.as_str().split_at(1);
                Some((k.chars().next()?, n.parse().ok()?))
            }
            _ => None,
        }
    };
    Some(match node {
        MatLang::Leaf(_) => match index(&id)? {
            ('L', n) => leaves.mats.get(n)?.clone(),
            _ => return None,
        },
        MatLang::T(a) => Mat::T(Box::new(go(a)?)),
        MatLang::MatMul([a, b]) => Mat::MatMul(vec![go(a)?, go(b)?]),
        MatLang::Had([a, b]) => Mat::Had(vec![go(a)?, go(b)?]),
        MatLang::HDiv([a, b]) => Mat::HDiv(Box::new(go(a)?), Box::new(go(b)?)),
        MatLang::Add([a, b]) => Mat::Add(vec![(false, go(a)?), (false, go(b)?)]),
        MatLang::Sub([a, b]) => Mat::Add(vec![(false, go(a)?), (true, go(b)?)]),
        MatLang::Neg(a) => Mat::Add(vec![(true, go(a)?)]),
        MatLang::Scale([s, a]) => match index(s)? {
            ('S', n) => Mat::Scale(leaves.scalars.get(n)?.clone(), Box::new(go(a)?)),
            _ => return None,
        },
        MatLang::Map([f, a]) => match index(f)? {
            ('F', n) => Mat::Map(leaves.funcs.get(n)?.clone(), Box::new(go(a)?)),
            _ => return None,
        },
        MatLang::Pow([a, p]) => match index(p)? {
            ('E', n) => Mat::Pow(Box::new(go(a)?), leaves.exponents.get(n)?.clone()),
            _ => return None,
        },
        MatLang::Diag(v) => Mat::Diag(Box::new(go(v)?)),
    })
}

/// Flattens nested products, ⊙ and sums after extraction.
fn flat(m: Mat) -> Mat {
    match m {
        Mat::MatMul(xs) => Mat::MatMul(
            xs.into_iter()
                .map(flat)
                .flat_map(|x| match x {
                    Mat::MatMul(ys) => ys,
                    x => vec![x],
                })
                .collect(),
        ),
        Mat::Had(xs) => Mat::Had(
            xs.into_iter()
                .map(flat)
                .flat_map(|x| match x {
                    Mat::Had(ys) => ys,
                    x => vec![x],
                })
                .collect(),
        ),
        Mat::Add(ts) => {
            let mut out = Vec::new();
            for (neg, x) in ts {
                match flat(x) {
                    Mat::Add(inner) => out.extend(inner.into_iter().map(|(n, y)| (n != neg, y))),
                    y => out.push((neg, y)),
                }
            }
            out.sort_by_key(|(neg, _)| *neg);
            Mat::Add(out)
        }
        Mat::T(x) => Mat::T(Box::new(flat(*x))),
        Mat::HDiv(a, b) => Mat::HDiv(Box::new(flat(*a)), Box::new(flat(*b))),
        Mat::Scale(s, x) => Mat::Scale(s, Box::new(flat(*x))),
        Mat::Map(f, x) => Mat::Map(f, Box::new(flat(*x))),
        Mat::Pow(x, e) => Mat::Pow(Box::new(flat(*x)), e),
        Mat::Diag(v) => Mat::Diag(Box::new(flat(*v))),
        m => m,
    }
}

// ---------------------------------------------------------------------------

/// Nodes, with a transpose of anything but a column of ones counted extra.
struct ReadingCost<'a> {
    egraph: &'a EGraph<MatLang, Shapes>,
}

impl CostFunction<MatLang> for ReadingCost<'_> {
    type Cost = usize;
    fn cost<C>(&mut self, enode: &MatLang, mut costs: C) -> usize
    where
        C: FnMut(Id) -> usize,
    {
        let base = match enode {
            MatLang::T(a) => {
                let plain = self.egraph[*a].nodes.iter().any(|n| matches!(n, MatLang::Leaf(s) if {
                    let (k, i) = s.as_str().split_at(1);
                    k == "L" && i.parse::<usize>().ok().and_then(|i| self.egraph.analysis.leaves.mats.get(i)).is_some_and(|m| matches!(m, Mat::Ones(_)))
                }));
                if plain {
                    0
                } else {
                    2
                }
            }
            MatLang::Leaf(_) => 1,
            _ => 1,
        };
        enode.fold(base, |sum, id| sum + costs(id))
    }
}

/// Limits on one saturation run.
#[derive(Clone, Copy, Debug)]
pub struct RunLimits {
    /// Most e-nodes.
    pub nodes: usize,
    /// Most iterations.
    pub iterations: usize,
    /// Longest run.
    pub time: Duration,
}

impl Default for RunLimits {
    fn default() -> Self {
        RunLimits {
            nodes: 20_000,
            iterations: 16,
            time: Duration::from_millis(500),
        }
    }
}

/// What a run did, for `--stats` and for the note when a limit ended it.
#[derive(Clone, Debug, Default)]
pub struct RunStats {
    /// E-nodes at the end.
    pub nodes: usize,
    /// E-classes at the end.
    pub classes: usize,
    /// Iterations run.
    pub iterations: usize,
    /// Why it stopped: `saturated`, or the limit hit.
    pub stop: String,
    /// Whether a limit, not saturation, ended the run.
    pub limited: bool,
    /// How long the run took.
    pub time: std::time::Duration,
}

/// Whether saturation can improve `m`: some sum has two terms that are
/// products, ⊙ or scaled, which the factoring rules could combine.
pub fn worth_saturating(m: &Mat) -> bool {
    let compound = |x: &Mat| matches!(x, Mat::MatMul(_) | Mat::Had(_) | Mat::Scale(..) | Mat::HDiv(..));
    match m {
        Mat::Add(ts) => {
            ts.iter().filter(|(_, x)| compound(x)).count() >= 2 || ts.iter().any(|(_, x)| worth_saturating(x))
        }
        Mat::T(x) | Mat::Scale(_, x) | Mat::Map(_, x) | Mat::Pow(x, _) | Mat::Diag(x) => worth_saturating(x),
        Mat::MatMul(xs) | Mat::Had(xs) => xs.iter().any(worth_saturating),
        Mat::HDiv(a, b) => worth_saturating(a) || worth_saturating(b),
        Mat::Var(..) | Mat::Scalar(_) | Mat::Ones(_) | Mat::Eye(_) => false,
    }
}

/// The cheapest form of `m` and of `mᵀ` found by saturation.
pub fn optimize(m: &Mat, limits: RunLimits) -> (Mat, Mat, RunStats) {
    saturate(m, limits, false)
}

/// [`optimize`] with the applicable rules, or with `every_rule` (for the test
/// that the two runs agree).
fn saturate(m: &Mat, limits: RunLimits, every_rule: bool) -> (Mat, Mat, RunStats) {
    let started = std::time::Instant::now();
    let mut leaves = Leaves::default();
    let mut expr = RecExpr::default();
    to_expr(m, &mut leaves, &mut expr);
    let mut egraph: EGraph<MatLang, Shapes> = EGraph::new(Shapes { leaves: leaves.clone() });
    let id = egraph.add_expr(&expr);
    let t = egraph.add(MatLang::T(id));
    let rules = if every_rule {
        rules().iter().map(|r| &r.rewrite).collect()
    } else {
        applicable(expr.as_ref().iter().fold(op(&MatLang::T(id)), |ops, n| ops | op(n)))
    };
    let runner = Runner::default()
        .with_egraph(egraph)
        .with_node_limit(limits.nodes)
        .with_iter_limit(limits.iterations)
        .with_time_limit(limits.time)
        .run(rules);
    let (stop, limited) = match &runner.stop_reason {
        Some(egg::StopReason::Saturated) | None => ("saturated".to_string(), false),
        Some(egg::StopReason::NodeLimit(n)) => (format!("node limit ({n} e-nodes)"), true),
        Some(egg::StopReason::IterationLimit(n)) => (format!("iteration limit ({n})"), true),
        Some(egg::StopReason::TimeLimit(s)) => (format!("time limit ({s:.2} s)"), true),
        Some(egg::StopReason::Other(s)) => (s.clone(), true),
    };
    let stats = RunStats {
        nodes: runner.egraph.total_number_of_nodes(),
        classes: runner.egraph.number_of_classes(),
        iterations: runner.iterations.len(),
        stop,
        limited,
        time: std::time::Duration::ZERO,
    };
    let extractor = egg::Extractor::new(&runner.egraph, ReadingCost { egraph: &runner.egraph });
    let best = |id: Id| {
        let (_, e) = extractor.find_best(runner.egraph.find(id));
        let root = Id::from(e.as_ref().len() - 1);
        from_expr(&e, root, &leaves).map(flat)
    };
    let plain = best(id).unwrap_or_else(|| m.clone());
    let transposed = best(t).unwrap_or_else(|| crate::matrix::transposed(m));
    let stats = RunStats {
        time: started.elapsed(),
        ..stats
    };
    (plain, transposed, stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Leaving out the rules that cannot match changes nothing: the same
    /// e-graph, the same forms, on every fixture and on programs that need
    /// each kind of rule.
    #[test]
    fn applicable_rules_saturate_like_all_rules() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/cases/derive");
        let mut programs: Vec<(String, Vec<String>)> = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            let wrt = text
                .lines()
                .filter_map(|l| l.strip_prefix("# expect "))
                .filter_map(|l| l.split_once(':').map(|(n, _)| n.trim().to_string()))
                .collect();
            programs.push((text, wrt));
        }
        for (text, wrt) in [
            ("L = Σ_ij x_i A_ij x_j", "x"),
            ("L = Σ_ijk Z_ji A_jk Z_ki", "Z"),
            ("L = Σ_ij x_i A_ij y_j + Σ_ij y_i A_ij x_j", "x"),
            ("L = Σ_ij (x_i - y_i) A_ij (x_j - y_j)", "x"),
            ("L = Σ_ijkl X_ji A_jk X_kl B_li", "X"),
            ("L = Σ_ij 3 x_i A_ij x_j - Σ_i x_i b_i", "x"),
            ("L = Σ_ij x_i A_ij x_j / 2 + Σ_i exp(x_i)", "x"),
            ("L = Σ_ij x_i A_ij tanh(x_j)", "x"),
        ] {
            programs.push((text.to_string(), vec![wrt.to_string()]));
        }
        let mut compared = 0;
        for (text, wrt) in programs {
            let program = crate::load(&text, &crate::Options::default()).unwrap();
            let lowered = crate::derive::lower(&program);
            let request = crate::derive::Request {
                wrt,
                ..Default::default()
            };
            for g in crate::derive::gradients(&program, &lowered, &request) {
                let Some(m) = crate::matrix::recognize(&g.term, &g.indices) else {
                    continue;
                };
                if !worth_saturating(&m) {
                    continue;
                }
                let limits = RunLimits::default();
                let (p1, t1, s1) = saturate(&m, limits, false);
                let (p2, t2, s2) = saturate(&m, limits, true);
                assert_eq!((&p1, &t1), (&p2, &t2), "{text}");
                assert_eq!(
                    (s1.nodes, s1.classes, s1.iterations),
                    (s2.nodes, s2.classes, s2.iterations),
                    "{text}"
                );
                compared += 1;
            }
        }
        assert!(compared >= 8, "only {compared} forms went through the e-graph");
    }
}
