"""The command line: ``lmmplot fit`` writes what it says; mistakes are one line and exit status 2."""
import subprocess
import sys

import matplotlib.image
import pandas as pd
import pytest
from plotnine.facets.facet_wrap import facet_wrap

import lmmplot as lp
from lmmplot.cli import main
from lmmplot.cli.fit import figure, save_figure

SLEEP = "Reaction ~ Days + (Days|Subject)"


def run_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "lmmplot", *args], capture_output=True, text=True, cwd=cwd)


@pytest.fixture(scope="module")
def sleep_model():
    return lp.lmer(SLEEP, lp.load_dataset("sleepstudy"))


@pytest.fixture(scope="module")
def fitted_out(tmp_path_factory):
    """``lmmplot fit`` of sleepstudy run once: its output directory and completed process."""
    out = tmp_path_factory.mktemp("fit")
    return out, run_cli("fit", SLEEP, "--data", "sleepstudy", "--out", str(out))


def test_fit_prints_the_summary_and_writes_its_tables(fitted_out, sleep_model):
    out, done = fitted_out
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(sleep_model.summary()).strip()
    tidy = pd.read_csv(out / "tidy.csv")
    expected = lp.tidy(sleep_model)
    assert list(tidy.columns) == list(expected.columns)
    pd.testing.assert_series_equal(tidy["estimate"], expected["estimate"], rtol=1e-12)
    augment = pd.read_csv(out / "augment.csv")
    assert len(augment) == 180 and augment[".fitted"].to_numpy() == pytest.approx(sleep_model.fitted())
    assert matplotlib.image.imread(out / "fit.png").shape[:2] == (600, 1000)


def test_the_figure_drawn_by_the_second_process_is_the_one_drawn_in_this_one(fitted_out, sleep_model, tmp_path):
    out, done = fitted_out
    assert done.returncode == 0, done.stderr
    save_figure(sleep_model, tmp_path / "here.png")
    assert (matplotlib.image.imread(out / "fit.png") == matplotlib.image.imread(tmp_path / "here.png")).all()


def test_a_figure_that_cannot_be_written_is_one_line_with_status_2(tmp_path):
    (tmp_path / "fit.png").mkdir()  # the figure's path is a directory
    out = run_cli("fit", SLEEP, "--data", "sleepstudy", "--out", str(tmp_path))
    assert out.returncode == 2
    assert out.stderr.startswith("lmmplot: error: cannot draw the figure: IsADirectoryError: ")
    assert out.stderr.count("\n") == 1 and "fit.png" in out.stderr
    assert out.stdout.startswith("Linear mixed model fit by REML")  # the summary and tables are written
    assert (tmp_path / "tidy.csv").exists() and (tmp_path / "augment.csv").exists()


def test_the_figure_is_the_pooling_plot_for_one_grouping_factor_and_a_numeric_x(sleep_model):
    plot = figure(sleep_model)
    assert isinstance(plot.facet, facet_wrap) and list(plot.facet.vars) == ["Subject"]
    assert {"complete pooling", "no pooling", "partial pooling"} <= set(plot.scales.get_scales("color").limits)


def test_otherwise_the_figure_draws_the_fitted_lines_of_the_first_predictor():
    crossed = lp.lmer("intelligence ~ wingspan + (1|mountain) + (1|scales)", lp.load_dataset("dragons"))
    irrigation = lp.lmer("yield ~ irrigation*variety + (1|field)", lp.load_dataset("irrigation"))
    for model, x in [(crossed, "wingspan"), (irrigation, "irrigation")]:
        plot = figure(model)
        assert plot.mapping["x"] == x and len(plot.layers) == 2  # the data's points, the fitted lines
        fitted = plot.layers[1].geom.data
        assert fitted[".fitted"].notna().all() and x in fitted


def test_a_mistake_is_one_line_with_status_2(tmp_path):
    out = run_cli("fit", SLEEP, "--data", "sleepstudi", "--out", str(tmp_path))
    assert out.returncode == 2
    assert out.stderr.startswith("lmmplot: error: no dataset 'sleepstudi'") and out.stderr.count("\n") == 1
    assert out.stdout == "" and not list(tmp_path.iterdir())


def test_data_from_csv_and_parquet_files(tmp_path, capsys, sleep_model):
    sleep = lp.load_dataset("sleepstudy")
    sleep.to_csv(tmp_path / "sleep.csv", index=False)
    sleep.to_parquet(tmp_path / "sleep.parquet")
    for name in ("sleep.csv", "sleep.parquet"):
        assert main(["fit", SLEEP, "--data", str(tmp_path / name), "--out", str(tmp_path / name[6:])]) == 0
        printed = capsys.readouterr().out
        assert "Data: sleep\n" in printed
        assert "REML criterion at convergence: 1743.6" in printed
        fitted = pd.read_csv(tmp_path / name[6:] / "augment.csv")[".fitted"]
        assert fitted.to_numpy() == pytest.approx(sleep_model.fitted(), rel=1e-6)


def test_ml_fits_by_maximum_likelihood(tmp_path, capsys):
    assert main(["fit", SLEEP, "--data", "sleepstudy", "--ml", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("Linear mixed model fit by maximum likelihood")
    assert "1751.9" in printed  # lme4: AIC 1763.9, deviance 1751.9


@pytest.mark.parametrize("formula, data, message", [
    (SLEEP, "nowhere/sleep.csv", "no such file: 'nowhere/sleep.csv'"),
    (SLEEP, "sleep.xlsx", "cannot read 'sleep.xlsx'"),
    ("Reaction ~ Days + (Days|Subject", "sleepstudy", "unbalanced '('"),
    ("Reaction ~ Dayz + (1|Subject)", "sleepstudy", "column 'Dayz'"),
    ("Reaction ~ Days + (1|Subjekt)", "sleepstudy", "column 'Subjekt'"),
    ("Reaction ~ Days", "sleepstudy", "no random-effects term"),
])
def test_each_mistake_is_named(tmp_path, capsys, formula, data, message):
    assert main(["fit", formula, "--data", data, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lmmplot: error: ") and message in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_an_unreadable_csv_is_named(tmp_path, capsys):
    (tmp_path / "bad.csv").write_bytes(b"")
    assert main(["fit", SLEEP, "--data", str(tmp_path / "bad.csv"), "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith(f"lmmplot: error: cannot read '{tmp_path / 'bad.csv'}'")


def test_missing_arguments_are_argparse_usage_errors(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["fit", SLEEP])
    assert exit_.value.code == 2 and "--data" in capsys.readouterr().err


def test_demo_writes_each_summary_and_figure_and_an_index_in_order(tmp_path, sleep_model):
    from plotnine import aes, facet_wrap, geom_point, ggplot

    from lmmplot.cli.demo import write

    sleep = lp.load_dataset("sleepstudy")
    drawings = {"scatter": ggplot(sleep, aes("Days", "Reaction")) + geom_point(),
                "panels": ggplot(sleep, aes("Days", "Reaction")) + geom_point() + facet_wrap("Subject")}
    contents = {"First section": ("scatter", "lme_sleep2"), "Second & last": ("panels",)}
    written = write(tmp_path, contents, {"lme_sleep2": sleep_model}, lambda name, fits: drawings[name])
    assert [p.name for p in written] == ["scatter.png", "lme_sleep2.txt", "panels.png", "index.html"]
    assert (tmp_path / "lme_sleep2.txt").read_text() == str(sleep_model.summary()) + "\n"
    assert matplotlib.image.imread(tmp_path / "scatter.png").shape[:2] == (480, 640)
    assert matplotlib.image.imread(tmp_path / "panels.png").shape[:2] == (600, 1000)
    page = (tmp_path / "index.html").read_text()
    marks = ["<h2>First section</h2>", 'src="scatter.png"', "REML criterion at convergence: 1743.6",
             "<h2>Second &amp; last</h2>", 'src="panels.png"']
    assert [page.index(m) for m in marks] == sorted(page.index(m) for m in marks)


def test_the_chapter_contents_name_every_figure_once_in_order_and_only_its_models():
    from lmmplot import chapter

    named = [n for names in chapter.CONTENTS.values() for n in names]
    figures = [n for n in named if n in chapter.FIGURE_NAMES]
    assert figures == list(chapter.FIGURE_NAMES)
    models = chapter.models()
    assert all(n in chapter.FIGURE_NAMES or hasattr(models.get(n), "summary") for n in named)
    assert len(set(named)) == len(named)
