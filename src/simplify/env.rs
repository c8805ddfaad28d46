//! What the simplifier knows about the program: its definitions (to fold
//! back), its assumptions and the size symbol of each dimension class, with
//! an index of which definitions mention which names.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};

use crate::term::{Func, Ix, Name, Term};

/// What the simplifier knows about the program.
#[derive(Clone, Debug, Default)]
pub struct Env {
    /// Definitions `(name, parameters, right-hand side)`, normalised, to fold back.
    pub definitions: Vec<(Name, Vec<Ix>, Term)>,
    /// Assumptions `(parameters, lhs, rhs)`, normalised.
    pub assumptions: Vec<(Vec<Ix>, Term, Term)>,
    /// The size symbol of each dimension class (`S`, or `n_i` when undeclared).
    pub sizes: HashMap<u32, Term>,
    /// The letter of an undeclared range's size symbol (`n` of `n_i`; see
    /// `Program::size_letter`); empty means `n`.
    pub size_letter: &'static str,
    /// Which definitions mention which names, built once (folding asks on
    /// every call; definitions are only ever appended).
    index: RefCell<DefinitionIndex>,
}

impl Env {
    /// The size symbol of `k`'s dimension class (what a Σ over an unused `k` becomes).
    pub(crate) fn size(&self, k: &Ix) -> Term {
        self.sizes.get(&k.dim).cloned().unwrap_or_else(|| {
            let letter = if self.size_letter.is_empty() {
                "n"
            } else {
                self.size_letter
            };
            Term::Var(Name::Tensor(format!("{letter}_{}", k.name).into()), vec![])
        })
    }
}

/// The names each definition's right-hand side mentions, and the reverse map.
#[derive(Clone, Debug, Default)]
struct DefinitionIndex {
    /// How many names definition `i` mentions.
    counts: Vec<usize>,
    /// The definitions that mention a name.
    by_name: HashMap<Mention, Vec<usize>>,
    /// Definitions that mention no name at all (they can match anywhere).
    anywhere: Vec<usize>,
}

impl Env {
    /// The definitions below `below` whose names all occur in `present`, last first.
    pub(super) fn foldable(&self, present: &BTreeSet<Mention>, below: usize) -> Vec<usize> {
        let mut index = self.index.borrow_mut();
        while index.counts.len() < self.definitions.len() {
            let i = index.counts.len();
            let mentions = names(&self.definitions[i].2);
            index.counts.push(mentions.len());
            if mentions.is_empty() {
                index.anywhere.push(i);
            }
            for m in mentions {
                index.by_name.entry(m).or_default().push(i);
            }
        }
        let mut hits: HashMap<usize, usize> = HashMap::new();
        for m in present {
            for &i in index.by_name.get(m).into_iter().flatten() {
                *hits.entry(i).or_default() += 1;
            }
        }
        let mut out: Vec<usize> = hits
            .into_iter()
            .filter(|&(i, n)| n == index.counts[i])
            .map(|(i, _)| i)
            .chain(index.anywhere.iter().copied())
            .filter(|&i| i < below)
            .collect();
        out.sort_unstable_by(|a, b| b.cmp(a));
        out
    }
}

/// What a pattern needs to find in a term: the tensors and functions it mentions.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) enum Mention {
    /// A tensor (or gradient) name.
    Tensor(Name),
    /// An elementwise function.
    Function(Func),
}

/// The tensor names and functions a term mentions.
pub(super) fn names(t: &Term) -> BTreeSet<Mention> {
    fn go(t: &Term, out: &mut BTreeSet<Mention>) {
        match t {
            Term::Var(n, _) => {
                out.insert(Mention::Tensor(n.clone()));
            }
            Term::Fn(f, x) => {
                out.insert(Mention::Function(f.clone()));
                go(x, out);
            }
            _ => t.children().iter().for_each(|x| go(x, out)),
        }
    }
    let mut out = BTreeSet::new();
    go(t, &mut out);
    out
}
