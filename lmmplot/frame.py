"""From a formula and a data frame to the numbers a fit needs, with the user's errors caught."""
from __future__ import annotations

import difflib
import re
import warnings
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
from formulaic import ModelSpec, model_matrix
from formulaic.errors import DataMismatchWarning
from formulaic.transforms import C
from formulaic.utils.stateful_transforms import stateful_eval

from .encoding import RMaterializer, lookup_matrix, ordered_levels
from .errors import ArgumentTypeError, DataError, FormulaError, MissingDataWarning
from .formula import ParsedFormula, formulaic_formula
from .names import coef_names
from .terms import RandomTerm, check_identifiable, group_codes, label, lme4_order


@dataclass
class FixedDesign:
    """The response and fixed-effects matrix of a model, and how to rebuild X for new data."""

    y: np.ndarray
    X: np.ndarray
    columns: list[str]
    spec: ModelSpec
    keep: np.ndarray  # which of the spec's columns survive the rank check
    dropped: list[str]

    def new_X(self, data: pd.DataFrame) -> np.ndarray:
        """X for new rows, encoded exactly as the training data were."""
        return self.new_columns(data)[:, self.keep]

    def new_columns(self, data: pd.DataFrame) -> np.ndarray:
        """Every column of the spec for new rows (X before the rank check dropped any)."""
        return np.asarray(_materialize(self.spec, data, "the fixed effects"), dtype=float)


def as_pandas(data, what: str = "data") -> pd.DataFrame:
    """The caller's data as a pandas data frame (polars frames are converted)."""
    if isinstance(data, pd.DataFrame):
        return data
    if type(data).__module__.split(".")[0] == "polars" and hasattr(data, "get_columns"):
        # column by column through numpy: no pyarrow needed
        return pd.DataFrame({s.name: s.to_numpy() for s in data.get_columns()})
    raise ArgumentTypeError(f"{what} must be a pandas or polars DataFrame, not {type(data).__name__}")


def required_columns(parsed: ParsedFormula) -> dict[str, str]:
    """Every column the formula uses, mapped to the part of the formula that uses it."""
    used: dict[str, str] = {}
    for part, text in [(f"the response {parsed.response!r}", parsed.response),
                       (f"the fixed effects {parsed.fixed!r}", parsed.fixed)]:
        for name in _variables(text, part):
            used.setdefault(name, part)
    for text in parsed.offsets:
        for name in _variables(text, f"offset({text})"):
            used.setdefault(name, f"offset({text})")
    for term in parsed.random:
        for name in _variables(term.expr, term.source):
            used.setdefault(name, term.source)
        for name in term.group_vars:
            used.setdefault(name.strip("`"), term.source)
    return used


def value_columns(parsed: ParsedFormula) -> set[str]:
    """The names whose values may enter the model's matrices (all but the grouping factors).

    formulaic's required variables, and every bare name the texts use as a value: formulaic
    reports none inside some calls (``poly(x, 2, raw=True)``). A superset: callers keep the
    names that are columns.
    """
    out: set[str] = set()
    for text in (parsed.response, parsed.fixed, *parsed.offsets, *(t.expr for t in parsed.random)):
        out |= _variables(text, text) | _names_in(text)
    return out


def _names_in(text: str) -> set[str]:
    """The names a formula text uses as values: not calls, keyword names or quoted strings."""
    text = re.sub(r"'[^']*'|\"[^\"]*\"", "", text)
    quoted = set(re.findall(r"`([^`]+)`", text))
    text = re.sub(r"`[^`]*`", " ", text)
    bare = {m.group() for m in re.finditer(r"(?<![\w.])[A-Za-z_.][\w.]*", text)
            if not re.match(r"\s*(\(|=(?!=))", text[m.end():])}
    return bare | quoted


def owned_columns(data: pd.DataFrame, parsed: ParsedFormula, also=()) -> pd.DataFrame:
    """A copy of the columns the model uses (and of ``also``'s column names), row labels kept.

    The fit owns it: sorting, dropping or editing the caller's frame afterwards reaches no
    estimate, prediction or tidier. Checks that each column is there exactly once.
    """
    used = required_columns(parsed)
    for name, where in used.items():
        if name not in data.columns:
            hint = difflib.get_close_matches(name, [str(c) for c in data.columns], n=1)
            near = f"; did you mean {hint[0]!r}?" if hint else f"; the columns are {list(data.columns)}"
            raise DataError(f"column {name!r} (in {where}) is not in the data{near}")
    names = set(used) | value_columns(parsed) | {a for a in also if isinstance(a, str)}
    twice = sorted({str(c) for c in data.columns[data.columns.duplicated()] if c in names})
    if twice:
        raise DataError(f"the data have more than one column named {twice[0]!r}; rename or drop "
                        "the others, so that the formula names one column")
    keep = [c for c in data.columns if c in names]
    out = data.copy(deep=False) if len(keep) == data.shape[1] else data.loc[:, keep]
    if not _COPY_ON_WRITE:
        out = out.copy()  # pandas 3 shares the columns until either frame writes to them
    out.attrs = dict(data.attrs)
    return out


_COPY_ON_WRITE = int(pd.__version__.split(".")[0]) >= 3


def as_float_columns(data: pd.DataFrame, names) -> pd.DataFrame:
    """``data`` with each numeric column of ``names`` in float64 (a shallow copy).

    A transform of an integer column (``I(x**3)`` on uint8, ``I(x*x)`` on int32) would
    otherwise wrap around: R computes every number in double, and so does lmmplot, whatever
    the dtype (numpy, pandas nullable, polars). Datetimes are refused with how to convert them.
    """
    out = None
    names = set(names)
    for name, dtype in data.dtypes.items():  # by dtype: no column is taken out unless converted
        if name not in names or dtype == np.float64:
            continue  # a name not in the data: the caller's own check names what is missing
        kind = dtype.kind
        if kind in "mM" or isinstance(dtype, pd.DatetimeTZDtype):
            how = (f"(data[{name!r}] - data[{name!r}].min()).dt.days" if kind != "m"
                   else f"data[{name!r}].dt.total_seconds()")
            raise DataError(f"column {name!r} is a {'duration' if kind == 'm' else 'date-time'} "
                            f"({dtype}); the formula needs a number: convert it first, e.g. "
                            f"to days since the first with {how}")
        if pd.api.types.is_bool_dtype(dtype) or not pd.api.types.is_numeric_dtype(dtype):
            continue
        if out is None:
            out = data.copy(deep=False)
        out[name] = data[name].to_numpy(dtype=np.float64, na_value=np.nan)
    return data if out is None else out


def predict_rows(predict, new: pd.DataFrame, columns) -> np.ndarray:
    """``predict(rows)`` on the rows of ``new`` complete in ``columns``; NaN, with a warning, elsewhere."""
    columns = set(columns)
    missing = {c: new[c].isna().to_numpy() for c in new.columns if c in columns}
    incomplete = np.logical_or.reduce([np.zeros(len(new), bool), *missing.values()])
    out = np.full(len(new), np.nan)
    if incomplete.any():
        counts = {c: int(n.sum()) for c, n in missing.items() if n.any()}
        warnings.warn(f"{int(incomplete.sum())} of {len(new)} rows of newdata have missing values "
                      f"(in {counts}): predicted as NaN", MissingDataWarning, stacklevel=3)
        new = new.loc[~incomplete]
    if len(new):
        out[~incomplete] = predict(new)
    return out


def _variables(text: str, where: str) -> set[str]:
    try:
        return set(_text_variables(text))
    except Exception as exc:  # formulaic raises several types
        raise FormulaError(f"cannot read {where!r}: {exc}") from None


@lru_cache(maxsize=512)
def _text_variables(text: str) -> frozenset[str]:
    """The data names formula text ``text`` uses, read once per text (a pure function)."""
    found = set(formulaic_formula(text).required_variables)
    # formulaic reports `total.fruits` by its root, total: name the column itself
    quoted = set(re.findall(r"`([^`]+)`", text))
    return frozenset((found - {q.split(".")[0] for q in quoted} - set(R_FUNCTIONS)) | quoted)


@dataclass(frozen=True)
class FormulaVariables:
    """The data columns a model's formula uses, by role, each in the order the formula names them.

    Attributes
    ----------
    response, fixed, random : tuple of str
        Columns of the response, of the fixed part and of the random terms' left-hand sides.
    groups : dict
        Each grouping factor, named as lme4 names it (``Subject``, ``doctor:hospital``), to its
        columns.
    """

    response: tuple[str, ...]
    fixed: tuple[str, ...]
    random: tuple[str, ...]
    groups: dict[str, tuple[str, ...]]


def formula_variables(parsed: ParsedFormula) -> FormulaVariables:
    """The columns ``parsed`` uses, by role (see :class:`FormulaVariables`)."""

    def ordered(text: str, where: str) -> tuple[str, ...]:
        return tuple(sorted(_variables(text, where), key=lambda name: (text.find(name), name)))

    random_text = " + ".join(t.expr for t in parsed.random)
    groups = {t.group: tuple(v.strip("`") for v in t.group_vars) for t in parsed.random}
    return FormulaVariables(ordered(parsed.response, parsed.response), ordered(parsed.fixed, parsed.fixed),
                            ordered(random_text, random_text) if parsed.random else (), groups)


def design_frame(fixed: FixedDesign, newdata=None) -> pd.DataFrame:
    """The fixed-effects matrix X for the fit's rows or for ``newdata``, columns named as R names them."""
    X = fixed.X if newdata is None else fixed.new_X(as_pandas(newdata, "newdata"))
    index = None if newdata is None else getattr(newdata, "index", None)
    return pd.DataFrame(X, columns=fixed.columns, index=index)


def term_rows(term: RandomTerm, data: pd.DataFrame) -> np.ndarray:
    """A random term's model rows (n × p) for ``data``, encoded as in the fit."""
    return np.asarray(_materialize(term.model_spec, data, f"the random term {term.spec.source}"), float)


def complete_rows(data: pd.DataFrame, parsed: ParsedFormula,
                  extra: dict[str, np.ndarray] | None = None) -> tuple[pd.DataFrame, np.ndarray]:
    """Check the columns exist and drop rows with missing values, with a warning.

    ``extra`` holds per-row arrays given beside the formula (weights, offset), checked alike.
    """
    if data.shape[0] == 0:
        raise DataError("data has no rows")
    used = required_columns(parsed)
    cols = [c for c in data.columns if c in used]
    missing = data[cols].isna()
    for name, values in (extra or {}).items():
        missing[name] = pd.isna(values)
        cols.append(name)
    keep = ~missing.any(axis=1).to_numpy()
    response_cols = _variables(parsed.response, parsed.response)
    if response_cols and missing[list(response_cols)].all(axis=None):
        raise DataError(f"the response {parsed.response!r} is missing in every row")
    dropped = int((~keep).sum())
    if dropped == keep.size:
        raise DataError(f"every row has a missing value in one of {cols}")
    if dropped:
        counts = {c: int(n) for c, n in missing.sum().items() if n}
        warnings.warn(
            f"{dropped} of {keep.size} rows dropped for missing values (in {counts})",
            MissingDataWarning,
            stacklevel=3,
        )
        return data.loc[keep], keep
    return data, keep


def row_values(value, data: pd.DataFrame, what: str) -> np.ndarray | None:
    """A per-row argument (``weights=``, ``offset=``) as float64: a column name or an array."""
    if value is None:
        return None
    if isinstance(value, str):
        if value not in data.columns:
            raise DataError(f"{what}={value!r} is not a column of the data")
        value = data[value]
    try:
        if isinstance(value, pd.Series):
            value = value.to_numpy(dtype=float, na_value=np.nan)
        out = np.asarray(value, dtype=float).ravel()
    except (TypeError, ValueError):
        raise DataError(f"{what} must be numeric") from None
    if out.shape != (data.shape[0],):
        raise DataError(f"{what} has {out.size} values for {data.shape[0]} rows of data")
    return out


def formula_offset(parsed: ParsedFormula, data: pd.DataFrame) -> np.ndarray | None:
    """The sum of the formula's offset(...) terms on ``data`` (None without any)."""
    total = None
    for text in parsed.offsets:
        mm = _materialize(formulaic_formula(f"0 + {text}"), data, f"offset({text})")
        values = np.asarray(mm, dtype=float)
        if values.ndim != 2 or values.shape[1] != 1:
            raise DataError(f"offset({text}) must be one numeric column")
        _check_finite(values, [f"offset({text})"])
        total = values[:, 0] if total is None else total + values[:, 0]
    return total


def factor(values, *args, **kwargs):
    """R's factor(): whole numbers as integers, so that levels read as R prints them (1, not 1.0)."""
    arr = np.asarray(values)
    if arr.dtype.kind == "f" and arr.size and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)) \
            and np.abs(arr).max() < 2.0**53:
        values = pd.Series(arr.astype(np.int64), index=getattr(values, "index", None))
    return C(values, *args, **kwargs)


# R's names for what formulaic offers under others, so R formulas read as users write them
R_FUNCTIONS = {"factor": factor, "cbind": np.column_stack, "sqrt": np.sqrt, "exp": np.exp, "log10": np.log10,
               "log2": np.log2,
               "log1p": np.log1p, "abs": np.abs}


def _materialize(spec, data: pd.DataFrame, where: str):
    """formulaic's model matrix (numpy-backed: a third faster than pandas for small data).

    With a fitted ``spec`` (new data), a level of a factor that the fit has not seen is an
    error naming the column and the levels: formulaic would encode it as the reference level.
    A fitted spec of columns looked up by name is encoded by :func:`lookup_matrix`.
    """
    try:
        if isinstance(spec, ModelSpec):  # new data: its numbers in double too, whichever path it came by
            fast = lookup_matrix(spec, data)
            if fast is not None:
                return fast
            data = as_float_columns(data, [c for c, d in data.dtypes.items() if d.kind not in "mM"])
            with warnings.catch_warnings():
                warnings.simplefilter("error", DataMismatchWarning)
                try:
                    return spec.get_model_matrix(data, na_action="ignore", context=R_FUNCTIONS)
                except DataMismatchWarning as exc:
                    raise DataError(_unseen_levels(spec, data, where, exc)) from None
        return model_matrix(spec, data, na_action="ignore", context=R_FUNCTIONS, output="numpy",
                            materializer=RMaterializer,
                            materializer_params={"ordered": ordered_levels(data)})
    except DataError:
        raise
    except Exception as exc:  # formulaic raises many types, all about what the user wrote
        raise DataError(f"cannot build {where} from the data: {exc}") from None


def factor_values(spec: ModelSpec, data: pd.DataFrame):
    """Each categorical factor of ``spec`` evaluated on ``data`` as the formula writes it
    (``C(x, Sum)``, ``factor(n + 1)``, a factor inside an interaction): yields its name, its
    values (a Series), the data columns it reads and its levels in the fit."""
    env = spec.get_materializer(data, context=R_FUNCTIONS).layered_context
    for name, (kind, state) in spec.encoder_state.items():
        if "categories" not in state:
            continue
        read = set()
        try:
            values = stateful_eval(name, env, {}, {}, None, variables=read)
        except Exception:  # noqa: BLE001 (a factor that cannot be evaluated alone)
            continue
        values = pd.Series(np.asarray(getattr(values, "__wrapped__", values)).ravel())
        yield name, values, sorted(str(v) for v in read if v.source == "data"), state["categories"]


def _unseen_levels(spec: ModelSpec, data: pd.DataFrame, where: str, exc: Warning) -> str:
    """The message for new data with factor levels the fit has not seen, each factor named
    with the columns it reads."""
    found = []
    for name, values, columns, categories in factor_values(spec, data):
        known = {label(c) for c in categories}
        new = sorted({label(v) for v in values.dropna().unique()} - known)
        if new:
            named = repr(name) if columns == [name] else f"{name!r} (from column {', '.join(map(repr, columns))})"
            found.append(f"{named} has levels {new[:5]} not in the fit (its levels: {sorted(known)[:10]})")
    what = "; ".join(found) if found else str(exc).split(":", 1)[-1].split(". They")[0].strip()
    return (f"newdata cannot be encoded for {where}: {what}. lme4 stops here too; predict only "
            "levels the model was fitted to")


def fixed_design(parsed: ParsedFormula, data: pd.DataFrame, response: bool = True) -> FixedDesign:
    """The response vector and the full-rank fixed-effects matrix.

    With ``response=False`` only X is built (``y`` is then None): a GLMM reads its response
    itself, as its family takes it (factors, logicals, ``cbind(successes, failures)``).
    """
    if not response:
        rhs = _materialize(formulaic_formula(parsed.fixed), data, f"the fixed effects {parsed.fixed!r}")
        return _full_rank_design(None, rhs)
    response = parsed.response.strip()
    if response in data.columns and not pd.api.types.is_numeric_dtype(data[response]):
        raise DataError(f"the response {response!r} must be numeric, not {data[response].dtype}")
    if response in data.columns and pd.api.types.is_bool_dtype(data[response]):
        raise DataError(f"the response {response!r} must be numeric, not boolean")
    both = _materialize(formulaic_formula(f"{response} ~ {parsed.fixed}"), data,
                        f"the response {response!r} and fixed effects {parsed.fixed!r}")
    lhs, rhs = both.lhs, both.rhs
    if lhs.shape[1] != 1:
        raise DataError(f"the response {response!r} must be one numeric column")
    y = np.asarray(lhs, dtype=float).ravel()
    _check_finite(y, [response])
    return _full_rank_design(y, rhs)


def _full_rank_design(y: np.ndarray | None, rhs) -> FixedDesign:
    """X from formulaic's matrix, with the columns that earlier ones span dropped (warned)."""
    X = np.asarray(rhs, dtype=float)
    columns = list(rhs.model_spec.column_names)
    _check_finite(X, columns)
    names = coef_names(columns, rhs.model_spec.encoder_state)
    keep = full_rank_columns(X)
    dropped = [n for n, k in zip(names, keep) if not k]
    if dropped:
        warnings.warn(
            f"fixed-effect model matrix is rank deficient so dropping {len(dropped)} "
            f"column{'s' if len(dropped) > 1 else ''} / coefficient{'s' if len(dropped) > 1 else ''}"
            f" ({', '.join(dropped)})",
            UserWarning,
            stacklevel=4,
        )
    return FixedDesign(
        y, X[:, keep], [n for n, k in zip(names, keep) if k], rhs.model_spec, keep, dropped
    )


def _check_finite(values: np.ndarray, names: list[str]) -> None:
    bad = ~np.isfinite(values)
    if bad.any():
        cols = bad.reshape(values.shape[0], -1).any(axis=0)
        which = [n for n, b in zip(names, cols) if b]
        raise DataError(f"infinite or undefined values in {which}: remove or fix those rows")


def full_rank_columns(X: np.ndarray, tol: float = 1e-7) -> np.ndarray:
    """Which columns to keep: each column that earlier ones already span is dropped (as R's qr).

    A QR factorization without pivoting shows the first dependent column as a tiny diagonal
    entry of R; drop it and factor again, until none is left.
    """
    keep = np.ones(X.shape[1], dtype=bool)
    norms = np.linalg.norm(X, axis=0)
    keep &= norms > 0
    while keep.any():
        idx = np.flatnonzero(keep)
        diag = np.zeros(idx.size)  # with fewer rows than columns, the columns past the rows are spanned
        R = np.linalg.qr(X[:, idx], mode="r")
        diag[: min(R.shape)] = np.abs(np.diag(R))
        ratio = diag / norms[idx]
        bad = np.flatnonzero(ratio <= tol)
        if bad.size == 0:
            break
        keep[idx[bad[0]]] = False
    return keep


def random_terms(parsed: ParsedFormula, data: pd.DataFrame, residual: bool = True) -> list[RandomTerm]:
    """The random-effects terms on the data, in lme4's order, checked as lme4 checks them
    (``residual``: whether the model has a residual variance the checks protect)."""
    designs: dict[str, tuple] = {}  # terms with the same left-hand side share its rows
    terms = []
    for spec in parsed.random:
        if spec.expr not in designs:
            mm = _materialize(formulaic_formula(spec.expr), data, f"the random term {spec.source}")
            rows = np.asarray(mm, dtype=float)
            if rows.shape[1] == 0:
                raise FormulaError(f"random term {spec.source} has no effects")
            columns = list(mm.model_spec.column_names)
            _check_finite(rows, columns)
            designs[spec.expr] = (rows, coef_names(columns, mm.model_spec.encoder_state), mm.model_spec)
        rows, columns, model_spec = designs[spec.expr]
        codes, levels = group_codes(data, tuple(v.strip("`") for v in spec.group_vars))
        terms.append(RandomTerm(spec, levels, codes, rows, columns, model_spec))
    terms = lme4_order(terms)
    check_identifiable(terms, len(data), residual)
    return terms


def random_rows(term: RandomTerm, data: pd.DataFrame, allow_new_levels: bool,
                fixed: tuple[FixedDesign, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A term's model rows for new data and each row's level index (-1 for a new level).

    ``fixed``: the model's fixed design and its :meth:`FixedDesign.new_columns` on ``data``; a
    term whose columns are all among them (``(1 + x | g)`` beside ``~ x``) takes its rows from
    there: both specs were fitted to the same rows, so a column of the same name is the same.
    """
    shared = _shared_columns(term, fixed[0]) if fixed is not None else None
    rows = term_rows(term, data) if shared is None else fixed[1][:, shared]
    group_vars = tuple(v.strip("`") for v in term.spec.group_vars)
    codes = level_positions(data, group_vars, term.level_index, term.spec.source)
    if not allow_new_levels and (codes < 0).any():
        new = sorted(set(level_labels(data, group_vars, term.spec.source)[codes < 0]))[:5]
        raise DataError(
            f"new levels {new} of {term.group!r} in newdata; pass allow_new_levels=True "
            "to predict them at the population level"
        )
    return rows, codes


def _shared_columns(term: RandomTerm, fixed: FixedDesign) -> list[int] | None:
    """Where each of the term's columns is among the fixed spec's (by formulaic's names), or None."""
    names = {name: k for k, name in enumerate(fixed.spec.column_names)}
    found = [names.get(name) for name in term.model_spec.column_names]
    return None if None in found else found


def level_labels(data: pd.DataFrame, group_vars: tuple[str, ...], where: str) -> np.ndarray:
    """The grouping level of each row, labelled as in the fit (``A``, ``308``, ``1:1``)."""
    codes, labels = _distinct_levels(data, group_vars, where)
    return labels[codes]


def level_positions(data: pd.DataFrame, group_vars: tuple[str, ...], levels: pd.Index, where: str) -> np.ndarray:
    """Each row's position among the fit's level labels ``levels`` (-1 for a level not there),
    each distinct level labelled and looked up once."""
    codes, labels = _distinct_levels(data, group_vars, where)
    position = dict(zip(levels.tolist(), range(len(levels))))  # pandas' get_indexer costs more on few labels
    return np.array([position.get(v, -1) for v in labels], np.intp)[codes]


def _distinct_levels(data: pd.DataFrame, group_vars: tuple[str, ...], where: str) -> tuple[np.ndarray, np.ndarray]:
    """Each row's index among its distinct grouping levels, and their labels as in the fit."""
    codes, labels = [], []
    for name in group_vars:
        if name not in data.columns:
            raise DataError(f"column {name!r} (grouping factor in {where}) is not in newdata")
        code, uniques = pd.factorize(data[name])  # label each distinct value once; -1 is missing
        codes.append(np.where(code < 0, len(uniques), code))
        labels.append(np.array([label(u) for u in uniques] + ["\0NA"], dtype=object))
    if len(codes) == 1:
        return codes[0], labels[0]
    combos, inverse = np.unique(np.stack(codes, axis=1), axis=0, return_inverse=True)
    joined = [":".join(part[k] for part, k in zip(labels, combo)) for combo in combos]
    return inverse.ravel(), np.array(joined, dtype=object)
