"""Tail bounds of the template-burst test (:mod:`graphlink.stages.bursts`): how likely chance alone puts ``k`` or
more of a template's senders in one window.

References
----------
W. Hoeffding, "Probability inequalities for sums of bounded random variables", JASA 58 (1963).
T. W. Anderson and S. M. Samuels, "Some inequalities among binomial and Poisson probabilities", Proc. Fifth
Berkeley Symp. (1967).
"""

from __future__ import annotations

import numpy as np

__all__ = ["hypergeometric_tail_bound", "poisson_tail_bound", "trials_tail_bound"]


def poisson_tail_bound(k: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """Natural log of an upper bound on ``P(Poisson(lam) >= k)``, elementwise.

    For ``k > lam`` the terms after ``P(X = k)`` fall at least geometrically
    (ratio ``lam / (j + 1) <= lam / (k + 1)``), so
    ``P(X >= k) <= P(X = k) / (1 - lam / (k + 1))``; otherwise the bound is 1
    (log 0). ``log k!`` is summed exactly from a table of ``log j``.

    Parameters
    ----------
    k : ndarray of int
        Counts (>= 0).
    lam : ndarray of float
        Poisson means (> 0), same shape.

    Returns
    -------
    ndarray of float
        ``log`` of the bound (<= 0).

    Examples
    --------
    >>> b = poisson_tail_bound(np.array([10, 1]), np.array([1.0, 2.0]))
    >>> float(np.exp(b[0])) > 1.1e-7 > 1.0e-7  # P(X >= 10) for lam = 1 is 1.11e-7
    True
    >>> float(b[1])
    0.0
    """
    k = np.asarray(k, dtype=np.int64)
    lam = np.asarray(lam, dtype=np.float64)
    if k.size == 0:
        return np.zeros(0)
    log_fact = np.concatenate([[0.0], np.cumsum(np.log(np.arange(1, int(k.max()) + 1, dtype=np.float64)))])
    above = k > lam
    safe = np.where(lam > 0, lam, 1.0)
    log_term = -lam + k * np.log(safe) - log_fact[k]
    ratio = np.where(above, lam / (k + 1.0), 0.0)
    bound = log_term - np.log1p(-np.minimum(ratio, 1 - 1e-12))
    return np.where(above, np.minimum(bound, 0.0), 0.0)


def hypergeometric_tail_bound(k: np.ndarray, n_t: np.ndarray, a_w: np.ndarray, n: int) -> np.ndarray:
    """Natural log of an upper bound on ``P(X >= k)``, ``X`` hypergeometric: ``a_w`` of ``n`` accounts drawn,
    ``n_t`` of them holders (the null of independent *what* and *when* given both margins), elementwise.

    The smaller of :func:`poisson_tail_bound` at the mean ``n_t * a_w / n`` (for ``k >= mean + 1``) and the
    Chernoff-Hoeffding bounds ``exp(-m * D(k / m || p))`` for ``(m, p) = (a_w, n_t / n)`` and ``(n_t, a_w / n)``
    (``D`` the binary Kullback-Leibler divergence; Hoeffding 1963: sampling without replacement is no more
    spread than with). The Poisson tail is near exact while the template and the window are small shares of the
    accounts; when a burst is most of the window's traffic or of the log (an incident extract, a fleet of
    thousands), the mean counts the burst's own accounts and the Poisson tail is nowhere near the hypergeometric
    one (3,000 of 3,005 active accounts holding a template 3,000 of 3,312 accounts hold: Poisson 1e-7,
    hypergeometric below 1e-100).

    Examples
    --------
    >>> b = hypergeometric_tail_bound(np.array([3000]), np.array([3000]), np.array([3005]), 3312)
    >>> float(b[0] / np.log(10)) < -100 < float(poisson_tail_bound(np.array([3000]), np.array([3000 * 3005 / 3312]))[0])
    True
    """
    k, n_t, a_w = (np.asarray(x, dtype=np.float64) for x in (k, n_t, a_w))
    lam = n_t * a_w / n
    # (the Poisson tail bounds the hypergeometric one from k >= lam + 1 on, Anderson & Samuels 1967; nearer the
    # mean it can fall below it: 2 of 2 drawn holders, 301 of 311 accounts holding, exact 0.94, Poisson 0.76)
    bound = np.where(k >= lam + 1, poisson_tail_bound(k.astype(np.int64), lam), 0.0)
    for m, p in ((a_w, n_t / n), (n_t, a_w / n)):
        q = np.clip(k / np.maximum(m, 1.0), 0.0, 1.0)
        p = np.clip(p, 1e-300, 1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            kl = (np.where(q > 0, q * np.log(q / p), 0.0)
                  + np.where(q < 1, (1 - q) * np.log((1 - q) / np.maximum(1 - p, 1e-300)), 0.0))
        chernoff = np.where((q > p) & (p < 1), -m * kl, 0.0)
        bound = np.minimum(bound, np.minimum(chernoff, 0.0))
    return bound


def trials_tail_bound(k: np.ndarray, lam: np.ndarray, var: np.ndarray, trials: np.ndarray) -> np.ndarray:
    """Natural log of an upper bound on ``P(X >= k)``, ``X`` a sum of independent Bernoulli trials of mean ``lam``
    and variance ``var`` (each account its own chance of being in a window), elementwise.

    The smallest of :func:`poisson_tail_bound` at ``lam`` for ``k >= lam + 1`` (a sum of unequal trials is no
    more spread than the binomial of its mean there, Hoeffding 1956, nor the binomial than the Poisson, Anderson &
    Samuels 1967), the Chernoff-Hoeffding bound ``exp(-m D(k / m || lam / m))`` over the ``m = trials`` (Hoeffding
    1963, Theorem 1: it holds for unequal trials at their mean chance) and Bernstein's
    ``exp(-t^2 / (2 (var + t / 3)))`` for ``t = k - lam > 0``, near exact where most trials are near certain (a
    burst that is most of its window's traffic: the Poisson tail ignores how little such a sum varies).

    Examples
    --------
    Three accounts in every window and forty one-off accounts: 43 holders against 3.0 expected.

    >>> float(trials_tail_bound(np.array([43]), np.array([3.0]), np.array([0.0]), np.array([43]))[0]) < -50
    True
    >>> float(trials_tail_bound(np.array([2]), np.array([3.0]), np.array([1.0]), np.array([10]))[0])
    0.0
    """
    k, lam, var, m = (np.asarray(x, dtype=np.float64) for x in (k, lam, var, trials))
    bound = np.where(k >= lam + 1, poisson_tail_bound(k.astype(np.int64), lam), 0.0)
    q = np.clip(k / np.maximum(m, 1.0), 0.0, 1.0)
    p = np.clip(lam / np.maximum(m, 1.0), 1e-300, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        kl = (np.where(q > 0, q * np.log(q / p), 0.0)
              + np.where(q < 1, (1 - q) * np.log((1 - q) / np.maximum(1 - p, 1e-300)), 0.0))
    bound = np.minimum(bound, np.where((q > p) & (p < 1), np.minimum(-m * kl, 0.0), 0.0))
    t = np.maximum(k - lam, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        bernstein = np.where(t > 0, -t * t / (2.0 * (np.maximum(var, 0.0) + t / 3.0)), 0.0)
    return np.minimum(bound, bernstein)
