//! Equality saturation over matrix forms with the rules of `rules/matrix.rules`.
//!
//! The recogniser gives one matrix form; this pass puts it in an e-graph,
//! applies the rules (transpose algebra, associativity, factoring, scalar
//! factors, the vector `diag` rule) within explicit limits, and extracts the
//! cheapest equivalent form — also of the transpose, for numerator layout and
//! for vectors that read better as rows. A shape analysis guards the rules
//! that only hold for vectors.

use std::time::Duration;

use egg::{CostFunction, EGraph, Id, Language, RecExpr, Runner};

use super::language::{Leaves, MatLang, Shapes};
use super::mat::{flatten, node_cost, Mat, Node};
use super::rules::{applicable, op, rules};

/// The reading cost of [`cost`](super::mat::cost), counted over e-nodes: the
/// same [`node_cost`] for every node. (The scalar of a `scale`, the function
/// of a `map` and the exponent of a `pow` are operands here, leaves of one.)
struct ReadingCost<'a> {
    egraph: &'a EGraph<MatLang, Shapes>,
}

impl ReadingCost<'_> {
    /// Whether class `id` holds a column of ones, whose transpose reads as `1ᵀ`.
    fn is_ones(&self, id: Id) -> bool {
        let leaves = &self.egraph.analysis.leaves;
        self.egraph[id]
            .nodes
            .iter()
            .any(|n| matches!(n, MatLang::Leaf(l) if matches!(leaves.mat(*l), Some(Mat::Ones(_)))))
    }
}

impl CostFunction<MatLang> for ReadingCost<'_> {
    type Cost = usize;
    fn cost<C>(&mut self, enode: &MatLang, mut costs: C) -> usize
    where
        C: FnMut(Id) -> usize,
    {
        let node = match enode {
            MatLang::Leaf(_) => Node::Leaf,
            MatLang::T(a) if self.is_ones(*a) => Node::OnesTransposed,
            MatLang::T(_) => Node::Transpose,
            _ => Node::Operator,
        };
        node_cost(node, enode.fold(0, |sum, id| sum + costs(id)))
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
            nodes: crate::limits::EGRAPH_NODES,
            iterations: crate::limits::EGRAPH_ITERATIONS,
            time: Duration::from_millis(crate::limits::EGRAPH_MILLIS),
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
    // A scalar with a function of an inner product (`(1ᵀ exp(z))⁻¹`) is left
    // as spelled: transposing its products only moves its scalars about.
    if super::mat::shape(m) == (None, None) && scalar_function(m) {
        return false;
    }
    sum_of_products(m)
}

/// Whether `m` holds a power or function of a 1×1 product.
fn scalar_function(m: &Mat) -> bool {
    match m {
        Mat::Pow(x, _) | Mat::Map(_, x) if matches!(**x, Mat::MatMul(_)) && super::mat::shape(x) == (None, None) => {
            true
        }
        m => m.fold(false, |any, x| any || scalar_function(x)),
    }
}

/// Whether some sum of `m` has two products to factor.
fn sum_of_products(m: &Mat) -> bool {
    let worth_saturating = sum_of_products;
    let compound = |x: &Mat| {
        matches!(
            x,
            Mat::MatMul(_) | Mat::Had(_) | Mat::Scale(..) | Mat::HDiv(..) | Mat::T(_)
        )
    };
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
    let started = web_time::Instant::now();
    let (runner, leaves, id, t) = run(m, limits, false);
    let (plain, transposed, stats) = extract(m, &runner, &leaves, id, t);
    let stats = RunStats {
        time: started.elapsed(),
        ..stats
    };
    (plain, transposed, stats)
}

/// Saturates `m` and `mᵀ` with the applicable rules, or with `every_rule` (for
/// the test that the two runs agree); returns the runner, the leaves and the
/// classes of `m` and of `mᵀ`.
fn run(m: &Mat, limits: RunLimits, every_rule: bool) -> (Runner<MatLang, Shapes>, Leaves, Id, Id) {
    let mut leaves = Leaves::default();
    let mut expr = RecExpr::default();
    leaves.encode(m, &mut expr);
    let mut egraph: EGraph<MatLang, Shapes> = EGraph::new(Shapes::new(leaves.clone()));
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
    (runner, leaves, id, t)
}

/// The cheapest forms of classes `id` (`m`) and `t` (`mᵀ`), and what the run
/// did (its time left to the caller).
fn extract(m: &Mat, runner: &Runner<MatLang, Shapes>, leaves: &Leaves, id: Id, t: Id) -> (Mat, Mat, RunStats) {
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
        time: Duration::ZERO,
    };
    let extractor = egg::Extractor::new(&runner.egraph, ReadingCost { egraph: &runner.egraph });
    let best = |id: Id| {
        let (_, e) = extractor.find_best(runner.egraph.find(id));
        let root = Id::from(e.as_ref().len() - 1);
        leaves.decode(&e, root).map(|m| super::mat::tidy(flatten(m)))
    };
    let plain = best(id).unwrap_or_else(|| m.clone());
    let transposed = best(t).unwrap_or_else(|| super::mat::transposed(m));
    (plain, transposed, stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matrix::{Leaf, Shape};
    use crate::term::{Func, Name, Term};
    use num_rational::BigRational;

    /// Leaving out the rules that cannot match changes nothing: the same
    /// e-graph, the same forms, on every fixture and on programs that need
    /// each kind of rule. And no run merges two classes of different shapes.
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
                let saturate = |every_rule| {
                    let (runner, leaves, id, t) = run(&m, limits, every_rule);
                    // no rule merged two forms of different shapes
                    assert_eq!(runner.egraph.analysis.conflicts, 0, "{text}");
                    extract(&m, &runner, &leaves, id, t)
                };
                let (p1, t1, s1) = saturate(false);
                let (p2, t2, s2) = saturate(true);
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

    fn var(name: &str, dims: &[u32]) -> Mat {
        Mat::Var(Name::Tensor(name.into()), dims.to_vec())
    }

    /// A form goes into the e-graph and comes back out the same, with every
    /// kind of leaf: matrices, a scalar, a function and an exponent.
    #[test]
    fn a_form_is_encoded_and_decoded_by_typed_leaves() {
        let (a, x) = (var("A", &[1, 2]), var("x", &[2]));
        let m = Mat::Add(vec![
            (
                false,
                Mat::Scale(Term::int(3), Box::new(Mat::MatMul(vec![a.clone(), x.clone()]))),
            ),
            (
                true,
                Mat::Pow(
                    Box::new(Mat::Map(Func::Exp, Box::new(Mat::T(Box::new(x.clone()))))),
                    BigRational::from_integer(2.into()),
                ),
            ),
        ]);
        let mut leaves = Leaves::default();
        let mut e = RecExpr::default();
        let root = leaves.encode(&m, &mut e);
        assert_eq!(leaves.decode(&e, root).map(flatten), Some(flatten(m.clone())));
        let kinds: Vec<String> = e
            .as_ref()
            .iter()
            .filter_map(|n| match n {
                MatLang::Leaf(l) => Some(l.to_string()),
                _ => None,
            })
            .collect();
        assert_eq!(kinds, ["S0", "L0", "L1", "F0", "L1", "E0"]);
        assert_eq!(leaves.mat(Leaf::Mat(1)), Some(&x));
        assert_eq!(leaves.mat(Leaf::Scalar(0)), None);
        // a leaf of the wrong kind in its place decodes to nothing, not to a guess
        let mut wrong = RecExpr::default();
        let s = wrong.add(MatLang::Leaf(Leaf::Mat(0)));
        let x = wrong.add(MatLang::Leaf(Leaf::Mat(1)));
        let root = wrong.add(MatLang::Scale([s, x]));
        assert_eq!(leaves.decode(&wrong, root), None);
        // and a rule cannot name a leaf
        assert!("(T L0)".parse::<egg::Pattern<MatLang>>().is_err());
    }

    /// The cost the extraction counts is the cost of the form it extracts,
    /// with one more for each scalar, function and exponent leaf.
    #[test]
    fn the_extraction_counts_the_cost_of_the_form() {
        let (a, x, y) = (var("A", &[1, 2]), var("x", &[2]), var("y", &[2]));
        let ones = Mat::Ones(2);
        let forms = [
            Mat::MatMul(vec![Mat::T(Box::new(a.clone())), x.clone()]),
            Mat::MatMul(vec![Mat::T(Box::new(ones.clone())), x.clone()]),
            Mat::Add(vec![
                (false, x.clone()),
                (true, Mat::T(Box::new(Mat::T(Box::new(y.clone()))))),
            ]),
            Mat::Scale(Term::int(2), Box::new(Mat::Map(Func::Tanh, Box::new(x.clone())))),
        ];
        for (m, extra) in forms.iter().zip([0, 0, 0, 2]) {
            let mut leaves = Leaves::default();
            let mut e = RecExpr::default();
            leaves.encode(m, &mut e);
            let mut egraph: EGraph<MatLang, Shapes> = EGraph::new(Shapes::new(leaves));
            let id = egraph.add_expr(&e);
            egraph.rebuild();
            let (c, _) = egg::Extractor::new(&egraph, ReadingCost { egraph: &egraph }).find_best(id);
            assert_eq!(c, super::super::mat::cost(m) + extra, "{m:?}");
        }
    }

    /// The shape analysis merges by the rule its documentation gives: equal
    /// shapes change nothing; different ones (an unsound rule) keep the
    /// larger on either side and are counted.
    #[test]
    fn merging_equal_shapes_changes_nothing_and_a_conflict_is_counted() {
        use egg::{Analysis, DidMerge};
        let mut shapes = Shapes::default();
        let column: Shape = (Some(1), None);
        let matrix: Shape = (Some(1), Some(2));
        let mut a = column;
        let DidMerge(x, y) = shapes.merge(&mut a, column);
        assert_eq!((x, y), (false, false));
        assert_eq!((a, shapes.conflicts), (column, 0));
        let mut a = column;
        let DidMerge(x, y) = shapes.merge(&mut a, matrix);
        assert_eq!((x, y), (true, false));
        assert_eq!(a, matrix);
        let mut a = matrix;
        let DidMerge(x, y) = shapes.merge(&mut a, column);
        assert_eq!((x, y), (false, true));
        assert_eq!((a, shapes.conflicts), (matrix, 2));
        // the same whichever side comes first
        let (mut p, mut q) = ((Some(3), None), (Some(4), None));
        shapes.merge(&mut p, (Some(4), None));
        shapes.merge(&mut q, (Some(3), None));
        assert_eq!(p, q);
    }
}
