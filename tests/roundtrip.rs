//! Property: for any program, canonical print → parse → canonical print is a fixed point.

use num_rational::BigRational;
use proptest::prelude::*;
use ricci::internals::ast::*;

fn id(name: &str) -> Ident {
    Ident {
        name: name.to_string(),
        span: Span::default(),
    }
}

fn e(kind: ExprKind) -> Expr {
    Expr {
        kind,
        span: Span::default(),
    }
}

fn index() -> impl Strategy<Value = Ident> {
    prop_oneof![
        prop::sample::select(vec!["i", "j", "k", "s", "m", "n", "α"]).prop_map(id),
        prop::sample::select(vec!["i1", "j2", "k10"]).prop_map(id),
    ]
}

fn indices(max: usize) -> impl Strategy<Value = Vec<Ident>> {
    prop::collection::vec(index(), 0..=max)
}

fn name() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "X", "W", "b", "ŷ", "W^(1)", "s^(2)", "W1", "yhat", "λ", "T", "x̂", "e",
    ])
    .prop_map(String::from)
}

fn number() -> impl Strategy<Value = BigRational> {
    prop_oneof![
        (0u32..1000).prop_map(|n| BigRational::from_integer(n.into())),
        (0u32..1000, 1u32..4).prop_map(|(n, d)| BigRational::new(n.into(), 10u32.pow(d).into())),
        // what scientific notation reads, to the edge of the digit limit: n × 10^k
        (1u32..1000, -100i32..=97).prop_map(|(n, k)| {
            let ten = num_bigint::BigInt::from(10);
            let scale = num_traits::pow(ten, k.unsigned_abs() as usize);
            if k >= 0 {
                BigRational::from_integer(num_bigint::BigInt::from(n) * scale)
            } else {
                BigRational::new(n.into(), scale)
            }
        }),
    ]
}

fn leaf() -> impl Strategy<Value = Expr> {
    prop_oneof![
        number().prop_map(|n| e(ExprKind::Number(n))),
        Just(e(ExprKind::Pi)),
        (name(), indices(3)).prop_map(|(n, i)| e(ExprKind::Tensor(TensorRef {
            name: id(&n),
            indices: i
        }))),
        (index(), index()).prop_map(|(a, b)| e(ExprKind::Delta(vec![a, b]))),
    ]
}

fn exponent() -> impl Strategy<Value = BigRational> {
    (-5i32..6, 1i32..4).prop_map(|(n, d)| BigRational::new(n.into(), d.into()))
}

fn expr() -> impl Strategy<Value = Expr> {
    leaf().prop_recursive(5, 40, 4, |inner| {
        let sign = prop_oneof![Just(Sign::Plus), Just(Sign::Minus)];
        let op = prop_oneof![Just(MulOp::Mul), Just(MulOp::Div)];
        prop_oneof![
            (inner.clone(), prop::collection::vec((sign, inner.clone()), 1..3)).prop_map(|(f, rest)| e(
                ExprKind::Add {
                    first: Box::new(f),
                    rest
                }
            )),
            inner.clone().prop_map(|x| e(ExprKind::Neg(Box::new(x)))),
            (inner.clone(), prop::collection::vec((op, inner.clone()), 1..3)).prop_map(|(f, rest)| e(
                ExprKind::Product {
                    first: Box::new(f),
                    rest
                }
            )),
            (prop::collection::vec(index(), 1..3), inner.clone()).prop_map(|(i, b)| e(ExprKind::Sum {
                indices: i,
                body: Box::new(b)
            })),
            (inner.clone(), exponent()).prop_map(|(b, x)| e(ExprKind::Pow {
                base: Box::new(b),
                exponent: x
            })),
            (
                prop::sample::select(vec!["exp", "log", "σ", "relu", "h", "h'", "g", "sin", "cos", "erf"]),
                inner.clone()
            )
                .prop_map(|(f, a)| e(ExprKind::Call {
                    function: id(f),
                    args: vec![a]
                })),
            (prop::sample::select(vec!["max", "min"]), inner.clone(), inner.clone()).prop_map(|(f, a, b)| e(
                ExprKind::Call {
                    function: id(f),
                    args: vec![a, b]
                }
            )),
            (prop::sample::select(Reduction::ALL.to_vec()), index(), inner).prop_map(|(op, i, b)| e(
                ExprKind::Reduce {
                    op,
                    index: i,
                    body: Box::new(b)
                }
            )),
        ]
    })
}

fn statement() -> impl Strategy<Value = Statement> {
    let kind = prop_oneof![
        (name(), indices(3), expr()).prop_map(|(n, i, rhs)| StatementKind::Definition {
            lhs: TensorRef {
                name: id(&n),
                indices: i
            },
            rhs
        }),
        (expr(), expr()).prop_map(|(l, r)| StatementKind::Assume { lhs: l, rhs: Some(r) }),
        (
            prop::collection::vec(index(), 1..3),
            prop::sample::select(vec!["S", "N", "K"])
        )
            .prop_map(|(i, r)| StatementKind::Index {
                indices: i,
                range: id(r)
            }),
    ];
    kind.prop_map(|kind| Statement {
        kind,
        span: Span::default(),
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("RICCI_PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(512)
    ))]

    #[test]
    fn canonical_print_is_a_fixed_point(statements in prop::collection::vec(statement(), 1..4)) {
        let program = Program { statements };
        let printed = program.to_string();
        let parsed = ricci::internals::parse(&printed, &ricci::Limits::default())
            .map_err(|d| TestCaseError::fail(d.render("printed", &printed)))?;
        let again = parsed.to_string();
        prop_assert_eq!(&printed, &again);
    }
}

/// Scientific notation prints as the exact decimal, which parses back to the same
/// number and prints the same: the canonical form is a fixed point at the edges of
/// the digit limit too.
#[test]
fn scientific_notation_prints_to_a_fixed_point() {
    for source in [
        "L = 1e-4 x",
        "L = 2.5E3 + 1E+2 + 3e0",
        "L = 9.99e-98 + 1e99 + 123e-100",
        "L = x^1e-2 + x^(1e1/3e0)",
        "L = 0.000e5 + 10e-1",
    ] {
        let limits = ricci::Limits::default();
        let first = ricci::internals::parse(source, &limits).unwrap();
        let printed = first.to_string();
        let again =
            ricci::internals::parse(&printed, &limits).unwrap_or_else(|d| panic!("{}", d.render("printed", &printed)));
        assert_eq!(again.to_string(), printed, "{source}");
        assert!(!printed.contains('e'), "{source} printed as {printed}");
    }
}
