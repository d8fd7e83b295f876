"""The statistics the product decides with (NumPy only): ROC, thresholds, confusion, the paired test.

One home for the gate's test: ``mcnemar_exact`` (and its binomial tail, which the learning-curve
estimate uses too) and ``ALPHA``, its significance level.
"""

from __future__ import annotations

import math

import numpy as np

ALPHA = 0.05  # one-sided significance level of the gate's paired test


def roc_curve(is_positive: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (false positive rates, true positive rates) over all distinct score thresholds."""
    order = np.argsort(-scores, kind="stable")
    scores, is_positive = scores[order], is_positive[order].astype(float)
    last_of_tie = np.r_[np.flatnonzero(np.diff(scores)), len(scores) - 1]
    tp, fp = np.cumsum(is_positive)[last_of_tie], np.cumsum(1 - is_positive)[last_of_tie]
    tpr = np.r_[0.0, tp / tp[-1]] if tp[-1] else np.r_[0.0, tp * 0]
    fpr = np.r_[0.0, fp / fp[-1]] if fp[-1] else np.r_[0.0, fp * 0]
    return fpr, tpr


def roc_auc(is_positive: np.ndarray, scores: np.ndarray) -> float | None:
    """Return the area under the ROC curve, or None when only one class is present."""
    if is_positive.all() or not is_positive.any():
        return None
    fpr, tpr = roc_curve(is_positive, scores)
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))


def best_threshold_accuracy(
    is_positive: np.ndarray, scores: np.ndarray
) -> tuple[float, float | None]:
    """Return (the highest accuracy of calling ``scores >= t`` positive over all t, that t; None: none positive).

    A model whose argmax accuracy is far below this ranks well but decides badly: its threshold
    is in the wrong place (stale batch-norm statistics do that).
    """
    is_positive, scores = np.asarray(is_positive, dtype=bool), np.asarray(scores, dtype=np.float64)
    order = np.argsort(-scores, kind="stable")
    pos = is_positive[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(scores[order])), len(scores) - 1]
    # Calling the top k positive: right = positives among them + negatives after them.
    right = np.cumsum(pos)[last_of_tie] + (~pos).sum() - np.cumsum(~pos)[last_of_tie]
    right = np.r_[(~pos).sum(), right]  # k = 0: everything called negative
    best = int(np.argmax(right))
    threshold = None if best == 0 else float(scores[order][last_of_tie[best - 1]])
    return float(right[best] / max(1, len(scores))), threshold


def binomial_tail(k: int, n: int) -> float:
    """P(B >= k) for B ~ Binomial(n, 1/2), summed exactly (1.0 when n is 0): McNemar's one-sided tail."""
    if n <= 0:
        return 1.0
    return sum(math.comb(n, i) for i in range(k, n + 1)) / 2**n


def mcnemar_exact(candidate_right, compared_right, alternative: str = "better") -> dict:
    """Exact McNemar test: is the candidate ``better`` (or ``worse``) than the compared model on the same images?

    Only discordant images count: ``b`` the candidate alone gets right, ``c`` the compared one
    alone. Without a difference each is a coin flip, so b ~ Binomial(b + c, 1/2); the one-sided
    p-value is P(B >= b) for ``better`` and P(B <= b) for ``worse``, summed exactly.
    """
    ours, theirs = np.asarray(candidate_right, dtype=bool), np.asarray(compared_right, dtype=bool)
    if ours.shape != theirs.shape or ours.ndim != 1:
        raise ValueError(
            f"Paired outcomes must be two 1-D arrays of one length. Received: shapes={ours.shape}, "
            f"{theirs.shape}"
        )
    if alternative not in ("better", "worse"):
        raise ValueError(
            f"alternative must be 'better' or 'worse'. Received: alternative={alternative!r}"
        )
    b, c = int((ours & ~theirs).sum()), int((~ours & theirs).sum())
    tail = b if alternative == "better" else c
    p = binomial_tail(tail, b + c)
    return {
        "test": "exact McNemar (one-sided binomial on discordant pairs)",
        "alternative": f"candidate {alternative}",
        "n": int(len(ours)),
        "candidate_only_right": b,
        "compared_only_right": c,
        "p_value": float(p),
    }


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n: int) -> np.ndarray:
    """Return the n x n confusion matrix (rows: true label, columns: predicted label)."""
    matrix = np.zeros((n, n), dtype=np.int64)
    np.add.at(matrix, (y_true, y_pred), 1)
    return matrix
