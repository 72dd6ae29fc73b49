"""Multinomial logistic regression (softmax) on sparse rows, trained with numpy alone.

Mini-batch Adam over a seeded batch order: deterministic (float32 arithmetic in a fixed
order), and on a few thousand short messages it converges in about ten epochs. Sparse
products are ``np.add.reduceat`` over gathered rows, in both the
row-major (X·W) and the column-major (Xᵀ·G) direction.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shopassist.engine.nlu.features import CSR


@dataclass(frozen=True)
class TrainConfig:
    l2: float = 1e-5
    learning_rate: float = 0.05
    epochs: int = 6
    # Extra epochs over all data after the held-out split has fixed the temperature.
    final_epochs: int = 2
    batch_size: int = 256
    out_of_scope_weight: float = 2.0
    seed: int = 13


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


class _ColumnMajor:
    """Xᵀ·G without scipy: the nonzeros sorted by column, reduced per column."""

    def __init__(self, x: CSR) -> None:
        rows = x.row_ids()
        order = np.argsort(x.indices, kind="stable")
        self.rows = rows[order]
        self.data = x.data[order][:, None]
        cols = x.indices[order]
        if cols.size:
            boundaries = np.flatnonzero(np.diff(cols)) + 1
            self.starts = np.concatenate([[0], boundaries])
            self.cols = cols[self.starts]
        else:
            self.starts = np.zeros(0, np.int64)
            self.cols = np.zeros(0, np.int64)
        self.n_cols = x.n_cols

    def tdot(self, grad: np.ndarray) -> np.ndarray:
        out = np.zeros((self.n_cols, grad.shape[1]), dtype=grad.dtype)
        if self.rows.size:
            out[self.cols] = np.add.reduceat(grad[self.rows] * self.data, self.starts, axis=0)
        return out


def _segment_starts(sorted_keys: np.ndarray) -> np.ndarray:
    if sorted_keys.size == 0:
        return np.zeros(0, np.int64)
    return np.concatenate([[0], np.flatnonzero(np.diff(sorted_keys)) + 1])


class _Batch:
    """Index arrays of one fixed mini-batch, computed once and reused every epoch."""

    def __init__(self, x: CSR, rows: np.ndarray, sample_w: np.ndarray) -> None:
        self.rows = rows
        lengths = np.diff(x.indptr)[rows]
        ptr = np.concatenate([[0], np.cumsum(lengths)])
        pos = np.repeat(x.indptr[rows] - ptr[:-1], lengths) + np.arange(ptr[-1])
        self.cols = x.indices[pos]
        self.vals = x.data[pos][:, None]
        self.nonempty = np.flatnonzero(lengths > 0)
        self.row_starts = ptr[:-1][self.nonempty]
        local_row = np.repeat(np.arange(rows.size), lengths)
        by_col = np.argsort(self.cols, kind="stable")
        sorted_cols = self.cols[by_col]
        self.col_starts = _segment_starts(sorted_cols)
        self.touched = sorted_cols[self.col_starts]
        self.local_row_by_col = local_row[by_col]
        self.vals_by_col = self.vals[by_col]
        self.scale = (sample_w[rows] / rows.size)[:, None].astype(np.float32)


def _make_batches(x: CSR, sample_w: np.ndarray, order: np.ndarray, size: int) -> list[_Batch]:
    return [_Batch(x, order[i : i + size], sample_w) for i in range(0, order.size, size)]


def train_softmax(
    x: CSR,
    y: np.ndarray,
    n_classes: int,
    config: TrainConfig,
    *,
    rows: np.ndarray | None = None,
    init: tuple[np.ndarray, np.ndarray] | None = None,
    epochs: int | None = None,
    class_weight: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Return (weights (n_cols, n_classes), bias (n_classes,)) minimising L2-regularised NLL.

    Mini-batch Adam with lazy (touched-rows-only) updates: one epoch costs about one
    full-batch gradient, yet about ten epochs converge where full-batch Adam needs
    hundreds of steps. Batches are fixed once (their index arrays precomputed) and only
    their order is reshuffled per epoch, from a seeded generator, so training is
    reproducible to the byte.

    ``rows`` restricts training to those rows (the held-out split leaves the rest out);
    ``init`` continues from earlier weights instead of zeros. ``class_weight`` scales the
    (otherwise balanced) weight of each class.
    """
    if init is not None:
        weights, bias = init[0].copy(), init[1].copy()
    else:
        weights = np.zeros((x.n_cols, n_classes), dtype=np.float32)
        bias = np.zeros(n_classes, dtype=np.float32)
    use = np.arange(x.n_rows) if rows is None else rows
    n = int(use.size)
    if n == 0:
        return weights, bias
    # Class-balanced sample weights, so a big intent file does not drown a small one.
    counts = np.bincount(y[use], minlength=n_classes).astype(np.float32)
    per_class = n / (n_classes * np.maximum(counts, 1.0))
    if class_weight is not None:
        per_class = per_class * class_weight
    sample_w = per_class[y].astype(np.float32)
    m_w = np.zeros_like(weights)
    v_w = np.zeros_like(weights)
    m_b = np.zeros_like(bias)
    v_b = np.zeros_like(bias)
    beta1, beta2, eps = np.float32(0.9), np.float32(0.999), np.float32(1e-8)
    lr = np.float32(config.learning_rate)
    l2 = np.float32(config.l2)
    rng = np.random.default_rng(config.seed)
    batches = _make_batches(x, sample_w, use[rng.permutation(n)], config.batch_size)
    step = 0
    for _epoch in range(config.epochs if epochs is None else epochs):
        for b in rng.permutation(len(batches)):
            batch = batches[b]
            step += 1
            # Forward: logits of the batch.
            logits = np.zeros((batch.rows.size, n_classes), dtype=np.float32)
            if batch.cols.size:
                contrib = weights[batch.cols] * batch.vals
                logits[batch.nonempty] = np.add.reduceat(contrib, batch.row_starts, axis=0)
            logits += bias
            probs = softmax(logits)
            probs[np.arange(batch.rows.size), y[batch.rows]] -= 1.0
            grad_logits = probs * batch.scale
            # Backward: Xᵀ·G restricted to the touched columns.
            touched = batch.touched
            g_w = np.add.reduceat(
                grad_logits[batch.local_row_by_col] * batch.vals_by_col, batch.col_starts, axis=0
            )
            g_w += l2 * weights[touched]
            g_b = grad_logits.sum(axis=0)
            c1 = np.float32(1.0 - 0.9**step)
            c2 = np.float32(1.0 - 0.999**step)
            m = m_w[touched] * beta1 + (1 - beta1) * g_w
            v = v_w[touched] * beta2 + (1 - beta2) * g_w * g_w
            m_w[touched] = m
            v_w[touched] = v
            weights[touched] -= lr * (m / c1) / (np.sqrt(v / c2) + eps)
            m_b = m_b * beta1 + (1 - beta1) * g_b
            v_b = v_b * beta2 + (1 - beta2) * g_b * g_b
            bias -= lr * (m_b / c1) / (np.sqrt(v_b / c2) + eps)
        del batch
    return weights, bias


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """Temperature minimising held-out NLL (golden-section search on log T)."""
    if logits.shape[0] == 0:
        return 1.0

    def nll(log_t: float) -> float:
        scaled = logits / np.exp(log_t)
        shifted = scaled - scaled.max(axis=1, keepdims=True)
        log_z = np.log(np.exp(shifted).sum(axis=1))
        return float(np.mean(log_z - shifted[np.arange(len(y)), y]))

    lo, hi = np.log(0.05), np.log(20.0)
    ratio = (np.sqrt(5) - 1) / 2
    a = hi - ratio * (hi - lo)
    b = lo + ratio * (hi - lo)
    fa, fb = nll(a), nll(b)
    for _ in range(60):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - ratio * (hi - lo)
            fa = nll(a)
        else:
            lo, a, fa = a, b, fb
            b = lo + ratio * (hi - lo)
            fb = nll(b)
    return float(np.exp((lo + hi) / 2))
