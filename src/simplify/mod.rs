//! Index-level simplification.
//!
//! Terms are kept in a normal form built by smart constructors ([`add`], [`mul`],
//! [`pow`], and Σ): flat sums and products, exact rational coefficients, equal
//! factors merged into powers, like terms collected (up to renaming of bound
//! indices), and factors hoisted out of every Σ they do not depend on.
//!
//! On top of it, passes that each do one thing, each logged by name:
//! δ contraction ([`contract()`]), folding definitions back into their names
//! and applying the program's assumptions (`fold`, `assume`), and factoring
//! (`factor`). The last step compares a few equivalent candidates (as derived,
//! fully expanded, over a common denominator) and keeps the smallest.
//!
//! One concept a file, each using only those before it:
//!
//! | file          | holds                                                         |
//! |---------------|---------------------------------------------------------------|
//! | `alpha.rs`    | keys and hashes equal up to the names of bound indices        |
//! | `env.rs`      | what is known of the program: definitions, assumptions, sizes |
//! | `build.rs`    | the smart constructors and the normal form                    |
//! | `contract.rs` | δ contraction                                                 |
//! | `unify.rs`    | matching patterns with index variables, rewriting             |
//! | `fold.rs`     | folding definitions back, applying assumptions                |
//! | `inverse.rs`  | a matrix times its inverse: `Σ_j A_ij (A⁻¹)_jk = δ_ik`         |
//! | `cancel.rs`   | a factor into the sum that divides by it: `P (1 − T/P)` → `P − T` |
//! | `factor.rs`   | factoring, expansion, common denominators                     |
//! | `mod.rs`      | the log and the pass driver [`simplify`]                      |

mod alpha;
mod build;
mod cancel;
mod contract;
mod env;
mod factor;
mod fold;
mod inverse;
mod unify;

use num_traits::Signed;

use crate::limits::{EXPAND_SMALL_TERM_NODES, SIMPLIFY_ROUNDS};
use crate::term::Term;

pub use alpha::alpha_key;
pub use build::{add, clean, mul, normalize, pow, split_coefficient};
pub use cancel::cancel_divisions;
pub use contract::contract;
pub use env::Env;
pub use factor::expand;

use factor::{factor, together};
use fold::{assume, fold};
use inverse::cancel_inverses;

/// A record of the passes that changed a term, for `--steps`.
#[derive(Clone, Debug, Default)]
pub struct Log {
    /// `(rule name, term after the rule)`, in order.
    pub entries: Vec<(&'static str, Term)>,
}

impl Log {
    /// Records `rule` when it changed the term.
    fn record(&mut self, rule: &'static str, before: &Term, after: &Term) {
        if before != after {
            self.entries.push((rule, after.clone()));
        }
    }
}

/// Whether a term divides by something: only then can expanding it, or
/// bringing it over a common denominator, cancel anything.
fn has_denominator(t: &Term) -> bool {
    match t {
        Term::Pow(_, e) if e.is_negative() => true,
        _ => t.children().iter().any(has_denominator),
    }
}

/// How costly a form is to read: nodes, with Σ and δ dearer.
fn cost(t: &Term) -> usize {
    let own = match t {
        Term::Delta(..) => 4,
        Term::Sum(..) => 3,
        _ => 1,
    };
    own + t.children().iter().map(cost).sum::<usize>()
}

/// The whole index-level pipeline; returns the simplest form found and the log.
pub fn simplify(t: &Term, env: &Env) -> (Term, Log) {
    let mut log = Log::default();
    let n = normalize(t, env);
    let c = contract(&n, env);
    log.record("contract-delta", &n, &c);
    let mut current = c;
    if let Some(x) = cancel_inverses(&current, env) {
        log.record("cancel-inverse", &current, &x);
        current = x;
    }
    for _ in 0..SIMPLIFY_ROUNDS {
        let mut changed = false;
        if let Some(f) = fold(&current, env) {
            log.record("fold-definition", &current, &f);
            changed |= f != current;
            current = f;
        }
        if let Some(a) = assume(&current, env) {
            log.record("assume", &current, &a);
            changed = true;
            current = a;
        }
        if !changed {
            break;
        }
    }
    if let Some(x) = cancel_divisions(&current, env) {
        log.record("cancel-division", &current, &x);
        current = x;
        if let Some(a) = assume(&current, env) {
            log.record("assume", &current, &a);
            current = a;
        }
    }
    let mut candidates = vec![factor(&current, env)];
    // Expanding pays off where something can cancel (a denominator) and costs
    // little on a small term (`−(T − P)` → `P − T`); a large term without a
    // denominator is left as derived.
    let expanded = if has_denominator(&current) || current.size() <= EXPAND_SMALL_TERM_NODES {
        expand(&current, env)
    } else {
        None
    };
    if let Some(e) = expanded {
        let e = normalize(&e, env);
        let e = cancel_inverses(&e, env).unwrap_or(e);
        let e = fold(&e, env).unwrap_or(e);
        let e = assume(&e, env).unwrap_or(e);
        candidates.push(factor(&e, env));
        if let Some(tg) = together(&e, env) {
            candidates.push(normalize(&tg, env));
        }
    }
    let best = candidates.into_iter().min_by_key(cost).expect("one candidate at least");
    log.record("factor", &current, &best);
    (best, log)
}
