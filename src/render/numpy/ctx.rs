//! The state of one translation to NumPy or PyTorch ([`Ctx`]) and the array
//! library it writes for ([`Backend`]); the translators (`einsum.rs`,
//! `matrix.rs`) and the function writer (`mod.rs`) share it, and it depends on
//! none of them.

use std::collections::{BTreeSet, HashMap};

use super::naming::PyNames;
use super::python::{Block, Py};
use crate::syntax::Program;
use crate::term::{Arg, Func, Ix, MatrixFn, Name, Spelling, Term};

/// The array library the code is written for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// NumPy (`--format numpy`).
    Numpy,
    /// PyTorch (`--format torch`).
    Torch,
    /// JAX (`--format jax`): NumPy's spellings from `jax.numpy`.
    Jax,
}

impl Backend {
    /// The module prefix: `np` or `torch`.
    pub(super) fn m(self) -> &'static str {
        match self {
            Backend::Numpy => "np",
            Backend::Torch => "torch",
            Backend::Jax => "jnp",
        }
    }

    /// The import line the code assumes.
    pub fn import(self) -> &'static str {
        match self {
            Backend::Numpy => "import numpy as np",
            Backend::Torch => "import torch",
            Backend::Jax => "import jax\nimport jax.numpy as jnp",
        }
    }
}

/// What a translation needs and records.
pub(super) struct Ctx<'a> {
    pub(super) backend: Backend,
    pub(super) names: &'a PyNames,
    pub(super) program: &'a Program,
    /// The result's indices, to place the size symbols `n_j` of the index form.
    pub(super) result_indices: &'a [Ix],
    /// Dimensions whose sizes the code needs.
    pub(super) sizes: BTreeSet<u32>,
    /// How each size is written, once the parameters are known (second pass).
    pub(super) resolved: HashMap<u32, String>,
    /// The dtype of constants in PyTorch (`X.dtype`), once known.
    pub(super) dtype: String,
    /// Opaque functions called (name, primes).
    pub(super) opaque: BTreeSet<(String, u8)>,
    /// Every name read.
    pub(super) read: BTreeSet<Name>,
    pub(super) block: Block,
    /// The program's definitions (`p_j = σ(z_j)`), to write `log(p)` stably.
    pub(super) definitions: &'a [(std::rc::Rc<str>, Vec<Ix>, Term)],
}

impl Ctx<'_> {
    /// `axis=1` or `dim=1`.
    pub(super) fn axis(&self, k: usize) -> String {
        match self.backend {
            Backend::Numpy | Backend::Jax => format!("axis={k}"),
            Backend::Torch => format!("dim={k}"),
        }
    }

    /// `axis=(0, 2)` or `dim=(0, 2)`, for a written tuple of axes.
    pub(super) fn axis_list(&self, axes: &str) -> String {
        match self.backend {
            Backend::Numpy | Backend::Jax => format!("axis={axes}"),
            Backend::Torch => format!("dim={axes}"),
        }
    }

    /// `e.sum()`, or `e.sum(axis=k)`.
    pub(super) fn sum(&mut self, e: Py, axis: Option<usize>) -> Py {
        let s = match axis {
            Some(k) => format!(".sum({})", self.axis(k)),
            None => ".sum()".into(),
        };
        self.block.suffix(e, &s)
    }

    /// `np.ones(n)`, or in PyTorch `torch.ones(n, dtype=X.dtype)` with the
    /// dtype of an argument (PyTorch does not mix float32 and float64).
    pub(super) fn constant(&mut self, what: &str, n: Py) -> Py {
        let mut args = vec![n];
        if self.backend == Backend::Torch {
            args.push(Py::name(format!("dtype={}", self.dtype)));
        }
        self.block.call(&format!("{}.{what}", self.backend.m()), args)
    }

    /// An expression broadcast to a full shape, as a new array.
    pub(super) fn broadcast(&mut self, e: Py, shape: Vec<Py>) -> Py {
        let shape = self.block.tuple(shape);
        let b = self
            .block
            .call(&format!("{}.broadcast_to", self.backend.m()), vec![e, shape]);
        match self.backend {
            Backend::Numpy => self.block.suffix(b, ".copy()"),
            Backend::Torch => self.block.suffix(b, ".clone()"),
            // JAX arrays are immutable: a view is as good as a copy
            Backend::Jax => b,
        }
    }

    /// The size of a dimension: from an argument array's shape, or else an
    /// `int` parameter (`N`, `n_i`).
    pub(super) fn size(&mut self, dim: u32) -> Py {
        self.sizes.insert(dim);
        Py::name(self.resolved.get(&dim).cloned().unwrap_or_else(|| self.names.size(dim)))
    }

    /// The dimension of a size symbol `n_j` that the simplifier wrote for an
    /// undeclared range (`Σ_j 1 = n_j`), when its index names one dimension.
    pub(super) fn size_symbol(&self, name: &str) -> Option<u32> {
        let index = name.strip_prefix(self.program.size_letter())?.strip_prefix('_')?;
        if self.program.tensors.contains_key(name) || self.program.ranges.values().any(|r| r == name) {
            return None;
        }
        let mut classes: Vec<u32> = self.names.classes_of_index(index).to_vec();
        classes.extend(self.result_indices.iter().filter(|i| &*i.name == index).map(|i| i.dim));
        classes.sort();
        classes.dedup();
        match classes.as_slice() {
            [one] => Some(*one),
            _ => None,
        }
    }

    /// A tensor, scalar or upstream gradient, by its Python name.
    pub(super) fn var(&mut self, n: &Name) -> Py {
        if let Name::Matrix(f, a) = n {
            return self.matrix_fn(*f, a, false);
        }
        if let Name::Tensor(t) = n {
            if let Some(temp) = self.block.aliased(t) {
                return Py::name(temp);
            }
            if let Some(dim) = self.size_symbol(t) {
                return self.size(dim);
            }
        }
        self.read.insert(n.clone());
        Py::name(match n {
            Name::Tensor(t) => self.names.name(t),
            Name::Grad { of, wrt } => self.names.grad(of, wrt),
            Name::Matrix(..) => unreachable!("a matrix function is written above"),
        })
    }

    /// `inv(A)` (its transpose with `transposed`), `det(A)` or `logdet(A)`:
    /// `np.linalg.inv(A)`, `np.linalg.det(A)`, `np.linalg.slogdet(A)[1]`
    /// (the logarithm of a positive determinant without overflow), and the
    /// same from `torch.linalg`. A product with an inverse is written as
    /// `np.linalg.solve` instead (`matrix.rs`).
    pub(super) fn matrix_fn(&mut self, f: MatrixFn, a: &std::rc::Rc<str>, transposed: bool) -> Py {
        let arg = self.var(&Name::Tensor(a.clone()));
        let linalg = format!("{}.linalg", self.backend.m());
        match f {
            MatrixFn::Inv => {
                let inv = self.block.call(&format!("{linalg}.inv"), vec![arg]);
                if transposed {
                    self.block.suffix(inv, ".T")
                } else {
                    inv
                }
            }
            MatrixFn::Det => self.block.call(&format!("{linalg}.det"), vec![arg]),
            MatrixFn::LogDet => {
                let s = self.block.call(&format!("{linalg}.slogdet"), vec![arg]);
                self.block.suffix(s, "[1]")
            }
        }
    }

    /// `np.linalg.solve(A, b)` (`A⁻¹ b`), or with `transposed`
    /// `np.linalg.solve(A.T, b)` (`A⁻ᵀ b`).
    pub(super) fn solve(&mut self, a: &std::rc::Rc<str>, transposed: bool, b: Py) -> Py {
        let mut arg = self.var(&Name::Tensor(a.clone()));
        if transposed {
            arg = self.block.suffix(arg, ".T");
        }
        let solve = format!("{}.linalg.solve", self.backend.m());
        self.block.call(&solve, vec![arg, b])
    }

    /// `(x, negated)` when `log(t)` is `−softplus(∓x)`: `t` is `σ(x)`
    /// (`log σ(x) = −softplus(−x)`, `negated`) or `1 − σ(x)`
    /// (`log(1 − σ(x)) = −softplus(x)`), the σ written or a tensor defined as
    /// one. Written so, the code neither overflows nor takes the log of 0.
    pub(super) fn log_sigmoid(&self, t: &Term) -> Option<(Term, bool)> {
        let sigmoid_arg = |t: &Term| -> Option<Term> {
            match t {
                Term::Fn(Func::Sigmoid, x) => Some((**x).clone()),
                Term::Var(Name::Tensor(p), ix) => {
                    let (_, params, rhs) = self.definitions.iter().find(|(d, _, _)| d == p)?;
                    let Term::Fn(Func::Sigmoid, x) = rhs else { return None };
                    let mut x = (**x).clone();
                    for (from, to) in params.iter().zip(ix) {
                        x = x.rename(from, to);
                    }
                    Some(x)
                }
                _ => None,
            }
        };
        if let Some(x) = sigmoid_arg(t) {
            return Some((x, true));
        }
        let Term::Add(ts) = t else { return None };
        let [one, minus] = ts.as_slice() else { return None };
        let (c, s) = crate::simplify::split_coefficient(minus);
        (one.is_one() && c == -num_rational::BigRational::from_integer(1.into()))
            .then(|| sigmoid_arg(&s))
            .flatten()
            .map(|x| (x, false))
    }

    /// A function of a value that is not an array: in PyTorch a Python number
    /// (a size, `2/π`) goes to `math` where it has the function (`math.sqrt(D)`;
    /// `torch.sqrt` takes tensors only), and anything else through
    /// `torch.as_tensor` (a scalar parameter may come as a float).
    pub(super) fn scalar_func(&mut self, f: &Func, x: Py, number: bool) -> Py {
        if self.backend != Backend::Torch || matches!(f, Func::Opaque(..)) {
            return self.func(f, x);
        }
        let math = match f {
            Func::Exp => Some("exp"),
            Func::Log => Some("log"),
            Func::Sqrt => Some("sqrt"),
            Func::Tanh => Some("tanh"),
            Func::Sin => Some("sin"),
            Func::Cos => Some("cos"),
            Func::Erf => Some("erf"),
            _ => None,
        };
        match math {
            Some(m) if number => {
                self.block.import("math");
                self.block.call(&format!("math.{m}"), vec![x])
            }
            _ => {
                let t = self
                    .block
                    .call("torch.as_tensor", vec![x, Py::name(format!("dtype={}", self.dtype))]);
                self.func(f, t)
            }
        }
    }

    /// An elementwise function applied to `x`: a built-in as
    /// [`crate::term::BUILTINS`] spells it, an opaque one by its Python name.
    pub(super) fn func(&mut self, f: &Func, x: Py) -> Py {
        if let Func::Opaque(name, primes) = f {
            self.opaque.insert((name.to_string(), *primes));
            let f = self.names.opaque(name, *primes);
            return self.block.call(&f, vec![x]);
        }
        let builtin = f.builtin().expect("every function but an opaque one is built in");
        let spelling = match self.backend {
            Backend::Numpy | Backend::Jax => builtin.numpy,
            Backend::Torch => builtin.torch,
        };
        let jax = self.backend == Backend::Jax;
        let b = &mut self.block;
        match spelling {
            Spelling::Logistic if jax => b.call("jax.nn.sigmoid", vec![x]),
            Spelling::Vectorized(_, f) if jax => {
                b.import("jax.scipy.special");
                b.call(&format!("jax.scipy.special.{f}"), vec![x])
            }
            Spelling::Call(callee, args) => {
                // JAX spells NumPy's functions from `jnp`
                let callee = match callee.strip_prefix("np.") {
                    Some(f) if jax => format!("jnp.{f}"),
                    _ => callee.to_string(),
                };
                let mut x = Some(x);
                let args = args
                    .iter()
                    .map(|a| match a {
                        Arg::X => x.take().expect("the argument is passed once"),
                        Arg::Lit(l) => Py::name(*l),
                    })
                    .collect();
                b.call(&callee, args)
            }
            // exp(−log(1 + exp(−x))): neither overflows (`1 / (1 + np.exp(-x))` does below x = −709)
            Spelling::Logistic => {
                let minus = b.neg(x);
                let softplus = b.call(&format!("{}.logaddexp", self.backend.m()), vec![Py::name("0"), minus]);
                let minus = b.neg(softplus);
                b.call(&format!("{}.exp", self.backend.m()), vec![minus])
            }
            Spelling::PositiveAsDtype => {
                let p = b.positive(x);
                b.suffix(p, &format!(".to({})", self.dtype))
            }
            Spelling::Vectorized(module, f) => {
                b.import(module);
                let vectorized = b.call(
                    "np.vectorize",
                    vec![Py::name(format!("{module}.{f}")), Py::name("otypes=[float]")],
                );
                b.call(&vectorized.text, vec![x])
            }
        }
    }
}
