"""``lmmplot fit``: one model, its summary, its tidy and augment tables and a figure."""
from __future__ import annotations

from pathlib import Path

from . import CommandError

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


def run(args) -> None:
    from ..model import lmer
    from ..tidiers import augment, tidy

    data = read_data(args.data)
    model = lmer(args.formula, data, REML=not args.ml)
    print(model.summary())
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tidy(model).to_csv(out / "tidy.csv", index=False)
    augment(model).to_csv(out / "augment.csv", index=False)
