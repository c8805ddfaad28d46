//! Python expressions that know their precedence, so that operators get the
//! parentheses Python needs and no more: a product chain `A @ B @ C` stays flat
//! however long it is (`@`, `*` and `/` associate to the left). Two limits of
//! Python's parser remain — about 200 nested brackets, and a few thousand
//! operands in one chain — so an operand nested [`PY_MAX_DEPTH`](crate::limits::PY_MAX_DEPTH) deep, or a chain
//! of [`PY_MAX_CHAIN`](crate::limits::PY_MAX_CHAIN) operands, is bound to a temporary first (`_t1 = …`, a line
//! of its own): the code compiles for any length of program.

use std::collections::HashMap;

use num_rational::BigRational;
use num_traits::Signed;

/// How tightly an expression binds, loosest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Prec {
    /// `a + b`, `a - b`.
    Add,
    /// `a * b`, `a @ b`, `a / b`.
    Mul,
    /// `-a`.
    Unary,
    /// `a ** b`.
    Power,
    /// A name, a number, a call, an attribute, a subscript, a parenthesised expression.
    Atom,
}

use crate::limits::{PY_MAX_CHAIN as MAX_CHAIN, PY_MAX_DEPTH as MAX_DEPTH};

/// A Python expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Py {
    /// The source text.
    pub text: String,
    prec: Prec,
    /// Deepest bracket nesting in `text`.
    depth: u32,
    /// Operands in the top-level chain of `prec` (1 for anything else).
    chain: u32,
    /// The operand of a negation `-x`, so that `-(-x)` is written `x`.
    negated: Option<Box<Py>>,
    /// The text with every temporary written out: the same expression has
    /// the same `full` however it was cut into temporaries.
    full: String,
}

impl Py {
    /// A name or another atom without brackets.
    pub fn name(s: impl Into<String>) -> Py {
        let text = s.into();
        Py {
            full: text.clone(),
            text,
            prec: Prec::Atom,
            depth: 0,
            chain: 1,
            negated: None,
        }
    }

    /// An exact number: `2`, `-3`, `(1 / 2)`, and a decimal where it is
    /// shorter than the fraction, as the user wrote it (`0.044715`, not
    /// `(8943 / 200000)`; the same float either way).
    pub fn number(n: &BigRational) -> Py {
        if let Some(d) = crate::render::index::decimal(&n.abs()) {
            let sign = if n.is_negative() { "-" } else { "" };
            Py {
                full: format!("{sign}{d}"),
                text: format!("{sign}{d}"),
                prec: if n.is_negative() { Prec::Unary } else { Prec::Atom },
                depth: 0,
                chain: 1,
                negated: None,
            }
        } else if n.is_integer() {
            Py {
                full: n.numer().to_string(),
                text: n.numer().to_string(),
                prec: if n.is_negative() { Prec::Unary } else { Prec::Atom },
                depth: 0,
                chain: 1,
                negated: None,
            }
        } else {
            Py {
                full: format!("({} / {})", n.numer(), n.denom()),
                text: format!("({} / {})", n.numer(), n.denom()),
                prec: Prec::Atom,
                depth: 1,
                chain: 1,
                negated: None,
            }
        }
    }
}

/// The lines of a function body being written, and its temporaries.
#[derive(Debug, Default)]
pub(super) struct Block {
    /// Temporaries bound since the last statement was taken.
    pending: Vec<String>,
    temps: usize,
    /// Names that stand for a temporary (the maximum `shift.rs` subtracts).
    aliases: HashMap<String, String>,
    /// A first pass: the full text of every expression built, in order.
    counting: Option<Vec<String>>,
    /// A second pass: the expressions the first built more than once, each
    /// computed once into a temporary ([`Block::remember`]).
    repeated: HashMap<String, usize>,
    /// The temporaries holding them, by full text, and the texts in the
    /// order bound (for [`Block::truncate`]).
    memo: HashMap<String, Py>,
    bound: Vec<String>,
}

/// How far a [`Block`] had got: what [`Block::truncate`] goes back to.
#[derive(Clone, Copy, Debug)]
pub(super) struct Mark {
    pending: usize,
    temps: usize,
    memo: usize,
    counted: usize,
}

impl Block {
    /// A block for a first pass, which counts the expressions it builds.
    pub fn counting() -> Block {
        Block {
            counting: Some(Vec::new()),
            ..Block::default()
        }
    }

    /// A block for the second pass after `first`: an expression `first` built
    /// twice or more anywhere in the function (`np.exp(S)`, `dL_dO @ V.T`,
    /// `np.tanh(U)` in three lines of a backward pass) is computed once, where
    /// it is first needed. The second pass must write the statements in the
    /// order the function runs them, so that the temporary is bound before
    /// every use (the first pass may write them in any order).
    pub fn repeating(first: Block) -> Block {
        let mut repeated: HashMap<String, usize> = HashMap::new();
        for e in first.counting.unwrap_or_default() {
            *repeated.entry(e).or_default() += 1;
        }
        repeated.retain(|_, n| *n > 1);
        Block {
            repeated,
            ..Block::default()
        }
    }

    /// Where the block stands now.
    pub fn mark(&self) -> Mark {
        Mark {
            pending: self.pending.len(),
            temps: self.temps,
            memo: self.bound.len(),
            counted: self.counting.as_ref().map_or(0, Vec::len),
        }
    }

    /// Drops what was bound since `mark` (an attempt that failed).
    pub fn truncate(&mut self, mark: Mark) {
        self.pending.truncate(mark.pending);
        // the temporaries bound since are gone with their lines
        self.temps = mark.temps;
        for full in self.bound.drain(mark.memo..) {
            self.memo.remove(&full);
        }
        if let Some(c) = &mut self.counting {
            c.truncate(mark.counted);
        }
    }

    /// `e` as built; counted in a first pass; in a second, bound to a
    /// temporary the first time when the first pass built it more than once,
    /// and that temporary every time after.
    fn remember(&mut self, e: Py) -> Py {
        if let Some(counts) = &mut self.counting {
            counts.push(e.full.clone());
            return e;
        }
        if !self.repeated.contains_key(&e.full) {
            return e;
        }
        if let Some(t) = self.memo.get(&e.full) {
            return t.clone();
        }
        let full = e.full.clone();
        let t = self.hoist(e);
        self.memo.insert(full.clone(), t.clone());
        self.bound.push(full);
        t
    }

    /// Lets the name `name` stand for the temporary `temp`.
    pub fn alias(&mut self, name: &str, temp: &str) {
        self.aliases.insert(name.to_string(), temp.to_string());
    }

    /// The temporary that `name` stands for, if any.
    pub fn aliased(&self, name: &str) -> Option<&str> {
        self.aliases.get(name).map(String::as_str)
    }

    /// Binds `e` to a new temporary and returns its name.
    pub fn hoist(&mut self, e: Py) -> Py {
        // a name is bound already
        if e.prec == Prec::Atom && e.text.chars().all(|c| c.is_alphanumeric() || c == '_') {
            return e;
        }
        self.temps += 1;
        let name = format!("_t{}", self.temps);
        self.pending.push(format!("{name} = {}", e.text));
        let mut t = Py::name(name);
        t.full = e.full;
        t
    }

    /// `import module` before the next statement (a function imports what it
    /// needs beyond NumPy in its own body; the function's writer keeps the first).
    pub fn import(&mut self, module: &str) {
        let line = format!("import {module}");
        if !self.pending.contains(&line) {
            self.pending.push(line);
        }
    }

    /// The temporaries bound since the last call, in order: they go before
    /// the statement being written. A temporary holding a repeated expression
    /// serves every statement after it.
    pub fn take(&mut self) -> Vec<String> {
        std::mem::take(&mut self.pending)
    }

    fn shallow(&mut self, e: Py) -> Py {
        if e.depth >= MAX_DEPTH {
            self.hoist(e)
        } else {
            e
        }
    }

    /// `(e)`.
    pub fn paren(&mut self, e: Py) -> Py {
        self.enclosed(e, "(", ")")
    }

    /// `open e close`, one bracket deeper: an atom.
    fn enclosed(&mut self, e: Py, open: &str, close: &str) -> Py {
        let e = self.shallow(e);
        Py {
            full: format!("{open}{}{close}", e.full),
            text: format!("{open}{}{close}", e.text),
            prec: Prec::Atom,
            depth: e.depth + 1,
            chain: 1,
            negated: None,
        }
    }

    /// `e`, parenthesised unless it binds at least as tightly as `p`.
    fn at_least(&mut self, e: Py, p: Prec) -> Py {
        if e.prec >= p {
            self.shallow(e)
        } else {
            self.paren(e)
        }
    }

    /// `f(a, b, …)`; `args` may also be keyword arguments written as names.
    pub fn call(&mut self, f: &str, args: Vec<Py>) -> Py {
        let args: Vec<Py> = args.into_iter().map(|a| self.shallow(a)).collect();
        let depth = args.iter().map(|a| a.depth).max().unwrap_or(0) + 1;
        let text: Vec<&str> = args.iter().map(|a| a.text.as_str()).collect();
        let full: Vec<&str> = args.iter().map(|a| a.full.as_str()).collect();
        let e = Py {
            full: format!("{f}({})", full.join(", ")),
            text: format!("{f}({})", text.join(", ")),
            prec: Prec::Atom,
            depth,
            chain: 1,
            negated: None,
        };
        // a constant (`np.ones(n)`) or a tuple is not worth a temporary
        let constant = ["ones", "eye", "zeros", "vectorize"].iter().any(|c| f.ends_with(c));
        if f.is_empty() || constant {
            e
        } else {
            self.remember(e)
        }
    }

    /// `(a, b)`, or `(a,)` for one item.
    pub fn tuple(&mut self, items: Vec<Py>) -> Py {
        let one = items.len() == 1;
        let mut t = self.call("", items);
        if one {
            t.text.insert(t.text.len() - 1, ',');
            t.full.insert(t.full.len() - 1, ',');
        }
        t
    }

    /// `e` followed by an attribute, call or subscript: `e.T`, `e.sum(axis=0)`, `e[:, None]`.
    pub fn suffix(&mut self, e: Py, suffix: &str) -> Py {
        let e = self.at_least(e, Prec::Atom);
        let bracketed = suffix.contains(['(', '[']);
        let e = Py {
            full: format!("{}{suffix}", e.full),
            text: format!("{}{suffix}", e.text),
            prec: Prec::Atom,
            depth: if bracketed { e.depth.max(1) } else { e.depth },
            chain: 1,
            negated: None,
        };
        // a method call (`.sum(axis=1)`), not an attribute or a subscript
        // (the maximum a softmax subtracts is left where it reads best)
        if suffix.starts_with('.') && suffix.contains('(') && !suffix.starts_with(".max(") {
            self.remember(e)
        } else {
            e
        }
    }

    /// `a op b` for `op` one of `*`, `@`, `/` (left-associative, so a chain stays flat).
    pub fn mul(&mut self, a: Py, op: &str, b: Py) -> Py {
        self.binary(a, op, b, Prec::Mul)
    }

    /// `a op b` for `op` one of `+`, `-`.
    pub fn add(&mut self, a: Py, op: &str, b: Py) -> Py {
        // `a + -b` is `a - b`, and `a - -b` is `a + b`
        if let Some(inner) = b.negated.clone() {
            let flipped = if op == "+" { "-" } else { "+" };
            return self.binary(a, flipped, *inner, Prec::Add);
        }
        self.binary(a, op, b, Prec::Add)
    }

    fn binary(&mut self, a: Py, op: &str, b: Py, prec: Prec) -> Py {
        let a = if a.prec == prec && a.chain >= MAX_CHAIN {
            self.hoist(a)
        } else {
            self.at_least(a, prec)
        };
        // The right operand binds tighter: `a - (b + c)`, `a / (b * c)`.
        let right = match prec {
            Prec::Add => Prec::Mul,
            _ => Prec::Unary,
        };
        let b = self.at_least(b, right);
        let e = Py {
            chain: if a.prec == prec { a.chain + 1 } else { 2 },
            negated: None,
            full: format!("{} {op} {}", a.full, b.full),
            text: format!("{} {op} {}", a.text, b.text),
            prec,
            depth: a.depth.max(b.depth),
        };
        // a matrix product is worth computing once; `a * b` is not
        if op == "@" {
            self.remember(e)
        } else {
            e
        }
    }

    /// `-e`; `-(-x)` is `x`.
    pub fn neg(&mut self, e: Py) -> Py {
        if let Some(inner) = e.negated {
            return *inner;
        }
        let operand = e.clone();
        let e = self.at_least(e, Prec::Unary);
        Py {
            full: format!("-{}", e.full),
            text: format!("-{}", e.text),
            prec: Prec::Unary,
            depth: e.depth,
            chain: 1,
            negated: Some(Box::new(operand)),
        }
    }

    /// `e ** exponent`.
    pub fn pow(&mut self, e: Py, exponent: &BigRational) -> Py {
        let e = self.at_least(e, Prec::Atom);
        let x = Py::number(exponent);
        Py {
            full: format!("{} ** {}", e.full, x.full),
            text: format!("{} ** {}", e.text, x.text),
            prec: Prec::Power,
            depth: e.depth.max(x.depth),
            chain: 1,
            negated: None,
        }
    }

    /// `a > 0` wrapped as an atom: `(a > 0)`.
    pub fn positive(&mut self, e: Py) -> Py {
        let e = self.at_least(e, Prec::Add);
        self.enclosed(e, "(", " > 0)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Py {
        Py::name(s)
    }

    #[test]
    fn a_number_is_a_decimal_where_that_is_shorter() {
        let q = |p: i64, d: i64| BigRational::new(p.into(), d.into());
        assert_eq!(Py::number(&q(8943, 200000)).text, "0.044715");
        assert_eq!(Py::number(&q(-8943, 200000)).text, "-0.044715");
        assert_eq!(Py::number(&q(1, 2)).text, "(1 / 2)");
        assert_eq!(Py::number(&q(1, 3)).text, "(1 / 3)");
        assert_eq!(Py::number(&q(-3, 1)).text, "-3");
        // a negative decimal is a unary operand, as a negative integer is
        let mut b = Block::default();
        assert_eq!(b.mul(n("a"), "*", Py::number(&q(-8943, 200000))).text, "a * -0.044715");
    }

    #[test]
    fn operators_get_only_the_parentheses_python_needs() {
        let mut b = Block::default();
        let ab = b.mul(n("A"), "@", n("B"));
        let abc = b.mul(ab.clone(), "@", n("C"));
        assert_eq!(abc.text, "A @ B @ C");
        let bc = b.mul(n("B"), "@", n("C"));
        let a_bc = b.mul(n("A"), "@", bc);
        assert_eq!(a_bc.text, "A @ (B @ C)");
        let sum = b.add(n("a"), "+", n("b"));
        assert_eq!(b.add(n("c"), "-", sum.clone()).text, "c - (a + b)");
        assert_eq!(b.add(sum.clone(), "-", n("c")).text, "a + b - c");
        assert_eq!(b.mul(sum.clone(), "*", n("c")).text, "(a + b) * c");
        assert_eq!(b.neg(sum.clone()).text, "-(a + b)");
        let neg = b.neg(n("x"));
        assert_eq!(
            b.pow(neg.clone(), &BigRational::from_integer(2.into())).text,
            "(-x) ** 2"
        );
        assert_eq!(b.mul(n("a"), "*", neg).text, "a * -x");
        assert_eq!(b.suffix(ab, ".T").text, "(A @ B).T");
        assert!(b.take().is_empty());
    }

    #[test]
    fn a_long_chain_is_cut_into_temporaries() {
        let mut b = Block::default();
        let mut e = n("A0");
        for k in 1..200 {
            e = b.mul(e, "@", n(&format!("A{k}")));
        }
        let lines = b.take();
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(lines[0].starts_with("_t1 = A0 @ A1 @ "));
        assert!(lines[1].starts_with("_t2 = _t1 @ "));
        assert!(e.text.starts_with("_t3 @ "));
        assert!(e.chain < MAX_CHAIN);
    }

    #[test]
    fn deep_nesting_is_cut_into_temporaries() {
        let mut b = Block::default();
        let mut e = n("x");
        for _ in 0..100 {
            e = b.call("np.exp", vec![e]);
        }
        assert!(e.depth <= MAX_DEPTH);
        let lines = b.take();
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(lines.iter().all(|l| l.matches('(').count() as u32 <= MAX_DEPTH));
    }
}
