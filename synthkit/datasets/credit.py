"""Simulated credit-bureau data of the MS-VAE paper (Srivastava et al.).

The paper's credit data are not public; §6.2 only says that 20,000 rows of 19 features
are induced by 11 generating factors, and §6.5, §7.1 (Table 3) and Appendix N (Table 7)
describe what the data look like. This module is a generator faithful to that
description. The full derivation (every equation, parameter and the property it
produces) is in ``docs/credit_data.md``.
"""

from __future__ import annotations

from functools import lru_cache
from numbers import Integral

import numpy as np
import pandas as pd
from scipy.special import betainc, ndtr

from synthkit.errors import SynthkitError

# Period suffixes: features use "", "_3m", "_6m", "_12m"; factors use "", "_1", "_2", "_3".
_FEATURE_SUFFIXES = ("", "_3m", "_6m", "_12m")
_FACTOR_SUFFIXES = ("", "_1", "_2", "_3")

CREDIT_FEATURES: tuple[str, ...] = (
    "Mortgage",
    "Utilization",
    "Amount Past Due",
    *(f"Balance{s}" for s in _FEATURE_SUFFIXES),
    *(f"Credit Inquiry{s}" for s in _FEATURE_SUFFIXES),
    *(f"Open Trade{s}" for s in _FEATURE_SUFFIXES),
    *(f"Delinquency Status{s}" for s in _FEATURE_SUFFIXES),
)

CREDIT_FACTORS: tuple[str, ...] = (
    "L",
    "M",
    *(f"Ub{s}" for s in _FACTOR_SUFFIXES),
    *(f"S{s}" for s in _FACTOR_SUFFIXES),
    "T",
)

# Demographics (§6.2: "two demographic variables, L for gender and M for race").
_P_L = 0.5
_P_M = (0.62, 0.18, 0.12, 0.08)

# Mortgage: log-normal (skewed, §6.5) shifted by L and M (Table 3: its own latent z_2),
# plus a spike at the 2006-2016 US conforming-loan limit ("small abrupt peak", §6.5).
_MORTGAGE_MEDIAN = 200_000.0
_MORTGAGE_SIGMA = 0.55
_MORTGAGE_L_EFFECT = 0.15
_MORTGAGE_M_EFFECT = (0.0, -0.20, 0.10, -0.30)
_SPIKE_SHARE = 0.04
_SPIKE_AMOUNT = 417_000.0
_SPIKE_SD = 2_500.0

# Utilization factors: marginal = mixture of transactors / revolvers / maxed-out
# (multi-modal Utilization, §6.5); weights and Beta(a, b) parameters per segment.
_UTIL_WEIGHTS = (0.35, 0.45, 0.20)
_UTIL_BETAS = ((2.0, 30.0), (7.0, 13.0), (30.0, 3.5))
_UTIL_GRID_SIZE = 4001
# Gaussian-copula AR(1): past periods persistent, current period only loosely tied
# (Table 7: the past-balance latent z_7 correlates 0.76-0.85 with Balance_3m/6m/12m
# but only 0.36 with current Balance).
_RHO_PAST = 0.90
_RHO_CURRENT = 0.55
_UTIL_NOISE_SD = 0.02
_LIMIT_MEDIAN = 10_000.0
_LIMIT_SIGMA = 0.40
_BALANCE_NOISE_SIGMA = 0.15

# Debt stress: standard-normal index per period, weakly persistent so that each
# period's inquiry/trade group keeps its own latent (Table 3: z_4 for 12m, z_5 for 6m).
_RHO_STRESS = 0.30

# Inquiries come in bursts (loan shopping pulls several lenders), which makes one
# inquiry rarer than two (§6.5).
_BURST_RATE = 0.35
_BURST_STRESS_SLOPE = 0.80
_BURST_EXTRA_PULL_P = 0.30
_SINGLE_PULL_P = 0.10
_MAX_INQUIRIES = 6
_TRADE_PER_BURST_P = 0.70
_TRADE_PER_SINGLE_P = 0.50

# Delinquency: missed cycles grow with the excess of stress over the threshold T; T is
# shared across periods so the four statuses move together (Table 3: one latent z_9).
_STRESS_WEIGHT = 0.50
_T_SD = 1.20
_T_MEAN = 0.88
_CYCLE_WIDTH = 0.40
_MAX_CYCLES = 6

# Amount past due: one minimum payment per missed cycle (3 % of balance, $25 floor).
_MIN_PAY_RATE = 0.03
_MIN_PAY_FLOOR = 25.0
_PAST_DUE_NOISE_SIGMA = 0.25


def simulate_credit(n_rows: int = 20_000, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Simulate the MS-VAE credit table; return ``(features, factors)``.

    ``features`` has the 19 columns of :data:`CREDIT_FEATURES`, ``factors`` the 11
    generating factors of :data:`CREDIT_FACTORS`, row-aligned. Periods k = 0, 1, 2, 3
    are now, 3, 6 and 12 months ago. All randomness comes from
    ``np.random.default_rng(seed)``. The equations (see ``docs/credit_data.md``)::

        L ~ Bernoulli(0.5);  M ~ Categorical(0.62, 0.18, 0.12, 0.08) on {0,1,2,3}
        Mortgage = 417,000 + N(0, 2,500)                       with prob. 0.04
                 = exp(ln 200,000 + 0.15 L + m[M] + 0.55 e)     otherwise,
                   m = (0, -0.20, 0.10, -0.30), e ~ N(0, 1)
        g_3 ~ N(0,1); g_2 = 0.9 g_3 + sqrt(0.19) e; g_1 = 0.9 g_2 + sqrt(0.19) e
        g_0 = 0.55 g_1 + sqrt(0.6975) e
        Ub_k = F^-1(Phi(g_k)),  F = 0.35 Beta(2,30) + 0.45 Beta(7,13) + 0.20 Beta(30,3.5)
        Utilization = clip(Ub + N(0, 0.02), 0, 1)
        C = exp(ln 10,000 + 0.40 e)  (credit limit);  Balance_k = C Ub_k exp(0.15 e_k)
        S_3 ~ N(0,1); S_k = 0.3 S_{k+1} + sqrt(0.91) e;  T ~ N(0.88, 1.2^2)
        E_k ~ Poisson(0.35 exp(0.8 S_k - 0.32))             (shopping bursts)
        Credit Inquiry_k = min(2 E_k + Bin(E_k, 0.3) + B_k, 6),  B_k ~ Bernoulli(0.1)
        Open Trade_k = Bin(E_k, 0.7) + Bin(B_k, 0.5)
        Delinquency Status_k = clip(ceil((0.5 S_k - T) / 0.4), 0, 6)
        Amount Past Due = D_0 max(25, 0.03 Balance) exp(N(0, 0.25^2))

    Money is rounded to cents, Utilization to 4 decimals; counts are int64.
    Raises :class:`SynthkitError` if ``n_rows`` is not an int >= 1 or ``seed`` not an
    int >= 0.
    """
    _check_int("n_rows", n_rows, minimum=1)
    _check_int("seed", seed, minimum=0)
    n = int(n_rows)
    rng = np.random.default_rng(int(seed))

    # Demographics drive Mortgage only (Table 3: Mortgage alone on z_2).
    gender = (rng.random(n) < _P_L).astype(np.int64)
    race = rng.choice(len(_P_M), size=n, p=_P_M).astype(np.int64)
    log_mortgage = (
        np.log(_MORTGAGE_MEDIAN)
        + _MORTGAGE_L_EFFECT * gender
        + np.asarray(_MORTGAGE_M_EFFECT)[race]
        + _MORTGAGE_SIGMA * rng.standard_normal(n)
    )
    at_limit = rng.random(n) < _SPIKE_SHARE
    spike = _SPIKE_AMOUNT + _SPIKE_SD * rng.standard_normal(n)
    mortgage = np.where(at_limit, spike, np.exp(log_mortgage))

    # Utilization factors, oldest (12m) to newest, then mapped onto the mixture.
    g_12m = rng.standard_normal(n)
    g_6m = _ar1_step(rng, g_12m, _RHO_PAST)
    g_3m = _ar1_step(rng, g_6m, _RHO_PAST)
    g_now = _ar1_step(rng, g_3m, _RHO_CURRENT)
    grid, cdf = _utilization_cdf()
    ub = [np.interp(ndtr(g), cdf, grid) for g in (g_now, g_3m, g_6m, g_12m)]
    utilization = np.clip(ub[0] + _UTIL_NOISE_SD * rng.standard_normal(n), 0.0, 1.0)
    # A shared credit limit turns utilization into dollars; the log-normal limit and
    # statement-date noise make balances right-skewed (§6.5: Balance_6m).
    limit = np.exp(np.log(_LIMIT_MEDIAN) + _LIMIT_SIGMA * rng.standard_normal(n))
    balances = [limit * u * np.exp(_BALANCE_NOISE_SIGMA * rng.standard_normal(n)) for u in ub]

    # Debt stress per period, oldest first, and the shared threshold.
    s_12m = rng.standard_normal(n)
    s_6m = _ar1_step(rng, s_12m, _RHO_STRESS)
    s_3m = _ar1_step(rng, s_6m, _RHO_STRESS)
    s_now = _ar1_step(rng, s_3m, _RHO_STRESS)
    stress = [s_now, s_3m, s_6m, s_12m]
    threshold = _T_MEAN + _T_SD * rng.standard_normal(n)

    inquiries, trades, delinquency = [], [], []
    for s in stress:
        # Log-normal mixing of the burst rate (mean 0.35) gives the long tail up to 6.
        rate = _BURST_RATE * np.exp(_BURST_STRESS_SLOPE * s - _BURST_STRESS_SLOPE**2 / 2)
        bursts = rng.poisson(rate)
        singles = (rng.random(n) < _SINGLE_PULL_P).astype(np.int64)
        pulls = 2 * bursts + rng.binomial(bursts, _BURST_EXTRA_PULL_P) + singles
        inquiries.append(np.minimum(pulls, _MAX_INQUIRIES).astype(np.int64))
        opened = rng.binomial(bursts, _TRADE_PER_BURST_P) + rng.binomial(singles, _TRADE_PER_SINGLE_P)
        trades.append(opened.astype(np.int64))
        excess = (_STRESS_WEIGHT * s - threshold) / _CYCLE_WIDTH
        delinquency.append(np.clip(np.ceil(excess), 0, _MAX_CYCLES).astype(np.int64))

    # Past due only while delinquent (§6.5: mixed point mass at 0 + continuous part).
    min_payment = np.maximum(_MIN_PAY_FLOOR, _MIN_PAY_RATE * balances[0])
    past_due = delinquency[0] * min_payment * np.exp(_PAST_DUE_NOISE_SIGMA * rng.standard_normal(n))

    columns: list[np.ndarray] = [
        np.round(mortgage, 2),
        np.round(utilization, 4),
        np.round(past_due, 2),
        *(np.round(b, 2) for b in balances),
        *inquiries,
        *trades,
        *delinquency,
    ]
    # Every array is freshly allocated and used once, so skip pandas' defensive copy
    # (it dominates the run time at a million rows).
    features = pd.DataFrame(dict(zip(CREDIT_FEATURES, columns)), copy=False)
    factor_columns = [gender, race, *ub, *stress, threshold]
    factors = pd.DataFrame(dict(zip(CREDIT_FACTORS, factor_columns)), copy=False)
    return features, factors


def _check_int(name: str, value: object, minimum: int) -> None:
    """Raise SynthkitError unless ``value`` is an integer (not a bool) >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, Integral) or value < minimum:
        raise SynthkitError(f"{name} must be an integer >= {minimum}, got {value!r}")


def _ar1_step(rng: np.random.Generator, previous: np.ndarray, rho: float) -> np.ndarray:
    """Next standard-normal state of a stationary AR(1) chain with coefficient ``rho``."""
    return rho * previous + np.sqrt(1.0 - rho**2) * rng.standard_normal(previous.shape[0])


@lru_cache(maxsize=1)
def _utilization_cdf() -> tuple[np.ndarray, np.ndarray]:
    """Grid on [0, 1] and the utilization-mixture CDF on it, for inverse-CDF lookup."""
    grid = np.linspace(0.0, 1.0, _UTIL_GRID_SIZE)
    cdf = sum(w * betainc(a, b, grid) for w, (a, b) in zip(_UTIL_WEIGHTS, _UTIL_BETAS))
    return grid, cdf
