"""scorecheck for Python: check the integration-by-parts identity behind score matching.

    E_p[½|s − ∇log p|²] = E_p[½|s|² + ∇·s] + ½E_p|∇log p|²   when  ∮ p s·n = 0

The same engine and the same guarantees as the ``scorecheck`` command line (exact
derivatives, every integral with an honest error estimate, "undecided" rather than a
guess). A case is given as keyword arguments named as in a case file, or loaded from one::

    import scorecheck, math
    r = scorecheck.check(log_density="-x^2/2", field=["-(x-1)"], domain=[(0, math.inf)])
    r.verdict.boundary          # 'nonzero': −p(0)s(0) = −√(2/π) does not vanish
    r.cross.boundary.value      # -0.7978845608…
    r.to_dict()                 # == json.loads(`scorecheck check … --json`)

Reports have the JSON's structure as attributes (``r.objective.esm.value``), render as
HTML tables in notebooks, and ``to_dict()`` gives exactly the command line's JSON.
Bad input raises :class:`BadInput` (a ``ValueError``) with the command line's message.
"""

from __future__ import annotations

import html as _html
import json as _json
import math as _math
import os as _os
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from . import _native
from ._native import BadInput, Undecided

__all__ = [
    "BadInput",
    "Undecided",
    "Case",
    "Node",
    "Report",
    "ScoreReport",
    "Explanation",
    "Sweep",
    "EstimateReport",
    "Figure",
    "load",
    "case",
    "check",
    "score",
    "explain",
    "sweep",
    "estimate",
    "plot",
    "calls_of",
]

__version__ = _native.__version__

#: The command line's default budget of evaluations per cubature.
MAX_EVALS = 20_000_000

_OUTCOMES = {0: "holds", 1: "violated", 3: "undecided"}


class Node:
    """A JSON object seen through attributes: ``node.objective.esm.value``.

    Keys are attributes (and items: ``node["const"]``); nested objects are Nodes, lists
    are lists of Nodes or values. :meth:`to_dict` gives the plain JSON data back.
    """

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, Any]):
        object.__setattr__(self, "_data", data)

    def __getattr__(self, name: str) -> Any:
        try:
            return _wrap(self._data[name])
        except KeyError:
            raise AttributeError(
                f"{type(self).__name__} has no field {name!r}; fields: {', '.join(self._data)}"
            ) from None

    def __getitem__(self, key: str) -> Any:
        return _wrap(self._data[key])

    def __contains__(self, key: str) -> bool:
        return key in self._data

    def __dir__(self) -> List[str]:
        return sorted(set(self._data) | set(super().__dir__()))

    def keys(self) -> Iterable[str]:
        """The field names."""
        return self._data.keys()

    def to_dict(self) -> Dict[str, Any]:
        """The plain JSON data (a deep copy)."""
        return _json.loads(_json.dumps(self._data))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Node):
            return self._data == other._data
        return NotImplemented

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={_short(v)}" for k, v in self._data.items())
        return f"{type(self).__name__}({inner})"


def _wrap(v: Any) -> Any:
    if isinstance(v, dict):
        return Node(v)
    if isinstance(v, list):
        return [_wrap(x) for x in v]
    return v


def _short(v: Any) -> str:
    if isinstance(v, dict):
        if "status" in v and "value" in v:
            return _fmt_q(v)
        return "{…}"
    if isinstance(v, list):
        return "[…]" if v else "[]"
    return repr(v)


def _fmt_q(q: Mapping[str, Any]) -> str:
    val, err, st = q.get("value"), q.get("error"), q.get("status")
    if val is None:
        return str(st)
    if err is None:
        return f"{val:.10g}"
    tail = "" if st == "ok" else f" ({st})"
    return f"{val:.10g} ± {err:.1e}{tail}"


class _Rendered(Node):
    """A report: JSON attributes, the command line's text, its exit code."""

    __slots__ = ("_text", "_exit_code")

    def __init__(self, json_text: str, text: str, exit_code: int):
        super().__init__(_json.loads(json_text))
        object.__setattr__(self, "_text", text)
        object.__setattr__(self, "_exit_code", exit_code)

    @property
    def exit_code(self) -> int:
        """What the command line exits with: 0 holds, 1 violated, 3 undecided."""
        return self._exit_code

    @property
    def outcome(self) -> str:
        """``"holds"``, ``"violated"`` or ``"undecided"`` (from the exit code)."""
        return _OUTCOMES[self._exit_code]

    @property
    def text(self) -> str:
        """The command line's text rendering."""
        return self._text

    def __str__(self) -> str:
        return self._text

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(self._text)


def _row(name: str, q: Mapping[str, Any]) -> str:
    val, err = q.get("value"), q.get("error")
    cell = lambda x, f: "" if x is None else format(x, f)  # noqa: E731
    st = q.get("status", "")
    colour = "" if st == "ok" else ' style="color:#b35c00"'
    return (
        f"<tr><td>{_html.escape(name)}</td><td style='text-align:right'>{cell(val, '.12g')}</td>"
        f"<td style='text-align:right'>{cell(err, '.1e')}</td><td>{q.get('evals', '')}</td>"
        f"<td{colour}>{_html.escape(str(st))}</td></tr>"
    )


_HEAD = (
    "<tr><th>quantity</th><th>value</th><th>error</th><th>evals</th><th>status</th></tr>"
)


class Report(_Rendered):
    """The report of :func:`check`: ``case, vars, params, normalizer, log_normalizer,
    components, cross, objective, verdict`` (and the command line's extra fields),
    each quantity a Node with ``value, error, evals, status``."""

    __slots__ = ()

    def _repr_html_(self) -> str:
        d = self._data
        rows = [_row("Z", d["normalizer"])]
        for c in d["components"]:
            for part in ("lhs", "rhs", "boundary"):
                rows.append(_row(f"{part}_{c['var']}", c[part]))
        for part in ("lhs", "rhs", "boundary"):
            rows.append(_row(f"cross.{part}", d["cross"][part]))
        for part in ("esm", "ism", "const", "gap"):
            rows.append(_row(part, d["objective"][part]))
        v = d["verdict"]
        verdict = ", ".join(f"{k}: <b>{_html.escape(str(x))}</b>" for k, x in v.items())
        notes = "".join(f"<li>{_html.escape(n)}</li>" for n in d.get("notes", []))
        return (
            f"<div><b>case {_html.escape(d['case'])}</b> — {self.outcome}<br>"
            f"<table>{_HEAD}{''.join(rows)}</table>{verdict}"
            + (f"<ul>{notes}</ul>" if notes else "")
            + "</div>"
        )


class ScoreReport(_Rendered):
    """The report of :func:`score`: the hand-written field and divergence against exact
    derivatives (the command line's ``score --json``)."""

    __slots__ = ()

    @property
    def outcome(self) -> str:
        """``"agrees"``, ``"disagrees"`` or ``"undecided"`` (from the exit code)."""
        return {0: "agrees", 1: "disagrees", 3: "undecided"}[self._exit_code]

    def _repr_html_(self) -> str:
        return f"<pre>{_html.escape(self._text)}</pre>"


class Explanation(_Rendered):
    """The derivation step by step with numbers (:func:`explain`); notebooks show it as
    Markdown (``_repr_markdown_``)."""

    __slots__ = ("_markdown",)

    def __init__(self, json_text: str, markdown: str, text: str, exit_code: int):
        super().__init__(json_text, text, exit_code)
        object.__setattr__(self, "_markdown", markdown)

    @property
    def markdown(self) -> str:
        """The Markdown table (``scorecheck explain --markdown``)."""
        return self._markdown

    def _repr_markdown_(self) -> str:
        return self._markdown


class EstimateReport(_Rendered):
    """The report of :func:`estimate` (the command line's ``estimate --json``)."""

    __slots__ = ()

    @property
    def outcome(self) -> str:
        """``"agrees"``, ``"disagrees"`` or ``"undecided"`` (from the exit code)."""
        return {0: "agrees", 1: "disagrees", 3: "undecided"}[self._exit_code]

    def _repr_html_(self) -> str:
        return f"<pre>{_html.escape(self._text)}</pre>"


class Sweep(_Rendered):
    """The result of :func:`sweep`: the command line's ``sweep --json`` as attributes, and
    its columns as numpy arrays via :meth:`column` (``sw.column("esm")``,
    ``sw.column("mu")``, ``sw.column("esm.error")``, ``sw.column("verdict.ibp")``)."""

    __slots__ = ()

    @property
    def outcome(self) -> str:
        """``"holds"`` (every point), ``"violated"`` (some point) or ``"undecided"``."""
        return _OUTCOMES[self._exit_code]

    def columns(self) -> List[str]:
        """The names :meth:`column` takes."""
        d = self._data
        names = [g["name"] for g in d["grid"]]
        for part in ("esm", "ism", "const", "gap"):
            names += [part, f"{part}.error"]
        for part in ("lhs", "rhs", "boundary"):
            names += [f"cross.{part}", f"cross.{part}.error"]
        return names + ["verdict.ibp", "verdict.boundary", "verdict.objective", "exit_code"]

    def column(self, name: str) -> Any:
        """One column over the grid points, in grid order, as a numpy array: a grid
        parameter, an objective quantity (``esm``, ``ism``, ``const``, ``gap``; NaN where
        it has no value) or its ``.error``, ``cross.lhs``…, a verdict (strings) or
        ``exit_code``."""
        import numpy as np

        pts = self._data["points"]
        if name in [g["name"] for g in self._data["grid"]]:
            return np.array([p["params"][name] for p in pts], dtype=float)
        if name == "exit_code":
            return np.array([p["exit_code"] for p in pts], dtype=int)
        if name.startswith("verdict."):
            key = name.split(".", 1)[1]
            return np.array([p["verdict"][key] for p in pts], dtype=object)
        field = "value"
        if name.endswith(".error"):
            name, field = name[: -len(".error")], "error"
        if name.startswith("cross."):
            get = lambda p: p["cross"][name[len("cross.") :]]  # noqa: E731
        else:
            get = lambda p: p["objective"][name]  # noqa: E731
        try:
            vals = [get(p)[field] for p in pts]
        except KeyError:
            raise KeyError(f"no column {name!r}; columns: {', '.join(self.columns())}") from None
        return np.array([_math.nan if v is None else v for v in vals], dtype=float)

    def _repr_html_(self) -> str:
        d = self._data
        params = [g["name"] for g in d["grid"]]
        head = "".join(f"<th>{_html.escape(n)}</th>" for n in params)
        head += "<th>esm</th><th>ism</th><th>const</th><th>ibp</th><th>boundary</th>"
        rows = []
        for p in d["points"]:
            cells = "".join(f"<td>{p['params'][n]:.6g}</td>" for n in params)
            for part in ("esm", "ism", "const"):
                cells += f"<td>{_html.escape(_fmt_q(p['objective'][part]))}</td>"
            cells += f"<td>{p['verdict']['ibp']}</td><td>{p['verdict']['boundary']}</td>"
            rows.append(f"<tr>{cells}</tr>")
        return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


class Figure:
    """A figure of a case (:func:`plot`): notebooks show it as SVG; :meth:`save` writes
    ``.svg`` or ``.png`` by the file's extension."""

    __slots__ = ("_fig", "_svg")

    def __init__(self, fig: Any):
        self._fig = fig
        self._svg: Optional[str] = None

    def svg(self, size: Optional[Tuple[int, int]] = None) -> str:
        """The SVG text; ``size`` is (width, height) in pixels (default: the figure's)."""
        if size is not None:
            return self._fig.render("svg", tuple(size)).decode()
        if self._svg is None:
            self._svg = self._fig.render("svg", None).decode()
        return self._svg

    def png(self, size: Optional[Tuple[int, int]] = None) -> bytes:
        """The PNG bytes."""
        return self._fig.render("png", None if size is None else tuple(size))

    def _repr_svg_(self) -> str:
        return self.svg()

    def save(self, path: Union[str, "_os.PathLike[str]"], size: Optional[Tuple[int, int]] = None) -> None:
        """Write the figure to ``path``: SVG or PNG by its extension (whole or not at all)."""
        p = _os.fspath(path)
        ext = _os.path.splitext(p)[1].lower()
        if ext == ".svg":
            data = self.svg(size).encode()
        elif ext == ".png":
            data = self.png(size)
        else:
            raise BadInput(
                f"cannot write {p}: the file name must end in .svg or .png (the format follows the extension)"
            )
        tmp = f"{p}.tmp{_os.getpid()}"
        with open(tmp, "wb") as f:
            f.write(data)
        _os.replace(tmp, p)


class Case:
    """A case, from :func:`load` (a case file) or :func:`case` (keyword arguments). Every
    function of the module takes one in place of the keyword arguments; ``params=`` then
    overrides the case's parameters (as ``--param`` does)."""

    __slots__ = ("_spec",)

    def __init__(self, spec: Any):
        self._spec = spec

    @property
    def name(self) -> str:
        """The case's name (``name``, or the file's stem)."""
        return self._spec.name

    @property
    def params(self) -> Dict[str, float]:
        """The case's own parameters."""
        return dict(self._spec.params)

    def check(self, **kw: Any) -> Report:
        """:func:`check` on this case."""
        return check(self, **kw)

    def score(self, **kw: Any) -> ScoreReport:
        """:func:`score` on this case."""
        return score(self, **kw)

    def explain(self, **kw: Any) -> Explanation:
        """:func:`explain` on this case."""
        return explain(self, **kw)

    def sweep(self, **kw: Any) -> Sweep:
        """:func:`sweep` on this case."""
        return sweep(self, **kw)

    def estimate(self, **kw: Any) -> EstimateReport:
        """:func:`estimate` on this case."""
        return estimate(self, **kw)

    def plot(self, **kw: Any) -> Figure:
        """:func:`plot` on this case."""
        return plot(self, **kw)

    def __repr__(self) -> str:
        return f"Case({self._spec.name!r}, from {self._spec.origin})"


def load(path: Union[str, "_os.PathLike[str]"]) -> Case:
    """Read a TOML case file (the command line's format; see the README)."""
    return Case(_native.load(_os.fspath(path)))


_CASE_KEYS = (
    "log_density",
    "pdf",
    "field",
    "log_model",
    "divergence",
    "weight",
    "vars",
    "domain",
    "params",
    "breaks",
    "name",
)


def _end(x: Any) -> Union[float, str]:
    if isinstance(x, str):
        return x
    return float(x)


def case(
    *,
    log_density: Optional[str] = None,
    pdf: Optional[str] = None,
    field: Optional[Union[str, Sequence[str]]] = None,
    log_model: Optional[str] = None,
    divergence: Optional[str] = None,
    weight: Optional[str] = None,
    vars: Optional[Sequence[str]] = None,
    domain: Optional[Sequence[Any]] = None,
    params: Optional[Mapping[str, Union[float, str]]] = None,
    breaks: Optional[Union[Sequence[Sequence[float]], Mapping[str, Sequence[float]]]] = None,
    name: Optional[str] = None,
) -> Case:
    """Build a case from keyword arguments named as in a case file.

    ``log_density`` (log of an unnormalized density) or ``pdf``; ``field`` (one expression
    per variable) and/or ``log_model`` (s = its exact gradient), optionally ``divergence``;
    ``domain`` as ``[(lo, hi), …]`` per variable (numbers, ``math.inf``, or constant
    expressions like ``"pi"``; one pair for one variable); ``params`` named constants;
    ``weight`` h(x) ≥ 0; ``vars`` the variables' order (default: the free symbols in
    natural order); ``breaks`` per variable (``[[1.0], []]``) or by name
    (``{"x": [1.0]}``); ``name`` the case's name in the report.
    """
    if isinstance(field, str):
        field = [field]
    dom = None
    if domain is not None:
        items = list(domain)
        if len(items) == 2 and not any(isinstance(v, (list, tuple)) for v in items):
            items = [tuple(items)]
        dom = []
        for i, iv in enumerate(items):
            if not isinstance(iv, (list, tuple)) or len(iv) != 2:
                raise BadInput(
                    f"domain[{i}]: an interval is (lower, upper), got {iv!r} (write the domain as [(lo, hi), ...], one interval per variable)"
                )
            dom.append((_end(iv[0]), _end(iv[1])))
    plist = None
    if params is not None:
        plist = []
        for k, v in params.items():
            plist.append((str(k), v if isinstance(v, str) else float(v)))
    per_var, named = None, None
    if breaks is not None:
        if isinstance(breaks, Mapping):
            named = [(str(k), float(x)) for k, xs in breaks.items() for x in xs]
        else:
            per_var = [[float(x) for x in b] for b in breaks]
    return Case(
        _native.spec(
            log_density=log_density,
            pdf=pdf,
            field=None if field is None else [str(f) for f in field],
            log_model=log_model,
            divergence=divergence,
            weight=weight,
            vars=None if vars is None else [str(v) for v in vars],
            domain=dom,
            params=plist,
            breaks=per_var,
            named_breaks=named,
            name=name,
        )
    )


def _resolve(c: Optional[Union[Case, str, "_os.PathLike[str]"]], kw: Dict[str, Any]) -> Tuple[Case, List[Tuple[str, float]]]:
    """The case and the parameter overrides of a call."""
    case_kw = {k: kw.pop(k) for k in list(kw) if k in _CASE_KEYS}
    if kw:
        raise TypeError(f"unexpected keyword argument(s): {', '.join(sorted(kw))}")
    if c is None:
        return case(**case_kw), []
    if isinstance(c, (str, _os.PathLike)):
        c = load(c)
    if not isinstance(c, Case):
        raise TypeError(f"the case is a Case, a path or keyword arguments, got {type(c).__name__}")
    extra = sorted(k for k in case_kw if k != "params")
    if extra:
        raise BadInput(
            f"{', '.join(extra)} cannot be combined with a case file; edit the file, or drop it and give the case by keyword arguments"
        )
    params = case_kw.get("params") or {}
    return c, [(str(k), float(v)) for k, v in params.items()]


def check(
    case: Optional[Union[Case, str, "_os.PathLike[str]"]] = None,
    *,
    tol: Optional[float] = None,
    max_evals: int = MAX_EVALS,
    **kw: Any,
) -> Report:
    """Check a case: the cross term both ways with its boundary term, and the objectives
    (``scorecheck check --json``).

    Give the case as keyword arguments (see :func:`case`: ``log_density=``/``pdf=``,
    ``field=``/``log_model=``, ``domain=``, ``params=``, ``weight=``, …), or a
    :class:`Case`/path with ``params=`` overrides. ``tol`` is the target error of every
    quantity (default 1e-10 in 1-D, 1e-8 in 2-D, 1e-6 above); ``max_evals`` the
    evaluations allowed per cubature. Returns a :class:`Report`; ``report.to_dict()``
    equals the command line's JSON. Raises :class:`BadInput` on bad input.
    """
    if case is None and _has_callables(kw):
        return _check_callables(kw, tol, max_evals, explain=False)
    c, overrides = _resolve(case, kw)
    return Report(*_native.check(c._spec, overrides, tol, int(max_evals)))


def explain(
    case: Optional[Union[Case, str, "_os.PathLike[str]"]] = None,
    *,
    tol: Optional[float] = None,
    max_evals: int = MAX_EVALS,
    **kw: Any,
) -> Explanation:
    """Walk the score-matching derivation step by step for a case, with numbers
    (``scorecheck explain``); notebooks show the Markdown table. Arguments as :func:`check`."""
    if case is None and _has_callables(kw):
        return _check_callables(kw, tol, max_evals, explain=True)
    c, overrides = _resolve(case, kw)
    return Explanation(*_native.explain(c._spec, overrides, tol, int(max_evals)))


def score(
    case: Optional[Union[Case, str, "_os.PathLike[str]"]] = None,
    *,
    points: int = 2048,
    rtol: float = 1e-8,
    atol: float = 1e-10,
    **kw: Any,
) -> ScoreReport:
    """Check a hand-written ``field`` (and ``divergence``) against the exact derivatives of
    ``log_model`` over where p has its mass (``scorecheck score --json``): a and b agree
    when ``|a − b| <= atol + rtol·max(|a|, |b|)``; ``points`` low-discrepancy points."""
    _no_callables(kw, "score")
    c, overrides = _resolve(case, kw)
    return ScoreReport(*_native.score(c._spec, overrides, int(points), float(rtol), float(atol)))


def sweep(
    case: Optional[Union[Case, str, "_os.PathLike[str]"]] = None,
    *,
    tol: Optional[float] = None,
    max_evals: int = MAX_EVALS,
    **kw: Any,
) -> Sweep:
    """Check a case over a grid of parameter values, in parallel (``scorecheck sweep``).

    In ``params``, a sequence or numpy array of values is a grid (several grids give their
    product, the first outermost) and a number fixes a parameter, e.g.
    ``params={"mu": np.linspace(-1, 2, 61), "s": 1.0}``. Returns a :class:`Sweep` whose
    columns are numpy arrays (``sw.column("esm")``)."""
    _no_callables(kw, "sweep")
    params = dict(kw.pop("params", None) or {})
    grids: List[Tuple[str, List[float]]] = []
    fixed: List[Tuple[str, float]] = []
    for k, v in params.items():
        if isinstance(v, (int, float)) or (hasattr(v, "ndim") and getattr(v, "ndim") == 0):
            fixed.append((str(k), float(v)))
        else:
            grids.append((str(k), [float(x) for x in v]))
    if case is None:
        # A case given by keyword arguments declares its parameters: the grids' first values.
        decl = {k: x for k, x in fixed}
        decl.update({k: xs[0] for k, xs in grids if xs})
        c = globals()["case"](params=decl, **{k: kw.pop(k) for k in list(kw) if k in _CASE_KEYS})
    else:
        c, _ = _resolve(case, {})
    if kw:
        raise TypeError(f"unexpected keyword argument(s): {', '.join(sorted(kw))}")
    if isinstance(c, (str, _os.PathLike)):
        c = load(c)
    return Sweep(*_native.sweep(c._spec, grids, fixed, tol, int(max_evals)))


def estimate(
    case: Optional[Union[Case, str, "_os.PathLike[str]"]] = None,
    *,
    n: int = 10_000,
    seed: int = 1,
    sampler: str = "auto",
    chains: int = 4,
    burn_in: int = 2000,
    probes: Sequence[str] = ("rademacher", "gaussian"),
    probes_per_draw: int = 1,
    min_ess: float = 100.0,
    tol: Optional[float] = None,
    max_evals: int = MAX_EVALS,
    **kw: Any,
) -> EstimateReport:
    """Estimate ism = E_p[½|s|² + ∇·s] from samples of p (exact trace and sliced
    estimators) and compare with quadrature (``scorecheck estimate --json``); ``seed``
    makes every number reproducible."""
    _no_callables(kw, "estimate")
    c, overrides = _resolve(case, kw)
    return EstimateReport(
        *_native.estimate(
            c._spec,
            overrides,
            int(n),
            int(seed),
            str(sampler),
            int(chains),
            int(burn_in),
            [str(p) for p in probes],
            int(probes_per_draw),
            float(min_ess),
            tol,
            int(max_evals),
        )
    )


def plot(
    case: Optional[Union[Case, str, "_os.PathLike[str]"]] = None,
    *,
    kind: str = "identity",
    tol: Optional[float] = None,
    max_evals: int = MAX_EVALS,
    **kw: Any,
) -> Figure:
    """The figure that explains a case (``scorecheck plot``): ``kind`` is ``"identity"``
    (1-D integrands and running integrals; 2-D fields), ``"boundary"`` (the flux through
    [−R, R]^d against R) or ``"convergence"``. Returns a :class:`Figure` (SVG in notebooks,
    ``.save("x.png")``). Raises :class:`Undecided` when nothing could be integrated."""
    _no_callables(kw, "plot")
    c, overrides = _resolve(case, kw)
    return Figure(_native.plot(c._spec, overrides, str(kind), tol, int(max_evals)))


# ---------------------------------------------------------------------------------------
# Python functions as the model.

_DEFAULT_VARS = {1: ["x"], 2: ["x", "y"], 3: ["x", "y", "z"], 4: ["x1", "x2", "x3", "x4"]}


def _has_callables(kw: Mapping[str, Any]) -> bool:
    return callable(kw.get("log_density")) or callable(kw.get("field"))


def _no_callables(kw: Mapping[str, Any], what: str) -> None:
    for k in ("log_density", "field", "grad_log_density"):
        if callable(kw.get(k)):
            raise BadInput(
                f"{what} takes expressions only; Python functions as the model (here {k}=) work with check and explain"
            )
    if callable(kw.get("divergence")):
        raise BadInput(f"{what} takes expressions only; divergence= is a function")


def _wrap_fn(f: Any, name: str, d: int, kind: str) -> Any:
    """``f`` as the native side calls it: bytes of an (n, d) array in, bytes out, the shape
    checked (``kind``: "n" one value per point, "nd" d values, "div" (n,) in 1-D or the
    Jacobian's diagonal (n, d), "divtotal" ∇·s as (n,) in 2-D and up, passed on as the first
    column of an (n, d) array of zeros)."""
    import numpy as np

    def call(buf: bytes, n: int) -> bytes:
        x = np.frombuffer(buf, dtype=np.float64).reshape(n, d)
        with np.errstate(all="ignore"):
            y = f(x)
        try:
            y = np.asarray(y, dtype=np.float64)
        except (TypeError, ValueError) as e:
            raise BadInput(f"{name} must return a float array, got {type(y).__name__}: {e}") from e
        if kind == "divtotal":
            if y.shape != (n,):
                raise BadInput(
                    f"{name} returned an array of shape {y.shape} for {n} points; it gave ∇·s as one value per point before, so it must return shape ({n},)"
                )
            z = np.zeros((n, d))
            z[:, 0] = y
            y = z
        elif kind == "n":
            if y.shape != (n,):
                raise BadInput(
                    f"{name} returned an array of shape {y.shape} for {n} points; it must return shape ({n},): one value per point (the points come as an ({n}, {d}) array)"
                )
        elif kind == "nd":
            if y.shape != (n, d):
                raise BadInput(
                    f"{name} returned an array of shape {y.shape} for {n} points; it must return shape ({n}, {d}): one row of {d} values per point"
                )
        else:
            if d == 1 and y.shape == (n,):
                y = y.reshape(n, 1)
            elif y.shape == (n,) :
                raise BadInput(
                    f"{name} returned shape ({n},) (the divergence) in {d} dimensions; the per-variable identity needs each ∂_i s_i: return the Jacobian's diagonal, shape ({n}, {d}) (its rows sum to ∇·s)"
                )
            elif y.shape != (n, d):
                raise BadInput(
                    f"{name} returned an array of shape {y.shape} for {n} points; it must return shape ({n}, {d}), the diagonal ∂_i s_i of the Jacobian (or ({n},) in 1-D)"
                )
        return np.ascontiguousarray(y).tobytes()

    return call


def _gives_total_divergence(div: Any, dom: Any, d: int) -> bool:
    """Whether ``div`` returns ∇·s itself, shape (n,), rather than the Jacobian's diagonal
    (n, d): asked once, at two points inside the domain. With ∇·s alone the identity is
    checked for the sum over the variables (the per-variable terms need each ∂_i s_i)."""
    import numpy as np

    x = np.zeros((2, d))
    for i in range(d):
        lo, hi = (_probe_end(e) for e in dom[i]) if dom is not None else (-_math.inf, _math.inf)
        if _math.isfinite(lo) and _math.isfinite(hi):
            x[:, i] = [lo + (hi - lo) / 3, lo + 2 * (hi - lo) / 3]
        elif _math.isfinite(lo):
            x[:, i] = [lo + 0.5, lo + 1.5]
        elif _math.isfinite(hi):
            x[:, i] = [hi - 0.5, hi - 1.5]
        else:
            x[:, i] = [-0.5, 0.5]
    with np.errstate(all="ignore"):
        y = div(x)
    try:
        y = np.asarray(y, dtype=np.float64)
    except (TypeError, ValueError):
        return False  # the wrapped function says what is wrong, at its first call
    return y.shape == (2,)


def _probe_end(e: Any) -> float:
    """An end as a float for probing; a constant expression ("2*pi") counts as unknown (NaN),
    and the probe then stays on the other side of it."""
    try:
        return float(e)
    except (TypeError, ValueError):
        return _math.nan


class _Calls:
    """How the Python functions were called in a check: ``calls`` and ``points``."""

    def __init__(self, calls: int, points: int):
        self.calls, self.points = calls, points

    def __repr__(self) -> str:
        return f"calls={self.calls}, points={self.points}"


def _check_callables(kw: Dict[str, Any], tol: Optional[float], max_evals: int, explain: bool) -> Any:
    kw = dict(kw)
    ld, field = kw.pop("log_density", None), kw.pop("field", None)
    grad = kw.pop("grad_log_density", None)
    div = kw.pop("divergence", None)
    pdf = kw.pop("pdf", None)
    log_model = kw.pop("log_model", None)
    vars_ = kw.pop("vars", None)
    domain = kw.pop("domain", None)
    params = kw.pop("params", None) or {}
    weight = kw.pop("weight", None)
    breaks = kw.pop("breaks", None)
    name = kw.pop("name", None)
    if kw:
        raise TypeError(f"unexpected keyword argument(s): {', '.join(sorted(kw))}")
    dom = None
    if domain is not None:
        items = list(domain)
        if len(items) == 2 and not any(isinstance(v, (list, tuple)) for v in items):
            items = [tuple(items)]
        dom = [(_end(a), _end(b)) for a, b in items]
    if vars_ is None:
        if dom is None:
            raise BadInput(
                "with Python functions as the model, give vars=[...] or domain=[...] so the number of variables is known"
            )
        vars_ = _DEFAULT_VARS.get(len(dom), [f"x{i + 1}" for i in range(len(dom))])
    d = len(vars_)
    if callable(ld) and not callable(grad):
        raise BadInput("log_density is a function: give grad_log_density=, a function returning the (n, d) gradient")
    if callable(field) and not callable(div):
        raise BadInput(
            "field is a function: give divergence=, a function returning ∇·s as (n,) or the Jacobian's diagonal ∂_i s_i as (n, d)"
        )
    if grad is not None and not callable(ld):
        raise BadInput("grad_log_density= goes with a log_density that is a function")
    if callable(div) and not callable(field):
        raise BadInput("divergence= is a function but field= is not; give both as functions")
    if isinstance(field, str):
        field = [field]
    args = dict(
        vars=[str(v) for v in vars_],
        domain=dom,
        params=[(str(k), float(v)) for k, v in params.items()],
        pdf=pdf,
        log_model=log_model,
        weight=weight,
        breaks=None if breaks is None else [[float(x) for x in b] for b in breaks],
        name=name,
        tol=tol,
        max_evals=int(max_evals),
        explain=explain,
    )
    if callable(ld):
        args["log_density_fn"] = _wrap_fn(ld, "log_density", d, "n")
        args["grad_fn"] = _wrap_fn(grad, "grad_log_density", d, "nd")
    else:
        args["log_density"] = ld
    probes = 0
    if callable(field):
        args["field_fn"] = _wrap_fn(field, "field", d, "nd")
        total = d > 1 and _gives_total_divergence(div, dom, d)
        probes = 1 if d > 1 else 0
        args["divergence_fn"] = _wrap_fn(div, "divergence", d, "divtotal" if total else "div")
        args["total_divergence"] = total
    else:
        args["field"] = None if field is None else [str(f) for f in field]
    try:
        js, text, md, code, calls, points = _native.check_callables(**args)
    except BadInput as e:
        if callable(ld) and "undefined (NaN)" in str(e):
            raise BadInput(f"log_density (a Python function) returned NaN: {e}") from None
        raise
    rep = Explanation(js, md, text, code) if explain else Report(js, text, code)
    # The shape probe of a divergence function (two points) is a call too.
    _CALLS[id(rep)] = _Calls(calls + probes, points + 2 * probes)
    if not explain:
        _name_nonfinite(rep, ld, grad, field, div, d)
    return rep


_CALLS: Dict[int, _Calls] = {}


def calls_of(report: Any) -> Optional[_Calls]:
    """How many times the Python functions were called for ``report``, with how many points
    in all (None for a report from expressions)."""
    return _CALLS.get(id(report))


def _name_nonfinite(rep: Report, ld: Any, grad: Any, field: Any, div: Any, d: int) -> None:
    """A quantity that met NaN/inf where p has mass: evaluate the Python functions at that
    point and raise naming the one that returned it."""
    import numpy as np

    def walk(v: Any) -> Optional[List[float]]:
        if isinstance(v, dict):
            if v.get("status") == "nonfinite" and v.get("at"):
                return v["at"]
            for x in v.values():
                r = walk(x)
                if r is not None:
                    return r
        elif isinstance(v, list):
            for x in v:
                r = walk(x)
                if r is not None:
                    return r
        return None

    at = walk(rep._data)
    if at is None:
        return
    x = np.array([at], dtype=float).reshape(1, d)
    for fn, nm in ((ld, "log_density"), (grad, "grad_log_density"), (field, "field"), (div, "divergence")):
        if callable(fn):
            with np.errstate(all="ignore"):
                y = np.asarray(fn(x), dtype=float)
            if not np.all(np.isfinite(y)):
                err = BadInput(
                    f"{nm} (a Python function) returned NaN/inf at x = {at}, where p has mass: {y.tolist()}"
                )
                err.report = rep  # type: ignore[attr-defined]
                raise err
