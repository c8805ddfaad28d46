//! The program as an operation of the framework (`--backward --format
//! torch|jax` for a program whose loss is undefined): a
//! `torch.autograd.Function` or a `jax.custom_vjp` function whose forward
//! computes the program's outputs and whose backward calls `backward_<of>`.
//! Its parameters are `backward_<of>`'s without the upstream gradients, then
//! the inputs only the forward pass reads (`b2` of `Y = … + b2`), then the
//! optional sizes; the outputs come back in program order (a tuple for
//! several), named in its `outputs` attribute.

use std::collections::{BTreeSet, HashMap};

use super::ctx::{Backend, Ctx};
use super::python::Block;
use super::{forward, program_order, Signature, Writer};
use crate::term::Name;

/// The wrapper's code, or a comment saying why there is none.
pub(super) fn wrapper(w: &Writer, sig: &Signature) -> String {
    match write(w, sig) {
        Ok(code) => code,
        Err(why) => format!("# no autograd wrapper: {why}\n"),
    }
}

fn write(w: &Writer, sig: &Signature) -> Result<String, String> {
    let outputs: Vec<&str> = w.program.outputs();
    let grads: Vec<String> = outputs.iter().map(|o| w.names.grad(w.of, o)).collect();
    let is_optional = |p: &str| p.ends_with("=None");
    // backward_<of>'s parameters, without the upstream gradients
    let mut params: Vec<String> = sig
        .params
        .iter()
        .filter(|p| !grads.contains(p) && !is_optional(p))
        .cloned()
        .collect();
    let optional: Vec<String> = sig.params.iter().filter(|p| is_optional(p)).cloned().collect();
    // a tensor named after the operation would shadow it in its own helpers
    if sig.params.iter().any(|p| p == "program" || p == "Program") {
        return Err("a tensor is named program, the operation's own name".into());
    }
    // First pass: what the forward pass reads.
    let ctx = |resolved: HashMap<u32, String>| Ctx {
        backend: w.backend,
        names: &w.names,
        program: w.program,
        result_indices: &[],
        sizes: BTreeSet::new(),
        resolved,
        dtype: sig.dtype.clone(),
        opaque: BTreeSet::new(),
        read: outputs.iter().map(|o| Name::Tensor((*o).into())).collect(),
        block: Block::default(),
        definitions: &w.lowered.definitions,
    };
    let mut cx = ctx(HashMap::new());
    forward(w.lowered, &mut cx).map_err(|_| "an output has no spelling in this backend".to_string())?;
    let defined: Vec<&str> = w.lowered.definitions.iter().map(|(n, _, _)| &**n).collect();
    let ranges: BTreeSet<&String> = w.program.ranges.values().collect();
    let sizes: Vec<String> = optional
        .iter()
        .map(|p| p.trim_end_matches("=None").to_string())
        .collect();
    for name in program_order(w.program) {
        let py = w.names.name(&name);
        let read = cx.read.contains(&Name::Tensor(name.as_str().into()));
        // a range symbol is a size: read from a shape or a parameter of its own
        if read
            && !defined.contains(&name.as_str())
            && !ranges.contains(&name)
            && !params.contains(&py)
            && !sizes.contains(&py)
        {
            params.push(py);
        }
    }
    for (name, primes) in &cx.opaque {
        let py = w.names.opaque(name, *primes);
        if !params.contains(&py) {
            params.push(py);
        }
    }
    // sizes: as backward_<of> reads them, else from an argument's shape
    let arrays = w.arrays();
    let mut resolved = sig.resolved.clone();
    for &dim in &cx.sizes {
        if resolved.contains_key(&dim) {
            continue;
        }
        let shape = params.iter().find_map(|p| {
            let k = arrays.get(p)?.iter().position(|a| *a == dim)?;
            Some(format!("{p}.shape[{k}]"))
        });
        match shape {
            Some(e) => resolved.insert(dim, e),
            None => {
                return Err(format!(
                    "the forward pass needs the size {}, which no argument gives",
                    w.names.size(dim)
                ))
            }
        };
    }
    // Second pass, with every size known.
    let mut cx = ctx(resolved);
    let lines = forward(w.lowered, &mut cx).map_err(|_| "an output has no spelling in this backend".to_string())?;
    let mut body: Vec<String> = sig.fill.clone();
    body.extend(lines);
    let names: Vec<String> = params.iter().chain(&sizes).cloned().collect();
    // opaque functions and sizes are static (JAX's nondiff arguments)
    let functions: BTreeSet<String> = w
        .program
        .opaque_functions
        .iter()
        .flat_map(|f| (0..=2).map(move |k| (f, k)))
        .map(|(f, k)| w.names.opaque(f, k))
        .collect();
    let is_static = |p: &String| functions.contains(p) || sizes.contains(p);
    let arrays: Vec<String> = params.iter().filter(|p| !is_static(p)).cloned().collect();
    let statics: Vec<String> = names.iter().filter(|p| is_static(p)).cloned().collect();
    let nondiff: Vec<usize> = (0..names.len()).filter(|k| is_static(&names[*k])).collect();
    let returned: Vec<String> = outputs.iter().map(|o| w.names.name(o)).collect();
    let returned = match returned.as_slice() {
        [one] => one.clone(),
        more => format!("({})", more.join(", ")),
    };
    let takes: Vec<&String> = grads.iter().filter(|g| sig.params.contains(g)).collect();
    let call: Vec<String> = sig
        .params
        .iter()
        .map(|p| {
            let p = p.trim_end_matches("=None");
            format!("{p}={p}")
        })
        .collect();
    let call = format!("{}({})", w.names.backward(w.of), call.join(", "));
    let get = |ps: &[String]| {
        ps.iter()
            .map(|p| format!("_grads.get(\"{p}\")"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let spec = Spec {
        signature: params.iter().chain(&optional).cloned().collect::<Vec<_>>().join(", "),
        names: names.join(", "),
        args: tuple(&names),
        unpack: unpack(&names),
        arrays: tuple(&arrays),
        unpack_arrays: unpack(&arrays),
        outputs: outputs
            .iter()
            .map(|o| format!("\"{}\"", w.names.name(o)))
            .collect::<Vec<_>>()
            .join(", ")
            + if outputs.len() == 1 { "," } else { "" },
        body,
        returned,
        upstream: grads.join(", "),
        unused: grads.iter().filter(|g| !takes.contains(g)).cloned().collect(),
        call,
        every_cotangent: get(&names),
        cotangents: tuple(
            &arrays
                .iter()
                .map(|p| format!("_grads.get(\"{p}\")"))
                .collect::<Vec<_>>(),
        ),
        statics,
        nondiff,
        of: w.names.name(w.of),
    };
    Ok(match w.backend {
        Backend::Torch => torch(&spec),
        Backend::Jax => jax(&spec),
        Backend::Numpy => unreachable!("NumPy has no autograd"),
    })
}

/// The parts both frameworks' wrappers are written from.
struct Spec {
    /// `X, W, b, K=None`.
    signature: String,
    /// `X, W, b, K`.
    names: String,
    /// `(X, W, b, K)`.
    args: String,
    /// `X, W, b, K` to assign a tuple to (`X,` for one).
    unpack: String,
    /// `(X, W, b)`: the parameters that are not static.
    arrays: String,
    /// As `unpack`, for `arrays`.
    unpack_arrays: String,
    /// `"Y",`.
    outputs: String,
    body: Vec<String>,
    /// `Y`, or `(Y, Z)`.
    returned: String,
    /// `dL_dY, dL_dZ`: one upstream gradient per output.
    upstream: String,
    /// Upstream gradients backward_<of> does not read.
    unused: Vec<String>,
    /// `backward_L(X=X, …, dL_dY=dL_dY, K=K)`.
    call: String,
    /// `_grads.get("X"), …, _grads.get("K")`: one cotangent per parameter.
    every_cotangent: String,
    /// `_grads.get("X"), …`: one per parameter that is not static.
    cotangents: String,
    /// The static parameters (opaque functions, sizes), in order, and their
    /// positions.
    statics: Vec<String>,
    nondiff: Vec<usize>,
    of: String,
}

/// `(a, b)`, or `(a,)` for one.
fn tuple(items: &[String]) -> String {
    match items {
        [one] => format!("({one},)"),
        more => format!("({})", more.join(", ")),
    }
}

/// `a, b`, or `a,` for one: the left side of an unpacking assignment.
fn unpack(items: &[String]) -> String {
    match items {
        [one] => format!("{one},"),
        more => more.join(", "),
    }
}

/// `lines` indented by `by`; a `fill` line's second line (written for a
/// function body, four spaces in) goes four spaces further.
fn indented(lines: &[String], by: &str) -> String {
    let more = &by[4.min(by.len())..];
    lines
        .iter()
        .map(|l| format!("{by}{}\n", l.replace('\n', &format!("\n{more}"))))
        .collect()
}

/// `del dL_dZ` for the upstream gradients no gradient reads.
fn unused(s: &Spec, by: &str) -> String {
    if s.unused.is_empty() {
        String::new()
    } else {
        format!("{by}del {}  # no gradient reads it\n", s.unused.join(", "))
    }
}

fn torch(s: &Spec) -> String {
    format!(
        "class Program(torch.autograd.Function):\n    \"\"\"The program as a PyTorch operation: `Program.apply({names})` (positional;\n    an omitted size is read from a shape). Its backward is backward_{of}.\"\"\"\n\n    outputs = ({outputs})\n\n    @staticmethod\n    def forward(_ctx, {signature}):\n{body}        _ctx.args = {args}\n        return {returned}\n\n    @staticmethod\n    def backward(_ctx, {upstream}):\n{unused}        {unpack} = _ctx.args\n        _grads = {call}\n        return {cotangents}\n",
        names = s.names,
        args = s.args,
        unpack = s.unpack,
        of = s.of,
        outputs = s.outputs,
        signature = s.signature,
        body = indented(&s.body, "        "),
        returned = s.returned,
        upstream = s.upstream,
        unused = unused(s, "        "),
        call = s.call,
        cotangents = s.every_cotangent,
    )
}

fn jax(s: &Spec) -> String {
    // opaque functions and sizes are nondiff arguments, which the backward rule gets first
    let nondiff: Vec<String> = s.nondiff.iter().map(|k| k.to_string()).collect();
    let (import, decorator, bwd_params) = if nondiff.is_empty() {
        ("", "@jax.custom_vjp".to_string(), "_res, _g".to_string())
    } else {
        let comma = if nondiff.len() == 1 { "," } else { "" };
        (
            "import functools\n\n\n",
            format!(
                "@functools.partial(jax.custom_vjp, nondiff_argnums=({}{comma}))",
                nondiff.join(", ")
            ),
            format!("{}, _res, _g", s.statics.join(", ")),
        )
    };
    let several = s.upstream.contains(',');
    let upstream = format!("    {}{} = _g\n", s.upstream, if several { "," } else { "" });
    format!(
        "{import}{decorator}\ndef program({signature}):\n    \"\"\"The program as a JAX function with a custom VJP: `program({names})`.\n    Its backward is backward_{of}.\"\"\"\n{body}    return {returned}\n\n\ndef _program_fwd({signature}):\n    return program({names}), {arrays}\n\n\ndef _program_bwd({bwd_params}):\n    {unpack_arrays} = _res\n{upstream}{unused}    _grads = {call}\n    return {cotangents}\n\n\nprogram.defvjp(_program_fwd, _program_bwd)\nprogram.outputs = ({outputs})\n",
        signature = s.signature,
        names = s.names,
        of = s.of,
        body = indented(&s.body, "    "),
        returned = s.returned,
        arrays = s.arrays,
        unpack_arrays = s.unpack_arrays,
        unused = unused(s, "    "),
        call = s.call,
        cotangents = s.cotangents,
        outputs = s.outputs,
    )
}
