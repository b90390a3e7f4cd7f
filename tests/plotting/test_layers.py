"""The layers' lines against lme4's stored estimates, computed here by hand (fixef + ranef
arithmetic, per-group least squares, x vcov xᵀ), and how they compose with ggplots."""
import numpy as np
import pandas as pd
import pytest
from plotnine import aes, facet_wrap, geom_line, geom_point, ggplot
from scipy import stats

import lmmplot as lp
from lmmplot.errors import ArgumentTypeError, DataError


def layer_frame(plot, i=-1):
    """The data a plot's i-th layer was given (plotnine keeps it as ``layer._data``)."""
    return plot.layers[i]._data


def ref_fixef(case):
    return {r["term"]: r["estimate"] for r in case["fixef"]}


def ref_ranef(case, group):
    rows = [r for r in case["ranef"] if r["grp"] == group]
    frame = pd.DataFrame(rows).pivot(index="level", columns="term", values="condval")
    return frame


@pytest.fixture(scope="module")
def sleep():
    return lp.load_dataset("sleepstudy")


@pytest.fixture(scope="module")
def dragons():
    return lp.load_dataset("dragons")


def test_group_lines_are_lme4s_coef_lines(fits, reference, sleep):
    model, _ = fits["sleep_slope"]
    case = reference["cases"]["sleep_slope"]
    b, u = ref_fixef(case), ref_ranef(case, "Subject")
    frame = layer_frame(ggplot(sleep, aes("Days", "Reaction")) + lp.geom_fitted(model, n=7))
    assert frame["Subject"].nunique() == 18 and len(frame) == 18 * 7
    level = frame["Subject"].astype(str).to_numpy()
    expected = (b["(Intercept)"] + u.loc[level, "(Intercept)"].to_numpy()
                + (b["Days"] + u.loc[level, "Days"].to_numpy()) * frame["Days"].to_numpy())
    np.testing.assert_allclose(frame[".fitted"], expected, rtol=1e-6)
    # each subject's line spans the days it was observed on
    assert frame.groupby("Subject", observed=True)["Days"].agg(["min", "max"]).eq([0, 9]).all(axis=None)


def test_one_line_per_group_and_level_of_each_categorical_predictor(fits, reference, dragons):
    model, _ = fits["dragons"]
    case = reference["cases"]["dragons"]
    b, u = ref_fixef(case), ref_ranef(case, "mountain")
    plot = ggplot(dragons, aes("wingspan", "intelligence", colour="scales")) + lp.geom_fitted(model)
    frame = layer_frame(plot)
    assert frame.groupby(["mountain", "scales"], observed=True)[".line"].nunique().eq(1).all()
    assert frame[".line"].nunique() == 10
    w = frame["wingspan"].to_numpy()
    s = (frame["scales"] == "metallic").to_numpy(float)
    m = frame["mountain"].astype(str).to_numpy()
    expected = (b["(Intercept)"] + u.loc[m, "(Intercept)"].to_numpy() + (b["wingspan"] + u.loc[m, "wingspan"].to_numpy()) * w
                + b["scalesmetallic"] * s + b["wingspan:scalesmetallic"] * w * s)
    np.testing.assert_allclose(frame[".fitted"], expected, rtol=1e-5)
    # each line spans its own mountain and colour's wingspans; colour follows the plot's mapping
    span = dragons.groupby(["mountain", "scales"], observed=True)["wingspan"].agg(["min", "max"])
    drawn = frame.groupby(["mountain", "scales"], observed=True)["wingspan"].agg(["min", "max"])
    np.testing.assert_allclose(drawn.to_numpy(), span.to_numpy())
    assert plot.layers[-1].mapping["color"] == "scales"


def test_curved_terms_draw_curves(sleep):
    model = lp.lmer("Reaction ~ Days + I(Days**2) + (1|Subject)", sleep)
    frame = layer_frame(ggplot(sleep, aes("Days", "Reaction")) + lp.geom_fitted(model, n=25))
    b = model.fixef()
    one = frame[frame["Subject"] == 308]
    u = model.ranef()["Subject"].loc["308", "(Intercept)"]
    d = one["Days"].to_numpy()
    np.testing.assert_allclose(one[".fitted"], b.iloc[0] + u + b.iloc[1] * d + b.iloc[2] * d**2, rtol=1e-10)
    assert np.ptp(np.diff(one[".fitted"]) / np.diff(d)) > 1  # the slope changes along the line


def test_lm_gives_the_single_least_squares_line(sleep):
    ols = lp.lm("Reaction ~ Days", sleep)
    frame = layer_frame(ggplot(sleep, aes("Days", "Reaction")) + facet_wrap("Subject") + lp.geom_fitted(ols, n=3))
    X = np.column_stack([np.ones(len(sleep)), sleep["Days"]])
    beta = np.linalg.lstsq(X, sleep["Reaction"].to_numpy(), rcond=None)[0]
    assert "Subject" not in frame  # repeated in every panel
    np.testing.assert_allclose(frame[".fitted"], beta[0] + beta[1] * frame["Days"], rtol=1e-10)


def test_lmlist_is_least_squares_per_group(sleep):
    fits = lp.lmList("Reaction ~ Days | Subject", sleep)
    coef = fits.coef()
    assert list(coef.columns) == ["(Intercept)", "Days"] and len(coef) == 18
    for subject in ["308", "335", "372"]:
        rows = sleep[sleep["Subject"] == int(subject)]
        X = np.column_stack([np.ones(len(rows)), rows["Days"]])
        np.testing.assert_allclose(coef.loc[subject], np.linalg.lstsq(X, rows["Reaction"], rcond=None)[0], rtol=1e-10)


def test_lmlist_gives_nan_where_a_group_cannot_determine_a_coefficient(sleep):
    short = sleep[(sleep["Subject"] != 309) | (sleep["Days"] == 0)]
    coef = lp.lmList("Reaction ~ Days | Subject", short).coef()
    assert coef.loc["309", "(Intercept)"] == pytest.approx(short.loc[short["Subject"] == 309, "Reaction"].iloc[0])
    assert np.isnan(coef.loc["309", "Days"])
    model = lp.lmer("Reaction ~ Days + (Days|Subject)", short)
    frame = layer_frame(ggplot(short, aes("Days", "Reaction")) + lp.geom_no_pooling(model))
    assert "309" not in set(frame["Subject"].astype(str)) and frame["Subject"].nunique() == 17


def test_no_pooling_lines_follow_lmlist(fits, sleep):
    model, _ = fits["sleep_slope"]
    coef = lp.lmList(model).coef()
    frame = layer_frame(ggplot(sleep, aes("Days", "Reaction")) + lp.geom_no_pooling(model, n=4))
    at = coef.loc[frame["Subject"].astype(str)]
    np.testing.assert_allclose(frame[".fitted"], at["(Intercept)"].to_numpy() + at["Days"].to_numpy() * frame["Days"])


@pytest.mark.parametrize("interval", ["confidence", "prediction"])
def test_population_band_from_x_vcov_x(fits, reference, sleep, interval):
    model, _ = fits["sleep_slope"]
    case = reference["cases"]["sleep_slope"]
    b, V = ref_fixef(case), np.array(case["vcov_beta"])
    plot = ggplot(sleep, aes("Days", "Reaction")) + lp.geom_population(model, interval=interval, n=10)
    band, line = layer_frame(plot, -2), layer_frame(plot, -1)
    X = np.column_stack([np.ones(len(line)), line["Days"]])
    var = np.einsum("ij,jk,ik->i", X, V, X)
    if interval == "prediction":
        vc = {(r["var1"], r["var2"]): r["vcov"] for r in case["varcorr"]}
        S = np.array([[vc["(Intercept)", None], vc["(Intercept)", "Days"]], [vc["(Intercept)", "Days"], vc["Days", None]]])
        var = var + np.einsum("ij,jk,ik->i", X, S, X) + case["sigma"] ** 2
    half = stats.norm.ppf(0.975) * np.sqrt(var)
    np.testing.assert_allclose(line[".fitted"], X @ [b["(Intercept)"], b["Days"]], rtol=1e-7)
    np.testing.assert_allclose(band[".upper"] - band[".fitted"], half, rtol=1e-4)
    np.testing.assert_allclose(band[".fitted"] - band[".lower"], half, rtol=1e-4)


def test_lm_confidence_band_is_rs_geom_smooth(sleep):
    ols = lp.lm("Reaction ~ Days", sleep)
    frame = layer_frame(ggplot(sleep, aes("Days", "Reaction")) + lp.geom_population(ols, interval="confidence", n=5))
    X = np.column_stack([np.ones(len(sleep)), sleep["Days"]])
    y = sleep["Reaction"].to_numpy()
    beta, rss = np.linalg.lstsq(X, y, rcond=None)[:2]
    V = rss[0] / 178 * np.linalg.inv(X.T @ X)
    x0 = np.column_stack([np.ones(5), frame["Days"]])
    se = np.sqrt(np.einsum("ij,jk,ik->i", x0, V, x0))
    np.testing.assert_allclose(frame[".upper"], x0 @ beta + stats.t.ppf(0.975, 178) * se, rtol=1e-10)


def test_population_lines_per_mapped_level_others_at_reference(fits, dragons):
    model, _ = fits["dragons"]
    plain = layer_frame(ggplot(dragons, aes("wingspan", "intelligence")) + lp.geom_population(model))
    assert set(plain["scales"]) == {"chromatic"}
    mapped = layer_frame(ggplot(dragons, aes("wingspan", "intelligence", linetype="scales")) + lp.geom_population(model))
    assert set(mapped["scales"]) == {"chromatic", "metallic"}
    b = model.fixef()
    one = mapped[mapped["scales"] == "metallic"]
    w = one["wingspan"].to_numpy()
    np.testing.assert_allclose(one[".fitted"], b.iloc[0] + b.iloc[2] + (b.iloc[1] + b.iloc[3]) * w, rtol=1e-10)


def test_categorical_x_gives_dodged_points(fits):
    model, _ = fits["irrigation"]
    irrigation = lp.load_dataset("irrigation")
    plot = ggplot(irrigation, aes("irrigation", "yield", colour="variety")) + lp.geom_fitted(model)
    frame = layer_frame(plot)
    assert type(plot.layers[-1].geom).__name__ == "geom_point"
    assert type(plot.layers[-1].position).__name__ == "position_dodge"
    merged = frame.merge(lp.augment(model), on=["field", "irrigation", "variety"])
    np.testing.assert_allclose(merged[".fitted_x"], merged[".fitted_y"], rtol=1e-10)
    assert len(frame) == 16


def test_facet_columns_reach_the_frame(reference):
    health = lp.load_dataset("health")
    model = lp.lmer("outcome ~ treatment + (1|doctor) + (1|hospital)", health)
    plot = ggplot(health, aes("treatment", "outcome")) + facet_wrap("hospital") + lp.geom_fitted(model, group="doctor")
    frame = layer_frame(plot)
    assert frame.groupby("doctor", observed=True)["hospital"].nunique().eq(1).all()
    # the doctor's line has the doctor's random effect only: the hospital's is left out
    re = model.ranef()["doctor"]["(Intercept)"]
    b = model.fixef()
    row = frame[(frame["doctor"] == "A") & (frame["treatment"] == "drug")]
    assert row[".fitted"].iloc[0] == pytest.approx(b.iloc[0] + re.loc["A"], rel=1e-10)


def test_layers_compose_in_lists_keep_frames_not_models(fits, sleep):
    model, _ = fits["sleep_int"]
    layer = lp.geom_fitted(model, colour="blue")
    assert not any(isinstance(v, (lp.LinearMixedModel, lp.LinearModel)) for v in vars(layer).values())
    base = ggplot(sleep, aes("Days", "Reaction")) + geom_point()
    one = base + [layer, lp.geom_population(model)]
    two = base + layer
    assert len(one.layers) == 3 and len(two.layers) == 2 and len(base.layers) == 1
    assert layer_frame(one, 1) is layer_frame(two, 1)  # computed once, when the layer was made
    assert one.layers[1].geom.aes_params["color"] == "blue"


def test_the_course_augment_idiom_still_works(fits):
    model, _ = fits["sleep_int"]
    plot = ggplot(lp.augment(model), aes("Days", "Reaction")) + geom_line(aes(y=".fitted", group="Subject"))
    plot.draw()  # builds and draws without error
    assert plot.layers[0]._data is None and list(plot.data["Subject"].cat.categories[:2]) == [308, 309]


def test_bad_input_says_what_is_wrong(fits, sleep, dragons):
    model, _ = fits["sleep_slope"]
    with pytest.raises(DataError, match="x 'wingspan' is not a predictor of 'Reaction ~ Days"):
        lp.geom_fitted(model, x="wingspan")
    with pytest.raises(DataError, match="x 'wingspan' is not a predictor"):
        ggplot(dragons, aes("wingspan", "intelligence")) + lp.geom_fitted(model)
    with pytest.raises(DataError, match="the plot's data have no column 'Reaction'"):
        ggplot(dragons.rename(columns={"wingspan": "Days"}), aes("Days", "intelligence")) + lp.geom_fitted(model)
    with pytest.raises(ArgumentTypeError, match="needs an x"):
        ggplot(sleep) + lp.geom_fitted(model)
    with pytest.raises(ArgumentTypeError, match="needs a mixed model"):
        lp.geom_no_pooling(lp.lm("Reaction ~ Days", sleep))
    with pytest.raises(DataError, match="group 'mountain' is not a grouping factor"):
        lp.geom_fitted(model, group="mountain")
    with pytest.raises(ArgumentTypeError, match="interval must be"):
        lp.geom_population(model, interval="credible")
    with pytest.raises(ArgumentTypeError, match="expected a model fitted by lmmplot"):
        lp.geom_fitted(sleep)


def test_stacked_grids_are_pd_concats():
    from lmmplot.plotting.frames import _line_columns, line_grid, roles, stacked_grids

    model = lp.lmer("intelligence ~ wingspan * scales + (1|mountain)", lp.load_dataset("dragons"))
    r = roles(model)
    grids = [line_grid(model.frame, x, *_line_columns(r, x, ("mountain",)), 5) for x in ("wingspan", "scales")]
    pd.testing.assert_frame_equal(stacked_grids(grids), pd.concat(grids, ignore_index=True))
    odd = [pd.DataFrame({"g": pd.Categorical(["a", "b"]), "s": ["x", "y"], "n": [1, 2]}),
           pd.DataFrame({"g": pd.Categorical(["c"]), "s": ["z"], "n": [3.5]})]  # other levels, other dtype
    pd.testing.assert_frame_equal(stacked_grids(odd), pd.concat(odd, ignore_index=True))
    pd.testing.assert_frame_equal(stacked_grids(odd[:1] + [odd[0].rename(columns={"n": "m"})]),
                                  pd.concat(odd[:1] + [odd[0].rename(columns={"n": "m"})], ignore_index=True))
