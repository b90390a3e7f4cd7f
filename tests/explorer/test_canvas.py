"""The explorer's canvas draws each figure as plotnine draws it, and redraws only what moved.

Every image is compared with plotnine's own rendering of the same plot (``ggplot.save`` at the
same size), by matplotlib's RMS image comparison at the image tests' tolerance.
"""
from __future__ import annotations

import io
import struct

import pytest
from matplotlib.testing.compare import compare_images
from plotnine import theme_bw

import lmmplot as lp
from lmmplot.explorer.canvas import Canvas

WIDTH, HEIGHT, DPI = 9, 6, 80
TOLERANCE = 2


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def matches_plotnine(image: bytes, plot, tmp_path, name: str) -> None:
    ours, theirs = tmp_path / f"{name}.png", tmp_path / f"{name}-plotnine.png"
    ours.write_bytes(image)
    buffer = io.BytesIO()
    plot.save(buffer, format="png", width=WIDTH, height=HEIGHT, dpi=DPI, verbose=False)
    theirs.write_bytes(buffer.getvalue())
    assert png_size(image) == (WIDTH * DPI, HEIGHT * DPI)
    assert compare_images(str(theirs), str(ours), tol=TOLERANCE) is None


@pytest.fixture(scope="module")
def sleep():
    return lp.load_dataset("sleepstudy")


def same_image(a: bytes, b: bytes, tmp_path) -> bool:
    (tmp_path / "a.png").write_bytes(a)
    (tmp_path / "b.png").write_bytes(b)
    return compare_images(str(tmp_path / "a.png"), str(tmp_path / "b.png"), tol=TOLERANCE) is None


def test_moving_lines_are_redrawn_alone_and_the_image_is_plotnines(sleep, tmp_path):
    canvas = Canvas(WIDTH, HEIGHT, DPI, moving="partial pooling")
    image = canvas.render(lp.plot_pooling(lp.lmer("Reaction ~ Days + (1 + Days|Subject)", sleep)))
    # only the partial-pooling lines move, within the y range of the rest: no full draw
    second = lp.plot_pooling(lp.lmer("Reaction ~ Days + (1 + Days||Subject)", sleep))
    moved = canvas.render(second)
    assert canvas.full_draws == 1 and moved != image
    matches_plotnine(moved, second, tmp_path, "second")  # eighteen panels, each line in its own
    # and back: the first image again
    again = canvas.render(lp.plot_pooling(lp.lmer("Reaction ~ Days + (1 + Days|Subject)", sleep)))
    assert canvas.full_draws == 1 and same_image(again, image, tmp_path)


def test_lines_leaving_the_y_range_draw_in_full(sleep):
    canvas = Canvas(WIDTH, HEIGHT, DPI, moving="partial pooling")
    canvas.render(lp.plot_pooling(lp.lmer("Reaction ~ Days + (1 + Days|Subject)", sleep), facet=False))
    # subject 309's random-intercept line reaches below every point: the y axis grows
    canvas.render(lp.plot_pooling(lp.lmer("Reaction ~ Days + (1|Subject)", sleep), facet=False))
    assert canvas.full_draws == 2


def test_any_other_change_draws_in_full(sleep):
    canvas = Canvas(WIDTH, HEIGHT, DPI, moving="partial pooling")
    model = lp.lmer("Reaction ~ Days + (1 + Days|Subject)", sleep)
    canvas.render(lp.plot_pooling(model, facet=False))
    canvas.render(lp.plot_pooling(model, facet=False, lines=["partial pooling"]))  # other layers
    canvas.render(lp.plot_pooling(model, facet=False, lines=["partial pooling"]) + theme_bw())  # same layers
    assert canvas.full_draws == 3
    canvas.render(lp.plot_pooling(model, facet=False, lines=["partial pooling"]))
    assert canvas.full_draws == 4


def test_colour_by_a_factor(tmp_path):
    dragons = lp.load_dataset("dragons")
    canvas = Canvas(WIDTH, HEIGHT, DPI, moving="partial pooling")
    fits = [lp.lmer(f"intelligence ~ wingspan * scales + {re}", dragons)
            for re in ("(1 + wingspan|mountain)", "(1 + wingspan||mountain)")]
    plots = [lp.plot_pooling(m, colour="scales") for m in fits]
    images = [canvas.render(p) for p in plots]
    assert canvas.full_draws == 1
    matches_plotnine(images[1], plots[1], tmp_path, "dragons")


def test_explorer_holds_the_y_axis_so_every_switch_redraws_the_lines_alone(sleep, tmp_path):
    ex = lp.explore(sleep, response="Reaction", x="Days", group="Subject", facet="overlaid")
    images = {}
    for structure in ("intercepts", "slopes", "uncorrelated", "intercepts + slopes"):
        for REML in (False, True):
            ex.controls["REML"].value = REML
            ex.controls["structure"].value = structure
            images[structure, REML] = ex._image.value
    draws = lambda: sum(c.full_draws for c in ex._canvases.values())  # noqa: E731
    assert draws() == 1 and len(set(images.values())) == 8
    # random intercepts: subject 309's line below every point, drawn within the held axis
    ex.controls["structure"].value = "intercepts"
    matches_plotnine(ex._image.value, ex.figure, tmp_path, "intercepts")
    # other lines: drawn in full once, then switching structure on them is lines-only again
    ex.controls["layers"].value = ("partial pooling",)
    ex.controls["structure"].value = "slopes"
    assert draws() == 2
    matches_plotnine(ex._image.value, ex.figure, tmp_path, "slopes")
    ex.controls["layers"].value = ("complete pooling", "no pooling", "partial pooling")
    assert draws() == 2 and ex._image.value == images["slopes", True]
