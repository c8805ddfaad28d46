"""ricci derives gradients in index notation and hands them back in matrix form.

The engine is compiled Rust (the private extension ``ricci._ricci``, built
with PyO3 and maturin); this package is its Python face::

    import ricci
    d = ricci.derive("Y_sn = Σ_m X_sm W_nm + b_n", wrt=["W", "b"])
    d["W"].matrix        # '(∂L/∂Y)ᵀ X'
    d["W"].index         # '∂L/∂W_ij = Σ_s (∂L/∂Y)_si X_sj'
    f = d["W"].function()  # the generated NumPy function, compiled
    d.steps("W")         # the numbered derivation, as text lines
    d.check()            # the --check report, per result

In Jupyter a :class:`Derivation` (and a :class:`Result`) shows itself typeset.
Bad input raises :class:`RicciError`, a ``ValueError`` whose message is the
diagnostic the command line prints. Nothing is rendered until it is read:
``derive`` costs the derivation and no more.
"""

from __future__ import annotations

import linecache
import re
import threading
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Optional, Sequence, Tuple, TypeVar, Union

from . import _ricci
from ._ricci import RicciError

__all__ = ["derive", "Derivation", "Result", "Backward", "CheckReport", "RicciError", "canonical_name"]

_T = TypeVar("_T")

#: The layouts ``derive`` accepts.
LAYOUTS = ("gradient", "numerator")


def canonical_name(name: str) -> str:
    """The canonical spelling of a tensor name (``W^{(1)}``, ``W⁽¹⁾`` → ``W^(1)``)."""
    return _ricci.canonical_name(name)


def derive(
    program: str,
    wrt: Union[str, Sequence[str]],
    of: str = "L",
    layout: str = "gradient",
    hessian: bool = False,
    hvp: Optional[str] = None,
    backward: bool = False,
    einstein: bool = False,
    *,
    filename: str = "<string>",
) -> Derivation:
    """Differentiates ``of`` in ``program`` with respect to each tensor in ``wrt``.

    The arguments are those of ``ricci derive``: ``wrt`` is one name or a list
    (``--wrt``; a repeat, in any spelling, is dropped), ``of`` the loss or a
    tensor for a Jacobian (``--of``), ``layout`` ``"gradient"`` (∂L/∂W has the
    shape of W) or ``"numerator"``, ``hessian`` (``--hessian``), ``hvp`` the
    name of a new input for the Hessian-vector product (``--hvp V``),
    ``einstein`` (``--einstein``: a repeated index is summed). ``filename``
    names the program in error messages.

    ``backward=True`` asks for the backward pass as a program
    (:attr:`Derivation.backward`, ``--backward``) and raises
    :class:`RicciError` at once for a Jacobian, a Hessian or an HVP, which have
    none. ``of`` naming a tensor of order ≥ 1 gives Jacobians
    (``kind == "jacobian"``).

    Raises :class:`RicciError` when the program or the request is refused;
    no partial result is returned.
    """
    names = [wrt] if isinstance(wrt, str) else list(wrt)
    for name in names:
        if not isinstance(name, str):
            raise TypeError(f"wrt: expected a name or a list of names, got {name!r}")
    inner = _ricci.derive(program, names, of, layout, hessian, hvp, backward, einstein, filename)
    return Derivation(inner)


class Derivation:
    """Every requested result of one derivation (``ricci derive``'s output).

    Index it by a ``wrt`` name (``d["W"]``, in any spelling of the name) for
    a :class:`Result`; ``d.results`` lists them in order. A derivation is
    used on the thread that made it (it holds the engine's shared,
    single-threaded state; another thread gets an error, not a race).
    """

    __slots__ = ("_inner_", "_thread", "results", "_backward")

    def __init__(self, inner: _ricci.Derivation) -> None:
        self._inner_ = inner
        self._thread = threading.get_ident()
        #: One :class:`Result` per ``wrt``, in the order asked.
        self.results: list[Result] = [Result(inner, self._thread, k) for k in range(len(inner.wrt))]
        self._backward: Optional[Backward] = None

    @property
    def _inner(self) -> _ricci.Derivation:
        return _on_this_thread(self._inner_, self._thread)

    @property
    def of(self) -> str:
        """The loss (or the tensor of a Jacobian), in canonical spelling."""
        return self._inner.of

    @property
    def notes(self) -> list[str]:
        """What the command line notes on standard error: each unknown function taken as opaque."""
        return self._inner.notes

    def __getitem__(self, name: str) -> Result:
        for r in self.results:
            if r.wrt == name:
                return r
        canonical = canonical_name(name)
        for r in self.results:
            if r.name == canonical:
                return r
        asked = ", ".join(r.wrt for r in self.results)
        raise KeyError(f"{name!r}: not a result of this derivation (wrt {asked})")

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        try:
            self[name]
        except KeyError:
            return False
        return True

    def __iter__(self) -> Iterator[Result]:
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)

    def steps(self, name: str, ascii: bool = False) -> list[str]:
        """The numbered derivation of result ``name``: the lines ``ricci derive
        --steps`` prints between its index form and its matrix form (numbered
        on from the results before it, as there)."""
        return self._inner.steps(self[name]._k, ascii)

    def check(self, seed: int = 1, sizes: Optional[dict[str, int]] = None) -> list[CheckReport]:
        """``--check``: every result (index form and matrix form) against central
        finite differences of the loss on random tensors drawn from ``seed``;
        ``sizes`` fixes ranges (``{"s": 3}``, or a range symbol ``{"S": 3}``)."""
        rows = self._inner.check(seed, sorted((sizes or {}).items()))
        return [CheckReport(*row) for row in rows]

    def text(self, steps: bool = False, ascii: bool = False) -> str:
        """The text output of ``ricci derive`` (``--steps``, ``--ascii``)."""
        return self._inner.text(ascii, steps)

    def latex(self, standalone: bool = False, steps: bool = False) -> str:
        """``--format latex``: an ``align`` environment, or with ``standalone``
        a document that pdflatex compiles; ``steps`` adds the derivations."""
        return self._inner.latex(standalone, steps)

    def json(self, ascii: bool = False) -> dict[str, Any]:
        """``--format json`` as a dict (SPEC §4): each result's forms, code and steps."""
        import json

        value: dict[str, Any] = json.loads(self._inner.json_text(ascii))
        return value

    def code(self, backend: str = "numpy") -> str:
        """``--format numpy`` (or ``torch``, ``jax``): the import, then every result's function."""
        return self._inner.code(backend)

    @property
    def backward(self) -> Backward:
        """The backward pass as a program (``ricci derive --backward``): one line
        per named gradient, each reading the ones before it, and one function
        ``backward_<of>`` computing every requested gradient. Raises
        :class:`RicciError` for a Jacobian, a Hessian or an HVP."""
        if self._backward is None:
            self._backward = Backward(self._inner, self._thread)
        return self._backward

    def __str__(self) -> str:
        return self.text()

    def __repr__(self) -> str:
        return f"<ricci.Derivation of {self.of} wrt {', '.join(r.wrt for r in self.results)}>"

    def _repr_latex_(self) -> str:
        """Jupyter's display: the whole derivation typeset (every result with its
        numbered steps), as a ``$$\\begin{aligned}…\\end{aligned}$$`` block for MathJax or KaTeX."""
        return display_math(self._inner.latex(False, True))


class Result:
    """One result: a gradient, a Jacobian, a Hessian or a Hessian-vector product.

    Every form is rendered when first read, then kept.
    """

    # A result holds the compiled derivation, not the Derivation around it:
    # no reference cycle, so the engine's state is freed at once, on its thread.
    __slots__ = ("_inner_", "_thread", "_k", "_cache")

    def __init__(self, inner: _ricci.Derivation, thread: int, k: int) -> None:
        self._inner_ = inner
        self._thread = thread
        self._k = k
        self._cache: dict[str, Any] = {}

    @property
    def _inner(self) -> _ricci.Derivation:
        return _on_this_thread(self._inner_, self._thread)

    def _get(self, key: str, make: Callable[[], _T]) -> _T:
        if key not in self._cache:
            self._cache[key] = make()
        value: _T = self._cache[key]
        return value

    @property
    def wrt(self) -> str:
        """The tensor, as requested (``--wrt``)."""
        return self._inner.wrt[self._k]

    @property
    def name(self) -> str:
        """The tensor, in canonical spelling (``W^(1)``)."""
        return self._inner.names[self._k]

    @property
    def kind(self) -> str:
        """``"gradient"``, ``"jacobian"``, ``"hessian"`` or ``"hvp"``."""
        return self._inner.kind(self._k)

    @property
    def shape(self) -> Tuple[Optional[str], ...]:
        """Each axis's range symbol where an ``index … : …`` declares it, else None."""
        return tuple(self._inner.shape(self._k))

    @property
    def index(self) -> str:
        """The index form, a whole line: ``∂L/∂W_ij = Σ_s (∂L/∂Y)_si X_sj``."""
        return self._get("index", lambda: self._inner.index(self._k, False))

    @property
    def matrix(self) -> Optional[str]:
        """The matrix form's right-hand side (``(∂L/∂Y)ᵀ X``), or None when there is none."""
        return self._get("matrix", lambda: self._inner.matrix(self._k, False))

    @property
    def matrix_line(self) -> str:
        """The matrix form as the command line prints it (``∂L/∂W = …``, or why there is none)."""
        return self._get("matrix_line", lambda: self._inner.matrix_line(self._k, False))

    @property
    def latex(self) -> str:
        """The result as one LaTeX equation (the JSON ``latex``)."""
        return self._get("latex", lambda: self._inner.latex_equation(self._k))

    @property
    def numpy(self) -> str:
        """The source of the NumPy function (SPEC §4; ``import numpy as np`` assumed)."""
        return self._get("numpy", lambda: self._inner.function(self._k, "numpy"))

    @property
    def torch(self) -> str:
        """The source of the same function for PyTorch (``--format torch``)."""
        return self._get("torch", lambda: self._inner.function(self._k, "torch"))

    @property
    def jax(self) -> str:
        """The source of the same function for JAX (``--format jax``; ``import jax.numpy as jnp`` assumed)."""
        return self._get("jax", lambda: self._inner.function(self._k, "jax"))

    def function(self) -> Callable[..., Any]:
        """The NumPy function (:attr:`numpy`), compiled and ready to call.

        Its parameters are the tensors, scalars and upstream gradients the
        program's functions read, by their ASCII names (``inspect.signature``
        lists them; every function of one derivation takes the same ones, in
        the same order); an opaque function ``h`` comes with ``h`` and ``h_prime``.
        """
        return self._get("function", lambda: compile_function(self.numpy, "numpy"))

    def steps(self, ascii: bool = False) -> list[str]:
        """The numbered derivation (:meth:`Derivation.steps`)."""
        return self._inner.steps(self._k, ascii)

    def __repr__(self) -> str:
        form = self.matrix if self.matrix is not None else self.index
        return f"<ricci.Result {self.kind} wrt {self.wrt}: {form}>"

    def _repr_latex_(self) -> str:
        """Jupyter's display: the result typeset."""
        return f"$${self.latex}$$"


class Backward:
    """The backward pass of a derivation (:attr:`Derivation.backward`).

    Every form is rendered when first read, then kept.
    """

    __slots__ = ("_inner_", "_thread", "_cache")

    def __init__(self, inner: _ricci.Derivation, thread: int) -> None:
        self._inner_ = inner
        self._thread = thread
        self._cache: dict[str, Any] = {}

    def _get(self, key: str, make: Callable[[], _T]) -> _T:
        if key not in self._cache:
            self._cache[key] = make()
        value: _T = self._cache[key]
        return value

    @property
    def _inner(self) -> _ricci.Derivation:
        return _on_this_thread(self._inner_, self._thread)

    @property
    def lines(self) -> list[str]:
        """One line per named gradient, as text: ``∂L/∂W⁽²⁾ = ∂L/∂ŷ z⁽¹⁾ᵀ``."""
        return self._get("lines", lambda: self._inner.backward_lines(False))

    @property
    def latex(self) -> str:
        """The lines as a LaTeX ``align`` environment (``--format latex``)."""
        return self._get("latex", lambda: self._inner.backward_latex(False))

    @property
    def numpy(self) -> str:
        """The source of ``backward_<of>`` for NumPy; it returns a dict keyed by
        the ``wrt`` names in ASCII (``{"W1": …, "b1": …}``)."""
        return self._get("numpy", lambda: self._inner.backward_function("numpy"))

    @property
    def torch(self) -> str:
        """The same function for PyTorch (``--format torch``)."""
        return self._get("torch", lambda: self._inner.backward_function("torch"))

    @property
    def jax(self) -> str:
        """The same function for JAX (``--format jax``)."""
        return self._get("jax", lambda: self._inner.backward_function("jax"))

    def function(self) -> Callable[..., Any]:
        """``backward_<of>`` for NumPy (:attr:`numpy`), compiled and ready to call.

        It takes the same parameters as every result's function, in the same order.
        """
        return self._get("function", lambda: compile_function(self.numpy, "numpy"))

    def __iter__(self) -> Iterator[str]:
        return iter(self.lines)

    def __repr__(self) -> str:
        return "<ricci.Backward:\n  " + "\n  ".join(self.lines) + ">"

    def _repr_latex_(self) -> str:
        """Jupyter's display: the lines typeset."""
        return display_math(self.latex)


def _on_this_thread(inner: _ricci.Derivation, thread: int) -> _ricci.Derivation:
    if threading.get_ident() != thread:
        raise RuntimeError(
            "a ricci.Derivation is used on the thread that made it "
            "(the engine shares its state within one thread): derive again on this thread"
        )
    return inner


@dataclass(frozen=True)
class CheckReport:
    """One result's ``--check`` report: relative errors against finite differences."""

    #: The tensor, as requested.
    wrt: str
    #: Relative error of the index form.
    index_error: float
    #: Relative error of the matrix form; None when there is no matrix form.
    matrix_error: Optional[float]
    #: ``"ok"``, ``"FAILED"`` or ``"UNDECIDED"``.
    verdict: str
    #: Why, when the verdict is not ok.
    reason: Optional[str]
    #: Entries at a kink of relu or abs, not compared.
    skipped: int
    #: The line ``ricci derive --check`` prints.
    line: str

    @property
    def ok(self) -> bool:
        """Whether both forms agree with finite differences."""
        return self.verdict == "ok"

    def __str__(self) -> str:
        return self.line


_DEF = re.compile(r"^def ([A-Za-z_][A-Za-z0-9_]*)\(", re.MULTILINE)


def compile_function(source: str, backend: str) -> Callable[..., Any]:
    """Executes one generated function's ``source`` with its backend's import
    (``np`` or ``torch``) and returns the function. The source is registered
    with :mod:`linecache`, so tracebacks and ``inspect.getsource`` show it."""
    match = _DEF.search(source)
    if match is None:
        raise ValueError("the generated source defines no function")
    name = match.group(1)
    if backend == "numpy":
        import numpy

        namespace: dict[str, Any] = {"np": numpy}
    else:
        import torch  # type: ignore[import-not-found]

        namespace = {"torch": torch}
    filename = f"<ricci {name}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), namespace)
    function: Callable[..., Any] = namespace[name]
    return function


def display_math(align: str) -> str:
    """A LaTeX ``align`` environment as display math that MathJax and KaTeX
    typeset: ``$$\\begin{aligned}…\\end{aligned}$$``, each justification's
    ``\\text{\\footnotesize …}`` as ``{\\small\\text{…}}`` (MathJax takes no
    size command inside ``\\text`` and has no ``\\footnotesize``; both take
    ``\\small`` in math)."""
    body = align.strip()
    begin, end = "\\begin{align}", "\\end{align}"
    if body.startswith(begin) and body.endswith(end):
        body = body[len(begin) : -len(end)]
    return "$$\\begin{aligned}" + _small_text(body) + "\\end{aligned}$$"


def _small_text(latex: str) -> str:
    marker = "\\text{\\footnotesize "
    out = []
    at = 0
    while True:
        start = latex.find(marker, at)
        if start < 0:
            out.append(latex[at:])
            return "".join(out)
        depth = 1
        i = start + len(marker)
        while i < len(latex) and depth:
            depth += {"{": 1, "}": -1}.get(latex[i], 0)
            if latex[i] == "\\":
                i += 1
            i += 1
        if depth:
            out.append(latex[at:])
            return "".join(out)
        inner = latex[start + len(marker) : i - 1]
        out.append(latex[at:start])
        out.append("{\\small\\text{" + inner + "}}")
        at = i
