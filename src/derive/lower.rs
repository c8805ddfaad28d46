//! Lowering: a checked program's definitions and assumptions as index
//! [`Term`]s, with every index tied to its dimension class and the
//! simplifier's [`Env`] (definitions to fold, assumptions, sizes) built from
//! them.

use std::collections::HashMap;
use std::rc::Rc;

use super::dims::Dims;
use crate::simplify::{self, Env};
use crate::syntax::ast::{Expr, ExprKind, Ident, MulOp, Reduction, Sign, StatementKind};
use crate::syntax::Program;
use crate::term::{Func, Ix, Name, Term};

/// The internal form of a program ready to differentiate.
pub struct Lowered {
    /// Dimension classes.
    pub(crate) dims: Dims,
    /// The simplifier's knowledge: definitions to fold, assumptions, sizes.
    pub(crate) env: Env,
    /// Definitions in dependency order: `(name, parameters, right-hand side)`.
    pub(crate) definitions: Vec<(Rc<str>, Vec<Ix>, Term)>,
    /// Order of each tensor name.
    pub(crate) orders: HashMap<String, usize>,
}

/// Lowers a checked program into terms.
pub(crate) fn lower(program: &Program) -> Lowered {
    #[cfg(debug_assertions)]
    super::counter::bump(&super::counter::LOWER);
    let dims = program.dims.clone();
    let mut definitions: Vec<(Rc<str>, Vec<Ix>, Term)> = Vec::new();
    for &s in &program.order {
        let StatementKind::Definition { lhs, rhs } = &program.syntax.statements[s].kind else {
            continue;
        };
        let mut scope: HashMap<String, Ix> = HashMap::new();
        let mut params = Vec::new();
        for (k, i) in lhs.indices.iter().enumerate() {
            let dim = dims.axis(&lhs.name.name, k);
            let ix = Ix::fresh(&i.name, dim);
            scope.insert(i.name.clone(), ix.clone());
            params.push(ix);
        }
        let term = lower_expr(rhs, s, &mut scope, &dims);
        definitions.push((Rc::from(lhs.name.name.as_str()), params, term));
    }
    let mut env = Env::default();
    env.size_letter = program.size_letter();
    for dim in dims.classes() {
        if let Some(r) = dims.range_of(dim) {
            env.sizes.insert(dim, Term::Var(Name::Tensor(r.into()), vec![]));
        }
    }
    for (name, params, rhs) in &definitions {
        let rhs = simplify::normalize(rhs, &env);
        // A definition that is a bare number folds nothing useful back.
        if !matches!(rhs, Term::Num(_)) {
            env.definitions.push((Name::Tensor(name.clone()), params.clone(), rhs));
        }
    }
    for (s, statement) in program.syntax.statements.iter().enumerate() {
        if let StatementKind::Assume { lhs, rhs: Some(rhs) } = &statement.kind {
            let mut scope = HashMap::new();
            let l = lower_expr(lhs, s, &mut scope, &dims);
            let r = lower_expr(rhs, s, &mut scope, &dims);
            let params: Vec<Ix> = scope.into_values().collect();
            env.assumptions
                .push((params, simplify::normalize(&l, &env), simplify::normalize(&r, &env)));
        }
    }
    let orders = program.tensors.iter().map(|(k, v)| (k.clone(), v.order)).collect();
    Lowered {
        dims,
        env,
        definitions,
        orders,
    }
}

/// An expression of statement `s` as a term; free indices are looked up in (or
/// added to) `scope`, every Σ binds fresh indices.
pub(crate) fn lower_expr(e: &Expr, s: usize, scope: &mut HashMap<String, Ix>, dims: &Dims) -> Term {
    let index = |scope: &mut HashMap<String, Ix>, dims: &Dims, name: &str| -> Ix {
        scope
            .entry(name.to_string())
            .or_insert_with(|| Ix::fresh(name, dims.index(s, name)))
            .clone()
    };
    match &e.kind {
        ExprKind::Number(n) => Term::Num(n.clone()),
        ExprKind::Pi => Term::Pi,
        ExprKind::Tensor(t) => Term::Var(
            Name::Tensor(t.name.name.as_str().into()),
            t.indices.iter().map(|i| index(scope, dims, &i.name)).collect(),
        ),
        ExprKind::MatrixCall {
            function,
            matrix,
            indices,
        } => Term::Var(
            Name::Matrix(*function, matrix.name.as_str().into()),
            indices.iter().map(|i| index(scope, dims, &i.name)).collect(),
        ),
        ExprKind::Delta(ix) => Term::Delta(index(scope, dims, &ix[0].name), index(scope, dims, &ix[1].name)),
        ExprKind::Reduce { op, index, body } => {
            // the term SPEC §1 gives: each Σ binds a fresh copy of the index
            let sum = |scope: &mut HashMap<String, Ix>, f: &dyn Fn(Term) -> Term| {
                bind(
                    std::slice::from_ref(index),
                    s,
                    scope,
                    dims,
                    &mut |scope: &mut HashMap<String, Ix>| f(lower_expr(body, s, scope, dims)),
                )
            };
            match op {
                // 1/K Σ_k T, with K = Σ_k 1 (the simplifier writes the range, or n_k)
                Reduction::Mean => {
                    let total = sum(scope, &|t| t);
                    let count = sum(scope, &|_| Term::one());
                    Term::Mul(vec![total, Term::pow(count, -1)])
                }
                Reduction::Norm => Term::Fn(Func::Sqrt, Box::new(sum(scope, &|t| Term::pow(t, 2)))),
                Reduction::LogSumExp => {
                    Term::Fn(Func::Log, Box::new(sum(scope, &|t| Term::Fn(Func::Exp, Box::new(t)))))
                }
                Reduction::Softmax => {
                    let numerator = Term::Fn(Func::Exp, Box::new(lower_expr(body, s, scope, dims)));
                    let denominator = sum(scope, &|t| Term::Fn(Func::Exp, Box::new(t)));
                    Term::Mul(vec![numerator, Term::pow(denominator, -1)])
                }
            }
        }
        ExprKind::Sum { indices, body } => bind(indices, s, scope, dims, &mut |scope: &mut HashMap<String, Ix>| {
            lower_expr(body, s, scope, dims)
        }),
        ExprKind::Add { first, rest } => {
            let mut ts = vec![lower_expr(first, s, scope, dims)];
            for (sign, t) in rest {
                let t = lower_expr(t, s, scope, dims);
                ts.push(if *sign == Sign::Minus { Term::negate(t) } else { t });
            }
            Term::Add(ts)
        }
        ExprKind::Neg(x) => Term::negate(lower_expr(x, s, scope, dims)),
        ExprKind::Product { first, rest } => {
            let mut fs = vec![lower_expr(first, s, scope, dims)];
            for (op, f) in rest {
                let f = lower_expr(f, s, scope, dims);
                fs.push(if *op == MulOp::Div { Term::pow(f, -1) } else { f });
            }
            Term::Mul(fs)
        }
        ExprKind::Pow { base, exponent } => Term::Pow(Box::new(lower_expr(base, s, scope, dims)), exponent.clone()),
        ExprKind::Call { function, args } if args.len() == 2 => {
            let a = lower_expr(&args[0], s, scope, dims);
            let b = lower_expr(&args[1], s, scope, dims);
            max_min(&function.name, a, b)
        }
        ExprKind::Call { function, args } => Term::Fn(
            Func::from_name(&function.name),
            Box::new(lower_expr(&args[0], s, scope, dims)),
        ),
    }
}

/// `max(a, b) = b + relu(a − b)` and `min(a, b) = b − relu(b − a)`: the
/// derivative by `a` is the step `[a > b]` (`[a < b]` for `min`). A constant
/// `a` trades places with `b`, so that `max(0, z)` is `relu(z)`, not
/// `z + relu(−z)`.
fn max_min(function: &str, a: Term, b: Term) -> Term {
    let constant = |t: &Term| !has_var(t);
    let (a, b) = if constant(&a) && !constant(&b) { (b, a) } else { (a, b) };
    // x − y with y's terms negated one by one, so that constants meet and
    // collect (`1/2 − (m − 1/2)` is `1 − m`)
    let relu = |x: Term, y: Term| {
        let mut terms = vec![x];
        match y {
            Term::Add(ys) => terms.extend(ys.into_iter().map(Term::negate)),
            y => terms.push(Term::negate(y)),
        }
        Term::Fn(Func::Relu, Box::new(Term::Add(terms)))
    };
    // the second copy of `b` binds fresh indices: every Σ binds its own
    let base = b.refresh_bound();
    match function {
        "max" => Term::Add(vec![base, relu(a, b)]),
        "min" => Term::Add(vec![base, Term::negate(relu(b, a))]),
        other => unreachable!("the checker admits no other function of two terms, not `{other}`"),
    }
}

fn has_var(t: &Term) -> bool {
    matches!(t, Term::Var(..)) || t.children().iter().any(has_var)
}

/// `f` of the scope in which `indices` are bound to fresh indices (a Σ over
/// them, of the term `f` builds).
fn bind(
    indices: &[Ident],
    s: usize,
    scope: &mut HashMap<String, Ix>,
    dims: &Dims,
    f: &mut dyn FnMut(&mut HashMap<String, Ix>) -> Term,
) -> Term {
    let mut saved = Vec::new();
    let mut bound = Vec::new();
    for i in indices {
        let ix = Ix::fresh(&i.name, dims.index(s, &i.name));
        saved.push((i.name.clone(), scope.insert(i.name.clone(), ix.clone())));
        bound.push(ix);
    }
    let body = f(scope);
    for (name, old) in saved {
        match old {
            Some(o) => scope.insert(name, o),
            None => scope.remove(&name),
        };
    }
    Term::Sum(bound, Box::new(body))
}
