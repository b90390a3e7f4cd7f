"""R's codings of factors for formulaic: what R does to a column by its type alone.

An ordered factor gets R's polynomial contrasts (``contr.poly``: columns ``.L``, ``.Q``, ``.C``,
``^4`` ...) and a logical column is a factor with levels FALSE and TRUE, wherever it appears in
a formula. The levels of each ordered column are kept in the model spec, so that new data are
coded as the training data were.
"""
from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from formulaic import ModelSpec
from formulaic.materializers import PandasMaterializer
from formulaic.parser.types import Factor
from formulaic.transforms import C
from formulaic.transforms.contrasts import PolyContrasts, TreatmentContrasts
from interface_meta import override

LOGICAL = pd.CategoricalDtype([False, True])


def ordered_levels(data: pd.DataFrame) -> dict[str, list]:
    """The levels of each ordered categorical column of ``data``."""
    return {str(name): list(col.cat.categories) for name, col in data.items()
            if isinstance(col.dtype, pd.CategoricalDtype) and col.cat.ordered}


class RMaterializer(PandasMaterializer):
    """formulaic's pandas materializer, with R's coding of ordered and logical columns.

    ``ordered`` (a materializer parameter, stored in the model spec) maps each ordered
    column to its levels.
    """

    REGISTER_NAME = "lmmplot"
    REGISTER_INPUTS = ()

    @override
    def _lookup(self, name: str):
        values, variables = super()._lookup(name)
        if isinstance(values, pd.Series):
            levels = self.params.get("ordered", {}).get(name)
            if levels is not None:
                values = C(values, PolyContrasts(), levels=levels)
            elif pd.api.types.is_bool_dtype(values.dtype):
                values = values.astype(LOGICAL)
        return values, variables


def lookup_matrix(spec: ModelSpec, data: pd.DataFrame) -> np.ndarray | None:
    """The model matrix of a fitted ``spec`` on new ``data`` without formulaic's pass, where
    every factor is a column looked up by name: numeric, or a factor in treatment contrasts
    whose every value is a level of the fit, without missing values; None otherwise (then
    formulaic encodes it). Columns are built by formulaic's names and checked against the
    spec's, so that an encoding this cannot name falls back too."""
    if spec.materializer != RMaterializer.REGISTER_NAME or spec.transform_state or not spec.structure:
        return None
    values: dict[str, dict[bool, dict[str, np.ndarray]]] = {}
    for name, (kind, state) in spec.encoder_state.items():
        if name not in data.columns:
            return None
        column = data[name]
        numeric = pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)
        treatment = type(getattr(state.get("contrasts"), "contrasts", None)) is TreatmentContrasts
        if kind is Factor.Kind.NUMERICAL and not state and numeric:
            x = column.to_numpy(float, na_value=np.nan)
            if np.isnan(x).any():
                return None
            values[name] = {flag: {name: x} for flag in (False, True)}
        elif kind is Factor.Kind.CATEGORICAL and treatment and not numeric \
                and name not in spec.materializer_params.get("ordered", {}):
            levels = list(state["contrasts"].levels)
            if isinstance(column.dtype, pd.CategoricalDtype):  # each category looked up once
                codes = np.append(pd.Index(levels).get_indexer(column.cat.categories), -1)[column.cat.codes]
            else:
                codes = pd.Index(levels).get_indexer(column)
            if (codes < 0).any():
                return None
            contrasts, dummies = state["contrasts"].contrasts, np.eye(len(levels))[codes]
            values[name] = {}
            for reduced in (False, True):  # treatment coding: a column per level named, its indicator
                form = contrasts.get_factor_format(levels, reduced_rank=reduced)
                values[name][reduced] = {form.format(name=name, field=f): dummies[:, levels.index(f)]
                                         for f in contrasts.get_coding_column_names(levels, reduced_rank=reduced)}
        else:
            return None
    columns = []
    for structure in spec.structure:
        built: dict[str, np.ndarray] = {}
        for scoped in structure.scoped_terms:
            if not scoped.factors:
                built["Intercept"] = np.full(len(data), float(scoped.scale))
                continue
            parts = []
            for scoped_factor in scoped.factors:
                factor = scoped_factor.factor.factor
                if factor.eval_method is not Factor.EvalMethod.LOOKUP or factor.expr not in values:
                    return None
                parts.append(values[factor.expr][scoped_factor.reduced])
            for product in itertools.product(*(part.items() for part in reversed(parts))):  # formulaic's order
                product = product[::-1]
                built[":".join(p[0] for p in product)] = scoped.scale * np.prod([p[1] for p in product], axis=0)
        if set(built) != set(structure.columns):
            return None
        columns += [built[name] for name in structure.columns]
    return np.column_stack(columns) if columns else np.empty((len(data), 0))
