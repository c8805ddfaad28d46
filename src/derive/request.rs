//! The request: what to differentiate (`--of`, `--wrt`) and how to show it
//! (the [`Layout`]), the names a command line may give and their canonical
//! form, and the errors for a request the program cannot answer.

use std::collections::HashSet;

use crate::diagnostic::{plural, Diagnostic};
use crate::syntax::ast::{Span, StatementKind};
use crate::syntax::Program;

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
    pub(crate) fn shape<T>(self, mut axes: Vec<T>) -> Vec<T> {
        if self == Layout::Numerator && axes.len() == 2 {
            axes.reverse();
        }
        axes
    }
}

/// What to differentiate, and how to read the program and show the result.
#[derive(Clone, Debug)]
pub struct Request {
    /// The loss (`--of`), `L` by default.
    pub of: String,
    /// The tensors to differentiate by (`--wrt`), as written on the command
    /// line; a repeat (in any spelling) is dropped.
    pub wrt: Vec<String>,
    /// The matrix layout.
    pub layout: Layout,
    /// Sum an index that appears twice in a product and not on the left (`--einstein`).
    pub einstein: bool,
    /// Limits on the input (size, nesting, statements, digits, indices).
    pub limits: crate::Limits,
    /// Limits on the e-graph run over each matrix form.
    pub egraph: crate::matrix::RunLimits,
    /// Ask for the Hessian ∂²L/∂X∂X of each `--wrt X` (`--hessian`).
    pub hessian: bool,
    /// Ask for the Hessian-vector product with a new input of this name
    /// (`--hvp V`), with exactly one `--wrt`.
    pub hvp: Option<String>,
}

impl Request {
    /// Drops every `--wrt` that names a tensor named before it (in any
    /// spelling: `W^(1)`, `W^{(1)}`, `W⁽¹⁾`), keeping the first-seen order.
    pub(crate) fn dedup_wrt(&mut self) {
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
            einstein: false,
            limits: crate::Limits::default(),
            egraph: crate::matrix::RunLimits::default(),
            hessian: false,
            hvp: None,
        }
    }
}

/// Errors in a request that the program cannot answer (`--of`, `--wrt`).
///
/// A problem that has a place in the program (the declaration of a range
/// symbol, the definition of a tensor) comes with its span and a label; one
/// that has none (a name the program never mentions) has neither
/// ([`Diagnostic::unplaced`]) and is shown without a source line.
pub(crate) fn validate(program: &Program, request: &Request) -> Result<super::Kind, Diagnostic> {
    use super::Kind;
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
    let second = if request.hessian {
        Some("--hessian")
    } else {
        request.hvp.as_ref().map(|_| "--hvp")
    };
    if request.hessian && request.hvp.is_some() {
        return Err(Diagnostic::unplaced(
            "--hessian and --hvp together: ask for the Hessian or for its product with a vector",
        )
        .with_help("drop one of them: `--hvp V` is the Hessian applied to a new input `V`"));
    }
    let mut kind = match second {
        Some(_) if request.hessian => Kind::Hessian,
        Some(_) => Kind::Hvp,
        None => Kind::Gradient,
    };
    match program.tensors.get(&of) {
        Some(info) if info.order > 0 && info.definition.is_some() => {
            let s = info.definition.expect("matched a definition");
            let StatementKind::Definition { lhs, .. } = &program.syntax.statements[s].kind else {
                unreachable!("a tensor's definition is a definition statement")
            };
            if let Some(flag) = second {
                let ix: Vec<String> = lhs.indices.iter().map(|i| i.name.clone()).collect();
                let sub = crate::render::Style::Unicode.subscript(&ix);
                let n = plural(info.order, "index", "indices");
                return Err(Diagnostic::new(
                    lhs.name.span,
                    format!("{flag} --of {of}: `{of}` has {n}; second derivatives are of a scalar loss"),
                    format!("defined here with {n}"),
                )
                .with_help(format!(
                    "define a scalar from `{of}` (e.g. `L = Σ{sub} {of}{sub}`) and use `--of L`, or drop {flag} for the Jacobian ∂{of}/∂X"
                )));
            }
            kind = Kind::Jacobian;
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
        None if second.is_some() => {
            let flag = second.expect("matched");
            return Err(Diagnostic::unplaced(format!(
                "{flag}: the program does not define `{of}`, so its second derivatives are unknown"
            ))
            .with_help(format!(
                "define the loss in the program (`{of} = …`) or name a defined scalar with --of"
            )));
        }
        None => {
            let outputs = program.outputs();
            if outputs.is_empty() {
                return Err(Diagnostic::unplaced(format!(
                    "--of {of}: the program defines nothing for the loss to depend on"
                )));
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
                    Diagnostic::unplaced(format!("--of {of}: the program never mentions `{of}`")).with_help(format!(
                        "its loss is {}: e.g. `--of {}`",
                        names_list(&losses, "or"),
                        losses[0]
                    )),
                );
            }
        }
    }
    if request.wrt.is_empty() {
        return Err(
            Diagnostic::unplaced("no --wrt: name at least one tensor to differentiate by")
                .with_help(candidates(program, &of)),
        );
    }
    for w in &request.wrt {
        let name = canonical_name(w);
        if !is_name(&name) {
            return Err(not_a_name("--wrt", w));
        }
        // ∂Y/∂Y is the identity, a Jacobian like any other
        if name == of && kind != Kind::Jacobian {
            return Err(Diagnostic::unplaced(format!(
                "--wrt {w}: the loss itself; its derivative is 1"
            )));
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
                Diagnostic::unplaced(format!("--wrt {w}: the program has no tensor `{name}`"))
                    .with_help(suggest(program, &of, &name)),
            );
        }
    }
    if let Some(v) = &request.hvp {
        validate_hvp(program, request, &of, v)?;
    }
    Ok(kind)
}

/// `--hvp V`: exactly one `--wrt`, and `V` a new name (not the loss, a
/// tensor, a range symbol or a function of the program).
fn validate_hvp(program: &Program, request: &Request, of: &str, v: &str) -> Result<(), Diagnostic> {
    let name = canonical_name(v);
    if !is_name(&name) {
        return Err(not_a_name("--hvp", v));
    }
    if request.wrt.len() != 1 {
        let given: Vec<&str> = request.wrt.iter().map(String::as_str).collect();
        return Err(Diagnostic::unplaced(format!(
            "--hvp {v} takes exactly one --wrt (its direction has that tensor's shape), not {}",
            names_list(&given, "and")
        ))
        .with_help(format!(
            "ask for one tensor at a time, e.g. `--hvp {v} --wrt {}`",
            given[0]
        )));
    }
    let fresh = |n: &str| format!("choose a name the program does not use for the direction, e.g. `--hvp {n}`");
    let suggestion = ["V", "v", "U", "u", "D"]
        .into_iter()
        .find(|c| !program.tensors.contains_key(*c) && *c != of && range_symbol(program, c).is_none())
        .unwrap_or("V0");
    if name == of {
        return Err(Diagnostic::unplaced(format!(
            "--hvp {v}: `{name}` is the loss; the direction must be a new name"
        ))
        .with_help(fresh(suggestion)));
    }
    if let Some(info) = program.tensors.get(&name) {
        return Err(Diagnostic::new(
            info.first,
            format!("--hvp {v}: the program already uses `{name}`; the direction must be a new name"),
            "first used here",
        )
        .with_help(fresh(suggestion)));
    }
    if let Some((span, indices)) = range_symbol(program, &name) {
        return Err(Diagnostic::new(
            span,
            format!("--hvp {v}: `{name}` is a range symbol (the size of {indices}); the direction must be a new name"),
            "declared as a range here",
        )
        .with_help(fresh(suggestion)));
    }
    if program.opaque_functions.contains(&name) {
        return Err(Diagnostic::unplaced(format!(
            "--hvp {v}: the program calls a function `{name}`; the direction must be a new name"
        ))
        .with_help(fresh(suggestion)));
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
    Diagnostic::unplaced(message).with_help(help)
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
        Some(first) if inputs.len() + defined.len() == 1 => {
            format!("{}: differentiate by it, `--wrt {first}`", parts.join("; "))
        }
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
    // Plain ASCII without braces is canonical already (NFC leaves it, and a
    // superscript label is not ASCII): the common case, asked for per request.
    if s.is_ascii() && !s.contains(['{', '}']) {
        return s.to_string();
    }
    let s: String = s.replace("^{(", "^(").replace(")}", ")").nfc().collect();
    crate::render::names::from_superscript(&s).unwrap_or(s)
}

#[cfg(test)]
mod tests {
    use crate::{Error, Request};

    #[test]
    fn a_problem_with_no_place_in_the_program_has_no_span() {
        let source = "index i : N\nL = Σ_i x_i^2";
        let unknown = Request {
            wrt: vec!["Q".into()],
            ..Request::default()
        };
        let Err(Error::Request(d)) = crate::derive(source, &unknown) else {
            panic!("--wrt Q is refused")
        };
        assert_eq!((d.span, d.label.as_str()), (None, ""));
        let rendered = Error::Request(d).render("p.ricci", source);
        assert!(
            rendered.starts_with("error: --wrt Q: the program has no tensor `Q`\n  = help: "),
            "{rendered}"
        );
        assert!(!rendered.contains("-->") && !rendered.contains('^'), "{rendered}");
        // a range symbol has a place: its declaration
        let range = Request {
            wrt: vec!["N".into()],
            ..Request::default()
        };
        let Err(Error::Request(d)) = crate::derive(source, &range) else {
            panic!("--wrt N is refused")
        };
        assert_eq!(d.span.map(|s| &source[s.start..s.end]), Some("N"));
        assert!(Error::Request(d).render("p.ricci", source).contains("--> p.ricci:1:11"));
    }
}
