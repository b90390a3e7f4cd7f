"""R's codings of factors for formulaic: what R does to a column by its type alone.

An ordered factor gets R's polynomial contrasts (``contr.poly``: columns ``.L``, ``.Q``, ``.C``,
``^4`` ...) and a logical column is a factor with levels FALSE and TRUE, wherever it appears in
a formula. The levels of each ordered column are kept in the model spec, so that new data are
coded as the training data were.
"""
from __future__ import annotations

import pandas as pd
from formulaic.materializers import PandasMaterializer
from formulaic.transforms import C
from formulaic.transforms.contrasts import PolyContrasts
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
