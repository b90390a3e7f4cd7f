"""PIRLS's fill pass split over threads (many rows): the same to rounding as one pass."""
import multiprocessing

import numpy as np
import pandas as pd
import pytest
from scipy.special import ndtr

from lmmplot.glmm import family as fam
from lmmplot.glmm import pirls as pirls_module
from lmmplot.glmm.model import GeneralizedLinearMixedModel


@pytest.fixture(scope="module")
def crossed():
    """A probit binary response with crossed random intercepts, 60,000 rows."""
    rng = np.random.default_rng(12)
    n, ng, nh = 60_000, 500, 10
    g, h, x = rng.integers(0, ng, n), rng.integers(0, nh, n), rng.normal(size=n)
    eta = 0.2 + 0.5 * x + rng.normal(0, 0.7, ng)[g] + rng.normal(0, 0.5, nh)[h]
    y = (rng.random(n) < ndtr(eta)).astype(float)
    return pd.DataFrame({"y": y, "x": x, "g": np.char.add("g", g.astype(str)), "h": np.char.add("h", h.astype(str))})


def _pirls(data, parallel_rows, monkeypatch):
    monkeypatch.setattr(pirls_module, "PARALLEL_ROWS", parallel_rows)
    m = GeneralizedLinearMixedModel("y ~ x + (1|g) + (1|h)", data, family=fam.binomial(link="probit"))
    return m, m.pirls


def _fill_at_modes(p, m, theta, beta, start):
    """The joint fill at the η of ``start``'s modes, its change from the starting η weighted."""
    b_rest = p.system.lam_rest_times(theta, start.u_rest)
    T1 = p.system.first.factor(theta[:1])
    out = p._fill(p._joint, np.empty(m.nobs), p.offset, p.X, start.u1 @ T1.T, b_rest, beta, m._eta_start,
                  np.full(m.nobs, 0.2))
    return out, [a.copy() for a in (p._joint.A11, p._joint.E, p._joint.vals, p._joint.A22)]


def test_fill_in_parts_is_one_pass_to_rounding(crossed, monkeypatch):
    monkeypatch.setattr(pirls_module, "_cores", lambda: 2)
    m, one = _pirls(crossed, 10**9, monkeypatch)
    _, split = _pirls(crossed, 50_000, monkeypatch)
    assert one._joint.parts == 1 and split._joint.parts == split._cond.parts == pirls_module.PARTS
    assert one.system.q_rest > 0  # the second term: vals and A22's Z block are filled
    theta, beta = np.array([0.8, 0.4]), np.array([0.25, 0.45])
    start = one.modes(theta, None, beta, m._eta_start)
    ((dev1, *rows1, wmax1, change1), blocks1), ((dev2, *rows2, wmax2, change2), blocks2) = (
        _fill_at_modes(p, m, theta, beta, start) for p in (one, split))
    assert dev2 == pytest.approx(dev1, rel=1e-13)
    assert (wmax2, change2) == (wmax1, change1)  # maxima do not depend on the order
    for a, b in zip(rows1, rows2):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(blocks1, blocks2):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12 * np.abs(a).max())
    np.testing.assert_array_equal(blocks2[3], blocks2[3].T)
    for beta_given in (beta, None):  # the solves for u given β, and for u and β jointly
        a, b = one.modes(theta, None, beta_given, m._eta_start), split.modes(theta, None, beta_given, m._eta_start)
        assert split.laplace(b) == pytest.approx(one.laplace(a), rel=1e-11)
        np.testing.assert_allclose(b.u1, a.u1, rtol=1e-8, atol=1e-9)
        np.testing.assert_allclose(b.beta, a.beta, rtol=1e-8, atol=1e-9)


class _Fixed:
    """A pace that always takes ``threads``."""

    def __init__(self, threads):
        self.n = threads

    def threads(self):
        return self.n

    def record(self, threads, seconds):
        pass


def test_the_ranges_sums_do_not_depend_on_the_threads(crossed, monkeypatch):
    m, p = _pirls(crossed, 50_000, monkeypatch)
    sums = []
    for threads in (1, 2, 3):
        monkeypatch.setattr(p._joint, "pace", _Fixed(threads))
        dev, _, _, _, wmax, _ = p._fill(p._joint, m._eta_start.copy(), p.offset, p.X)
        sums.append((dev, wmax, [a.copy() for a in (p._joint.A11, p._joint.E, p._joint.vals, p._joint.A22)]))
    for dev, wmax, blocks in sums[1:]:
        assert (dev, wmax) == sums[0][:2]
        for a, b in zip(blocks, sums[0][2]):
            np.testing.assert_array_equal(a, b)


def test_the_faster_of_one_thread_and_all_cores_fills(monkeypatch):
    monkeypatch.setattr(pirls_module, "_cores", lambda: 2)
    pace = pirls_module._Pace()
    first = pace.threads()  # each way once
    pace.record(first, 1.0)
    second = pace.threads()
    pace.record(second, 3.0)
    assert (first, second) == (2, 1)
    picks = [pace.threads() for _ in range(2 * pace.PROBE)]
    assert picks.count(1) == 2 and picks.count(2) == 2 * pace.PROBE - 2  # the slower way, now and then
    pace.record(2, 9.0)  # the cores got busy: (1 + 9) / 2 > 3
    assert pace.threads() == 1


def test_small_models_and_large_blocks_take_one_pass():
    assert pirls_module._parts(pirls_module.PARALLEL_ROWS - 1, 10) == 1
    assert pirls_module._parts(100_000, 10) == pirls_module.PARTS == 8
    assert pirls_module._parts(100_000, 20_000) == 4  # fewer copies of larger blocks
    assert pirls_module._parts(100_000, 60_000) == 1


def _child_fill(data, queue):
    m = GeneralizedLinearMixedModel("y ~ x + (1|g) + (1|h)", data, family=fam.binomial(link="probit"))
    p = m.pirls
    queue.put((p._joint.parts, p._fill(p._joint, m._eta_start.copy(), p.offset, p.X)[0]))


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="no fork")
def test_a_forked_child_fills_in_parts(crossed, monkeypatch):
    monkeypatch.setattr(pirls_module, "_cores", lambda: 2)
    m, p = _pirls(crossed, 50_000, monkeypatch)
    dev = p._fill(p._joint, m._eta_start.copy(), p.offset, p.X)[0]  # the parent's threads are started
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_child_fill, args=(crossed, queue))
    child.start()
    try:
        parts, child_dev = queue.get(timeout=120)
    finally:
        child.join(timeout=10)
        if child.is_alive():
            child.kill()
    assert parts == pirls_module.PARTS and child_dev == dev
