//! Reverse mode over the program's definitions (DESIGN §2).
//!
//! For the loss L, ∂L/∂T is computed for each tensor T in reverse dependency
//! order, each from the finished gradients of the definitions that read T:
//! `∂L/∂T_ij = Σ_C Σ_c (∂L/∂C)_c ∂C_c/∂T_ij`. Each gradient is simplified once,
//! so the work is linear in the number of definitions.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::rc::Rc;
use std::time::{Duration, Instant};

use crate::diagnostic::{plural, Diagnostic};
use crate::diff::differentiate;
use crate::matrix::Mat;
use crate::simplify::{self, Env, Log};
use crate::syntax::ast::{Expr, ExprKind, Ident, MulOp, Sign, Span, StatementKind};
use crate::syntax::Program;
use crate::term::{Func, Ix, Name, Term};

/// Dimension classes: every tensor axis and every index of every statement,
/// joined where an index meets an axis or a declared range.
#[derive(Clone, Debug, Default)]
pub struct Dims {
    parent: Vec<u32>,
    keys: HashMap<String, u32>,
    /// The declared range symbol of a class's root, if any.
    range: HashMap<u32, String>,
    /// Where a class's range came in: the use of a declared index.
    origin: HashMap<u32, Origin>,
}

/// The use of a declared index that gave a dimension class its range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// The index as written.
    pub index: String,
    /// Where.
    pub span: Span,
}

/// How two dimension classes met.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Meeting {
    /// An index of a tensor access, `x_j`: the tensor's axis (from 0) and the index.
    Axis {
        /// The tensor.
        tensor: String,
        /// Which axis, from 0.
        axis: usize,
        /// The index written there.
        index: String,
    },
    /// A Kronecker delta `δ_ij` and its two indices.
    Delta(String, String),
}

/// Two different declared ranges joined in one dimension class.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RangeConflict {
    /// Where they meet: the index of the access, or the whole δ.
    pub at: Span,
    /// How.
    pub meeting: Meeting,
    /// The range of the class met first (the axis, the δ's first index) and where it came from.
    pub first: (String, Option<Origin>),
    /// The other range and where it came from.
    pub second: (String, Option<Origin>),
}

impl Dims {
    fn node(&mut self, key: String) -> u32 {
        if let Some(&n) = self.keys.get(&key) {
            return n;
        }
        let n = self.parent.len() as u32;
        self.parent.push(n);
        self.keys.insert(key, n);
        n
    }

    fn find(&mut self, mut n: u32) -> u32 {
        while self.parent[n as usize] != n {
            let p = self.parent[n as usize];
            self.parent[n as usize] = self.parent[p as usize];
            n = p;
        }
        n
    }

    /// Joins two classes; the root of `b` stays the root. When both carry a
    /// declared range and the ranges differ, returns them (`a`'s first); `b`'s
    /// range is kept.
    #[allow(clippy::type_complexity)]
    fn union(&mut self, a: u32, b: u32) -> Option<((String, Option<Origin>), (String, Option<Origin>))> {
        let (a, b) = (self.find(a), self.find(b));
        if a == b {
            return None;
        }
        self.parent[a as usize] = b;
        let origin = self.origin.remove(&a);
        let r = self.range.remove(&a)?;
        match self.range.get(&b) {
            None => {
                self.range.insert(b, r);
                if let Some(o) = origin {
                    self.origin.insert(b, o);
                }
                None
            }
            Some(other) if *other != r => Some(((r, origin), (other.clone(), self.origin.get(&b).cloned()))),
            Some(_) => None,
        }
    }

    /// The class of axis `axis` of tensor `name`.
    pub fn axis(&mut self, name: &str, axis: usize) -> u32 {
        let n = self.node(format!("axis\u{0}{name}\u{0}{axis}"));
        self.find(n)
    }

    fn index(&mut self, statement: usize, index: &str) -> u32 {
        let n = self.node(format!("index\u{0}{statement}\u{0}{index}"));
        self.find(n)
    }

    /// [`Dims::index`] for a use in the source: the first use of a declared
    /// index in a statement gives its class the declared range.
    fn index_at(&mut self, statement: usize, index: &Ident, ranges: &BTreeMap<String, String>) -> u32 {
        let key = format!("index\u{0}{statement}\u{0}{}", index.name);
        let new = !self.keys.contains_key(&key);
        let n = self.node(key);
        let root = self.find(n);
        if let (true, Some(r)) = (new, ranges.get(&index.name)) {
            self.range.insert(root, r.clone());
            self.origin.insert(
                root,
                Origin {
                    index: index.name.clone(),
                    span: index.span,
                },
            );
        }
        root
    }

    /// The declared range symbol of a class, if any.
    pub fn range_of(&mut self, dim: u32) -> Option<String> {
        let root = self.find(dim);
        self.range.get(&root).cloned()
    }

    /// The classes of an index name (in any statement) or of a range symbol.
    pub fn classes_named(&mut self, name: &str) -> Vec<u32> {
        let nodes: Vec<u32> = self
            .keys
            .iter()
            .filter(|(k, _)| k.starts_with("index\u{0}") && k.rsplit('\u{0}').next() == Some(name))
            .map(|(_, v)| *v)
            .collect();
        let mut out: Vec<u32> = nodes.into_iter().map(|n| self.find(n)).collect();
        let ranged: Vec<u32> = self.range.iter().filter(|(_, r)| *r == name).map(|(c, _)| *c).collect();
        out.extend(ranged);
        out.sort();
        out.dedup();
        out
    }

    /// Every class root, in a fixed order.
    pub fn classes(&mut self) -> Vec<u32> {
        let mut roots: Vec<u32> = (0..self.parent.len() as u32).map(|n| self.find(n)).collect();
        roots.sort();
        roots.dedup();
        roots
    }

    /// Builds the classes of a checked program.
    pub fn of(program: &Program) -> Dims {
        Dims::build(&program.syntax, &program.ranges).0
    }

    /// Builds the classes of a parsed program whose indices range as `ranges`
    /// declares (index → range symbol), and reports every place where two
    /// different declared ranges meet (an axis, a δ). After a conflict the
    /// classes are joined anyway, keeping one of the two ranges.
    pub fn build(
        syntax: &crate::syntax::ast::Program,
        ranges: &BTreeMap<String, String>,
    ) -> (Dims, Vec<RangeConflict>) {
        let mut d = Dims::default();
        let mut conflicts = Vec::new();
        for (s, statement) in syntax.statements.iter().enumerate() {
            match &statement.kind {
                StatementKind::Definition { lhs, rhs } => {
                    for (k, i) in lhs.indices.iter().enumerate() {
                        d.access(s, &lhs.name.name, k, i, ranges, &mut conflicts);
                    }
                    d.visit(s, rhs, ranges, &mut conflicts);
                }
                StatementKind::Assume { lhs, rhs } => {
                    d.visit(s, lhs, ranges, &mut conflicts);
                    if let Some(rhs) = rhs {
                        d.visit(s, rhs, ranges, &mut conflicts);
                    }
                }
                StatementKind::Index { .. } => {}
            }
        }
        // Declared ranges: an index name declared over S is S in every statement.
        // In the order the nodes were made, so that the classes (and the sizes
        // `--check` gives them) do not depend on hashing.
        let mut keys: Vec<(String, u32)> = d.keys.iter().map(|(k, v)| (k.clone(), *v)).collect();
        keys.sort_by_key(|(_, v)| *v);
        let mut by_range: BTreeMap<String, u32> = BTreeMap::new();
        for (key, node) in keys {
            let mut parts = key.split('\u{0}');
            if parts.next() != Some("index") {
                continue;
            }
            let _statement = parts.next();
            let Some(index) = parts.next() else { continue };
            if let Some(range) = ranges.get(index) {
                let root = d.find(node);
                match by_range.get(range) {
                    Some(&other) => {
                        d.union(root, other);
                    }
                    None => {
                        by_range.insert(range.clone(), root);
                    }
                }
                let root = d.find(node);
                d.range.insert(root, range.clone());
            }
        }
        (d, conflicts)
    }

    /// Joins axis `k` of `tensor` with the index written there.
    fn access(
        &mut self,
        s: usize,
        tensor: &str,
        k: usize,
        index: &Ident,
        ranges: &BTreeMap<String, String>,
        conflicts: &mut Vec<RangeConflict>,
    ) {
        let a = self.axis(tensor, k);
        let b = self.index_at(s, index, ranges);
        if let Some((first, second)) = self.union(a, b) {
            conflicts.push(RangeConflict {
                at: index.span,
                meeting: Meeting::Axis {
                    tensor: tensor.to_string(),
                    axis: k,
                    index: index.name.clone(),
                },
                first,
                second,
            });
        }
    }

    /// Joins the classes an expression of statement `s` relates, in source order.
    fn visit(&mut self, s: usize, e: &Expr, ranges: &BTreeMap<String, String>, conflicts: &mut Vec<RangeConflict>) {
        e.walk(&mut |x| match &x.kind {
            ExprKind::Tensor(t) => {
                for (k, i) in t.indices.iter().enumerate() {
                    self.access(s, &t.name.name, k, i, ranges, conflicts);
                }
            }
            ExprKind::Delta(ix) if ix.len() == 2 => {
                let a = self.index_at(s, &ix[0], ranges);
                let b = self.index_at(s, &ix[1], ranges);
                if let Some((first, second)) = self.union(a, b) {
                    conflicts.push(RangeConflict {
                        at: x.span,
                        meeting: Meeting::Delta(ix[0].name.clone(), ix[1].name.clone()),
                        first,
                        second,
                    });
                }
            }
            _ => {}
        });
    }
}

/// Which matrix convention to print in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Layout {
    /// `∂L/∂W` has the shape of `W`.
    #[default]
    Gradient,
    /// The transpose, as some courses write it.
    Numerator,
}

impl Layout {
    /// The shape of a matrix form from the shape of the tensor it is the
    /// gradient by: in numerator layout a matrix's axes are reversed (∂L/∂W
    /// is `Wᵀ`-shaped); a vector stays a vector in both.
    pub fn shape<T>(self, mut axes: Vec<T>) -> Vec<T> {
        if self == Layout::Numerator && axes.len() == 2 {
            axes.reverse();
        }
        axes
    }
}

/// What to differentiate.
#[derive(Clone, Debug)]
pub struct Request {
    /// The loss (`--of`), `L` by default.
    pub of: String,
    /// The tensors to differentiate by (`--wrt`), as written on the command line.
    pub wrt: Vec<String>,
    /// The matrix layout.
    pub layout: Layout,
    /// Limits on the e-graph run over each matrix form.
    pub limits: crate::egraph::RunLimits,
}

impl Request {
    /// Drops every `--wrt` that names a tensor named before it (in any
    /// spelling: `W^(1)`, `W^{(1)}`, `W⁽¹⁾`), keeping the first-seen order.
    pub fn dedup_wrt(&mut self) {
        let mut seen = HashSet::new();
        self.wrt.retain(|w| seen.insert(canonical_name(w)));
    }
}

impl Default for Request {
    fn default() -> Self {
        Request {
            of: "L".into(),
            wrt: Vec::new(),
            layout: Layout::Gradient,
            limits: crate::egraph::RunLimits::default(),
        }
    }
}

/// One finished gradient.
#[derive(Clone, Debug)]
pub struct Gradient {
    /// The tensor, as named on the command line.
    pub wrt: String,
    /// The gradient's free indices, one per axis of `wrt`.
    pub indices: Vec<Ix>,
    /// The simplified index form.
    pub term: Term,
    /// What the simplifier did.
    pub log: Log,
}

/// The internal form of a program ready to differentiate.
pub struct Lowered {
    /// Dimension classes.
    pub dims: Dims,
    /// The simplifier's knowledge: definitions to fold, assumptions, sizes.
    pub env: Env,
    /// Definitions in dependency order: `(name, parameters, right-hand side)`.
    pub definitions: Vec<(Rc<str>, Vec<Ix>, Term)>,
    /// Order of each tensor name.
    pub orders: HashMap<String, usize>,
}

/// Lowers a checked program into terms.
pub fn lower(program: &Program) -> Lowered {
    let mut dims = Dims::of(program);
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
        let term = lower_expr(rhs, s, &mut scope, &mut dims);
        definitions.push((Rc::from(lhs.name.name.as_str()), params, term));
    }
    let mut env = Env::default();
    for dim in dims.classes() {
        if let Some(r) = dims.range_of(dim) {
            env.sizes
                .insert(dim, Term::Var(Name::Tensor(r.as_str().into()), vec![]));
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
            let l = lower_expr(lhs, s, &mut scope, &mut dims);
            let r = lower_expr(rhs, s, &mut scope, &mut dims);
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
pub(crate) fn lower_expr(e: &Expr, s: usize, scope: &mut HashMap<String, Ix>, dims: &mut Dims) -> Term {
    let index = |scope: &mut HashMap<String, Ix>, dims: &mut Dims, name: &str| -> Ix {
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
        ExprKind::Delta(ix) => Term::Delta(index(scope, dims, &ix[0].name), index(scope, dims, &ix[1].name)),
        ExprKind::Sum { indices, body } => {
            let mut saved = Vec::new();
            let mut bound = Vec::new();
            for i in indices {
                let ix = Ix::fresh(&i.name, dims.index(s, &i.name));
                saved.push((i.name.clone(), scope.insert(i.name.clone(), ix.clone())));
                bound.push(ix);
            }
            let body = lower_expr(body, s, scope, dims);
            for (name, old) in saved {
                match old {
                    Some(o) => scope.insert(name, o),
                    None => scope.remove(&name),
                };
            }
            Term::Sum(bound, Box::new(body))
        }
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
        ExprKind::Call { function, args } => Term::Fn(
            Func::from_name(&function.name),
            Box::new(lower_expr(&args[0], s, scope, dims)),
        ),
    }
}

/// Index names for a gradient's free indices, as the documents write them:
/// `∂L/∂b_j`, `∂L/∂W_ij`, `∂L/∂T_ijk`.
fn result_indices(order: usize) -> Vec<&'static str> {
    match order {
        0 => vec![],
        1 => vec!["j"],
        2 => vec!["i", "j"],
        3 => vec!["i", "j", "k"],
        n => ["i", "j", "k", "l", "p", "q", "r", "u", "v", "w"]
            .into_iter()
            .cycle()
            .take(n)
            .collect(),
    }
}

/// Errors in a request that the program cannot answer (`--of`, `--wrt`).
///
/// A problem that has a place in the program (the declaration of a range
/// symbol, the definition of a tensor) comes with its span and a label; one
/// that has none (a name the program never mentions) has an empty label and
/// the span 0..0, and is shown without a source line.
pub fn validate(program: &Program, request: &Request) -> Result<(), Diagnostic> {
    let nowhere = Span::new(0, 0);
    let of = canonical_name(&request.of);
    if !is_name(&of) {
        return Err(not_a_name("--of", &request.of));
    }
    if let Some((span, indices)) = range_symbol(program, &of) {
        return Err(Diagnostic::new(
            span,
            format!("--of {of}: `{of}` is a range symbol (the size of {indices}), not a loss"),
            "declared as a range here",
        )
        .with_help(loss_help(program)));
    }
    match program.tensors.get(&of) {
        Some(info) if info.order > 0 && info.definition.is_some() => {
            let s = info.definition.expect("matched a definition");
            let StatementKind::Definition { lhs, .. } = &program.syntax.statements[s].kind else {
                unreachable!("a tensor's definition is a definition statement")
            };
            let ix: Vec<String> = lhs.indices.iter().map(|i| i.name.clone()).collect();
            let sub = crate::render::Style::Unicode.subscript(&ix);
            let n = plural(info.order, "index", "indices");
            return Err(Diagnostic::new(
                lhs.name.span,
                format!(
                    "--of {of}: `{of}` has {n}, so its derivative is a Jacobian, and Jacobians are not supported yet"
                ),
                format!("defined here with {n}"),
            )
            .with_help(format!(
                "ricci differentiates a scalar loss: define one from `{of}` (e.g. `L = Σ{sub} {of}{sub}`) and use `--of L`"
            )));
        }
        Some(info) if info.definition.is_none() => {
            return Err(Diagnostic::new(
                info.first,
                format!("--of {of}: `{of}` is an input (the program never defines it), not a loss"),
                "first used here",
            )
            .with_help(
                "name a defined scalar, or a name the program does not use, for an unknown loss of its outputs",
            ));
        }
        Some(_) => {}
        None => {
            let outputs = program.outputs();
            if outputs.is_empty() {
                return Err(Diagnostic::new(
                    nowhere,
                    format!("--of {of}: the program defines nothing for the loss to depend on"),
                    "",
                ));
            }
            // An unknown loss of the outputs is for a program that stops
            // before its loss; one that defines a scalar nothing reads has one.
            let losses: Vec<&str> = outputs
                .iter()
                .copied()
                .filter(|o| program.tensors[*o].order == 0)
                .collect();
            if !losses.is_empty() {
                return Err(
                    Diagnostic::new(nowhere, format!("--of {of}: the program never mentions `{of}`"), "").with_help(
                        format!("its loss is {}: e.g. `--of {}`", names_list(&losses, "or"), losses[0]),
                    ),
                );
            }
        }
    }
    if request.wrt.is_empty() {
        return Err(
            Diagnostic::new(nowhere, "no --wrt: name at least one tensor to differentiate by", "")
                .with_help(candidates(program, &of)),
        );
    }
    for w in &request.wrt {
        let name = canonical_name(w);
        if !is_name(&name) {
            return Err(not_a_name("--wrt", w));
        }
        if name == of {
            return Err(Diagnostic::new(
                nowhere,
                format!("--wrt {w}: the loss itself; its derivative is 1"),
                "",
            ));
        }
        if let Some((span, indices)) = range_symbol(program, &name) {
            return Err(Diagnostic::new(
                span,
                format!("--wrt {w}: `{name}` is a range symbol (the size of {indices}), not a variable"),
                "declared as a range here",
            )
            .with_help(candidates(program, &of)));
        }
        if !program.tensors.contains_key(&name) {
            return Err(
                Diagnostic::new(nowhere, format!("--wrt {w}: the program has no tensor `{name}`"), "")
                    .with_help(suggest(program, &of, &name)),
            );
        }
    }
    Ok(())
}

/// Whether `s` (canonical) is a name as the program writes one: a letter,
/// then letters, digits and combining marks, and an optional label `^(1)`.
fn is_name(s: &str) -> bool {
    let (base, label) = match s.split_once("^(") {
        Some((base, rest)) => (base, Some(rest)),
        None => (s, None),
    };
    let mut chars = base.chars();
    let head = chars
        .next()
        .is_some_and(|c| unicode_ident::is_xid_start(c) && !matches!(c, 'δ' | 'Σ' | '∂'));
    let tail = chars.all(|c| c != '_' && unicode_ident::is_xid_continue(c));
    let label = label.is_none_or(|l| {
        l.strip_suffix(')')
            .is_some_and(|l| !l.is_empty() && l.chars().all(char::is_alphanumeric))
    });
    head && tail && label
}

/// `--of ''`, `--of dL/dx`: the option takes a name.
fn not_a_name(option: &str, given: &str) -> Diagnostic {
    let what = if option == "--of" { "the loss" } else { "a tensor" };
    let message = if given.is_empty() {
        format!("{option} is empty: it takes the name of {what}")
    } else {
        format!("{option} `{given}` is not a name: it takes the name of {what}")
    };
    // `dL/dx`, `∂L/∂x`: a derivative where a name was expected.
    let derivative = given.split_once('/').and_then(|(a, b)| {
        let strip = |s: &str| {
            let s = s.trim();
            s.strip_prefix('∂')
                .or_else(|| s.strip_prefix('d'))
                .map(str::to_string)
                .filter(|n| is_name(&canonical_name(n)))
        };
        Some((strip(a)?, strip(b)?))
    });
    let help = match derivative {
        Some((l, x)) => format!("`--of` names the loss and `--wrt` the tensor: for ∂{l}/∂{x} write `--of {l} --wrt {x}`"),
        None => format!(
            "a name is a letter, then letters, digits and combining marks, with an optional label such as `^(1)`, as the program writes it (e.g. `{option} {}`)",
            if option == "--of" { "L" } else { "W" }
        ),
    };
    Diagnostic::new(Span::new(0, 0), message, "").with_help(help)
}

/// Where `name` is declared as a range (`index i : N`), and the indices it sizes.
fn range_symbol(program: &Program, name: &str) -> Option<(Span, String)> {
    let span = program.syntax.statements.iter().find_map(|s| match &s.kind {
        StatementKind::Index { range, .. } if range.name == name => Some(range.span),
        _ => None,
    })?;
    let indices: Vec<&str> = program
        .ranges
        .iter()
        .filter(|(_, r)| *r == name)
        .map(|(i, _)| i.as_str())
        .collect();
    let word = if indices.len() == 1 { "index" } else { "indices" };
    Some((span, format!("{word} {}", names_list(&indices, "and"))))
}

/// `` `a` ``, `` `a` or `b` ``, `` `a`, `b` and `c` ``.
fn names_list(names: &[&str], and: &str) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} {and} {last}", rest.join(", ")),
    }
}

/// What `--of` may name: the defined scalars.
fn loss_help(program: &Program) -> String {
    let scalars: Vec<&str> = program
        .definitions()
        .map(|(lhs, _)| lhs.name.name.as_str())
        .filter(|n| program.tensors[*n].order == 0)
        .collect();
    if scalars.is_empty() {
        "name a defined scalar as the loss, or a name the program does not use for an unknown loss of its outputs"
            .into()
    } else {
        format!("name a defined scalar as the loss: {}", names_list(&scalars, "or"))
    }
}

/// The tensors one could differentiate `of` by: the program's inputs (range
/// symbols excepted) and its defined tensors, the loss excepted.
fn differentiable<'a>(program: &'a Program, of: &str) -> (Vec<&'a str>, Vec<&'a str>) {
    let sizes: HashSet<&str> = program.ranges.values().map(String::as_str).collect();
    let mut inputs = Vec::new();
    let mut defined = Vec::new();
    for (name, info) in &program.tensors {
        if name == of || sizes.contains(name.as_str()) {
            continue;
        }
        match info.definition {
            Some(_) => defined.push(name.as_str()),
            None => inputs.push(name.as_str()),
        }
    }
    (inputs, defined)
}

/// A help line that lists what `--wrt` may name.
fn candidates(program: &Program, of: &str) -> String {
    let (inputs, defined) = differentiable(program, of);
    let mut parts = Vec::new();
    match inputs.len() {
        0 => {}
        1 => parts.push(format!("the program's input is {}", names_list(&inputs, "and"))),
        _ => parts.push(format!("the program's inputs are {}", names_list(&inputs, "and"))),
    }
    if !defined.is_empty() {
        parts.push(format!("it defines {}", names_list(&defined, "and")));
    }
    match inputs.first().or(defined.first()) {
        Some(first) => format!(
            "{}: differentiate by one of them, e.g. `--wrt {first}`",
            parts.join("; ")
        ),
        None => "the program has no tensor to differentiate by".into(),
    }
}

/// A help line for a `--wrt` the program does not have: a close spelling
/// (`w` for `W`, `W1` for `W^(1)`), or the list of candidates.
fn suggest(program: &Program, of: &str, name: &str) -> String {
    let (inputs, defined) = differentiable(program, of);
    let close = inputs
        .iter()
        .chain(&defined)
        .copied()
        .find(|n| n.to_lowercase() == name.to_lowercase() || n.replace("^(", "").replace(')', "") == name);
    match close {
        Some(n) => format!("did you mean `{n}`?"),
        None => candidates(program, of),
    }
}

/// The name a command line means: `W^{(1)}`, `W^(1)` and `W⁽¹⁾` (as ricci
/// prints it) are one name, in Unicode normal form (NFC).
pub fn canonical_name(s: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let s: String = s.replace("^{(", "^(").replace(")}", ")").nfc().collect();
    crate::render::names::from_superscript(&s).unwrap_or(s)
}

/// One term of the chain rule: `Σ_copy upstream · local`, where `local` is
/// `∂C_copy/∂T` with its Kronecker deltas.
#[derive(Clone, Debug)]
pub struct Contribution {
    /// The definition `C` that reads `T`.
    pub consumer: Rc<str>,
    /// Fresh copies of `C`'s indices, summed over.
    pub copy: Vec<Ix>,
    /// `(∂L/∂C)_copy`: the finished gradient, or its name.
    pub upstream: Term,
    /// `∂C_copy/∂T_…`, as differentiated.
    pub local: Term,
}

/// What one reverse pass computed.
pub struct Reverse {
    /// Each tensor's simplified gradient and the simplifier's log.
    pub finished: HashMap<String, (Term, Log)>,
    /// Each tensor's chain-rule terms.
    pub contributions: HashMap<String, Vec<Contribution>>,
    /// Each tensor's gradient indices.
    pub params: HashMap<String, Vec<Ix>>,
}

/// Reverse mode over the definitions. With `named`, a consumer's gradient
/// enters the chain rule as its name `∂L/∂C` (for the steps); without, as its
/// simplified value, so that results are expanded in the given gradients.
///
/// Only the gradients on the way to a tensor in `wanted` (canonical names) are
/// derived: a definition that reads none of them, directly or through other
/// definitions, and an input not asked for, cost nothing.
pub fn reverse(program: &Program, lowered: &Lowered, of: &str, named: bool, wanted: &[String]) -> Reverse {
    let env = &lowered.env;
    let needed = needed(lowered, wanted);
    let mut dims = lowered.dims.clone();
    let of: Rc<str> = of.into();
    let mut params: HashMap<String, Vec<Ix>> = HashMap::new();
    let mut params_of = |name: &str, dims: &mut Dims| -> Vec<Ix> {
        params
            .entry(name.to_string())
            .or_insert_with(|| {
                let order = lowered.orders.get(name).copied().unwrap_or(0);
                result_indices(order)
                    .into_iter()
                    .enumerate()
                    .map(|(k, n)| Ix::fresh(n, dims.axis(name, k)))
                    .collect()
            })
            .clone()
    };
    let grad = |name: &str, ix: Vec<Ix>| {
        Term::Var(
            Name::Grad {
                of: of.clone(),
                wrt: name.into(),
            },
            ix,
        )
    };
    let mut pending: HashMap<String, Vec<Term>> = HashMap::new();
    let mut contributions: HashMap<String, Vec<Contribution>> = HashMap::new();
    let loss_defined = lowered.definitions.iter().any(|(n, _, _)| **n == *of);
    if loss_defined {
        pending.insert(of.to_string(), vec![Term::one()]);
    } else {
        for out in program.outputs() {
            let p = params_of(out, &mut dims);
            pending.insert(out.to_string(), vec![grad(out, p)]);
        }
    }
    let mut finished: HashMap<String, (Term, Log)> = HashMap::new();
    for (name, lhs, rhs) in lowered.definitions.iter().rev() {
        let Some(parts) = pending.remove(&**name) else { continue };
        if !needed.contains(&**name) {
            continue; // an output the requested tensors do not lead to
        }
        let (g, log) = simplify::simplify(&Term::Add(parts), env);
        let mine = params_of(name, &mut dims);
        if !g.is_zero() {
            // Each tensor this definition reads gets Σ_c (∂L/∂C)_c ∂C_c/∂T.
            let mut read: Vec<Name> = Vec::new();
            collect_names(rhs, &mut read);
            for t in read {
                let Name::Tensor(tname) = &t else { continue };
                if !needed.contains(&**tname) {
                    continue;
                }
                let at = params_of(tname, &mut dims);
                // a fresh copy of the definition and of the upstream gradient
                let copy: Vec<Ix> = lhs.iter().map(|i| Ix::fresh(&i.name, i.dim)).collect();
                let mut rhs_c = rhs.refresh_bound();
                let mut g_c = if named && **name != *of {
                    grad(name, mine.clone())
                } else {
                    g.refresh_bound()
                };
                for ((old, new), p) in lhs.iter().zip(&copy).zip(&mine) {
                    rhs_c = rhs_c.rename(old, new);
                    g_c = g_c.rename(p, new);
                }
                let d = differentiate(&rhs_c, &t, &at);
                if d.is_zero() {
                    continue;
                }
                let part = Term::Sum(copy.clone(), Box::new(Term::Mul(vec![g_c.clone(), d.clone()])));
                pending.entry(tname.to_string()).or_default().push(part);
                contributions.entry(tname.to_string()).or_default().push(Contribution {
                    consumer: name.clone(),
                    copy,
                    upstream: g_c,
                    local: d,
                });
            }
        }
        finished.insert(name.to_string(), (g, log));
    }
    // What is left are inputs, entered only when needed.
    for (name, parts) in pending {
        finished
            .entry(name)
            .or_insert_with(|| simplify::simplify(&Term::Add(parts), env));
    }
    Reverse {
        finished,
        contributions,
        params,
    }
}

/// The tensors whose gradients lead to one in `wanted`: those, and every
/// defined tensor that reads one of them, directly or through others.
fn needed<'a>(lowered: &'a Lowered, wanted: &'a [String]) -> HashSet<&'a str> {
    let mut needed: HashSet<&str> = wanted.iter().map(String::as_str).collect();
    // Definitions read only tensors defined before them (or inputs), so one
    // pass in order reaches the fixpoint.
    let mut read = Vec::new();
    for (name, _, rhs) in &lowered.definitions {
        read.clear();
        collect_names(rhs, &mut read);
        if read
            .iter()
            .any(|n| matches!(n, Name::Tensor(t) if needed.contains(&**t)))
        {
            needed.insert(name);
        }
    }
    needed
}

/// Differentiates the loss by every requested tensor: every gradient is first
/// derived with its upstream gradients named (each of constant size, so the
/// pass is linear in the number of definitions), then the named gradients on
/// the way to a requested tensor are substituted and the result simplified
/// once (DESIGN §2).
pub fn gradients(program: &Program, lowered: &Lowered, request: &Request) -> Vec<Gradient> {
    gradients_timed(program, lowered, request, &mut Phases::default())
}

fn gradients_timed(program: &Program, lowered: &Lowered, request: &Request, phases: &mut Phases) -> Vec<Gradient> {
    let started = Instant::now();
    let wanted: Vec<String> = request.wrt.iter().map(|w| canonical_name(w)).collect();
    let r = reverse(program, lowered, &request.of, true, &wanted);
    phases.reverse = started.elapsed();
    let started = Instant::now();
    let mut dims = lowered.dims.clone();
    let out = request
        .wrt
        .iter()
        .map(|w| {
            let name = canonical_name(w);
            let indices = r.params.get(&name).cloned().unwrap_or_else(|| {
                let order = lowered.orders.get(&name).copied().unwrap_or(0);
                result_indices(order)
                    .into_iter()
                    .enumerate()
                    .map(|(k, n)| Ix::fresh(n, dims.axis(&name, k)))
                    .collect()
            });
            let (term, log) = match r.finished.get(&name) {
                None => (Term::zero(), Log::default()),
                Some((g, log)) => {
                    let expanded = inline(&r, &request.of, &name);
                    if &expanded == g {
                        (g.clone(), log.clone())
                    } else if expanded.size() > LARGE {
                        // Composed of simplified named gradients, it is correct as it
                        // stands; what a second simplification could still cancel
                        // across layers is not worth its quadratic cost on a deep chain.
                        (simplify::clean(&expanded), log.clone())
                    } else {
                        simplify::simplify(&expanded, &lowered.env)
                    }
                }
            };
            Gradient {
                wrt: w.clone(),
                indices,
                term,
                log,
            }
        })
        .collect();
    phases.compose = started.elapsed();
    out
}

/// Above this many nodes an inlined gradient is not simplified again.
const LARGE: usize = 150;

/// The gradient of `name` with every named upstream gradient replaced by its
/// own (inlined) form; given gradients of outputs stay names.
///
/// One traversal that carries the renaming down (each inlined gradient's
/// parameters to the indices it is used at, its bound indices to fresh ones),
/// so the cost is the size of the result: renaming each inlined body after the
/// fact cost the size of everything below it, at every level of a deep chain.
fn inline(r: &Reverse, of: &str, name: &str) -> Term {
    match r.finished.get(name) {
        Some((g, _)) => substitute(g, r, of, &mut Vec::new(), false),
        None => Term::zero(),
    }
}

/// `t` with the renaming `map` applied (innermost binding wins) and named
/// gradients inlined; `fresh` gives bound indices new names (inside an inlined
/// body, which may stand beside another copy of itself).
fn substitute(t: &Term, r: &Reverse, of: &str, map: &mut Vec<(Ix, Ix)>, fresh: bool) -> Term {
    t.renamed(map, fresh, &mut |n, ix| match n {
        Name::Grad { of: o, wrt } if **o == *of && r.contributions.contains_key(&**wrt) => {
            let Some((g, _)) = r.finished.get(&**wrt) else {
                return Term::zero();
            };
            // A new scope: only the inlined gradient's parameters are renamed.
            let mut inner: Vec<(Ix, Ix)> = match r.params.get(&**wrt) {
                Some(params) => params.iter().cloned().zip(ix).collect(),
                None => Vec::new(),
            };
            substitute(g, r, of, &mut inner, true)
        }
        _ => Term::Var(n.clone(), ix),
    })
}

fn collect_names(t: &Term, out: &mut Vec<Name>) {
    match t {
        Term::Var(n, _) => {
            if !out.contains(n) {
                out.push(n.clone())
            }
        }
        Term::Num(_) | Term::Pi | Term::Delta(..) => {}
        Term::Add(ts) | Term::Mul(ts) => ts.iter().for_each(|x| collect_names(x, out)),
        Term::Pow(b, _) | Term::Fn(_, b) | Term::Sum(_, b) => collect_names(b, out),
    }
}

/// One result of a derivation, ready to render.
#[derive(Clone, Debug)]
pub struct GradientResult {
    /// The tensor, as named on the command line.
    pub wrt: String,
    /// The canonical tensor name (`W^(1)`).
    pub name: String,
    /// The range symbol of each axis of the result as shown, where declared:
    /// the axes of `wrt`, reversed for a matrix form in numerator layout.
    pub shape: Vec<Option<String>>,
    /// The gradient's free indices.
    pub indices: Vec<Ix>,
    /// The simplified index form.
    pub term: Term,
    /// The matrix form in the requested layout, if there is one.
    pub matrix: Option<crate::matrix::Mat>,
    /// The matrix form in gradient layout (what `--check` and NumPy evaluate).
    pub gradient_matrix: Option<crate::matrix::Mat>,
    /// What the simplifier did.
    pub log: Log,
    /// The e-graph run over the matrix form, if there was one.
    pub egraph: Option<crate::egraph::RunStats>,
}

/// A whole derivation: every requested gradient of one loss.
#[derive(Clone, Debug)]
pub struct Derivation {
    /// The loss.
    pub of: String,
    /// One result per `--wrt`, in order.
    pub results: Vec<GradientResult>,
    /// How long each phase took.
    pub phases: Phases,
}

/// Wall-clock time per phase of [`derive()`] (for `--stats`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Phases {
    /// Lowering the program to index terms.
    pub lower: Duration,
    /// The reverse pass with named upstream gradients, each simplified.
    pub reverse: Duration,
    /// Substituting the named gradients on each requested path and simplifying once.
    pub compose: Duration,
    /// Recognising matrix forms (transposes and layouts included).
    pub recognise: Duration,
    /// Equality saturation over the matrix forms.
    pub saturate: Duration,
}

/// The matrix form of a gradient in gradient layout, the form to show (in the
/// requested layout, a vector as a row when that reads better), and the e-graph
/// run that chose it.
pub fn matrix_forms(
    term: &Term,
    indices: &[Ix],
    request: &Request,
) -> (Option<Mat>, Option<Mat>, Option<crate::egraph::RunStats>) {
    use crate::matrix::{cost, transposed};
    let Some(m) = crate::matrix::recognize(term, indices) else {
        return (None, None, None);
    };
    // Saturation with rules/matrix.rules; its form replaces the recogniser's
    // only when strictly cheaper to read. Transposes and layouts are handled
    // without it; what it adds is factoring across a sum, so it runs only
    // when a sum has two products to factor.
    let cheaper = |a: Mat, b: Mat| if cost(&b) < cost(&a) { b } else { a };
    let (gradient, saturated, stats) = if crate::egraph::worth_saturating(&m) {
        let (plain, flipped, stats) = crate::egraph::optimize(&m, request.limits);
        (cheaper(m, plain), Some(flipped), Some(stats))
    } else {
        (m, None, None)
    };
    // The transpose is built only where it may be shown.
    let flipped = || {
        let t = transposed(&gradient);
        match saturated {
            Some(f) => cheaper(t, f),
            None => t,
        }
    };
    let shown = match (request.layout, indices.len()) {
        (Layout::Numerator, 1 | 2) => flipped(),
        // A vector may read better as a row: `1ᵀ G` rather than `Gᵀ 1`.
        (Layout::Gradient, 1) => cheaper(gradient.clone(), flipped()),
        _ => gradient.clone(),
    };
    (Some(gradient), Some(shown), stats)
}

/// Differentiates `request.of` by every `request.wrt` and finds the matrix forms.
pub fn derive(program: &Program, request: &Request) -> Result<Derivation, Diagnostic> {
    validate(program, request)?;
    let mut phases = Phases::default();
    let started = Instant::now();
    let lowered = lower(program);
    phases.lower = started.elapsed();
    let mut dims = lowered.dims.clone();
    let results = gradients_timed(program, &lowered, request, &mut phases)
        .into_iter()
        .map(|g| {
            let name = canonical_name(&g.wrt);
            let order = lowered.orders.get(&name).copied().unwrap_or(0);
            let shape: Vec<Option<String>> = (0..order)
                .map(|k| {
                    let d = dims.axis(&name, k);
                    dims.range_of(d)
                })
                .collect();
            let started = Instant::now();
            let (gradient_matrix, matrix, egraph) = matrix_forms(&g.term, &g.indices, request);
            // an index form (no matrix form) keeps the axes of `wrt`
            let shape = if matrix.is_some() {
                request.layout.shape(shape)
            } else {
                shape
            };
            let total = started.elapsed();
            let saturate = egraph.as_ref().map_or(Duration::ZERO, |e| e.time);
            phases.saturate += saturate;
            phases.recognise += total.saturating_sub(saturate);
            GradientResult {
                wrt: g.wrt,
                name,
                shape,
                indices: g.indices,
                term: g.term,
                matrix,
                gradient_matrix,
                log: g.log,
                egraph,
            }
        })
        .collect();
    Ok(Derivation {
        of: request.of.clone(),
        results,
        phases,
    })
}
