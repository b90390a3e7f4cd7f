"""``lmmplot fit``: one model, its summary, its tidy and augment tables and a figure."""
from __future__ import annotations

from pathlib import Path

from . import CommandError

MAX_COLOURS = 12  # the fitted lines are coloured by their group when it has no more levels
READERS = {".csv": "read_csv", ".parquet": "read_parquet", ".pq": "read_parquet"}


def read_data(spec: str):
    """A bundled dataset by name, or a .csv / .parquet file by path."""
    import pandas as pd

    from ..datasets import list_datasets, load_dataset

    path = Path(spec)
    if path.suffix.lower() not in READERS:
        if spec in list_datasets() or not path.suffix:
            return load_dataset(spec)
        raise CommandError(f"cannot read {spec!r}: the data must be a bundled dataset's name, "
                           "a .csv or a .parquet file")
    if not path.is_file():
        raise CommandError(f"no such file: {spec!r}")
    try:
        data = getattr(pd, READERS[path.suffix.lower()])(path)
    except ImportError as error:  # Parquet needs pyarrow (or fastparquet)
        raise CommandError(f"cannot read {spec!r}: {error}") from None
    except (ValueError, OSError) as error:  # pandas' ParserError and EmptyDataError are ValueErrors
        raise CommandError(f"cannot read {spec!r}: {str(error).splitlines()[0]}") from None
    data.attrs["name"] = path.stem  # summary() prints it as lme4 prints the data's name
    return data


def figure(model):
    """The pooling plot for one grouping factor and a numeric predictor; else the fitted lines
    (points over a categorical x) of the model's first predictor, coloured by the first grouping
    factor if it has few levels; else the random effects."""
    from plotnine import aes, geom_point, ggplot

    from ..plotting.frames import roles
    from ..plotting.layers import geom_fitted
    from ..plotting.pooling import plot_pooling
    from ..plotting.ranef import plot_ranef

    parts = roles(model)
    if len(parts.groups) == 1 and parts.numeric:
        return plot_pooling(model)
    if not parts.predictors:
        return plot_ranef(model)
    x = (parts.numeric or parts.categorical)[0]
    mapping = aes(x, model.formula.response)
    group = next(iter(parts.groups.values()))
    if len(group) == 1 and model.frame[group[0]].nunique() <= MAX_COLOURS:
        mapping = aes(x, model.formula.response, colour=group[0])
    return ggplot(model.frame, mapping) + geom_point(alpha=0.6) + geom_fitted(model)


def save_figure(model, path) -> None:
    """Write :func:`figure` of ``model`` to ``path``: 10 × 6 inches at 100 dpi."""
    figure(model).save(path, width=10, height=6, dpi=100, verbose=False)


def prepare_figure() -> None:
    """Import what :func:`figure` draws with and draw a small faceted plot, whose first-use costs
    (fonts, tick machinery, plotnine's and matplotlib's caches) the figure then need not pay."""
    import io

    import pandas as pd
    from plotnine import aes, facet_wrap, geom_line, geom_point, ggplot

    from ..plotting import layers, pooling, ranef  # noqa: F401 - the figures' modules

    data = pd.DataFrame({"x": [0.0, 1.0, 0.0, 1.0], "y": [0.0, 1.0, 1.0, 0.0], "g": ["a", "a", "b", "b"]})
    plot = ggplot(data, aes("x", "y", colour="g", linetype="g")) + geom_point() + geom_line() + facet_wrap("g")
    plot.save(io.BytesIO(), format="png", width=2, height=1.5, dpi=30, verbose=False)


def run(args) -> None:
    from ..model import lmer
    from ..tidiers import augment, tidy
    from .worker import Drawer

    data = read_data(args.data)
    with Drawer(save_figure, prepare_figure) as drawer:  # imports plotnine while the model is fitted
        model = lmer(args.formula, data, REML=not args.ml)
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        drawer.submit(model, out / "fit.png")
        print(model.summary(), flush=True)
        tidy(model).to_csv(out / "tidy.csv", index=False)
        augment(model).to_csv(out / "augment.csv", index=False)
        drawer.result()
