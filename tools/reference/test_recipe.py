"""Hand-computed cases for recipe.py (the dev split, the decision rule, threshold tuning, metrics).
Run: python3 -m pytest tools/reference  (needs numpy and pytest only)."""
import hashlib
import math
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import recipe  # noqa: E402


def test_splitmix64_reference_outputs():
    # The first outputs of Vigna's splitmix64.c from state 0.
    r = recipe.SplitMix64(0)
    assert [r.next() for _ in range(3)] == [0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4, 0x06C45D188009454F]


def test_split_order_is_a_seeded_permutation():
    a = recipe.split_order(50, 42)
    assert sorted(a) == list(range(50)) and a != list(range(50))
    assert a == recipe.split_order(50, 42) and a != recipe.split_order(50, 43)
    # The first swap, by hand: state 42 ^ "SPLIT", j = next() % 50 swaps positions 49 and j.
    j = recipe.SplitMix64(42 ^ 0x53504C4954).next() % 50
    assert a[49] == j or j == 49


def test_choose_dev_labels_first_then_fill():
    gold = [[1, 0], [0, 1], [1, 1], [0, 0], [1, 0], [0, 1]]  # n = [3, 3]
    # F = 0.34: D = floor(2.04 + 0.5) = 2; need = floor(1.02 + 0.5) = 1 each. Label 0 (n ties, lower
    # index first) takes 2, the first in order with label 0; label 1 already has row 2; fill: 5.
    assert recipe.choose_dev([5, 2, 0, 1, 3, 4], gold, 0.34) == [2, 5]


def test_choose_dev_rarest_label_first():
    gold = [[1, 1], [0, 1], [0, 1], [1, 1], [0, 0]]  # n = [2, 4]
    # F = 0.5: D = floor(3) = 3; label 0 (rarer) needs 1: row 3; label 1 needs 2, has 1 (row 3): row 2;
    # fill to 3: row 4.
    assert recipe.choose_dev([4, 3, 2, 1, 0], gold, 0.5) == [2, 3, 4]


def test_choose_dev_clamps_and_zero():
    assert recipe.choose_dev(list(range(10)), [[0]] * 10, 0.01) == [0]  # D = floor(0.6) = 0 -> 1
    assert recipe.choose_dev([1, 0], [[1], [1]], 0.5) == [1]  # D = floor(1.5) = 1; need floor(1.5) = 1
    assert recipe.dev_split([[1]] * 5, 0.0, 1) == ([0, 1, 2, 3, 4], [])
    # Labels may push the dev set past D: 3 labels of one example each at F = 0.5 need one each.
    gold = [[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 0]]
    assert recipe.choose_dev([3, 2, 1, 0], gold, 0.5) == [0, 1, 2]  # D = 2, 3 chosen


def test_dev_split_covers_labels_and_is_file_ordered():
    rng = np.random.default_rng(0)
    gold = (rng.random((200, 6)) < [0.5, 0.2, 0.05, 0.03, 0.01, 0.0]).astype(int).tolist()
    train, dev = recipe.dev_split(gold, 0.1, 7)
    assert sorted(train + dev) == list(range(200)) and dev == sorted(dev) and len(dev) >= 20
    for k in range(6):
        n_k = sum(r[k] for r in gold)
        assert sum(gold[i][k] for i in dev) >= math.floor(0.1 * n_k + 0.5)


def test_index_hashes():
    assert recipe.fnv1a64(b"") == 0xCBF29CE484222325  # the offset basis
    assert recipe.fnv1a64(b"a") == 0xAF63DC4C8601EC8C  # the published FNV-1a 64 test vector
    fnv, sha = recipe.index_hashes([1, 22])
    text = b"1\n22\n"  # each index as decimal text and a newline
    assert fnv == "%016x" % recipe.fnv1a64(text)
    assert sha == hashlib.sha256(text).hexdigest()


def test_prior_bias():
    gold = [[1, 0, 1], [0, 0, 1], [0, 0, 1]]  # N = 3: p = 1.5/4, 0.5/4, 3.5/4
    b = recipe.prior_bias(gold)
    assert b[0] == pytest.approx(math.log(0.375 / 0.625))
    assert b[1] == pytest.approx(math.log(0.125 / 0.875))
    assert b[2] == pytest.approx(math.log(0.875 / 0.125))


def test_resolve_min_labels():
    assert recipe.resolve_min_labels("auto", [[1, 0], [0, 1]]) == 1
    assert recipe.resolve_min_labels("auto", [[1, 0], [0, 0]]) == 0
    assert recipe.resolve_min_labels("2", [[0, 0]]) == 2


P = [[0.2, 0.6, 0.6], [0.1, 0.3, 0.3], [0.9, 0.8, 0.1]]


def test_decide_threshold_and_min_labels():
    assert recipe.decide(P, 0.5).astype(int).tolist() == [[0, 1, 1], [0, 0, 0], [1, 1, 0]]
    # Row 1 has none: the highest p is 0.3 twice, the lower index (1) wins.
    assert recipe.decide(P, 0.5, 1).astype(int).tolist() == [[0, 1, 1], [0, 1, 0], [1, 1, 0]]
    assert recipe.decide(P, 0.5, 2).astype(int).tolist() == [[0, 1, 1], [0, 1, 1], [1, 1, 0]]
    assert recipe.decide(P, 0.5, 9).astype(int).tolist() == [[1, 1, 1]] * 3  # never more than K
    # Per-label thresholds; min-labels adds the best label not yet predicted, whatever its threshold.
    assert recipe.decide(P, [0.5, 0.7, 0.5]).astype(int).tolist() == [[0, 0, 1], [0, 0, 0], [1, 1, 0]]
    assert recipe.decide([[0.6, 0.65]], [0.7, 0.7], 1).astype(int).tolist() == [[0, 1]]
    # p > t, both float32: a probability equal to the threshold is not a positive.
    assert not recipe.decide([[0.35]], 0.35)[0, 0]
    assert recipe.decide([[0.3500001]], 0.35)[0, 0]


def test_tune_global_best_then_closest_to_half():
    # One label: perfect when 0.2 <= t < 0.3 (i = 20..29): the closest to 0.5 is 0.29.
    probs = [[0.9], [0.3], [0.2], [0.1]]
    gold = [[1], [1], [0], [0]]
    assert recipe.tune_global(probs, gold) == (0.29, 1.0)


def test_tune_global_tie_goes_to_the_lower():
    # Positives at 0.9, 0.8, 0.485, 0.482, negatives at 0.52, 0.519, 0.518, 0.517:
    # t in [0.52, 0.8): tp 2, fn 2 -> 2/3; t < 0.482: tp 4, fp 4 -> 2/3; t = 0.49..0.51: 4/10.
    # 0.48 and 0.52 are both 0.02 from 0.5: the lower wins.
    probs = [[x] for x in (0.9, 0.8, 0.485, 0.482, 0.52, 0.519, 0.518, 0.517)]
    gold = [[1]] * 4 + [[0]] * 4
    t, f = recipe.tune_global(probs, gold)
    assert t == 0.48 and f == pytest.approx(2 / 3)


def test_tune_global_applies_min_labels():
    # Row 1's only label (1) has p 0.45. Without min-labels it is found only below 0.45, so the best
    # range is [0.30, 0.45): 0.44; with min-labels 1 row 1 gets label 1 at any t, so [0.30, 0.60): 0.5.
    probs = [[0.7, 0.3], [0.02, 0.45], [0.6, 0.1]]
    gold = [[1, 0], [0, 1], [1, 0]]
    assert recipe.tune_global(probs, gold, 0) == (0.44, 1.0)
    assert recipe.tune_global(probs, gold, 1) == (0.5, 1.0)


def test_tune_per_label():
    # Label 1 (2 dev positives) keeps the global 0.5. Label 0 (3 positives), with label 1 at 0.5
    # (tp 2): t in [0.1, 0.32) gives tp 3 fp 1 -> 10/11, the best; closest to 0.5: 0.31.
    probs = [[0.9, 0.8], [0.35, 0.7], [0.32, 0.2], [0.6, 0.2], [0.1, 0.2]]
    gold = [[1, 1], [1, 1], [1, 0], [0, 0], [0, 0]]
    assert recipe.tune_per_label(probs, gold, 0.5) == [0.31, 0.5]
    t, f = recipe.tune("per-label", probs, gold, 0)
    assert f >= recipe.tune("global", probs, gold, 0)[1]


def test_tune_none():
    assert recipe.tune("none", P, [[0, 1, 1], [0, 0, 0], [1, 1, 0]], 0, 0.5) == (0.5, 1.0)


def test_metrics_and_by_frequency():
    gold = [[1, 0, 0], [1, 1, 0], [0, 0, 0]]
    pred = [[1, 1, 0], [0, 1, 0], [0, 0, 0]]
    m = recipe.metrics(gold, pred)
    # tp 2, fp 1, fn 1; label F1s 2/3, 2/3, 0 (no gold, no prediction: 0 as scikit-learn)
    assert m["micro_f1"] == pytest.approx(4 / 6) and m["micro_precision"] == pytest.approx(2 / 3)
    assert m["macro_f1"] == pytest.approx(4 / 9) and m["hamming_loss"] == pytest.approx(2 / 9)
    assert m["subset_accuracy"] == pytest.approx(1 / 3) and m["micro_jaccard"] == pytest.approx(2 / 4)
    b = recipe.by_frequency(gold, pred, [5, 11, 500])
    assert [x["n_labels"] for x in b] == [1, 1, 1]
    assert b[0]["micro_f1"] == pytest.approx(2 / 3) and b[2]["micro_f1"] == 0.0
    b = recipe.by_frequency(gold, pred, [10, 100, 101])
    assert [x["bucket"] for x in b] == ["<=10", "11-100", ">100"] and [x["n_labels"] for x in b] == [1, 1, 1]
    b = recipe.by_frequency(gold, pred, [1, 2, 3])
    assert [x["n_labels"] for x in b] == [3, 0, 0] and b[0]["macro_f1"] == pytest.approx(4 / 9)


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PINNED = [  # dataset, label file, seed, F -> dev size, FNV-1a 64 and SHA-256 of the dev indices ("i\n" each)
    ("reuters-modapte/train.jsonl", "reuters-modapte/labels.txt", 42, 0.1, 781, "a59dc96169d76118",
     "3d63bacbab101a6777da4d430c55292997fb0ba10ec0925747eccb320b6117c3"),
    ("semeval2018-ec/train.tsv", None, 42, 0.1, 684, "abb9de93ce09cef3",
     "6d43fbfe633c6006c2fa1c582a1c68020523bb31847701a53b4c1eadff135064"),
]


@pytest.mark.parametrize("train,labels,seed,frac,size,fnv,sha", PINNED)
def test_dev_split_pinned(train, labels, seed, frac, size, fnv, sha):
    """The dev splits mltc must carve too (the repository's data/ folder; skipped without it)."""
    import data_io
    from textfile import data_file
    path = data_file(os.path.join(ROOT, "data", train))
    if not os.path.exists(path):
        pytest.skip(f"no {path}")
    names = data_io.label_names(os.path.join(ROOT, "data", labels) if labels else None, path)
    _, gold = data_io.read_dataset(path, {n: i for i, n in enumerate(names)})
    _, dev = recipe.dev_split(gold, frac, seed)
    assert (len(dev),) + recipe.index_hashes(dev) == (size, fnv, sha)
