#!/usr/bin/env python3
"""The classical anchor of issue 21: scikit-learn TfidfVectorizer() + one-vs-rest LinearSVC(C=1),
every setting at scikit-learn's default, nothing tuned (on test or anywhere else), trained on the
same text and splits as mltc (jsonl: title + "\\n" + text; tsv; tsv-columns such as SemEval E-c).

Prints (and with --out writes) JSON: mltc eval's figures (hamming_loss, micro P/R/F1, macro_f1,
subset_accuracy, micro_jaccard; undefined ratios 0 as scikit-learn) on the test file and, when
there is one, the dev file; the same for the "at least one label" variant (a document with no
positive decision gets its top-scoring label); the figures by label frequency (labels with <= 10,
11-100, > 100 training examples: count, micro-F1, macro-F1 within the bucket); the fit time.

    python3 tools/reference/svm_baseline.py --data data/reuters-modapte --out tools/reference/results/svm-reuters.json
    python3 tools/reference/svm_baseline.py --data data/semeval2018-ec --out tools/reference/results/svm-semeval.json

--data DIR finds train.jsonl|tsv, test.*, dev.* and labels.txt there; --train/--test/--dev/--labels
name files one by one instead. Needs scikit-learn and numpy only (no torch).
"""
import argparse
import hashlib
import json
import os
import platform
import sys
import time
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import data_io  # noqa: E402
import recipe  # noqa: E402


def find(data, stem):
    for ext in ("jsonl", "tsv"):
        p = os.path.join(data, f"{stem}.{ext}")
        if os.path.exists(p):
            return p
    return None


def scored(gold, scores, train_counts):
    """The figures of the plain decision (score > 0) and of the at-least-one variant."""
    out = {}
    for name, pred in (("plain", scores > 0), ("at_least_one", at_least_one(scores))):
        m = recipe.metrics(gold, pred)
        m["by_frequency"] = recipe.by_frequency(gold, pred, train_counts)
        out[name] = m
    return out


def at_least_one(scores):
    pred = scores > 0
    none = ~pred.any(1)
    pred[np.nonzero(none)[0], scores[none].argmax(1)] = True
    return pred


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def command_args(argv):
    """The command line less --out (where the result went decides nothing in it)."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a == "--out":
            skip = True
        elif not a.startswith("--out="):
            out.append(a)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.path.join("data", "reuters-modapte"),
                    help="dataset folder (default data/reuters-modapte, from the repository root)")
    ap.add_argument("--train")
    ap.add_argument("--test")
    ap.add_argument("--dev", help="also scored when given or found in --data (never used for fitting)")
    ap.add_argument("--labels", help="label names, one a line (default: labels.txt in --data, else the tsv header)")
    ap.add_argument("--limit", type=int, default=0, help="first N examples of each file only (a smoke test)")
    ap.add_argument("--out", help="also write the JSON here")
    args = ap.parse_args()
    import sklearn
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.svm import LinearSVC

    data = args.data if os.path.isabs(args.data) or os.path.isdir(args.data) else os.path.join(ROOT, args.data)
    train = args.train or find(data, "train")
    test = args.test or find(data, "test")
    dev = args.dev or (find(data, "dev") if not args.train else None)
    labels = args.labels or (os.path.join(data, "labels.txt") if os.path.exists(os.path.join(data, "labels.txt"))
                             and not args.train else None)
    if not train or not test:
        sys.exit(f"svm_baseline: no train and test file in {data} (or give --train and --test)")
    names = data_io.label_names(labels, train)
    index = {n: i for i, n in enumerate(names)}
    tr_x, tr_y = data_io.read_dataset(train, index, args.limit)
    tr_y = np.array(tr_y, dtype=np.int8)
    train_counts = tr_y.sum(0)

    t0 = time.time()
    vec = TfidfVectorizer()
    x = vec.fit_transform(tr_x)
    t_vec = time.time() - t0
    clf = OneVsRestClassifier(LinearSVC(C=1.0))
    with warnings.catch_warnings():  # a label without training examples gets a constant "no"
        warnings.filterwarnings("ignore", message="Label not .* is present in all training examples")
        clf.fit(x, tr_y)
    fit_s = time.time() - t0

    result = {
        "system": "scikit-learn TfidfVectorizer() + OneVsRestClassifier(LinearSVC(C=1.0)), defaults",
        "command": "python3 tools/reference/svm_baseline.py " + " ".join(command_args(sys.argv[1:])),
        "sklearn": sklearn.__version__, "python": platform.python_version(),
        "train": train, "train_sha256": sha256(train), "n_train": int(len(tr_x)), "n_labels": len(names), "n_features": int(x.shape[1]),
        "fit_s": round(fit_s, 2), "vectorize_s": round(t_vec, 2), "threads": 1,
    }
    for split, path in (("test", test), ("dev", dev)):
        if not path:
            continue
        xs, ys = data_io.read_dataset(path, index, args.limit)
        t0 = time.time()
        scores = clf.decision_function(vec.transform(xs))
        if scores.ndim == 1:  # one label
            scores = scores[:, None]
        r = scored(np.array(ys, dtype=np.int8), scores, train_counts)
        r["path"], r["sha256"] = path, sha256(path)
        r["predict_s"] = round(time.time() - t0, 2)
        result[split] = r
    text = json.dumps(result, indent=1)
    print(text)
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
