"""The explorer's canvas draws each figure as plotnine draws it, and redraws only what moved.

Every image is compared with plotnine's own rendering of the same plot (``ggplot.save`` at the
same size), by matplotlib's RMS image comparison at the image tests' tolerance.
"""
from __future__ import annotations

import gc
import io
import struct

import pytest
from matplotlib.testing.compare import compare_images
from plotnine import theme_bw

import lmmplot as lp
from lmmplot.explorer.canvas import Canvas

WIDTH, HEIGHT, DPI = 9, 6, 80
TOLERANCE = 2
LINES = ("complete pooling", "no pooling", "partial pooling")
YLIM = (150.0, 500.0)


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
    canvas = Canvas(WIDTH, HEIGHT, DPI)
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
    canvas = Canvas(WIDTH, HEIGHT, DPI)
    canvas.render(lp.plot_pooling(lp.lmer("Reaction ~ Days + (1 + Days|Subject)", sleep), facet=False))
    # subject 309's random-intercept line reaches below every point: the y axis grows
    canvas.render(lp.plot_pooling(lp.lmer("Reaction ~ Days + (1|Subject)", sleep), facet=False))
    assert canvas.full_draws == 2


def test_any_other_change_draws_in_full(sleep):
    canvas = Canvas(WIDTH, HEIGHT, DPI)
    model = lp.lmer("Reaction ~ Days + (1 + Days|Subject)", sleep)
    canvas.render(lp.plot_pooling(model, facet=False))
    canvas.render(lp.plot_pooling(model, facet=False, lines=["partial pooling"]))  # other layers
    canvas.render(lp.plot_pooling(model, facet=False, lines=["partial pooling"]) + theme_bw())  # same layers
    assert canvas.full_draws == 3
    canvas.render(lp.plot_pooling(model, facet=False, lines=["partial pooling"]))
    assert canvas.full_draws == 4


def test_colour_by_a_factor(tmp_path):
    dragons = lp.load_dataset("dragons")
    canvas = Canvas(WIDTH, HEIGHT, DPI)
    fits = [lp.lmer(f"intelligence ~ wingspan * scales + {re}", dragons)
            for re in ("(1 + wingspan|mountain)", "(1 + wingspan||mountain)")]
    plots = [lp.plot_pooling(m, colour="scales") for m in fits]
    images = [canvas.render(p) for p in plots]
    assert canvas.full_draws == 1
    matches_plotnine(images[1], plots[1], tmp_path, "dragons")
    # two legends, both with the lines' keys: the pooling entries and the lines in both hidden
    canvas.render(lp.plot_pooling(fits[0], colour="scales", facet=False, ylim=(0.0, 150.0)))
    plot = lp.plot_pooling(fits[1], colour="scales", facet=False, ylim=(0.0, 150.0),
                           lines=("complete pooling", "partial pooling"))
    matches_plotnine(canvas.render(plot), plot, tmp_path, "dragons-overlaid")
    assert canvas.full_draws == 2


def test_lines_hidden_on_the_kept_drawing_with_their_legend_entries(sleep, tmp_path):
    canvas = Canvas(WIDTH, HEIGHT, DPI)
    first, other = (lp.lmer(f"Reaction ~ Days + {re}", sleep) for re in ("(1 + Days|Subject)", "(1|Subject)"))
    canvas.render(lp.plot_pooling(first, facet=False, ylim=YLIM))
    assert canvas.labels == LINES
    # with "complete pooling" shown the legend is as wide: lines, entries and keys drawn on the copy
    for lines in [("complete pooling",), ("complete pooling", "partial pooling"), ("complete pooling", "no pooling")]:
        plot = lp.plot_pooling(other, facet=False, ylim=YLIM, lines=lines)
        assert canvas.can_render(plot)
        matches_plotnine(canvas.render(plot), plot, tmp_path, "+".join(name[0] for name in lines))
    assert canvas.full_draws == 1
    # without it the legend is narrower and the panel wider: drawn in full, and that drawing
    # serves every choice with a legend as wide
    layouts = {lines: canvas.layout(lines) for lines in [LINES, ("no pooling", "partial pooling"),
                                                          ("partial pooling",), ("no pooling",), ()]}
    assert layouts[("no pooling", "partial pooling")] == layouts[("partial pooling",)] != layouts[LINES]
    assert len(set(layouts.values())) == 4 and layouts[()] is None  # no legend at all
    narrower = lp.plot_pooling(first, facet=False, ylim=YLIM, lines=("no pooling", "partial pooling"))
    assert not canvas.can_render(narrower)
    canvas.render(narrower)
    alone = lp.plot_pooling(other, facet=False, ylim=YLIM, lines=("partial pooling",))
    matches_plotnine(canvas.render(alone), alone, tmp_path, "p")
    assert canvas.full_draws == 2


def test_per_group_lines_hidden_and_moved(sleep, tmp_path):
    canvas = Canvas(WIDTH, HEIGHT, DPI)
    canvas.render(lp.plot_pooling(lp.lmer("Reaction ~ Days + (1 + Days|Subject)", sleep), ylim=YLIM))
    # the complete-pooling line is the same line in every panel; the partial-pooling lines move
    plot = lp.plot_pooling(lp.lmer("Reaction ~ Days + (0 + Days|Subject)", sleep), ylim=YLIM,
                           lines=("complete pooling", "partial pooling"))
    matches_plotnine(canvas.render(plot), plot, tmp_path, "per-group")
    assert canvas.full_draws == 1


def test_explorer_draws_ahead_so_that_no_click_waits_for_a_full_draw(sleep, tmp_path):
    few = sleep[sleep["Subject"].isin([308, 309, 310, 330, 331, 332])].copy()  # six panels draw faster
    few["Subject"] = few["Subject"].cat.remove_unused_categories()
    ex = lp.explore(few, response="Reaction", x="Days", group="Subject", facet="overlaid")
    ex.draw_ahead()  # the canvases of the other panels setting and of every choice of lines
    draws = lambda: sum(c.full_draws for canvases in ex._canvases.values() for c in canvases)  # noqa: E731
    drawn = draws()
    assert [len(ex._canvases[facet]) for facet in ("per group", "overlaid")] == [4, 4]
    images = {}
    for structure in ("intercepts", "slopes", "uncorrelated", "intercepts + slopes"):
        for REML in (False, True):
            ex.controls["REML"].value = REML
            ex.controls["structure"].value = structure
            images[structure, REML] = ex._image.value
    assert len(set(images.values())) == 8
    ex.controls["structure"].value = "intercepts"
    matches_plotnine(ex._image.value, ex.figure, tmp_path, "intercepts")
    ex.controls["layers"].value = ("partial pooling",)
    ex.controls["structure"].value = "slopes"
    matches_plotnine(ex._image.value, ex.figure, tmp_path, "slopes")
    ex.controls["layers"].value = LINES
    assert ex._image.value == images["slopes", True]
    ex.controls["facet"].value = "per group"
    ex.controls["layers"].value = ("no pooling",)
    matches_plotnine(ex._image.value, ex.figure, tmp_path, "no-pooling")
    for lines in [(), ("complete pooling",), ("no pooling", "partial pooling"), LINES]:
        ex.controls["layers"].value = lines
    assert draws() == drawn


def test_drawn_canvases_are_kept_out_of_full_garbage_collections_until_an_explorer_opens(sleep):
    few = sleep[sleep["Subject"].isin([308, 309])].copy()
    few["Subject"] = few["Subject"].cat.remove_unused_categories()
    try:
        ex = lp.explore(few, response="Reaction", x="Days", group="Subject")
        ex.draw_ahead()
        assert gc.get_freeze_count() > 10_000  # the canvases' figures: full collections skip them
        ex.controls["structure"].value = "intercepts"
        assert gc.get_freeze_count() > 10_000  # a click keeps them frozen
        lp.explore(few, response="Reaction", x="Days", group="Subject", structure="intercepts")
        assert gc.get_freeze_count() == 0  # a new explorer: the old one's objects can be freed
    finally:
        gc.unfreeze()
