//! The syntax tree: what the parser read, with the byte span of every node.

use num_rational::BigRational;

/// A byte range in the source text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    /// A span from `start` to `end`.
    pub fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }

    /// The smallest span that covers both.
    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }
}

impl From<pest::Span<'_>> for Span {
    fn from(s: pest::Span<'_>) -> Self {
        Span::new(s.start(), s.end())
    }
}

/// A name or an index, with where it was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ident {
    /// The name, NFC-normalised (`W^(1)`, `ŷ`, `s`).
    pub name: String,
    /// Where it stands in the source.
    pub span: Span,
}

/// A whole program.
#[derive(Clone, Debug, PartialEq)]
pub struct Program {
    /// The statements in source order.
    pub statements: Vec<Statement>,
}

/// One statement with its span.
#[derive(Clone, Debug, PartialEq)]
pub struct Statement {
    /// What kind of statement.
    pub kind: StatementKind,
    /// The whole statement.
    pub span: Span,
}

/// The three kinds of statement.
#[derive(Clone, Debug, PartialEq)]
pub enum StatementKind {
    /// `index s, t : S`.
    Index {
        /// The declared indices.
        indices: Vec<Ident>,
        /// The range symbol.
        range: Ident,
    },
    /// `assume LHS = RHS`; `rhs` is `None` when the `=` is missing (an error the checker reports).
    Assume {
        /// Left side.
        lhs: Expr,
        /// Right side.
        rhs: Option<Expr>,
    },
    /// `Y_sn = EXPR`.
    Definition {
        /// The tensor being defined.
        lhs: TensorRef,
        /// Its defining expression.
        rhs: Expr,
    },
}

/// A tensor with its indices, `X_sm` (no indices: a scalar).
#[derive(Clone, Debug, PartialEq)]
pub struct TensorRef {
    /// The tensor's name.
    pub name: Ident,
    /// Its indices in order.
    pub indices: Vec<Ident>,
}

/// An expression with its span.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    /// What kind of expression.
    pub kind: ExprKind,
    /// Where it stands in the source.
    pub span: Span,
}

/// `+` or `-` in front of a term of a sum.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sign {
    /// `+`.
    Plus,
    /// `-`.
    Minus,
}

/// `*` (or juxtaposition) or `/` in front of a factor of a product.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MulOp {
    /// Multiplication.
    Mul,
    /// Division.
    Div,
}

/// A reduction along one index: sugar for the index term SPEC §1 gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reduction {
    /// `mean_k T`: `1/K Σ_k T`.
    Mean,
    /// `norm_k(T)`: `sqrt(Σ_k T^2)`.
    Norm,
    /// `logsumexp_k(T)`: `log Σ_k exp(T)`.
    LogSumExp,
    /// `softmax_k(T)`: `exp(T) / Σ_k exp(T)`; `k` stays free.
    Softmax,
}

impl Reduction {
    /// Every reduction.
    pub const ALL: [Reduction; 4] = [
        Reduction::Mean,
        Reduction::Norm,
        Reduction::LogSumExp,
        Reduction::Softmax,
    ];

    /// How a program writes it (`softmax`).
    pub fn keyword(self) -> &'static str {
        match self {
            Reduction::Mean => "mean",
            Reduction::Norm => "norm",
            Reduction::LogSumExp => "logsumexp",
            Reduction::Softmax => "softmax",
        }
    }

    /// Whether it binds its index as a Σ does (all but softmax, whose index
    /// stays free).
    pub fn binds(self) -> bool {
        self != Reduction::Softmax
    }
}

/// The kinds of expression.
#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    /// An exact number.
    Number(BigRational),
    /// The number π.
    Pi,
    /// A tensor access or a scalar name.
    Tensor(TensorRef),
    /// `δ_ij` (the checker insists on two indices).
    Delta(Vec<Ident>),
    /// `Σ_{i,…} body`.
    Sum {
        /// The bound indices.
        indices: Vec<Ident>,
        /// The summand.
        body: Box<Expr>,
    },
    /// `first ± rest…`, left to right.
    Add {
        /// The first term.
        first: Box<Expr>,
        /// The following terms with their signs.
        rest: Vec<(Sign, Expr)>,
    },
    /// `-e`.
    Neg(Box<Expr>),
    /// `first * rest…` or `/ rest…`, left to right.
    Product {
        /// The first factor.
        first: Box<Expr>,
        /// The following factors with their operators.
        rest: Vec<(MulOp, Expr)>,
    },
    /// `base ^ exponent` with a numeric exponent.
    Pow {
        /// The base.
        base: Box<Expr>,
        /// The exponent, exact.
        exponent: BigRational,
    },
    /// `inv(A)_ij`, `det(A)`, `logdet(A)`: a function of the whole matrix
    /// named `matrix` (the checker insists on a square one, and on two
    /// indices for `inv`, none for `det` and `logdet`).
    MatrixCall {
        /// Which function.
        function: crate::term::MatrixFn,
        /// The matrix's name, as written inside the parentheses.
        matrix: Ident,
        /// The indices after the `)` (an entry of the inverse).
        indices: Vec<Ident>,
    },
    /// `mean_k T`, `norm_k(T)`, `logsumexp_k(T)`, `softmax_k(T)`.
    Reduce {
        /// Which reduction.
        op: Reduction,
        /// The index it runs along (the parser insists on one).
        index: Ident,
        /// The term reduced.
        body: Box<Expr>,
    },
    /// `f(args)`; `function.name` keeps its primes (`h'`).
    Call {
        /// The function's name.
        function: Ident,
        /// The arguments (the checker insists on one).
        args: Vec<Expr>,
    },
}

impl Expr {
    /// Visits this expression and every sub-expression, parents first.
    pub fn walk<'a>(&'a self, f: &mut impl FnMut(&'a Expr)) {
        f(self);
        match &self.kind {
            ExprKind::Number(_)
            | ExprKind::Pi
            | ExprKind::Tensor(_)
            | ExprKind::Delta(_)
            | ExprKind::MatrixCall { .. } => {}
            ExprKind::Sum { body, .. } | ExprKind::Reduce { body, .. } => body.walk(f),
            ExprKind::Add { first, rest } => {
                first.walk(f);
                rest.iter().for_each(|(_, e)| e.walk(f));
            }
            ExprKind::Product { first, rest } => {
                first.walk(f);
                rest.iter().for_each(|(_, e)| e.walk(f));
            }
            ExprKind::Neg(e) | ExprKind::Pow { base: e, .. } => e.walk(f),
            ExprKind::Call { args, .. } => args.iter().for_each(|e| e.walk(f)),
        }
    }
}
