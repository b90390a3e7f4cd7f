"""``lmmplot demo``: the course chapter's summaries and figures, and a page showing them in order."""
from __future__ import annotations

import html
from pathlib import Path

FIGURE_SIZE = {"facets": (10, 6), "single": (6.4, 4.8)}  # inches, at 100 dpi


def write(out: Path, contents: dict[str, tuple[str, ...]], fits: dict, figure) -> list[Path]:
    """Write each model's summary (``NAME.txt``) and each figure (``NAME.png``) named in
    ``contents`` (section title -> names, in order) to ``out``, and ``index.html`` showing them
    section by section; ``figure(name, fits)`` draws a figure. Returns the files written."""
    out.mkdir(parents=True, exist_ok=True)
    written, body = [], []
    for title, names in contents.items():
        body.append(f"<h2>{html.escape(title)}</h2>")
        for name in names:
            if name in fits:
                path = out / f"{name}.txt"
                text = str(fits[name].summary())
                path.write_text(text + "\n")
                body.append(f"<h3><code>{html.escape(name)}</code>: <code>"
                            f"{html.escape(fits[name].formula.text)}</code></h3>"
                            f"<pre>{html.escape(text)}</pre>")
            else:
                path = out / f"{name}.png"
                plot = figure(name, fits)
                width, height = FIGURE_SIZE["facets" if _faceted(plot) else "single"]
                plot.save(path, width=width, height=height, dpi=100, verbose=False)
                body.append(f'<figure><img src="{html.escape(path.name)}" alt="{html.escape(name)}">'
                            f"<figcaption><code>{html.escape(name)}</code></figcaption></figure>")
            written.append(path)
    index = out / "index.html"
    index.write_text(PAGE.format(body="\n".join(body)))
    return [*written, index]


def _faceted(plot) -> bool:
    from plotnine.facets.facet_null import facet_null

    return not isinstance(plot.facet, facet_null)


def run(args) -> None:
    from .. import chapter

    fits = chapter.models()
    for path in write(Path(args.out), chapter.CONTENTS, fits, chapter.figure):
        print(path)


PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Fitting mixed models, with lmmplot</title>
<style>
body {{ font-family: sans-serif; max-width: 64em; margin: 2em auto; padding: 0 1em; }}
pre {{ background: #f6f6f6; padding: 0.8em; overflow-x: auto; }}
img {{ max-width: 100%; }}
figcaption {{ color: #555; font-size: 0.9em; }}
</style>
</head>
<body>
<h1>Fitting mixed models, with lmmplot</h1>
<p>The models and figures of the course chapter <em>Fitting mixed models</em> (University of
Cambridge Bioinformatics Training Facility, <em>Mixed effects models</em>, CC BY 4.0), in the
chapter's order, made by <code>lmmplot demo</code>.</p>
{body}
</body>
</html>
"""
