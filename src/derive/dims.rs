//! Dimension classes: which tensor axes and which indices of which statements
//! range over one dimension.
//!
//! A union-find over a node for every axis of every tensor and every index of
//! every statement ([`Key`]): an index written at an axis joins the two, a δ
//! joins its two indices, and a declared range (`index i : N`) names a class.
//! Two different declared ranges meeting in one class are a [`RangeConflict`],
//! which the semantic check reports. Once built, the union-find is frozen into
//! [`Dims`], a table read through `&self`: the semantic check builds it once
//! and the checked program carries it.
//!
//! A class is named by its root node, and nodes are numbered in the order they
//! are made: the statements in source order, in each the left side's axes then
//! the right side's accesses and δs in source order (an axis before the index
//! written at it). A join keeps the root of the index (of a δ, of its second
//! index); declared ranges are joined last: walking the indices in the order
//! their nodes were made, each with a declared range joins the first class
//! seen with that range, whose root stays. The class numbers, and so the sizes `--check` draws for each
//! class, depend on this order and on nothing else (no hashing).

use std::collections::{BTreeMap, HashMap};

use crate::syntax::ast::{Expr, ExprKind, Ident, Span, StatementKind};

/// A node of the union-find.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Key {
    /// Axis `k` (from 0) of a tensor.
    Axis(String, usize),
    /// An index of a statement (by its number).
    Index(usize, String),
}

/// Dimension classes, frozen: the class of every tensor axis and of every
/// index of every statement, and the declared range of the classes that have
/// one. Built by [`Dims::build`]; a class is a `u32`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Dims {
    /// The class of each axis of each tensor, by tensor name.
    axes: HashMap<String, Vec<u32>>,
    /// The class of an index name in each statement that uses it: name → statement → class.
    indices: HashMap<String, BTreeMap<usize, u32>>,
    /// The class (root) of every node, by node number.
    roots: Vec<u32>,
    /// Every class, ascending.
    classes: Vec<u32>,
    /// The declared range symbol of the classes that have one.
    ranges: BTreeMap<u32, String>,
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
    /// The two axes of the square matrix under `inv`, `det` or `logdet`.
    Square {
        /// The function (`det`).
        function: &'static str,
        /// The matrix.
        tensor: String,
    },
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
    /// A class number no node has: what a lookup of an axis or index that the
    /// program never mentions answers (it has no declared range).
    pub(crate) const NONE: u32 = u32::MAX;

    /// The class of axis `axis` (from 0) of tensor `name`.
    pub(crate) fn axis(&self, name: &str, axis: usize) -> u32 {
        self.axes
            .get(name)
            .and_then(|v| v.get(axis))
            .copied()
            .unwrap_or(Self::NONE)
    }

    /// Gives tensor `name` (one the program does not have: a Hessian's
    /// gradient, an HVP's direction) the axes of tensor `like`.
    pub(crate) fn alias(&mut self, name: &str, like: &str) {
        let axes = self.axes.get(like).cloned().unwrap_or_default();
        self.axes.insert(name.to_string(), axes);
    }

    /// The class of index `index` of statement `statement`.
    pub(crate) fn index(&self, statement: usize, index: &str) -> u32 {
        self.indices
            .get(index)
            .and_then(|by| by.get(&statement))
            .copied()
            .unwrap_or(Self::NONE)
    }

    /// The declared range symbol of a class, if any.
    pub(crate) fn range_of(&self, dim: u32) -> Option<&str> {
        let root = self.roots.get(dim as usize).copied().unwrap_or(dim);
        self.ranges.get(&root).map(String::as_str)
    }

    /// The classes of an index name (in any statement) or of a range symbol, ascending.
    pub(crate) fn classes_named(&self, name: &str) -> Vec<u32> {
        let mut out: Vec<u32> = self
            .indices
            .get(name)
            .into_iter()
            .flat_map(|by| by.values().copied())
            .collect();
        out.extend(self.ranges.iter().filter(|(_, r)| *r == name).map(|(c, _)| *c));
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Every index name of the program, in no particular order.
    pub(crate) fn index_names(&self) -> impl Iterator<Item = &str> + '_ {
        self.indices.keys().map(String::as_str)
    }

    /// Every class, ascending.
    pub(crate) fn classes(&self) -> impl Iterator<Item = u32> + '_ {
        self.classes.iter().copied()
    }

    /// Builds the classes of a parsed program whose indices range as `ranges`
    /// declares (index → range symbol), and reports every place where two
    /// different declared ranges meet (an axis, a δ). After a conflict the
    /// classes are joined anyway, keeping one of the two ranges.
    pub(crate) fn build(
        syntax: &crate::syntax::ast::Program,
        ranges: &BTreeMap<String, String>,
    ) -> (Dims, Vec<RangeConflict>) {
        let mut d = UnionFind::default();
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
        let mut by_range: BTreeMap<&str, u32> = BTreeMap::new();
        for node in 0..d.nodes.len() {
            let Key::Index(_, index) = &d.nodes[node] else { continue };
            let Some(range) = ranges.get(index) else { continue };
            let root = d.find(node as u32);
            match by_range.get(range.as_str()) {
                Some(&other) => {
                    d.union(root, other);
                }
                None => {
                    by_range.insert(range, root);
                }
            }
            let root = d.find(node as u32);
            d.range.insert(root, range.clone());
        }
        // A Σ over an index its term does not use (which the checker refuses)
        // still gets a class of its own, so that every index lowers.
        for (s, statement) in syntax.statements.iter().enumerate() {
            let exprs: Vec<&Expr> = match &statement.kind {
                StatementKind::Definition { rhs, .. } => vec![rhs],
                StatementKind::Assume { lhs, rhs } => std::iter::once(lhs).chain(rhs).collect(),
                StatementKind::Index { .. } => Vec::new(),
            };
            for e in exprs {
                e.walk(&mut |x| match &x.kind {
                    ExprKind::Sum { indices, .. } => {
                        for i in indices {
                            d.node(Key::Index(s, i.name.clone()));
                        }
                    }
                    ExprKind::Reduce { index, .. } => {
                        d.node(Key::Index(s, index.name.clone()));
                    }
                    _ => {}
                });
            }
        }
        (d.freeze(), conflicts)
    }
}

/// The union-find [`Dims`] is built with.
#[derive(Default)]
struct UnionFind {
    parent: Vec<u32>,
    /// The key of each node, by node number (the order they were made).
    nodes: Vec<Key>,
    ids: HashMap<Key, u32>,
    /// The declared range symbol of a class's root, if any.
    range: HashMap<u32, String>,
    /// Where a class's range came in: the use of a declared index.
    origin: HashMap<u32, Origin>,
}

/// Two declared ranges that met: the first (and where it came in), the second.
type Ranges = ((String, Option<Origin>), (String, Option<Origin>));

impl UnionFind {
    /// The node of `key` (made if new), and whether it is new.
    fn node(&mut self, key: Key) -> (u32, bool) {
        if let Some(&n) = self.ids.get(&key) {
            return (n, false);
        }
        let n = self.parent.len() as u32;
        self.parent.push(n);
        self.nodes.push(key.clone());
        self.ids.insert(key, n);
        (n, true)
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
    fn union(&mut self, a: u32, b: u32) -> Option<Ranges> {
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

    /// The class of a use of `index` in statement `statement`: the first use
    /// of a declared index in a statement gives its class the declared range.
    fn index_at(&mut self, statement: usize, index: &Ident, ranges: &BTreeMap<String, String>) -> u32 {
        let (n, new) = self.node(Key::Index(statement, index.name.clone()));
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
        let (a, _) = self.node(Key::Axis(tensor.to_string(), k));
        let a = self.find(a);
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
            ExprKind::MatrixCall {
                function,
                matrix,
                indices,
            } => {
                // a square matrix: its two axes are one dimension
                let (a, _) = self.node(Key::Axis(matrix.name.clone(), 0));
                let (b, _) = self.node(Key::Axis(matrix.name.clone(), 1));
                if let Some((first, second)) = self.union(a, b) {
                    conflicts.push(RangeConflict {
                        at: matrix.span,
                        meeting: Meeting::Square {
                            function: function.source(),
                            tensor: matrix.name.clone(),
                        },
                        first,
                        second,
                    });
                }
                for (k, i) in indices.iter().enumerate() {
                    self.access(s, &matrix.name, k, i, ranges, conflicts);
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

    /// The frozen table: every node mapped to its root.
    fn freeze(mut self) -> Dims {
        let roots: Vec<u32> = (0..self.parent.len() as u32).map(|n| self.find(n)).collect();
        let mut dims = Dims {
            classes: roots.clone(),
            ..Dims::default()
        };
        dims.classes.sort_unstable();
        dims.classes.dedup();
        for (key, &root) in self.nodes.into_iter().zip(&roots) {
            match key {
                Key::Axis(tensor, k) => {
                    let axes = dims.axes.entry(tensor).or_default();
                    if axes.len() <= k {
                        axes.resize(k + 1, Dims::NONE);
                    }
                    axes[k] = root;
                }
                Key::Index(statement, name) => {
                    dims.indices.entry(name).or_default().insert(statement, root);
                }
            }
        }
        dims.ranges = self.range.into_iter().map(|(c, r)| (roots[c as usize], r)).collect();
        dims.roots = roots;
        dims
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dims(source: &str) -> (Dims, Vec<RangeConflict>) {
        let syntax = crate::syntax::parse::parse(source, &crate::Limits::default()).unwrap();
        let mut ranges = BTreeMap::new();
        for statement in &syntax.statements {
            if let StatementKind::Index { indices, range } = &statement.kind {
                for i in indices {
                    ranges.insert(i.name.clone(), range.name.clone());
                }
            }
        }
        Dims::build(&syntax, &ranges)
    }

    #[test]
    fn classes_are_numbered_by_the_documented_order_of_joins() {
        // Nodes: Y.0 = 0, i = 1, Y.1 = 2, j = 3, A.0 = 4, A.1 = 5, k = 6, B.0 = 7,
        // B.1 = 8; each join keeps the index's root.
        let (d, conflicts) = dims("index i : N\nY_ij = Σ_k A_ik B_kj");
        assert!(conflicts.is_empty());
        assert_eq!(d.classes().collect::<Vec<_>>(), [1, 3, 6]);
        assert_eq!([d.axis("Y", 0), d.axis("A", 0)], [1, 1]);
        assert_eq!([d.axis("Y", 1), d.axis("B", 1), d.index(1, "j")], [3, 3, 3]);
        assert_eq!([d.axis("A", 1), d.axis("B", 0), d.index(1, "k")], [6, 6, 6]);
        assert_eq!([d.range_of(1), d.range_of(3), d.range_of(6)], [Some("N"), None, None]);
        // a node that is not a root answers for its class
        assert_eq!(d.range_of(4), Some("N"));
    }

    #[test]
    fn a_declared_range_joins_its_indices_across_statements() {
        // i in statement 1 (node 1) and in statement 2 (node 4) are both N; the
        // first class seen with N keeps its root.
        let (d, _) = dims("index i : N\ny_i = x_i\nz_i = w_i");
        assert_eq!(d.index(1, "i"), d.index(2, "i"));
        assert_eq!(d.index(2, "i"), 1);
        assert_eq!(d.classes_named("i"), [1]);
        assert_eq!(d.classes_named("N"), [1]);
        // undeclared, an index name has a class in each statement
        let (d, _) = dims("y_i = x_i\nz_i = w_i");
        assert_eq!(d.classes_named("i"), [1, 4]);
    }

    #[test]
    fn what_the_program_never_mentions_has_no_class() {
        let (d, _) = dims("y_i = x_i");
        assert_eq!(d.axis("x", 1), Dims::NONE);
        assert_eq!(d.axis("q", 0), Dims::NONE);
        assert_eq!(d.index(0, "j"), Dims::NONE);
        assert_eq!(d.index(7, "i"), Dims::NONE);
        assert_eq!(d.range_of(Dims::NONE), None);
        assert!(d.classes_named("j").is_empty());
    }

    #[test]
    fn an_index_a_sum_does_not_use_still_has_a_class_of_its_own() {
        // refused by the checker, but the constant check lowers it first
        let (d, _) = dims("index k : K\ny = Σ_j 2");
        let j = d.index(1, "j");
        assert_ne!(j, Dims::NONE);
        assert_eq!(d.range_of(j), None);
        assert_eq!(d.classes().collect::<Vec<_>>(), [j]);
    }

    #[test]
    fn two_declared_ranges_meeting_are_reported_where_they_meet() {
        let (d, conflicts) = dims("index i : N\nindex j : M\nL = Σ_ij x_i δ_ij y_j");
        assert_eq!(conflicts.len(), 1);
        assert_eq!(conflicts[0].meeting, Meeting::Delta("i".into(), "j".into()));
        assert_eq!(conflicts[0].first.0, "N");
        assert_eq!(conflicts[0].second.0, "M");
        assert_eq!(d.index(2, "i"), d.index(2, "j"));
    }
}
