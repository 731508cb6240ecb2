#!/usr/bin/env python3
"""Training recipe v1 (issue 21), the parts that need no torch: the dev split, the prior-odds
label biases, the min-labels rule, the decision rule, threshold tuning on dev probabilities, and
the metrics (with the figures by label frequency). mltc's C code and torch_reference.py follow
the same spec (/work/notes/recipe.md at the time of writing); this file is the Python side of it.

Numbers: probabilities are compared with thresholds in float32 (p > t, both float32, as mltc's
float probabilities and thresholds); F1 ratios are computed in float64; grid values are handled
by their index i (t = i / 100), so "closest to 0.5" is |i - 50| and exact.

Self-test of the dev split (so that mltc's split can be compared with this one):
    python3 tools/reference/recipe.py split --train data/reuters-modapte/train.jsonl \\
        --labels data/reuters-modapte/labels.txt --seed 42 --dev-split 0.1
prints the dev set's size and two hashes of its indices: the text "i\\n" for each 0-based dev
index in file order, hashed with FNV-1a 64 and with SHA-256 (the same as
`printf '%d\\n' <indices> | sha256sum`).
"""
import argparse
import hashlib
import math
import os
import sys

import numpy as np

MASK64 = (1 << 64) - 1
GRID = [i / 100 for i in range(1, 100)]  # the tuning grid: 0.01 .. 0.99
GRID_F32 = np.array(GRID, dtype=np.float32)


# ---- the dev split ---------------------------------------------------------------------------------

class SplitMix64:
    def __init__(self, state):
        self.s = state & MASK64

    def next(self):
        self.s = (self.s + 0x9E3779B97F4A7C15) & MASK64
        z = self.s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)


SPLIT_SALT = 0x53504C4954  # "SPLIT"


def split_order(n, seed):
    """The Fisher-Yates order of 0..n-1 drawn from splitmix64(seed ^ "SPLIT")."""
    rng = SplitMix64((seed & MASK64) ^ SPLIT_SALT)
    order = list(range(n))
    for i in range(n - 1, 0, -1):
        j = rng.next() % (i + 1)
        order[i], order[j] = order[j], order[i]
    return order


def round_half_up(x):
    return math.floor(x + 0.5)


def choose_dev(order, gold, frac):
    """The dev indices (ascending) chosen from `order` as the spec says: first every label's share
    (rarest label first, ties by index), then the rest of D in order. gold: N rows of 0/1."""
    n = len(gold)
    if frac <= 0 or n < 2:
        return []
    d = min(max(round_half_up(frac * n), 1), n - 1)
    k = len(gold[0]) if n else 0
    counts = [sum(row[j] for row in gold) for j in range(k)]
    chosen = [False] * n
    n_chosen = 0
    for j in sorted(range(k), key=lambda j: (counts[j], j)):
        need = round_half_up(frac * counts[j])
        if need == 0:
            continue
        have = sum(1 for i in range(n) if chosen[i] and gold[i][j])
        for idx in order:
            if have >= need:
                break
            if not chosen[idx] and gold[idx][j]:
                chosen[idx] = True
                n_chosen += 1
                have += 1
    for idx in order:
        if n_chosen >= d:
            break
        if not chosen[idx]:
            chosen[idx] = True
            n_chosen += 1
    return [i for i in range(n) if chosen[i]]


def dev_split(gold, frac, seed):
    """(train indices, dev indices), both in file order; ([0..N-1], []) when frac is 0."""
    n = len(gold)
    dev = choose_dev(split_order(n, seed), gold, frac) if frac > 0 else []
    in_dev = set(dev)
    return [i for i in range(n) if i not in in_dev], dev


def index_hashes(indices):
    """(FNV-1a 64 as 16 hex digits, SHA-256 hex) of the text "i\\n" for each index."""
    data = "".join(f"{i}\n" for i in indices).encode()
    return f"{fnv1a64(data):016x}", hashlib.sha256(data).hexdigest()


def fnv1a64(data):
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & MASK64
    return h


# ---- the head's start --------------------------------------------------------------------------------

def prior_bias(gold):
    """b_k = log(p_k / (1 - p_k)), p_k = (n_k + 0.5) / (N + 1) over the training rows given."""
    n = len(gold)
    k = len(gold[0]) if n else 0
    out = []
    for j in range(k):
        nk = sum(row[j] for row in gold)
        p = (nk + 0.5) / (n + 1)
        out.append(math.log(p / (1 - p)))
    return out


def resolve_min_labels(value, gold):
    """--min-labels auto|N as a number: auto = 1 when every training row has a label, else 0."""
    if str(value) == "auto":
        return 1 if len(gold) and all(any(row) for row in gold) else 0
    n = int(value)
    if n < 0:
        raise ValueError(f"--min-labels must be auto or >= 0, not {value}")
    return n


# ---- the decision rule -------------------------------------------------------------------------------

def decide(probs, thresholds, min_labels=0):
    """Predicted 0/1 matrix: p_k > t_k (float32), then rows with fewer than min_labels get their
    highest-probability labels not yet predicted (ties: the lower index) up to min_labels (at most K).
    thresholds: one number or one per label."""
    p = np.asarray(probs, dtype=np.float32)
    t = np.asarray(thresholds, dtype=np.float32)
    pred = p > t
    if min_labels > 0 and p.size:
        m = min(int(min_labels), p.shape[1])
        short = pred.sum(1) < m
        if short.any():
            rows = np.nonzero(short)[0]
            ps, pr = p[rows], pred[rows]
            order = np.argsort(-ps, axis=1, kind="stable")  # highest first, ties: lower index first
            off = ~np.take_along_axis(pr, order, 1)
            need = m - pr.sum(1)
            add = off & (np.cumsum(off, 1) <= need[:, None])
            r, c = np.nonzero(add)
            pr[r, order[r, c]] = True
            pred[rows] = pr
    return pred


def counts(gold, pred):
    g, p = np.asarray(gold).astype(bool), np.asarray(pred).astype(bool)
    return int((g & p).sum()), int((~g & p).sum()), int((g & ~p).sum())


def f1_of(tp, fp, fn):
    den = 2 * tp + fp + fn
    return 2 * tp / den if den else 0.0


def micro_f1(gold, pred):
    return f1_of(*counts(gold, pred))


# ---- threshold tuning ----------------------------------------------------------------------------

def tune_global(probs, gold, min_labels=0):
    """(t, dev micro-F1): the grid value with the best micro-F1 under the decision rule;
    ties: closest to 0.5, then the lower."""
    best = None
    for i in range(1, 100):
        f = micro_f1(gold, decide(probs, GRID_F32[i - 1], min_labels))
        key = (-f, abs(i - 50), i)
        if best is None or key < best[0]:
            best = (key, i, f)
    return best[1] / 100, best[2]


def tune_per_label(probs, gold, t_global, min_labels=0):
    """Per-label thresholds (list of K floats): every t_k starts at t_global; then each label with
    at least 3 dev positives, in index order, takes the grid value with the best dev micro-F1, the
    others fixed (min_labels not applied here); ties: closest to t_global, then the lower."""
    p = np.asarray(probs, dtype=np.float32)
    g = np.asarray(gold).astype(bool)
    k = p.shape[1]
    gi = int(round(t_global * 100))
    idx = [gi] * k
    pred = p > GRID_F32[gi - 1]
    tp = (g & pred).sum(0).astype(np.int64)
    fp = (~g & pred).sum(0).astype(np.int64)
    fn = (g & ~pred).sum(0).astype(np.int64)
    for j in range(k):
        if g[:, j].sum() < 3:
            continue
        TPo, FPo, FNo = tp.sum() - tp[j], fp.sum() - fp[j], fn.sum() - fn[j]
        pj = p[:, j][:, None] > GRID_F32[None, :]  # [N, 99]
        gj = g[:, j][:, None]
        tpj = (pj & gj).sum(0)
        fpj = (pj & ~gj).sum(0)
        fnj = (~pj & gj).sum(0)
        best = None
        for c in range(99):
            f = f1_of(int(TPo + tpj[c]), int(FPo + fpj[c]), int(FNo + fnj[c]))
            key = (-f, abs(c + 1 - gi), c + 1)
            if best is None or key < best[0]:
                best = (key, c)
        c = best[1]
        idx[j] = c + 1
        tp[j], fp[j], fn[j] = tpj[c], fpj[c], fnj[c]
    return [i / 100 for i in idx]


def tune(mode, probs, gold, min_labels, fixed=0.5):
    """(thresholds: a float or a list, dev micro-F1 under the decision rule) for --tune-threshold
    none (the fixed threshold) | global | per-label."""
    if mode == "none":
        t = fixed
    elif mode == "global":
        t, _ = tune_global(probs, gold, min_labels)
    elif mode == "per-label":
        t0, _ = tune_global(probs, gold, min_labels)
        t = tune_per_label(probs, gold, t0, min_labels)
    else:
        raise ValueError(f"--tune-threshold takes none, global or per-label, not {mode}")
    return t, micro_f1(gold, decide(probs, t, min_labels))


# ---- metrics -------------------------------------------------------------------------------------

def metrics(gold, pred):
    """mltc eval's figures (src/run/metrics.h: undefined ratios are 0, as scikit-learn's default)."""
    g, p = np.asarray(gold).astype(bool), np.asarray(pred).astype(bool)
    n, k = g.shape
    tp, fp, fn = counts(g, p)

    def ratio(a, b):
        return a / b if b else 0.0

    return {
        "hamming_loss": (fp + fn) / (n * k) if n * k else 0.0,
        "micro_precision": ratio(tp, tp + fp),
        "micro_recall": ratio(tp, tp + fn),
        "micro_f1": ratio(2 * tp, 2 * tp + fp + fn),
        "macro_f1": float(per_label_f1(g, p).mean()) if k else 0.0,
        "subset_accuracy": float((g == p).all(1).mean()) if n else 0.0,
        "micro_jaccard": ratio(tp, tp + fp + fn),
        "n_examples": int(n),
        "n_labels": int(k),
    }


def per_label_f1(g, p):
    tp = (g & p).sum(0)
    den = 2 * tp + (~g & p).sum(0) + (g & ~p).sum(0)
    return np.where(den > 0, 2 * tp / np.maximum(den, 1), 0.0)


BUCKETS = (("<=10", 0, 10), ("11-100", 11, 100), (">100", 101, None))


def by_frequency(gold, pred, train_counts):
    """Figures by label frequency in the training data (<= 10, 11-100, > 100 examples): per bucket
    the number of labels, the micro-F1 pooled over its labels and the mean F1 of its labels
    (0 for a bucket without labels)."""
    g, p = np.asarray(gold).astype(bool), np.asarray(pred).astype(bool)
    c = np.asarray(train_counts)
    f1 = per_label_f1(g, p)
    out = []
    for name, lo, hi in BUCKETS:
        sel = (c >= lo) & (c <= hi if hi is not None else True)
        gs, ps = g[:, sel], p[:, sel]
        out.append({"bucket": name, "min_train": lo, "max_train": hi, "n_labels": int(sel.sum()),
                    "micro_f1": f1_of(*counts(gs, ps)), "macro_f1": float(f1[sel].mean()) if sel.any() else 0.0})
    return out


# ---- the self-test -----------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    sp = sub.add_parser("split", help="the dev split of a training file: its size and hashes")
    sp.add_argument("--train", required=True)
    sp.add_argument("--labels", help="label names, one a line (default: the header of a tsv-columns file)")
    sp.add_argument("--seed", type=int, default=42)
    sp.add_argument("--dev-split", type=float, default=0.1)
    sp.add_argument("--limit", type=int, default=0, help="the first N examples only")
    sp.add_argument("--print-indices", action="store_true", help="also print every dev index, one a line")
    args = ap.parse_args()
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import data_io
    names = data_io.label_names(args.labels, args.train)
    _, gold = data_io.read_dataset(args.train, {n: i for i, n in enumerate(names)}, args.limit)
    train, dev = dev_split(gold, args.dev_split, args.seed)
    fnv, sha = index_hashes(dev)
    n_k = [sum(r[j] for r in gold) for j in range(len(names))]
    dev_k = [sum(gold[i][j] for i in dev) for j in range(len(names))]
    covered = sum(1 for j in range(len(names)) if round_half_up(args.dev_split * n_k[j]) > 0)
    print(f"{args.train}: N {len(gold)}, K {len(names)}, seed {args.seed}, dev-split {args.dev_split}")
    print(f"dev {len(dev)}, train {len(train)}")
    print(f"dev indices (0-based, file order): first {dev[:10]}, last {dev[-3:]}, sum {sum(dev)}")
    print(f"fnv1a64 {fnv}")
    print(f"sha256 {sha}")
    print(f"labels with a dev share (round(F n_k) > 0): {covered} of {len(names)}, all met: "
          f"{all(dev_k[j] >= round_half_up(args.dev_split * n_k[j]) for j in range(len(names)))}")
    print(f"training rows without a label: {sum(1 for i in train if not any(gold[i]))}; "
          f"min-labels auto -> {resolve_min_labels('auto', [gold[i] for i in train])}")
    if args.print_indices:
        print("\n".join(str(i) for i in dev))


if __name__ == "__main__":
    main()
