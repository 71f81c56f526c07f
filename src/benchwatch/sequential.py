"""Group-sequential A/B tests on benchmark samples: look early, stop early, stay honest.

An A/B test that looks at its p-value after every batch and stops at the first
p < 0.05 does not have a 5 % false-positive rate: every look is another chance to cross
by luck (five looks give about 14 %). A group-sequential design fixes the looks in
advance and gives each one a stricter critical value, chosen so that the chance of
crossing *any* of them when A and B are the same is exactly ``alpha``.

How the critical values are found
---------------------------------
At information fraction t (samples so far / maximum samples) the standardised
statistic is Z(t) = B(t) / sqrt(t) for a Brownian motion B with drift ``eta`` (0 when
A = B), so corr(Z_i, Z_j) = sqrt(t_i / t_j). Lan and DeMets' alpha-spending functions
say how much of ``alpha`` may be used up by time t:

- O'Brien-Fleming type: each side spends a1(t) = 2 - 2 Phi(z_{1 - alpha/4} / sqrt(t))
  (Lan and DeMets' one-sided function at level alpha/2), so the two sides together
  spend 4 - 4 Phi(z_{1 - alpha/4} / sqrt(t)): almost nothing early, nearly all of
  alpha at the end.
- Pocock type: alpha ln(1 + (e - 1) t), spread nearly evenly.

The boundary c_k of look k is the solution (``scipy.optimize.brentq``) of
P(|Z_1| < c_1, ..., |Z_{k-1}| < c_{k-1}, |Z_k| >= c_k) = spend(t_k) - spend(t_{k-1}),
where the probability is computed to ~1e-9 by the recursive numerical
integration of Armitage, McPherson and Rowe (1969): the sub-density of B on the
continuation region is carried from look to look by convolving with the Gaussian
increment, on a Simpson grid. ``tests/naive.py`` checks the result with an independent
method (scipy's multivariate normal CDF).

The statistic
-------------
Each look compares the logs of the samples collected so far (noise is multiplicative)
with Welch's t. Benchmarks are cheap to run in small batches, so early looks have few
samples, and a t with 6 degrees of freedom is not a z: compared with the normal
boundary 4.88 it would cross thousands of times too often. Each look's t is therefore put
on the z scale by its tail probability, z = Phi^-1(F_t,df(t)) (the usual approximation for
group-sequential t-tests; scripts/sequential_sim.py measures it), and the repeated
confidence interval uses the t quantile of the same tail probability as the boundary.

Nothing here reads files, runs benchmarks or knows about asv: numbers in, numbers out.
"""

from __future__ import annotations

import functools
import itertools
import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from . import power as _power
from . import stats as _stats

__all__ = [
    "SPENDINGS",
    "Design",
    "Look",
    "Outcome",
    "Plan",
    "Simulation",
    "design",
    "evaluate",
    "exit_probabilities",
    "max_sample_size",
    "plan",
    "simulate",
    "simulate_summary",
    "spending_function",
]

_N = NormalDist()

#: Spending function names, and how reports spell them.
SPENDINGS = {"obrien-fleming": "O'Brien-Fleming", "pocock": "Pocock"}

#: A look needs this many samples in each arm (Welch's t needs a variance per arm, and
#: with fewer than 3 its degrees of freedom can fall below 1).
MIN_SAMPLES = 3

#: Simpson grid spacing as a fraction of the narrowest Gaussian step sqrt(t_k - t_{k-1})
#: (or sqrt(t_1)). At 1/32 the 5-look boundaries move by < 2e-9 when the step is
#: halved twice more (checked when this was written), at a quarter of 1/64's cost.
_GRID_STEP = 1.0 / 32.0

#: brentq tolerance on a boundary (z units).
_XTOL = 1e-10


@dataclass(frozen=True)
class Design:
    """A two-sided group-sequential design with Lan-DeMets alpha spending.

    ``boundaries[k]`` is the |z| a look at information fraction ``fractions[k]`` must
    reach to stop; ``alpha_spent[k]`` the cumulative two-sided type-I error the design
    has used by then (``alpha_spent[-1] == alpha``). ``inflation`` is the maximum sample
    size relative to a fixed-sample test with the same alpha and the design's power:
    the price of being allowed to stop early.
    """

    looks: int
    alpha: float                    # two-sided overall type-I error
    spending: str                   # "obrien-fleming" | "pocock" (Lan-DeMets spending functions)
    fractions: tuple[float, ...]    # information fraction of each look, increasing, last == 1.0
    boundaries: tuple[float, ...]   # two-sided |z| critical value at each look
    alpha_spent: tuple[float, ...]  # cumulative alpha spent by each look
    inflation: float                # max sample size / fixed-design sample size at the design's power
    power: float = 0.8              # the power ``inflation`` was computed for
    drift: float = math.nan         # E[Z(1)] at which the design has that power


@dataclass(frozen=True)
class Look:
    """One interim analysis of the data as collected."""

    index: int          # 1-based
    n_a: int
    n_b: int
    z: float            # Welch statistic on log values, B vs A (positive: B larger), on the z scale
    boundary: float
    lift_pct: float     # 100 * (exp(mean log b - mean log a) - 1)
    t: float = math.nan   # Welch's t itself
    df: float = math.nan  # its Welch-Satterthwaite degrees of freedom


@dataclass(frozen=True)
class Outcome:
    """Where an A/B test stands after replaying its looks on the data collected so far."""

    decision: str               # "b_higher" | "b_lower" | "no_difference" | "continue"
    reason: str                 # one sentence
    looks: tuple[Look, ...]     # every look evaluated so far
    n_a: int
    n_b: int
    lift_pct: float             # B relative to A, in %
    ci_low_pct: float           # repeated confidence interval at the last look's boundary
    ci_high_pct: float
    effect_size: float          # Cohen's d on log values
    cliffs_delta: float         # from benchwatch.stats
    p_value: float              # fixed-sample Welch p on logs of all samples (information only)


@dataclass(frozen=True)
class Plan:
    """The looks a design makes with ``n_max`` samples per arm.

    Look k happens at n_k = round(fractions[k] * n_max) samples per arm (halves round
    up). Looks with fewer than ``MIN_SAMPLES`` samples, and all but the last of looks
    that fall on the same n, are dropped. Boundaries are recomputed for the fractions
    n_k / n_max the rounding actually gives (the point of Lan-DeMets spending: alpha
    follows the information, not the schedule), so a dropped look's alpha is not lost
    but spent at the next one.
    """

    n_max: int
    looks: tuple[int, ...]          # 1-based design look numbers that are evaluated
    sizes: tuple[int, ...]          # samples per arm at each of them
    fractions: tuple[float, ...]    # sizes / n_max
    boundaries: tuple[float, ...]   # |z| critical values at those fractions


# ---------------------------------------------------------------- validation


def _check_looks(looks: int) -> None:
    if not (isinstance(looks, numbers.Integral) and not isinstance(looks, bool)
            and 1 <= looks <= 50):
        raise ValueError(f"looks must be a whole number of interim analyses from 1 to 50; "
                         f"got {looks!r}")


def _check_spending(spending: str) -> None:
    if spending not in SPENDINGS:
        raise ValueError(f"spending must be one of {', '.join(SPENDINGS)}; got {spending!r}")


def _check_fractions(fractions: Sequence[float], looks: int) -> tuple[float, ...]:
    fr = tuple(float(f) for f in fractions)
    if len(fr) != looks:
        raise ValueError(f"fractions must give one information fraction per look ({looks}); "
                         f"got {len(fr)}")
    if not all(math.isfinite(f) for f in fr) or fr[-1] != 1.0 or fr[0] <= 0.0 or any(
            b <= a for a, b in itertools.pairwise(fr)):
        raise ValueError("fractions must increase strictly from above 0 to exactly 1.0 "
                         f"(e.g. 0.2, 0.4, 0.6, 0.8, 1.0); got {list(fr)}")
    return fr


# ---------------------------------------------------------------- spending and boundaries


def spending_function(spending: str, t: float, alpha: float) -> float:
    """Cumulative two-sided alpha a design may have spent by information fraction t."""
    _check_spending(spending)
    if t <= 0.0:
        return 0.0
    if t >= 1.0:
        return alpha
    if spending == "pocock":
        return alpha * math.log1p((math.e - 1.0) * t)
    # O'Brien-Fleming type, both sides: 2 x [2 - 2 Phi(z_{1 - alpha/4} / sqrt(t))]
    return 4.0 * _N.cdf(-_N.inv_cdf(1.0 - alpha / 4.0) / math.sqrt(t))


def _simpson(m: int) -> np.ndarray:
    w = np.ones(m)
    w[1:-1:2] = 4.0
    w[2:-1:2] = 2.0
    return w / 3.0


class _Recursion:
    """Armitage-McPherson-Rowe recursion for B(t) = sqrt(t) Z(t) with drift ``eta``.

    After ``advance(k, c)`` the object holds the sub-density of B(t_k) on the
    continuation region (-c sqrt(t_k), c sqrt(t_k)) as values times Simpson weights on a
    grid; ``exit_probability(k, c)`` is P(not stopped before look k, |Z_k| >= c).
    """

    def __init__(self, fractions: Sequence[float], eta: float):
        self.t = np.asarray(fractions, dtype=float)
        self.eta = eta
        steps = np.diff(np.concatenate(([0.0], self.t)))
        self.h = float(np.sqrt(steps.min())) * _GRID_STEP
        self.x: np.ndarray | None = None   # grid of B(t_{k-1})
        self.mass: np.ndarray | None = None  # density x Simpson weights at the grid

    def _step(self, k: int) -> tuple[float, float]:
        prev = self.t[k - 1] if k > 0 else 0.0
        delta = self.t[k] - prev
        return self.eta * delta, math.sqrt(delta)

    def exit_probability(self, k: int, c: float) -> float:
        from scipy.special import ndtr

        mu, sd = self._step(k)
        b = c * math.sqrt(self.t[k])
        if k == 0 or self.x is None:
            return float(ndtr((-b - mu) / sd) + ndtr((mu - b) / sd))
        lo = ndtr((-b - self.x - mu) / sd)
        hi = ndtr((self.x + mu - b) / sd)
        return float(self.mass @ (lo + hi))

    def advance(self, k: int, c: float) -> None:
        mu, sd = self._step(k)
        if not math.isfinite(c):
            # no stopping at this look: the whole line is the continuation region;
            # +-(mean + 12 sd) keeps all but ~1e-32 of the mass
            b = abs(self.eta) * self.t[k] + 12.0 * math.sqrt(self.t[k])
        else:
            b = c * math.sqrt(self.t[k])
        m = 2 * max(50, math.ceil(b / self.h)) + 1
        y = np.linspace(-b, b, m)
        w = _simpson(m) * (y[1] - y[0])
        if k == 0 or self.x is None:
            dens = np.exp(-0.5 * ((y - mu) / sd) ** 2) / (sd * math.sqrt(2.0 * math.pi))
        else:
            # convolve the previous sub-density with the Gaussian increment, in blocks
            # so the (m x m) kernel never holds more than ~4M numbers at once
            dens = np.empty(m)
            block = max(1, 4_000_000 // self.x.size)
            for s in range(0, m, block):
                d = (y[s:s + block, None] - self.x[None, :] - mu) / sd
                dens[s:s + block] = np.exp(-0.5 * d * d) @ self.mass
            dens /= sd * math.sqrt(2.0 * math.pi)
        self.x, self.mass = y, dens * w


def _solve_boundary(rec: _Recursion, k: int, target: float) -> float:
    from scipy.optimize import brentq

    if target <= 0.0:
        return math.inf
    f = lambda c: rec.exit_probability(k, c) - target
    hi = 10.0
    while f(hi) > 0.0:  # target below ~1e-23: push out
        hi *= 2.0
        if hi > 1e3:
            return math.inf
    if f(0.0) < 0.0:  # cannot happen for valid spending: all remaining mass < target
        raise ValueError("the spending function asks for more alpha than is left at "
                         f"look {k + 1}")
    return float(brentq(f, 0.0, hi, xtol=_XTOL, rtol=4 * np.finfo(float).eps))


@functools.lru_cache(maxsize=256)
def _boundaries(spending: str, alpha: float, fractions: tuple[float, ...]) -> tuple[
        tuple[float, ...], tuple[float, ...]]:
    rec = _Recursion(fractions, 0.0)
    spent = [spending_function(spending, t, alpha) for t in fractions]
    bounds = []
    prev = 0.0
    for k, s in enumerate(spent):
        c = _solve_boundary(rec, k, s - prev)
        bounds.append(c)
        if k + 1 < len(fractions):
            rec.advance(k, c)
        prev = s
    return tuple(bounds), tuple(spent)


def exit_probabilities(boundaries: Sequence[float], fractions: Sequence[float],
                       drift: float = 0.0) -> tuple[float, ...]:
    """P(the test stops at look k) for each k, when E[Z(1)] = ``drift``.

    Stopping means |Z_k| >= boundaries[k] with no earlier stop; either direction counts.
    Their sum is the type-I error (drift 0) or the power (drift > 0).
    """
    fr = _check_fractions(fractions, len(fractions)) if fractions else ()
    if len(boundaries) != len(fr) or not fr:
        raise ValueError("boundaries and fractions must have one entry per look")
    rec = _Recursion(fr, float(drift))
    out = []
    for k, c in enumerate(boundaries):
        c = float(c)
        out.append(rec.exit_probability(k, c) if math.isfinite(c) else 0.0)
        if k + 1 < len(fr):
            rec.advance(k, c)
    return tuple(out)


def _design_drift(boundaries: tuple[float, ...], fractions: tuple[float, ...],
                  target: float) -> float:
    from scipy.optimize import brentq

    f = lambda eta: sum(exit_probabilities(boundaries, fractions, eta)) - target
    hi = 4.0
    while f(hi) < 0.0:
        hi *= 2.0
    return float(brentq(f, 0.0, hi, xtol=1e-10))


def _fixed_drift(alpha: float, target: float) -> float:
    """E[Z] at which a two-sided fixed-sample z-test at ``alpha`` has power ``target``
    (both rejection tails counted, as for the sequential design)."""
    from scipy.optimize import brentq

    z = _N.inv_cdf(1.0 - alpha / 2.0)
    f = lambda eta: _N.cdf(eta - z) + _N.cdf(-eta - z) - target
    return float(brentq(f, 0.0, 40.0, xtol=1e-12))


@functools.lru_cache(maxsize=256)
def _design(looks: int, alpha: float, spending: str, power: float,
            fractions: tuple[float, ...]) -> Design:
    bounds, spent = _boundaries(spending, alpha, fractions)
    eta = _design_drift(bounds, fractions, power)
    inflation = (eta / _fixed_drift(alpha, power)) ** 2
    return Design(looks=looks, alpha=alpha, spending=spending, fractions=fractions,
                  boundaries=bounds, alpha_spent=spent, inflation=inflation, power=power,
                  drift=eta)


def design(looks: int = 5, alpha: float = 0.05, spending: str = "obrien-fleming",
           power: float = 0.8, fractions: Sequence[float] | None = None) -> Design:
    """The group-sequential design: boundaries, alpha spent and the sample-size inflation.

    ``fractions`` defaults to equally spaced looks (k / looks). The same arguments always
    give the same (cached) Design.
    """
    _check_looks(looks)
    _power._check_probability("alpha", alpha)
    _power._check_probability("power", power)
    _check_spending(spending)
    if fractions is None:
        fr = tuple((k + 1) / looks for k in range(looks))
        fr = fr[:-1] + (1.0,)
    else:
        fr = _check_fractions(fractions, looks)
    return _design(int(looks), float(alpha), spending, float(power), fr)


# ---------------------------------------------------------------- the looks of one test


def max_sample_size(design: Design, cv: float, mde: float) -> int:
    """Samples per arm the sequential test collects at most: the fixed t-test's
    ``sample_size_for_mde`` at the design's alpha and power, times the design's
    inflation, rounded up."""
    n_fixed = _power.sample_size_for_mde(cv, mde, design.alpha, design.power)
    # the inflation is a real number computed to ~1e-9; do not let 19.0000000001 become 20
    return max(MIN_SAMPLES, math.ceil(round(design.inflation * n_fixed, 6)))


def _check_n_max(n_max: int) -> None:
    if not (isinstance(n_max, numbers.Integral) and not isinstance(n_max, bool)
            and n_max >= MIN_SAMPLES):
        raise ValueError(f"n_max must be a whole number of samples per arm, at least "
                         f"{MIN_SAMPLES}; got {n_max!r}")


@functools.lru_cache(maxsize=256)
def _plan(d: Design, n_max: int) -> Plan:
    sizes = [math.floor(f * n_max + 0.5) for f in d.fractions]
    sizes[-1] = n_max
    keep = [k for k in range(d.looks)
            if sizes[k] >= MIN_SAMPLES and (k == d.looks - 1 or sizes[k + 1] != sizes[k])]
    looks = tuple(k + 1 for k in keep)
    ns = tuple(sizes[k] for k in keep)
    fr = tuple(n / n_max for n in ns)
    if fr == tuple(d.fractions[k] for k in keep) and len(keep) == d.looks:
        bounds = d.boundaries
    else:
        bounds = _boundaries(d.spending, d.alpha, fr)[0]
    return Plan(n_max=n_max, looks=looks, sizes=ns, fractions=fr, boundaries=bounds)


def plan(design: Design, n_max: int) -> Plan:
    """The looks ``design`` makes with at most ``n_max`` samples per arm (see ``Plan``)."""
    _check_n_max(n_max)
    return _plan(design, int(n_max))


def _welch(log_a: np.ndarray, log_b: np.ndarray) -> tuple[np.ndarray, ...]:
    """Row-wise Welch statistics of B vs A (rows are experiments, columns samples).

    Returns (difference of means, its standard error, t, df, z); z is t moved to the
    normal scale by its tail probability. Constant arms give se 0: t is +-inf when the
    means differ (z likewise) and 0 when they do not.
    """
    from scipy.special import ndtri, stdtr

    na, nb = log_a.shape[1], log_b.shape[1]
    diff = log_b.mean(axis=1) - log_a.mean(axis=1)
    va = log_a.var(axis=1, ddof=1) / na
    vb = log_b.var(axis=1, ddof=1) / nb
    se = np.sqrt(va + vb)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(se > 0, diff / se, np.where(diff == 0, 0.0, np.sign(diff) * np.inf))
        df = (va + vb) ** 2 / (va * va / (na - 1) + vb * vb / (nb - 1))
    df = np.where(np.isfinite(df), df, float(na + nb - 2))
    # z with the same upper-tail probability as |t|; exact in the far tail (stdtr of a
    # negative argument keeps its relative precision where 1 - F would round to 0)
    z = -ndtri(stdtr(df, -np.abs(t))) * np.sign(t) + 0.0  # + 0.0: no -0.0
    return diff, se, t, df, z


def _t_quantile(df: float, c: float) -> float:
    """The t quantile with the same upper-tail probability as z = c."""
    from scipy.special import ndtr, stdtrit

    if not math.isfinite(c):
        return math.inf
    return float(-stdtrit(df, ndtr(-c)))


def _logs(samples: Sequence[float], name: str) -> np.ndarray:
    x = np.asarray(samples, dtype=float)
    if x.ndim != 1:
        raise ValueError(f"{name}: give a flat list of samples")
    if x.size and (np.any(~np.isfinite(x)) or np.any(x <= 0)):
        raise ValueError(f"{name}: samples must be finite and positive (timings or rates)")
    return np.log(x)


def _pct(log_ratio: float) -> float:
    return 100.0 * math.expm1(log_ratio)


def _summary(la: np.ndarray, lb: np.ndarray, boundary: float) -> tuple[float, ...]:
    """(lift %, RCI low %, RCI high %, Cohen's d) of two arms of log values."""
    if la.size < 2 or lb.size < 2:
        lift = _pct(float(lb.mean() - la.mean())) if la.size and lb.size else math.nan
        return lift, math.nan, math.nan, math.nan
    diff, se, _, df, _ = (float(v[0]) for v in _welch(la[None, :], lb[None, :]))
    if math.isnan(boundary):
        half = math.nan
    else:
        half = _t_quantile(df, boundary) * se if se > 0 else 0.0
    pooled = math.sqrt(((la.size - 1) * la.var(ddof=1) + (lb.size - 1) * lb.var(ddof=1))
                       / (la.size + lb.size - 2))
    d = diff / pooled if pooled > 0 else (0.0 if diff == 0 else math.copysign(math.inf, diff))
    return _pct(diff), _pct(diff - half), _pct(diff + half), d


def evaluate(a: Sequence[float], b: Sequence[float], design: Design, n_max: int) -> Outcome:
    """Replay the design's looks on the samples collected so far and say where the test is.

    ``a`` and ``b`` are the samples of each arm in the order they were collected. Look k
    uses the first n_k of each (see ``plan``); looks whose n_k is not yet reached in both
    arms are not evaluated and the decision is "continue". Samples beyond ``n_max`` are
    ignored. The summary figures (lift, repeated CI, effect sizes, p) describe the samples
    of the last evaluated look; before the first look, all samples given.
    """
    p = plan(design, n_max)
    la = _logs(a, "a")[:n_max]
    lb = _logs(b, "b")[:n_max]
    name = SPENDINGS[design.spending]
    looks: list[Look] = []
    decision, reason = "continue", ""
    for k, (idx, n, c) in enumerate(zip(p.looks, p.sizes, p.boundaries)):
        if la.size < n or lb.size < n:
            reason = (f"look {idx} of {design.looks} needs {n} samples per arm; "
                      f"have {la.size} and {lb.size}")
            break
        diff, _, t, df, z = (float(v[0]) for v in _welch(la[None, :n], lb[None, :n]))
        looks.append(Look(index=idx, n_a=n, n_b=n, z=z, boundary=c, lift_pct=_pct(diff),
                          t=t, df=df))
        if abs(z) >= c:
            decision = "b_higher" if z > 0 else "b_lower"
            reason = (f"crossed the {name} boundary at look {idx} of {design.looks} "
                      f"(|z| {abs(z):.2f} >= {c:.2f})")
            break
        if k == len(p.sizes) - 1:
            decision = "no_difference"
            reason = (f"reached the maximum sample size ({n} per arm) without crossing "
                      "a boundary")
    if looks:
        n_used = looks[-1].n_a
        used_a, used_b, c = la[:n_used], lb[:n_used], looks[-1].boundary
    else:  # no look yet: no repeated CI (there is no boundary to hold it to)
        used_a, used_b, c = la, lb, math.nan
    lift, lo, hi, d = _summary(used_a, used_b, c)
    pval = math.nan
    if used_a.size >= 2 and used_b.size >= 2:
        import warnings

        from scipy import stats as _sp

        with warnings.catch_warnings():  # constant arms: scipy warns, and says NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            pval = float(_sp.ttest_ind(used_b, used_a, equal_var=False).pvalue)
    delta = (_stats.cliffs_delta(np.exp(used_a), np.exp(used_b))
             if used_a.size and used_b.size else math.nan)
    return Outcome(decision=decision, reason=reason, looks=tuple(looks), n_a=int(used_a.size),
                   n_b=int(used_b.size), lift_pct=lift, ci_low_pct=lo, ci_high_pct=hi,
                   effect_size=d, cliffs_delta=delta, p_value=pval)


# ---------------------------------------------------------------- simulation

#: Experiments simulated per block (bounds memory: block x n_max x 2 floats).
_SIM_BLOCK = 4096


def _simulated_logs(rng: np.random.Generator, n_sims: int, n_max: int, cv: float,
                    effect: float) -> tuple[np.ndarray, np.ndarray]:
    """Log samples of ``n_sims`` experiments: lognormal with coefficient of variation
    ``cv`` and mean 1 in A, B scaled by (1 + effect)."""
    s = _power.cv_to_log_sd(cv)
    mu = -0.5 * s * s
    log_a = rng.normal(mu, s, size=(n_sims, n_max))
    log_b = rng.normal(mu + math.log1p(effect), s, size=(n_sims, n_max))
    return log_a, log_b


def _stopping_looks(log_a: np.ndarray, log_b: np.ndarray, sizes: Sequence[int],
                    boundaries: Sequence[float], raw_t: bool = False) -> np.ndarray:
    """Per row: the 0-based position in ``sizes`` of the look that stopped, -1 for none.

    ``raw_t`` compares Welch's t itself with the boundaries (no move to the z scale):
    wrong at small n, kept only so ``scripts/sequential_sim.py`` can show how wrong.
    """
    stop = np.full(log_a.shape[0], -1)
    for k, (n, c) in enumerate(zip(sizes, boundaries)):
        stats = _welch(log_a[:, :n], log_b[:, :n])
        crossed = np.abs(stats[2] if raw_t else stats[4]) >= c
        stop[(stop < 0) & crossed] = k
    return stop


def _decisions(log_a: np.ndarray, log_b: np.ndarray, sizes: Sequence[int],
               boundaries: Sequence[float]) -> np.ndarray:
    """Per row: did the test stop with a decision at any of the looks?"""
    return _stopping_looks(log_a, log_b, sizes, boundaries) >= 0


@dataclass(frozen=True)
class Simulation:
    """What ``n_sims`` simulated A/B tests did: how many ended with a decision, how many
    samples per arm they used on average, and how many stopped at each look."""

    n_sims: int
    decisions: int
    rate: float                    # decisions / n_sims
    mean_n: float                  # average samples per arm at the end (stop or n_max)
    sizes: tuple[int, ...]         # samples per arm at each evaluated look (Plan.sizes)
    stops: tuple[int, ...]         # experiments that stopped at each of those looks


def _check_simulation(n_sims: int, cv: float, effect: float) -> None:
    if not (isinstance(n_sims, numbers.Integral) and n_sims >= 1):
        raise ValueError(f"n_sims must be a positive whole number; got {n_sims!r}")
    if not (isinstance(effect, numbers.Real) and math.isfinite(effect) and effect > -1.0):
        raise ValueError(f"effect must be a relative change above -1 (0.05 for +5 %); "
                         f"got {effect!r}")
    _power.cv_to_log_sd(cv)  # validates cv


def _simulation(n_sims: int, design: Design, n_max: int, cv: float, effect: float,
                peeking: bool, seed: int, raw_t: bool = False) -> Simulation:
    _check_simulation(n_sims, cv, effect)
    p = plan(design, n_max)
    if peeking:
        bounds = (_N.inv_cdf(1.0 - design.alpha / 2.0),) * len(p.sizes)
    else:
        bounds = p.boundaries
    rng = np.random.default_rng(seed)
    stops = np.zeros(len(p.sizes), dtype=np.int64)
    for start in range(0, int(n_sims), _SIM_BLOCK):
        m = min(_SIM_BLOCK, int(n_sims) - start)
        log_a, log_b = _simulated_logs(rng, m, p.n_max, cv, effect)
        at = _stopping_looks(log_a, log_b, p.sizes, bounds, raw_t)
        stops += np.bincount(at[at >= 0], minlength=len(p.sizes))
    decided = int(stops.sum())
    used = float(np.dot(stops, p.sizes) + (int(n_sims) - decided) * p.n_max)
    return Simulation(n_sims=int(n_sims), decisions=decided, rate=decided / int(n_sims),
                      mean_n=used / int(n_sims), sizes=p.sizes,
                      stops=tuple(int(x) for x in stops))


def simulate_summary(n_sims: int, design: Design, n_max: int, cv: float = 0.05,
                     effect: float = 0.0, peeking: bool = False, seed: int = 0) -> Simulation:
    """``simulate`` with the details: decisions, stops per look and average sample size."""
    return _simulation(n_sims, design, n_max, cv, effect, peeking, seed)


def simulate(n_sims: int, design: Design, n_max: int, cv: float = 0.05, effect: float = 0.0,
             peeking: bool = False, seed: int = 0) -> float:
    """Fraction of ``n_sims`` simulated A/B tests that end with a decision.

    Each experiment draws lognormal samples with coefficient of variation ``cv``, B's
    scaled by (1 + effect), and runs ``evaluate``'s procedure (the same looks, the same
    statistic). With ``effect`` 0 the fraction is the false-positive rate; at the MDE it
    is the power. ``peeking=True`` is the naive procedure: the same looks, each compared
    with the fixed-sample critical value z_{1 - alpha/2} (1.96 at alpha 0.05).
    """
    return _simulation(n_sims, design, n_max, cv, effect, peeking, seed).rate
