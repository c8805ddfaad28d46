//! Semantic checks: scopes of indices, orders of tensors, definitions and their
//! cycles, calls. Every error is collected; none stops the others.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use num_traits::Zero;

use super::ast::*;
use super::functions::{base_function_name, guessed_function};
pub use super::functions::{BINARY, BUILTINS, GUESSED_FUNCTIONS};
use super::parse::Partial;
pub use super::program::{Program, TensorInfo};
use crate::diagnostic::{plural, Diagnostic, Diagnostics};

/// Options that change what a program means.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CheckOptions {
    /// `--einstein`: an index repeated twice in a product, and not on the left, is summed.
    pub einstein: bool,
}

/// Checks a parsed program and returns it with its symbol tables, or every error found.
pub fn check(mut syntax: super::ast::Program, options: CheckOptions) -> Result<Program, Diagnostics> {
    let mut cx = Checker {
        einstein: options.einstein,
        ..Checker::default()
    };
    if options.einstein {
        for statement in &mut syntax.statements {
            super::einstein::resolve(statement, &mut cx.errors);
        }
    }
    for (i, statement) in syntax.statements.iter().enumerate() {
        cx.statement(i, statement);
    }
    // a matrix under `inv`/`det`/`logdet` is a tensor too: record it before
    // the calls are held against the tensors (`inv(h)_ij h(x_i)` is refused)
    cx.matrices_of_matrix_functions();
    cx.calls_against_tensors();
    let order = cx.definition_order(&syntax);
    let (dims, errors) = super::sema::check(&syntax, &cx.ranges, &order);
    cx.errors.extend(errors);
    if !cx.errors.is_empty() {
        cx.errors.sort_by_key(|d| d.span.map(|s| (s.start, s.end)));
        cx.errors.dedup();
        return Err(Diagnostics(cx.errors));
    }
    Ok(Program {
        syntax,
        tensors: cx.tensors,
        ranges: cx.ranges.into_iter().map(|(k, (v, _))| (k, v)).collect(),
        opaque_functions: cx.opaque.keys().cloned().collect(),
        order,
        dims,
    })
}

/// Checks what parsed of a program that did not parse whole, and returns every
/// error: the syntax errors and the problems of the statements that did parse, so
/// that one slip does not hide the next.
///
/// The broken statements are left out. A check that spans statements reports a
/// conflict between statements it sees (two orders of one tensor, two definitions,
/// a cycle, a tensor called as a function), so leaving some out can hide a problem
/// but not invent one, with one exception: a name that a broken statement defines
/// has an order and a kind the checker cannot see. Every error that points at a use
/// of such a name (or has a note there) is dropped; it will show once the broken
/// statement parses. Errors within a statement (an unbound index, a bad call) are
/// kept even when the statement reads such a name.
pub fn check_partial(partial: Partial, options: CheckOptions) -> Diagnostics {
    let Partial {
        mut errors,
        parsed,
        broken_names,
    } = partial;
    let broken: BTreeSet<&str> = broken_names.iter().map(|i| i.name.as_str()).collect();
    let mut blind: Vec<Span> = Vec::new();
    let mut defined: Vec<Span> = Vec::new();
    let mut note_use = |e: &Expr| match &e.kind {
        ExprKind::Tensor(t) if broken.contains(t.name.name.as_str()) => blind.push(t.name.span),
        ExprKind::MatrixCall { matrix, .. } if broken.contains(matrix.name.as_str()) => blind.push(matrix.span),
        ExprKind::Call { function, .. } if broken.contains(base_function_name(&function.name)) => {
            blind.push(function.span)
        }
        _ => {}
    };
    for statement in &parsed.statements {
        match &statement.kind {
            StatementKind::Index { range, .. } if broken.contains(range.name.as_str()) => defined.push(range.span),
            StatementKind::Index { .. } => {}
            StatementKind::Assume { lhs, rhs } => {
                lhs.walk(&mut note_use);
                if let Some(rhs) = rhs {
                    rhs.walk(&mut note_use);
                }
            }
            StatementKind::Definition { lhs, rhs } => {
                if broken.contains(lhs.name.name.as_str()) {
                    defined.push(lhs.name.span);
                }
                rhs.walk(&mut note_use);
            }
        }
    }
    blind.extend(defined);
    let within = |s: Span| blind.iter().any(|b| b.start <= s.start && s.end <= b.end);
    if let Err(semantic) = check(parsed, options) {
        errors.extend(
            semantic
                .0
                .into_iter()
                .filter(|d| !d.span.is_some_and(within) && !d.notes.iter().any(|(s, _)| within(*s))),
        );
    }
    errors.sort_by_key(|d| d.span.map(|s| (s.start, s.end)));
    errors.dedup();
    Diagnostics(errors)
}

/// The checker's state: what the statements seen so far declared, defined and
/// called, and the errors found (the checks across statements are in
/// `definitions.rs`).
#[derive(Default)]
pub(super) struct Checker {
    pub(super) einstein: bool,
    pub(super) errors: Vec<Diagnostic>,
    pub(super) tensors: BTreeMap<String, TensorInfo>,
    /// index → (range, where declared)
    pub(super) ranges: BTreeMap<String, (String, Span)>,
    /// every call site of a function name: name (with primes stripped) → first span
    pub(super) calls: BTreeMap<String, Span>,
    pub(super) opaque: BTreeMap<String, Span>,
    /// definition statement → names it reads
    pub(super) reads: HashMap<usize, Vec<(String, Span)>>,
    /// the unbound indices reported in the current statement → their error
    pub(super) unbound: HashMap<String, usize>,
    /// every `inv(A)`, `det(A)`, `logdet(A)`: the function and the matrix's name
    pub(super) matrix_calls: Vec<(crate::term::MatrixFn, Ident)>,
}

fn is_literal_zero(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Number(n) => n.is_zero(),
        ExprKind::Neg(inner) => is_literal_zero(inner),
        _ => false,
    }
}

impl Checker {
    pub(super) fn error(&mut self, d: Diagnostic) {
        self.errors.push(d);
    }

    /// Records a use of `name` with `order` indices; a second order is an error.
    pub(super) fn use_tensor(&mut self, name: &Ident, order: usize) {
        if BUILTINS.contains(&name.name.as_str()) {
            self.error(
                Diagnostic::new(
                    name.span,
                    format!("`{}` is a built-in function, not a tensor", name.name),
                    "used as a tensor here",
                )
                .with_help(format!("call it: `{}(x)`", name.name)),
            );
            return;
        }
        match self.tensors.get(&name.name) {
            Some(info) if info.order != order => {
                let first = info.first;
                let had = info.order;
                self.error(
                    Diagnostic::new(
                        name.span,
                        format!(
                            "`{}` is used with {} but earlier with {}",
                            name.name,
                            plural(order, "index", "indices"),
                            plural(had, "index", "indices")
                        ),
                        format!("{} here", plural(order, "index", "indices")),
                    )
                    .with_note(first, format!("{} here", plural(had, "index", "indices")))
                    .with_help("a tensor keeps one order (number of indices) throughout a program"),
                );
            }
            Some(_) => {}
            None => {
                self.tensors.insert(
                    name.name.clone(),
                    TensorInfo {
                        order,
                        definition: None,
                        used: false,
                        first: name.span,
                    },
                );
            }
        }
    }

    fn statement(&mut self, i: usize, statement: &Statement) {
        self.unbound.clear();
        match &statement.kind {
            StatementKind::Index { indices, range } => {
                for index in indices {
                    match self.ranges.get(&index.name) {
                        Some((r, at)) if *r != range.name => {
                            let (r, at) = (r.clone(), *at);
                            self.error(
                                Diagnostic::new(
                                    index.span,
                                    format!(
                                        "index `{}` is declared over `{}` and over `{}`",
                                        index.name, r, range.name
                                    ),
                                    "second declaration",
                                )
                                .with_note(at, format!("declared over `{r}` here")),
                            );
                        }
                        Some(_) => {}
                        None => {
                            self.ranges.insert(index.name.clone(), (range.name.clone(), index.span));
                        }
                    }
                }
                self.use_tensor(range, 0);
            }
            StatementKind::Assume { lhs, rhs } => {
                let left = self.expr(lhs, &mut Vec::new(), None, None);
                match rhs {
                    None => self.error(
                        Diagnostic::new(lhs.span, "an `assume` must be an equation", "this has no `=`")
                            .with_help("write it as `assume LHS = RHS`, e.g. `assume Σ_k T_sk = 1`"),
                    ),
                    Some(rhs) => {
                        let right = self.expr(rhs, &mut Vec::new(), None, None);
                        for (index, span) in right {
                            if !left.iter().any(|(l, _)| *l == index) {
                                self.error(
                                    Diagnostic::new(span, format!("index `{index}` is free on the right of the assumption but not on its left"), "not on the left")
                                        .with_help("the right side of an identity may only use the left side's free indices"),
                                );
                            }
                        }
                    }
                }
            }
            StatementKind::Definition { lhs, rhs } => {
                for (k, index) in lhs.indices.iter().enumerate() {
                    if let Some(first) = lhs.indices[..k].iter().find(|j| j.name == index.name) {
                        self.error(
                            Diagnostic::new(
                                index.span,
                                format!("index `{}` appears twice on the left-hand side", index.name),
                                "repeated",
                            )
                            .with_note(first.span, "first here")
                            .with_help("the indices of a defined tensor must be distinct"),
                        );
                    }
                }
                self.use_tensor(&lhs.name, lhs.indices.len());
                if let Some(info) = self.tensors.get_mut(&lhs.name.name) {
                    match info.definition {
                        Some(_) => {
                            let first = info.first;
                            self.error(
                                Diagnostic::new(
                                    lhs.name.span,
                                    format!("`{}` is defined twice", lhs.name.name),
                                    "redefined here",
                                )
                                .with_note(first, "first appears here")
                                .with_help("a tensor is defined at most once; give the new one another name"),
                            );
                        }
                        None => info.definition = Some(i),
                    }
                }
                let names: Vec<String> = lhs.indices.iter().map(|i| i.name.clone()).collect();
                let mut reads = Vec::new();
                self.expr(rhs, &mut Vec::new(), Some(&names), Some(&mut reads));
                self.reads.insert(i, reads);
            }
        }
    }

    /// Checks an expression; returns its free indices (with a span of one use each).
    /// `bound` holds the indices bound by enclosing Σs; `lhs` the left side's indices
    /// (`None` in an assumption, where free indices are universally quantified).
    fn expr(
        &mut self,
        e: &Expr,
        bound: &mut Vec<String>,
        lhs: Option<&[String]>,
        mut reads: Option<&mut Vec<(String, Span)>>,
    ) -> Vec<(String, Span)> {
        let mut free: Vec<(String, Span)> = Vec::new();
        let add = |free: &mut Vec<(String, Span)>, items: Vec<(String, Span)>| {
            for (i, s) in items {
                if !free.iter().any(|(j, _)| *j == i) {
                    free.push((i, s));
                }
            }
        };
        match &e.kind {
            ExprKind::Number(_) | ExprKind::Pi => {}
            ExprKind::Tensor(t) => {
                self.use_tensor(&t.name, t.indices.len());
                if let Some(info) = self.tensors.get_mut(&t.name.name) {
                    info.used = true;
                }
                if let Some(reads) = reads.as_deref_mut() {
                    reads.push((t.name.name.clone(), t.name.span));
                }
                let items = self.indices(&t.indices, bound, lhs);
                add(&mut free, items);
            }
            ExprKind::MatrixCall {
                function,
                matrix,
                indices,
            } => {
                self.matrix_calls.push((*function, matrix.clone()));
                if let Some(reads) = reads.as_deref_mut() {
                    reads.push((matrix.name.clone(), matrix.span));
                }
                if let Some(d) = super::matrix_functions::index_count(*function, matrix, indices, e.span) {
                    self.error(d);
                }
                let items = self.indices(indices, bound, lhs);
                add(&mut free, items);
            }
            ExprKind::Delta(indices) => {
                if indices.len() != 2 {
                    self.error(
                        Diagnostic::new(
                            e.span,
                            format!("a Kronecker delta takes two indices, this one has {}", indices.len()),
                            "here",
                        )
                        .with_help("write it as `δ_ij`"),
                    );
                }
                let items = self.indices(indices, bound, lhs);
                add(&mut free, items);
            }
            ExprKind::Sum { indices, body } => {
                let outer = self.binder("Σ", indices, body, bound, lhs, reads);
                add(&mut free, outer);
            }
            ExprKind::Reduce { op, index, body } if op.binds() => {
                let outer = self.binder(op.keyword(), std::slice::from_ref(index), body, bound, lhs, reads);
                add(&mut free, outer);
            }
            ExprKind::Reduce { op, index, body } => {
                let inner = self.expr(body, bound, lhs, reads);
                if !inner.iter().any(|(i, _)| *i == index.name) {
                    self.error(
                        Diagnostic::new(
                            index.span,
                            format!(
                                "{} along `{}`, which does not occur in its argument",
                                op.keyword(),
                                index.name
                            ),
                            "normalised along here",
                        )
                        .with_help(format!(
                            "`{0}_k(T)` normalises `T` along an index of `T`: `P_ic = {0}_c(Z_ic)`",
                            op.keyword()
                        )),
                    );
                }
                add(&mut free, inner);
            }
            ExprKind::Add { first, rest } => {
                let items = self.expr(first, bound, lhs, reads.as_deref_mut());
                add(&mut free, items);
                for (_, term) in rest {
                    let items = self.expr(term, bound, lhs, reads.as_deref_mut());
                    add(&mut free, items);
                }
            }
            ExprKind::Product { first, rest } => {
                let items = self.expr(first, bound, lhs, reads.as_deref_mut());
                add(&mut free, items);
                for (op, factor) in rest {
                    if *op == MulOp::Div && is_literal_zero(factor) {
                        self.error(Diagnostic::new(factor.span, "division by zero", "this divisor is zero"));
                    }
                    let items = self.expr(factor, bound, lhs, reads.as_deref_mut());
                    add(&mut free, items);
                }
            }
            ExprKind::Neg(inner) => {
                let items = self.expr(inner, bound, lhs, reads);
                add(&mut free, items);
            }
            ExprKind::Pow { base, exponent } => {
                if exponent < &num_rational::BigRational::zero() && is_literal_zero(base) {
                    self.error(Diagnostic::new(
                        e.span,
                        "division by zero: zero to a negative power",
                        "this is 1/0",
                    ));
                }
                let items = self.expr(base, bound, lhs, reads);
                add(&mut free, items);
            }
            ExprKind::Call { function, args } => {
                let base = base_function_name(&function.name);
                self.calls.entry(base.to_string()).or_insert(function.span);
                let mut arity_known = true;
                let binary = BINARY.contains(&function.name.as_str());
                if let Some(d) = super::matrix_functions::misused_call(function, args) {
                    self.error(d);
                    arity_known = false;
                } else if binary {
                    if args.len() != 2 {
                        let d = guessed_function(function, 1).expect("max and min are guessed with one argument");
                        self.error(if args.len() == 1 {
                            d
                        } else {
                            Diagnostic::new(
                                e.span,
                                format!("`{}` takes two arguments, but {} were given", function.name, args.len()),
                                "called here",
                            )
                            .with_help(format!(
                                "`{0}(a, b)` is elementwise; nest it for more: `{0}(a, {0}(b, c))`",
                                function.name
                            ))
                        });
                    }
                    arity_known = false;
                } else if !BUILTINS.contains(&base) {
                    match guessed_function(function, args.len()) {
                        Some(d) => {
                            self.error(d);
                            arity_known = false;
                        }
                        None => {
                            self.opaque.entry(base.to_string()).or_insert(function.span);
                        }
                    }
                }
                if args.len() != 1 && arity_known {
                    self.error(
                        Diagnostic::new(
                            e.span,
                            format!("`{}` takes one argument, but {} were given", function.name, args.len()),
                            "called here",
                        )
                        .with_help("every function in ricci is elementwise and takes one argument"),
                    );
                }
                for arg in args {
                    let items = self.expr(arg, bound, lhs, reads.as_deref_mut());
                    add(&mut free, items);
                }
            }
        }
        free
    }

    /// A Σ (or a `mean_k`, `norm_k`, `logsumexp_k`, which bind their index as a
    /// Σ does; `what` names it in messages): binds `indices` over `body` and
    /// returns the free indices left.
    fn binder(
        &mut self,
        what: &str,
        indices: &[Ident],
        body: &Expr,
        bound: &mut Vec<String>,
        lhs: Option<&[String]>,
        reads: Option<&mut Vec<(String, Span)>>,
    ) -> Vec<(String, Span)> {
        let mark = bound.len();
        // An index bound a second time is reported once; it does not bind again,
        // so the outer binder still sees it used.
        let mut binds: Vec<&Ident> = Vec::new();
        for (k, index) in indices.iter().enumerate() {
            if indices[..k].iter().any(|j| j.name == index.name) || bound.contains(&index.name) {
                self.error(
                    Diagnostic::new(
                        index.span,
                        format!("index `{}` is bound twice", index.name),
                        "bound again here",
                    )
                    .with_help("use a fresh index name for the inner sum"),
                );
                continue;
            } else if lhs.is_some_and(|l| l.contains(&index.name)) {
                self.error(
                    Diagnostic::new(
                        index.span,
                        format!(
                            "index `{}` is free on the left-hand side, so a {what} cannot bind it",
                            index.name
                        ),
                        "bound here",
                    )
                    .with_help("sum over another index name"),
                );
            }
            bound.push(index.name.clone());
            binds.push(index);
        }
        let inner = self.expr(body, bound, lhs, reads);
        bound.truncate(mark);
        for index in &binds {
            if !inner.iter().any(|(i, _)| *i == index.name) {
                self.error(
                    Diagnostic::new(
                        index.span,
                        format!("{what} over `{}`, which does not occur in its term", index.name),
                        if what == "Σ" { "summed here" } else { "reduced here" },
                    )
                    .with_help(if what == "Σ" {
                        "a Σ sums the product that follows it; put parentheses around a longer term".to_string()
                    } else if what == "mean" {
                        "a mean takes the product that follows it; put parentheses around a longer term".to_string()
                    } else {
                        format!("`{what}_k(T)` reduces `T` along an index of `T`")
                    }),
                );
            }
        }
        inner
            .into_iter()
            .filter(|(i, _)| !binds.iter().any(|j| j.name == *i))
            .collect()
    }

    /// Scope check for the indices of one access or delta.
    fn indices(&mut self, indices: &[Ident], bound: &[String], lhs: Option<&[String]>) -> Vec<(String, Span)> {
        let mut free = Vec::new();
        for index in indices {
            if bound.contains(&index.name) {
                free.push((index.name.clone(), index.span));
                continue;
            }
            if let Some(lhs) = lhs {
                if !lhs.contains(&index.name) {
                    self.unbound_index(index);
                    continue;
                }
            }
            free.push((index.name.clone(), index.span));
        }
        free
    }

    /// Reports an index that is neither free on the left nor bound, once per
    /// statement: later uses of the same index become notes on the first report.
    fn unbound_index(&mut self, index: &Ident) {
        if let Some(&at) = self.unbound.get(&index.name) {
            self.errors[at].notes.push((index.span, "also used here".into()));
            return;
        }
        let name = &index.name;
        let d = if self.einstein {
            Diagnostic::new(
                index.span,
                format!("index `{name}` appears once in its product, so --einstein does not sum it"),
                "appears once",
            )
            .with_help(format!(
                "--einstein sums an index that appears exactly twice in a product (`x_{name} y_{name}`; `x_{name}^2` counts once): write the sum, `Σ_{name} …`, or add `{name}` to the left-hand side"
            ))
        } else {
            Diagnostic::new(
                index.span,
                format!("index `{name}` is neither on the left-hand side nor bound by a Σ"),
                "unbound index",
            )
            .with_help(format!(
                "sum over it with `Σ_{name} …`, add it to the left-hand side, or pass --einstein to sum repeated indices"
            ))
        };
        self.unbound.insert(index.name.clone(), self.errors.len());
        self.error(d);
    }
}
