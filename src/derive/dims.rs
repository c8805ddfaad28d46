//! Dimension classes: which tensor axes and which indices of which statements
//! range over one dimension.
//!
//! A union-find over keys for every axis of every tensor and every index of
//! every statement: an index written at an axis joins the two, a δ joins its
//! two indices, and a declared range (`index i : N`) names a class. Two
//! different declared ranges meeting in one class are a [`RangeConflict`],
//! which the semantic check reports.

use std::collections::{BTreeMap, HashMap};

use crate::syntax::ast::{Expr, ExprKind, Ident, Span, StatementKind};
use crate::syntax::Program;

/// Dimension classes: every tensor axis and every index of every statement,
/// joined where an index meets an axis or a declared range.
#[derive(Clone, Debug, Default)]
pub(crate) struct Dims {
    parent: Vec<u32>,
    keys: HashMap<String, u32>,
    /// The declared range symbol of a class's root, if any.
    range: HashMap<u32, String>,
    /// Where a class's range came in: the use of a declared index.
    origin: HashMap<u32, Origin>,
}

/// The use of a declared index that gave a dimension class its range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Origin {
    /// The index as written.
    pub index: String,
    /// Where.
    pub span: Span,
}

/// How two dimension classes met.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Meeting {
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
pub(crate) struct RangeConflict {
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
    pub(crate) fn axis(&mut self, name: &str, axis: usize) -> u32 {
        let n = self.node(format!("axis\u{0}{name}\u{0}{axis}"));
        self.find(n)
    }

    /// The class of index `index` of statement `statement`.
    pub(crate) fn index(&mut self, statement: usize, index: &str) -> u32 {
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
    pub(crate) fn range_of(&mut self, dim: u32) -> Option<String> {
        let root = self.find(dim);
        self.range.get(&root).cloned()
    }

    /// The classes of an index name (in any statement) or of a range symbol.
    pub(crate) fn classes_named(&mut self, name: &str) -> Vec<u32> {
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
    pub(crate) fn classes(&mut self) -> Vec<u32> {
        let mut roots: Vec<u32> = (0..self.parent.len() as u32).map(|n| self.find(n)).collect();
        roots.sort();
        roots.dedup();
        roots
    }

    /// Builds the classes of a checked program.
    pub(crate) fn of(program: &Program) -> Dims {
        Dims::build(&program.syntax, &program.ranges).0
    }

    /// Builds the classes of a parsed program whose indices range as `ranges`
    /// declares (index → range symbol), and reports every place where two
    /// different declared ranges meet (an axis, a δ). After a conflict the
    /// classes are joined anyway, keeping one of the two ranges.
    pub(crate) fn build(
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
