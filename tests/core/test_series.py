import numpy as np
import pytest

from omib_core.analysis.series import downsample, ema_debiased


def test_downsample_caps_points_and_keeps_extremes_and_ends():
    x = np.arange(100_000)
    y = np.sin(x / 500.0)
    y[54_321] = 50.0  # a spike must survive
    xs, ys = downsample(x, y, 2000)
    assert len(xs) <= 2000
    assert xs[0] == 0 and xs[-1] == 99_999
    assert ys.max() == 50.0
    assert np.all(np.diff(xs) > 0)


def test_downsample_short_series_unchanged():
    x, y = np.arange(10), np.arange(10.0)
    xs, ys = downsample(x, y, 2000)
    assert np.array_equal(xs, x) and np.array_equal(ys, y)


def test_ema_debiased_constant_series_is_constant_from_first_point():
    y = np.full(50, 3.0)
    assert np.allclose(ema_debiased(y, 0.9), 3.0)  # a plain EMA would start near 0.3


def test_ema_matches_reference_recursion_and_skips_nan():
    y = np.array([1.0, np.nan, 3.0, 5.0])
    out = ema_debiased(y, 0.5)
    # s: 0.5, (skip), 0.25+1.5=1.75, 0.875+2.5=3.375 ; w: 0.5, 0.75, 0.875
    assert out[0] == pytest.approx(1.0)
    assert out[1] == pytest.approx(1.0)
    assert out[2] == pytest.approx(1.75 / 0.75)
    assert out[3] == pytest.approx(3.375 / 0.875)


def test_ema_rejects_bad_alpha():
    with pytest.raises(ValueError, match="alpha"):
        ema_debiased(np.ones(3), 1.0)


def _ema_loop(y: np.ndarray, alpha: float) -> np.ndarray:
    """The hand-written loop ``ema_debiased`` used before pandas' ``ewm`` (the reference it must equal)."""
    y = np.asarray(y, dtype=float)
    out = np.empty_like(y)
    s, w = 0.0, 0.0
    for i, v in enumerate(y):
        if np.isfinite(v):
            s = alpha * s + (1 - alpha) * v
            w = alpha * w + (1 - alpha)
        out[i] = s / w if w > 0 else np.nan
    return out


def test_ema_equals_the_old_loop_on_many_series():
    rng = np.random.default_rng(0)
    noisy = rng.normal(size=500).cumsum()
    gappy = rng.normal(size=300)
    gappy[rng.random(300) < 0.2] = np.nan
    gappy[[5, 77]] = [np.inf, -np.inf]
    series = [
        noisy,
        gappy,
        np.array([np.nan, np.nan, 2.0, np.nan, 4.0, 1e6, -3.0]),  # leading gaps stay NaN, later ones carry over
        np.full(4, np.nan),
        np.array([7.0]),
        np.array([]),
        np.exp(rng.normal(size=200) * 5),  # values over many orders of magnitude
    ]
    for y in series:
        for alpha in (0.0, 0.1, 0.5, 0.9, 0.99, 0.999):
            got, want = ema_debiased(y, alpha), _ema_loop(y, alpha)
            assert got.shape == want.shape and got.dtype == np.float64
            assert np.array_equal(np.isnan(got), np.isnan(want)), (y, alpha)
            assert np.allclose(got, want, rtol=1e-12, atol=0.0, equal_nan=True), (alpha, np.nanmax(abs(got - want)))
