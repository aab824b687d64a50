"""Where a numeric column's values can lie: lattices, heaps, sentinel codes and gaps.

Real bank tables rarely hold smooth numbers. Loan amounts sit on multiples of 25 and heap at
round thousands; incomes are declared to the nearest 1,000 or 5,000; a count holds 0–50 and
a code 999999 for "not applicable"; a liquid-assets field has one 1,000,000 far above the
rest. A smooth density fitted to such a column comes back with values that never occur
(10,037 where every real amount is a multiple of 25; 12,000 between a bulk below 100 and a
code at 999,999), and a detector finds them at once. This module learns the support of a
column so that decoded values land on it:

* :func:`detect_sentinels` — values far outside the bulk (codes such as −1 in a column that
  is otherwise ≥ 0, 999 or 999999 above a bulk of small counts, an isolated extreme).
  They become point masses: emitted exactly, at their rate, never smeared into the bulk.
* :class:`Heaping` — the lattice every value is on (all loan amounts are multiples of 25)
  and the rounder steps that hold more than their share of values (multiples of 1,000 and
  5,000). Each value's *level* is the largest accepted step it is a multiple of; the share
  of each level is learned per quantile bin of the value (large amounts are more often
  round), and on decoding a value is drawn a level and moved to the nearest multiple of
  that level's step that is not a multiple of a larger one. The heaps come back at their
  rates and no value leaves the lattice.
* :func:`find_gaps` — empty stretches inside the bulk (a count at 0–50 and 200–300 with
  nothing between); decoded values that fall into one are moved to its nearer edge.

Choices the data leave open, and why:

* A step m is accepted when its multiples hold at least 1.5× the share they would hold if
  values were spread evenly over the multiples of p, the largest accepted step dividing m,
  *and* 1.5× as many values as lie one step p away on either side (multiples of p but not
  of m), and at least 2 % of the values. Declared
  incomes hold 85 % of their values on multiples of 1,000 and almost none at ±1; a smooth
  count holds as many at 5, 10, 15 as at 4, 6, 9, 11. The local comparison is there because
  an even-spread baseline alone passes any skewed distribution (counts of 0–22 "heaped" at
  multiples of 5); the even-spread one because two neighbours alone are noisy on a few
  hundred values. The factor 1.5 keeps accidental excesses out; 2 % keeps levels too rare to matter
  out.
* Level shares are learned in 5 quantile bins: enough to follow "larger amounts are
  rounder", few enough that every bin has data on a table of a few hundred rows.
* A sentinel must be separated from the bulk by a gap larger than the bulk's own range
  (or be negative beside a non-negative bulk) and hold at most 2 % of the rows: a long
  right tail (incomes) never qualifies — each next value is within the range below it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: Round steps tried above a lattice, in units of the lattice's resolution (1-2-2.5-5 series).
_ROUND_STEPS = tuple(
    int(m * 10**e) for e in range(0, 10) for m in (1, 2, 2.5, 5) if m * 10**e >= 2 and float(m * 10**e).is_integer()
)
#: Quantile bins in which level shares are learned.
N_BINS = 5
#: A step must hold at least this multiple of its even-spread share ...
MIN_LIFT = 1.5
#: ... and at least this share of the values.
MIN_STEP_SHARE = 0.02
#: Sentinels hold at most this share of the rows ...
MAX_SENTINEL_SHARE = 0.02
#: ... and are at most this many distinct values on each side (codes are few; a tail of many
#: scattered values is a tail, not a code).
MAX_SENTINEL_VALUES = 3
#: Level shares below this are dropped (their values join the next lower level).
MIN_LEVEL_SHARE = 0.005
#: A gap is empty space inside the bulk only with at least this share of values on each side.
GAP_MIN_SIDE_SHARE = 0.02


def decimals(x: np.ndarray, lowest: int = -6, highest: int = 10) -> int | None:
    """The fewest decimals (from −6: multiples of 10⁶) that represent every value exactly."""
    sample = x if len(x) <= 100_000 else x[:: len(x) // 100_000 + 1]
    for d in range(lowest, highest + 1):
        if np.array_equal(np.round(sample, d), sample) and np.array_equal(np.round(x, d), x):
            return d
    return None


def robust_decimals(x: np.ndarray, share: float = 0.999, lowest: int = -6, highest: int = 10) -> int | None:
    """The fewest decimals that represent at least `share` of the values to within float32
    noise (1e-6 relative): data stored as float32 (22.1 read back as 22.100000381) or with a
    stray value (one 0.1 among counts) still show their lattice."""
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    if len(x) == 0:
        return None
    sample = x if len(x) <= 100_000 else x[:: len(x) // 100_000 + 1]
    slack = 1e-6 * np.maximum(np.abs(sample), 1.0)
    for d in range(lowest, highest + 1):
        if np.mean(np.abs(np.round(sample, d) - sample) <= slack) >= share:
            return d
    return None


def detect_sentinels(values: np.ndarray, max_share: float = MAX_SENTINEL_SHARE) -> list[float]:
    """Values far outside the bulk of a numeric column: codes and isolated extremes.

    Above the bulk: the largest distinct values (holding at most `max_share` of the rows)
    that sit a gap larger than the whole range below them away from the next smaller value
    (999999 above 0–50; a single 1,000,000 above assets under 100,000). Below the bulk:
    negative values (at most 3 distinct, at most `max_share` of rows) beside a bulk that is
    otherwise ≥ 0 (−1 or −99 for "unknown"), and symmetric isolated extremes. Returns the
    sorted sentinel values (empty when there are none)."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if len(x) < 20:
        return []
    uniq, counts = np.unique(x, return_counts=True)
    if len(uniq) < 4:
        return []
    limit = max_share * len(x)
    found: list[float] = []
    # Top: walk down from the largest value while the rows above stay rare.
    above = 0
    top_cut = None
    for i in range(len(uniq) - 1, max(len(uniq) - 1 - MAX_SENTINEL_VALUES, 4), -1):
        above += counts[i]
        if above > limit:
            break
        below_range = uniq[i - 1] - uniq[0]
        if uniq[i] - uniq[i - 1] > below_range > 0:
            top_cut = i
    if top_cut is not None:
        found.extend(float(v) for v in uniq[top_cut:])
    # Bottom: negative codes beside a non-negative bulk ...
    neg = uniq < 0
    if neg.any() and not neg.all():
        n_neg = int(counts[neg].sum())
        # Negative codes ("−1: never delinquent") may be common; 5 % still leaves the bulk.
        if neg.sum() <= 3 and n_neg <= max(limit, 0.05 * len(x)) and (uniq[~neg] >= 0).all() and len(uniq[~neg]) >= 3:
            found.extend(float(v) for v in uniq[neg])
            return sorted(set(found))
    # ... or isolated extremes below, as above.
    below = 0
    bottom_cut = None
    top = len(uniq) - 1 if top_cut is None else top_cut - 1
    for i in range(0, min(MAX_SENTINEL_VALUES, top - 4)):
        below += counts[i]
        if below > limit:
            break
        above_range = uniq[top] - uniq[i + 1]
        if uniq[i + 1] - uniq[i] > above_range > 0:
            bottom_cut = i
    if bottom_cut is not None:
        found.extend(float(v) for v in uniq[: bottom_cut + 1])
    return sorted(set(found))


def find_gaps(values: np.ndarray, max_gaps: int = 32) -> np.ndarray:
    """Empty stretches inside a column's values: (lo, hi) rows, each an open interval with
    no training value, at least 5 % of the range wide and 20× the median spacing of the
    distinct values, with at least 2 % of the values on each side (the spaces between the
    scattered values of a long tail are not gaps). At most `max_gaps` (the widest)."""
    x = np.asarray(values, dtype=float)
    uniq, counts = np.unique(x[np.isfinite(x)], return_counts=True)
    if len(uniq) < 10:
        return np.zeros((0, 2))
    d = np.diff(uniq)
    span = uniq[-1] - uniq[0]
    below = np.cumsum(counts)[:-1] / counts.sum()
    wide = np.flatnonzero(
        (d > 0.05 * span)
        & (d > 20 * np.median(d))
        & (below >= GAP_MIN_SIDE_SHARE)
        & (1 - below >= GAP_MIN_SIDE_SHARE)
    )
    if len(wide) > max_gaps:
        wide = wide[np.argsort(-d[wide])[:max_gaps]]
        wide.sort()
    return np.column_stack([uniq[wide], uniq[wide + 1]]) if len(wide) else np.zeros((0, 2))


def close_gaps(x: np.ndarray, gaps: np.ndarray) -> None:
    """Move values inside a gap to its nearer edge (in place; NaN untouched)."""
    for lo, hi in gaps:
        inside = (x > lo) & (x < hi)
        if inside.any():
            v = x[inside]
            x[inside] = np.where(v - lo <= hi - v, lo, hi)


@dataclass
class Heaping:
    """A lattice and heaps of a numeric column, learned from its values (see module doc).

    `resolution` is the unit values are counted in (10^−decimals); `steps` are in units of
    it: `steps[0]` the lattice (every value is a multiple of it), the rest accepted round
    steps, ascending. `level_probs[b, j]` is the share of values in quantile bin b whose
    level — the largest step they are a multiple of — is j. `shares[j]` is the share of
    all values that are multiples of step j (what `synthkit schema` reports).
    """

    resolution: float
    steps: list[int]
    edges: np.ndarray = field(default_factory=lambda: np.zeros(0))
    level_probs: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    shares: list[float] = field(default_factory=list)

    @classmethod
    def fit(cls, values: np.ndarray, decimals: int | None, context: np.ndarray | None = None) -> Heaping | None:
        """Learn the lattice and heaps of `values` (finite, point masses removed), or None
        when the column has none worth modelling (no lattice coarser than its decimals and
        no heaps). `decimals` None: found by :func:`robust_decimals`, and then even a
        lattice of the decimals alone is worth keeping (counts stored as float32 come back
        as whole numbers). `context`: the column's values with its point masses (default
        `values`), whose counts next to each multiple a step is compared with."""
        x = np.asarray(values, dtype=float)
        x = x[np.isfinite(x)]
        ctx = x if context is None else np.asarray(context, dtype=float)
        ctx = ctx[np.isfinite(ctx)]
        inexact = decimals is None
        if inexact:
            decimals = robust_decimals(x)
            if decimals is None:
                return None
        if len(x) < 50 or len(np.unique(x)) < 5:
            return None
        resolution = 10.0 ** (-decimals)
        units = np.round(x / resolution)
        if np.abs(units).max() >= 2**53:
            return None
        k = units.astype(np.int64)
        span = int(k.max() - k.min())
        lattice = 1
        for m in _ROUND_STEPS:
            if m > span:
                break
            if np.mean(k % m == 0) >= 0.999:
                lattice = m
        accepted = [lattice]
        shares = [float(np.mean(k % lattice == 0))]
        kc = np.round(ctx / resolution).astype(np.int64) if len(ctx) else k
        for m in _ROUND_STEPS:
            if m <= lattice or m % lattice or m > span:
                continue
            share = float(np.mean(k % m == 0))
            p = max(s for s in accepted if m % s == 0)
            # Against the values one parent step either side (multiples of p that are not
            # multiples of m), in the column with its point masses: a heap stands above its
            # neighbours. Against an even spread instead, any skewed count passed — 0–22
            # accounts, 2–4 taken out as point masses, had "heaps at multiples of 5 (33 %)",
            # and decoding piled 9.6 % of rows on 0 where the data have 3.3 %.
            beside = 0.5 * (np.mean(kc % m == p % m) + np.mean(kc % m == (m - p) % m)) * len(kc) / len(k)
            even = shares[accepted.index(p)] * p / m
            if share >= MIN_STEP_SHARE and share >= MIN_LIFT * max(even, beside):
                accepted.append(m)
                shares.append(share)
        # Steps that add (almost) nothing of their own — multiples of 0.02 when 99 % of the
        # values are whole numbers anyway — are dropped: their values join a lower level.
        while len(accepted) > 1:
            mass = np.bincount(_levels(k, accepted), minlength=len(accepted)) / len(k)
            weak = [j for j in range(1, len(accepted)) if mass[j] < MIN_LEVEL_SHARE]
            if not weak:
                break
            del accepted[weak[0]], shares[weak[0]]
        if len(accepted) == 1 and lattice == 1 and not inexact:
            return None
        levels = _levels(k, accepted)
        edges = np.unique(np.quantile(x, np.linspace(0, 1, N_BINS + 1)[1:-1]))
        bins = np.searchsorted(edges, x, side="right")
        probs = np.full((len(edges) + 1, len(accepted)), 0.5)  # additive smoothing
        np.add.at(probs, (bins, levels), 1.0)
        probs /= probs.sum(axis=1, keepdims=True)
        return cls(resolution=resolution, steps=accepted, edges=edges, level_probs=probs, shares=shares)

    def apply(self, x: np.ndarray, rng: np.random.Generator, lo: float, hi: float) -> None:
        """Move finite values of `x` (in place) onto the lattice, each to a level drawn from
        its bin's level shares, staying within [lo, hi]."""
        finite = np.flatnonzero(np.isfinite(x))
        if len(finite) == 0:
            return
        v = x[finite]
        bins = np.searchsorted(self.edges, v, side="right")
        cdf = np.cumsum(self.level_probs[bins], axis=1)
        u = rng.random(len(v))[:, None]
        level = np.minimum((cdf < u).sum(axis=1), len(self.steps) - 1)
        steps = np.asarray(self.steps, dtype=np.int64)
        s = steps[level]
        units = v / self.resolution
        lo_u, hi_u = np.ceil(lo / self.resolution - 1e-9), np.floor(hi / self.resolution + 1e-9)
        base = np.round(units / s).astype(np.int64)
        best = np.full(len(v), np.nan)
        best_dist = np.full(len(v), np.inf)
        for t in (0, 1, -1, 2, -2, 3, -3, 4, -4):
            cand = (base + t) * s
            ok = (cand >= lo_u) & (cand <= hi_u)
            # Not a multiple of a larger accepted step (that would be another level).
            for j, big in enumerate(steps):
                ok &= ~((level < j) & (cand % big == 0))
            dist = np.abs(cand - units)
            better = ok & (dist < best_dist)
            best[better] = cand[better]
            best_dist[better] = dist[better]
        # No valid candidate nearby (a level whose multiples all fall outside [lo, hi]):
        # the nearest lattice point.
        lost = np.isnan(best)
        if lost.any():
            lat = steps[0]
            best[lost] = np.clip(np.round(units[lost] / lat) * lat, np.ceil(lo_u / lat) * lat, np.floor(hi_u / lat) * lat)
        x[finite] = best * self.resolution
        decimals = max(0, int(round(-np.log10(self.resolution))))
        x[finite] = np.round(x[finite], decimals)

    def describe(self) -> str:
        """'on multiples of 25; heaps at multiples of 1,000 (78 %), 5,000 (43 %)'."""
        r = self.resolution
        parts = []
        if self.steps[0] > 1:
            parts.append(f"on multiples of {self.steps[0] * r:g}")
        heaps = [f"{s * r:,.10g} ({share:.0%})" for s, share in zip(self.steps[1:], self.shares[1:])]
        if heaps:
            parts.append("heaps at multiples of " + ", ".join(heaps[-3:]))
        return "; ".join(parts)


def _levels(k: np.ndarray, steps: list[int]) -> np.ndarray:
    """Index of the largest step each value is a multiple of (0: the lattice only)."""
    level = np.zeros(len(k), dtype=np.int64)
    for j, s in enumerate(steps):
        level[k % s == 0] = j
    return level
