"""Model checks as ``performance::check_model`` draws them, one ggplot per check.

The residual checks use standardized residuals r / (σ √(1 − h)), h lme4's hat values: under
the model each has variance one exactly, for an lmer fit as for an lm (Var(r) = σ²(I − H)).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from plotnine import (aes, coord_cartesian, facet_wrap, geom_abline, geom_hline, geom_linerange,
                      geom_ribbon, geom_text, ggplot, labs, scale_colour_manual, scale_linetype_manual,
                      theme, theme_bw)
from plotnine.composition import Beside, Compose, Stack

from ..distributions import beta_ppf, norm_ppf
from ..errors import ArgumentTypeError
from ..lm import LinearModel
from ..model import LinearMixedModel
from ..tidiers import augment
from .geoms import geom_lines, geom_points, ggplot_of, guide_lean_legend
from .ranef import group_covariances, ranef_frame

CHECKS = ("linearity", "homogeneity", "influence", "normality", "ranef", "ppc")
COOK_LEVELS = (0.5, 1.0)
_POINT, _LINE, _SIM = "#1f5fa0", "#2e9e6e", "#7aa6d6"


def residual_frame(model) -> pd.DataFrame:
    """The fitted rows of ``augment(model)`` with ``.std.resid`` and ``.row`` (R's row name).

    ``.hat`` and ``.cooksd`` are augment's (lme4's hatvalues() and cooks.distance()); with
    prior weights the standardized residuals are the Pearson ones √w·r / (σ √(1 − h)).
    """
    aug, kept = augment(model), model.kept_rows
    cols = {name: aug[name].to_numpy()[kept] for name in (".fitted", ".resid", ".hat", ".cooksd")}
    pearson = aug[".wtres"].to_numpy()[kept] if ".wtres" in aug else cols[".resid"]
    std = pearson / (model.sigma * np.sqrt(1.0 - cols[".hat"]))
    return pd.DataFrame({".row": row_names(model.data.index)[kept], **cols, ".std.resid": std,
                         ".sqrt.abs.std.resid": np.sqrt(np.abs(std))})


def row_names(index: pd.Index) -> np.ndarray:
    """The rows as R names them: 1, 2, ... for pandas' default 0, 1, ..., else the labels."""
    if isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1:
        return (np.asarray(index) + 1).astype(str)
    return index.astype(str).to_numpy()


def smooth_frame(x: np.ndarray, y: np.ndarray, span: float = 0.75, n: int = 80) -> pd.DataFrame:
    """A local quadratic smoother, as R's loess(y ~ x, span = 0.75) behind ggplot2's geom_smooth.

    At each of ``n`` grid points, a weighted least-squares quadratic on the nearest
    ``span`` share of the points, with tricube weights (loess's direct surface).
    """
    grid = np.linspace(x.min(), x.max(), n)
    dx = x[None, :] - grid[:, None]  # n_grid × n
    k = min(max(int(np.ceil(span * len(x))), 3), len(x)) - 1
    reach = np.maximum(np.partition(np.abs(dx), k, axis=1)[:, k], 1e-12)
    u = np.abs(dx) / reach[:, None]
    w = np.clip(1 - u * u * u, 0, None)
    weighted = [w * w * w]  # w dx^j for j = 0 ... 4, by products (a power costs more)
    for _ in range(4):
        weighted.append(weighted[-1] * dx)
    moments = np.stack([part.sum(axis=1) for part in weighted], axis=1)  # n_grid × 5
    A = moments[:, [[0, 1, 2], [1, 2, 3], [2, 3, 4]]]
    b = np.stack([(part * y).sum(axis=1) for part in weighted[:3]], axis=1)
    fit = (np.linalg.pinv(A) @ b[..., None])[:, 0, 0]  # the local intercept: the fit at the grid point
    return pd.DataFrame({"x": grid, "y": fit})


class CheckPlot(ggplot):
    """A ggplot that a composition draws without deep-copying the gridspec it is given.

    plotnine 0.15's ``ggplot.__deepcopy__`` keeps ``gs`` shallow, but a composition sets
    ``_gridspec``, so the copy each ``draw()`` makes (for ``last_plot``) copied it with every
    transform of the figure (about a tenth of the composed diagnostics' draw).
    """

    def __deepcopy__(self, memo):
        gridspec = self.__dict__.get("_gridspec")
        if gridspec is not None:
            memo[id(gridspec)] = gridspec
        return super().__deepcopy__(memo)


def _check(data, mapping, parts, title: str, subtitle: str, *after) -> CheckPlot:
    """One check's plot: ``parts`` (layers, scales, labels), its title and subtitle, ``theme_bw()``
    and ``after``, added in place."""
    return ggplot_of(data, mapping, *parts, labs(title=title, subtitle=subtitle), theme_bw(), *after, cls=CheckPlot)


def linearity(res: pd.DataFrame) -> ggplot:
    """Residuals against fitted values, with a smoother and a line at zero."""
    smooth = smooth_frame(res[".fitted"].to_numpy(), res[".resid"].to_numpy())
    return _check(res, aes(".fitted", ".resid"),
                  [geom_hline(yintercept=0, linetype="dashed"), geom_points(colour=_POINT, alpha=0.7),
                   geom_lines(aes("x", "y"), smooth, colour=_LINE, size=1), labs(x="Fitted values", y="Residuals")],
                  "Linearity", "The smoother should be flat and horizontal")


def homogeneity(res: pd.DataFrame) -> ggplot:
    """√|standardized residuals| against fitted values, with a smoother (scale-location)."""
    smooth = smooth_frame(res[".fitted"].to_numpy(), res[".sqrt.abs.std.resid"].to_numpy())
    return _check(res, aes(".fitted", ".sqrt.abs.std.resid"),
                  [geom_points(colour=_POINT, alpha=0.7), geom_lines(aes("x", "y"), smooth, colour=_LINE, size=1),
                   labs(x="Fitted values", y="√|Standardized residuals|")],
                  "Homogeneity of variance", "The smoother should be flat and horizontal")


def cook_contours(hat: np.ndarray, p: int, levels=COOK_LEVELS, n: int = 100) -> pd.DataFrame:
    """Where Cook's distance D = s² h / ((1 − h) p) equals each level: s = ±√(D p (1 − h) / h)."""
    h = np.linspace(max(hat.min(), 1e-3) * 0.5, min(hat.max() * 1.1, 0.999), n)
    pieces = [(D, sign) for D in levels for sign in (1, -1)]
    return pd.DataFrame({".hat": np.tile(h, len(pieces)),
                         ".std.resid": np.concatenate([sign * np.sqrt(D * p * (1 - h) / h) for D, sign in pieces]),
                         "level": np.repeat([f"{D:g}" for D, _ in pieces], n),
                         "piece": np.repeat([f"{D:g}{sign:+d}" for D, sign in pieces], n)})


def influence(res: pd.DataFrame, p: int) -> ggplot:
    """Standardized residuals against leverage with Cook's distance contours at 0.5 and 1.

    Points beyond the 0.5 contour are labelled with their row of the data.
    """
    contours = cook_contours(res[".hat"].to_numpy(), p)
    beyond = res[res[".cooksd"] > COOK_LEVELS[0]]
    span = res[".std.resid"].abs().max() * 1.1
    labels = []
    if len(beyond):
        labels.append(geom_text(aes(label=".row"), beyond, colour="#c0392b", nudge_x=0.004, ha="left", size=9))
    return _check(res, aes(".hat", ".std.resid"),
                  [geom_hline(yintercept=0, linetype="dashed", colour="grey"), geom_points(colour=_POINT, alpha=0.7),
                   geom_lines(aes(linetype="level", group="piece"), contours, colour="#c0392b"),
                   scale_linetype_manual(values=["dashed", "solid"], name="Cook's distance", guide=guide_lean_legend()),
                   coord_cartesian(xlim=(0, res[".hat"].max() * 1.05), ylim=(-span, span)),
                   labs(x="Leverage (hat value)", y="Standardized residuals"), *labels],
                  "Influential observations", "Points should lie inside the contours")


def qq_frame(values: np.ndarray, level: float = 0.95) -> pd.DataFrame:
    """Sorted values against normal quantiles (i − ½)/n, with a pointwise band for N(0, 1).

    The i-th smallest of n uniforms is Beta(i, n − i + 1): its quantiles, through Φ⁻¹, bound
    the i-th smallest of n standard normals.
    """
    n = len(values)
    i = np.arange(1, n + 1)
    tail = (1 - level) / 2
    return pd.DataFrame({"theoretical": norm_ppf((i - 0.5) / n), "sample": np.sort(values),
                         "lower": norm_ppf(beta_ppf(tail, i, n - i + 1)),
                         "upper": norm_ppf(beta_ppf(1 - tail, i, n - i + 1))})


def normality(res: pd.DataFrame, level: float = 0.95) -> ggplot:
    """Normal QQ plot of the standardized residuals, the line y = x and a pointwise band."""
    qq = qq_frame(res[".std.resid"].to_numpy(), level)
    return _check(qq, aes("theoretical", "sample"),
                  [geom_ribbon(aes(ymin="lower", ymax="upper"), fill="grey", alpha=0.4),
                   geom_abline(intercept=0, slope=1, colour=_LINE, size=1), geom_points(colour=_POINT, alpha=0.7),
                   labs(x="Standard normal quantiles", y="Standardized residuals")],
                  "Normality of residuals", f"Dots should fall along the line, inside the {level:.0%} band")


def ranef_lines(model, frame: pd.DataFrame) -> pd.DataFrame:
    """Each panel of ``frame`` (``ranef_frame(model)``) with its group, term and the modes'
    model-implied sd √(σ_b² − mean condsd²) (Var b = Var b̂ + E condvar)."""
    variance = {(group, term): v for group, cov in group_covariances(model).items()
                for term, v in zip(cov.index, np.diag(cov.to_numpy()))}
    panel = frame["panel"].cat.codes.to_numpy()
    first = np.unique(panel, return_index=True)[1]  # each panel's first row, in the panels' order
    mean_condvar = np.bincount(panel, frame["condsd"].to_numpy() ** 2) / np.bincount(panel)
    group, term = frame["group"].to_numpy()[first], frame["term"].to_numpy()[first]
    slope = [np.sqrt(max(variance[g, t] - v, 0.0)) for g, t, v in zip(group, term, mean_condvar)]
    return pd.DataFrame({"group": group, "term": term, "panel": frame["panel"].to_numpy()[first], "slope": slope})


def ranef_normality(model, level: float = 0.95) -> ggplot:
    """Normal QQ plot of each term's conditional modes with ±z·condsd bars."""
    frame = ranef_frame(model, level)
    lines = ranef_lines(model, frame)
    return _check(frame, aes("quantile", "condval"),
                  [geom_abline(aes(intercept=0, slope="slope"), lines, colour=_LINE, size=1),
                   geom_linerange(aes(ymin="lower", ymax="upper"), colour=_SIM), geom_points(colour=_POINT),
                   facet_wrap("panel", scales="free_y"),
                   labs(x="Standard normal quantiles", y=f"Conditional mode ± {level:.0%} interval")],
                  "Normality of random effects", "Dots should fall along the line: N(0, the modes' model-implied sd)")


def density_frame(samples: np.ndarray, n: int = 512) -> pd.DataFrame:
    """Gaussian kernel densities of each row of ``samples``, as R's density(): bandwidth
    bw.nrd0, on a common grid reaching 3 bandwidths past the data (counts binned on the grid
    and smoothed, as R's FFT does). Columns: draw (the row), x, density."""
    q75, q25 = np.percentile(samples, [75, 25], axis=1)
    spread = np.minimum(samples.std(axis=1, ddof=1), (q75 - q25) / 1.34)
    bw = 0.9 * np.where(spread > 0, spread, np.abs(samples[:, 0]) + 1) * samples.shape[1] ** -0.2
    lo, hi = samples.min() - 3 * bw.max(), samples.max() + 3 * bw.max()
    grid = np.linspace(lo, hi, n)
    step = grid[1] - grid[0]
    pos = (samples - lo) / step  # linear binning onto the grid
    left = np.clip(np.floor(pos).astype(int), 0, n - 2)
    frac = pos - left
    cell = (np.arange(samples.shape[0])[:, None] * n + left).ravel()  # each value's left grid point, row-major
    size = samples.shape[0] * n
    counts = (np.bincount(cell, (1 - frac).ravel(), size) + np.bincount(cell + 1, frac.ravel(), size)).reshape(-1, n)
    dens = _gaussian_smooth(counts, bw / step) / (samples.shape[1] * step)
    return pd.DataFrame({"draw": np.repeat(np.arange(samples.shape[0]), n), "x": np.tile(grid, len(dens)),
                         "density": dens.ravel()})


def _gaussian_smooth(rows: np.ndarray, sigma: np.ndarray, truncate: float = 5.0) -> np.ndarray:
    """Each row convolved with its own Gaussian kernel (sd ``sigma`` in grid steps, cut at
    ``truncate`` sds, zeros beyond the ends): scipy's ``gaussian_filter1d(mode="constant")``,
    every row in one FFT."""
    radius = (truncate * sigma + 0.5).astype(int)
    offsets = np.arange(-radius.max(), radius.max() + 1)
    kernels = np.exp(-0.5 * (offsets / sigma[:, None]) ** 2) * (np.abs(offsets) <= radius[:, None])
    kernels /= kernels.sum(axis=1, keepdims=True)
    size = 1 << int(np.ceil(np.log2(rows.shape[1] + 2 * radius.max() + 1)))
    wrapped = np.zeros((len(rows), size))
    wrapped[:, offsets % size] = kernels  # offset k at k mod size: a circular convolution, no wrap into the rows
    out = np.fft.irfft(np.fft.rfft(rows, size) * np.fft.rfft(wrapped), size)[:, : rows.shape[1]]
    return np.maximum(out, 0.0)  # the FFT's rounding leaves tiny negatives where the counts are zero


def ppc_frame(model, nsim: int = 50, seed=None) -> pd.DataFrame:
    """:func:`density_frame` of ``model.simulate(nsim)``'s responses (draws 0 … nsim − 1) and of
    the observed one (draw ``nsim``), with ``source`` naming which; each on 256 points (R's
    density() takes 512: half draws the same curves in half the time)."""
    sims = model.simulate(nsim=nsim, seed=seed).to_numpy().T
    frame = density_frame(np.vstack([sims, model.fixed.y]), n=256)
    frame["source"] = pd.Categorical.from_codes((frame["draw"].to_numpy() == nsim).astype(np.int8),
                                                categories=["Simulated from the fit", "Observed"])
    return frame


def ppc(model, nsim: int = 50, seed=None) -> ggplot:
    """The observed response's density over the densities of ``model.simulate(nsim)`` responses."""
    frame = ppc_frame(model, nsim, seed)
    observed = frame["draw"] == nsim
    return _check(frame, aes("x", "density", colour="source", group="draw"),
                  [geom_lines(frame[~observed], alpha=0.4), geom_lines(frame[observed], size=1.2),
                   scale_colour_manual(values={"Observed": _LINE, "Simulated from the fit": _SIM},
                                       guide=guide_lean_legend()),
                   labs(x=model.formula.response, y="Density", colour="")],
                  "Posterior predictive check", f"The observed density should look like the {nsim} simulated ones",
                  theme(legend_position="bottom"))


def _plots(composition):
    """The ggplots of a plotnine composition, nested ones included."""
    for item in composition:
        yield from _plots(item) if isinstance(item, Compose) else (item,)


class Diagnostics(dict):
    """The checks by name (each a ggplot), shown together as one composed figure."""

    def figure(self, width: float = 12.0, row_height: float = 4.3):
        """The checks composed two to a row (plotnine's ``Beside`` in a ``Stack``), ``width`` inches
        wide: the checks copied once (``|``, ``/`` and ``&`` copy every plot at each step)."""
        plots = list(self.values())
        if len(plots) == 1:
            return plots[0]
        rows = [Beside(plots[i:i + 2]) if i + 1 < len(plots) else plots[i] for i in range(0, len(plots), 2)]
        out = rows[0] if len(rows) == 1 else Stack(rows)
        for plot in _plots(out):
            plot += theme(figure_size=(width, row_height * len(rows)))  # in place: the composition's copies
        return out

    def draw(self):
        """The composed figure, drawn: a matplotlib Figure."""
        return self.figure().draw()

    def save(self, filename, **kwargs):
        """Save the composed figure (``kwargs`` as plotnine's ``Compose.save``)."""
        self.figure().save(filename, **kwargs)

    def _repr_mimebundle_(self, include=None, exclude=None):
        return self.figure()._repr_mimebundle_(include=include, exclude=exclude)


def plot_diagnostics(model, checks=CHECKS, nsim: int = 50, seed=None, level: float = 0.95) -> Diagnostics:
    """The checks of ``performance::check_model``, each its own ggplot.

    Parameters
    ----------
    model : LinearMixedModel or LinearModel
    checks : sequence of str
        Any of ``"linearity"`` (residuals vs fitted), ``"homogeneity"`` (√|standardized
        residuals| vs fitted), ``"influence"`` (standardized residuals vs leverage, Cook's
        distance contours at 0.5 and 1), ``"normality"`` (QQ of the standardized residuals),
        ``"ranef"`` (QQ of each random effect with condVar bars; mixed models only) and
        ``"ppc"`` (observed density against ``nsim`` simulated ones, reproducible with ``seed``).
    level : float
        Coverage of the bands and bars.

    Returns
    -------
    Diagnostics
        A dict of ggplots by check; ``.figure()`` composes them, and Jupyter shows them composed.
    """
    if not isinstance(model, (LinearMixedModel, LinearModel)):
        raise ArgumentTypeError(f"plot_diagnostics needs a model from lmmplot.lmer or lmmplot.lm, "
                                f"not {type(model).__name__}")
    if isinstance(checks, str):
        checks = (checks,)
    unknown = [c for c in checks if c not in CHECKS]
    if unknown or not checks:
        raise ArgumentTypeError(f"plot_diagnostics: unknown checks {unknown}; choose from {list(CHECKS)}")
    if "ranef" in checks and not isinstance(model, LinearMixedModel):
        if tuple(checks) == CHECKS:
            checks = [c for c in checks if c != "ranef"]
        else:
            raise ArgumentTypeError("plot_diagnostics: the 'ranef' check needs a mixed model; "
                                    f"{model.formula.text!r} is an lmmplot.lm fit")
    res = residual_frame(model) if set(checks) & {"linearity", "homogeneity", "influence", "normality"} else None
    make = {"linearity": lambda: linearity(res), "homogeneity": lambda: homogeneity(res),
            "influence": lambda: influence(res, model.n_fixed), "normality": lambda: normality(res, level),
            "ranef": lambda: ranef_normality(model, level), "ppc": lambda: ppc(model, nsim, seed)}
    return Diagnostics({c: make[c]() for c in checks})
