#!/usr/bin/env python3
"""Writes the fixture that tests/test_train_pytorch.c trains against: the PyTorch reference's
per-step losses of every head, trained from mltc's initial weights with mltc's random draws.

step_check.py shows once, on all-MiniLM-L6-v2, that mltc and torch_reference.py train the same
way; this turns that into a test every backend runs in CI (where there is no PyTorch). The
model is a tiny random BERT (2 layers, hidden 32, 4 heads, FFN 64, 128 positions, dropout 0.1)
over a character-level vocabulary (specials, characters, ##characters and SemEval's 150 most
common words), so the files stay small and real tweets still tokenise into many pieces. For each
head, step_check.train_both trains 10 steps on one batch of 16 SemEval tweets of distinct token
counts with dropout and LM-MTC's label MLM on, the reference drawing mltc's masks; the mltc run
it does at the same time must agree, or nothing is written.

Files (tests/fixtures/train_steps/):
  model/config.json, model/model.safetensors, model/vocab.txt   the tiny BERT
  expected.json    the settings, the IDs of the 16 tweets (the test copies those lines of
                   data/semeval2018-ec/train.tsv.gz), and per head PyTorch's loss at steps 1..10
                   (and mltc's, for the record) under the papers' recipe ("losses"), and under
                   "recipe" the same for the training recipe's levers (its "settings": RECIPE below)

Usage: python tools/reference/train_fixture.py [--mltc build/mltc] [--out DIR] [--keep-papers]
--keep-papers rewrites only "recipe" in DIR/expected.json: the model there must be the one this
writes (config.json but for transformers_version), and the recorded papers' recipe losses stay
as they are (how far today's PyTorch is from them is printed: another transformers may round a
step differently in the last bit).
Needs torch, transformers, safetensors (tools/reference/requirements.txt) and an mltc build.
"""
import argparse
import collections
import json
import os
import re
import shutil
import sys
import tempfile
import types

import torch
import transformers
from transformers import BertConfig, BertModel

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import step_check  # noqa: E402
import textfile  # noqa: E402
import torch_reference as ref  # noqa: E402

SEED = 1234
SETTINGS = dict(steps=10, examples=16, lr=5e-4, max_len=128, seed=42, dropout=0.1, lam=0.05, mask_prob=0.15,
                max_grad_norm=1.0, warmup=0.1, weight_decay=0.01)
# Training recipe v1's levers that change the math, trained as a second set: the head at its own
# learning rate, the label biases at the batch's log prior odds, mean pooling for the bert head
# (the other heads have no pooling choice). No dev split, threshold tuning or min-labels rule:
# they change no loss. The first set ("losses") is the papers' recipe (head-lr 0, zero biases,
# [CLS]).
RECIPE = dict(head_lr=5e-3, label_bias="prior", pooling={"bert": "mean"}, dev_split=0, tune_threshold="none",
              min_labels=0)
TOLERANCE = 1e-5  # the agreement required of mltc here (the C test sets its own)


def write_vocab(path, texts):
    chars = [chr(c) for c in range(ord("a"), ord("z") + 1)] + [str(d) for d in range(10)]
    punct = list("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
    words = collections.Counter(w for t in texts for w in re.findall(r"[a-z]{3,}", t.lower()))
    common = [w for w, _ in words.most_common(150)]
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + chars + punct + ["##" + c for c in chars] + common
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(vocab) + "\n")
    return len(vocab)


def write_model(out, texts):
    os.makedirs(out, exist_ok=True)
    n = write_vocab(os.path.join(out, "vocab.txt"), texts)
    torch.manual_seed(SEED)
    cfg = BertConfig(vocab_size=n, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
                     max_position_embeddings=128, type_vocab_size=2, hidden_act="gelu", layer_norm_eps=1e-12,
                     hidden_dropout_prob=SETTINGS["dropout"], attention_probs_dropout_prob=SETTINGS["dropout"],
                     pad_token_id=0)
    BertModel(cfg, add_pooling_layer=False).save_pretrained(out, safe_serialization=True)
    for extra in os.listdir(out):  # save_pretrained may add files mltc does not read
        if extra not in ("config.json", "model.safetensors", "vocab.txt"):
            os.remove(os.path.join(out, extra))


def keep_papers(out, model_dir, expected):
    """The fixture in out with expected's "recipe" put in; its model must be model_dir's."""
    for name in ("model.safetensors", "vocab.txt", "config.json"):
        with open(os.path.join(out, "model", name), "rb") as f, open(os.path.join(model_dir, name), "rb") as g:
            a, b = f.read(), g.read()
        if name == "config.json":
            a, b = ({k: v for k, v in json.loads(x).items() if k != "transformers_version"} for x in (a, b))
        if a != b:
            sys.exit(f"train_fixture: {out}/model/{name} is not the model this writes; run without --keep-papers")
    with open(os.path.join(out, "expected.json")) as f:
        kept = json.load(f)
    for key in ("settings", "data", "examples"):
        if kept[key] != expected[key]:
            sys.exit(f"train_fixture: {out}/expected.json has other {key}; run without --keep-papers")
    for head, want in kept["losses"].items():
        now = expected["losses"][head]
        worst = max(abs(a - b) / abs(b) for a, b in zip(now, want))
        print(f"papers' recipe, {head}: PyTorch {expected['pytorch']} within {worst:.1e} of the recorded losses "
              f"({kept['pytorch']}), which stay")
    kept["recipe"] = expected["recipe"]
    return kept


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mltc", default=os.path.join(ROOT, "build", "mltc"))
    ap.add_argument("--data", default=os.path.join(textfile.data_dir(), "semeval2018-ec"))
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "fixtures", "train_steps"))
    ap.add_argument("--keep-papers", action="store_true", help="write only the recipe set into the existing "
                    "fixture, keeping its model and its papers' recipe losses")
    cli = ap.parse_args()
    torch.set_num_threads(1)
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()

    src = textfile.data_file(os.path.join(cli.data, "train.tsv"))
    names = ref.header_labels(src)
    texts, _ = ref.read_dataset(src, {n: i for i, n in enumerate(names)})
    tmp = tempfile.mkdtemp(prefix="mltc-train-fixture-")
    try:
        model_dir = os.path.join(tmp, "model")
        write_model(model_dir, texts)
        args = types.SimpleNamespace(mltc=cli.mltc, model=model_dir, device="cpu", threads=1, **SETTINGS)
        train = os.path.join(tmp, "train.tsv")
        step_check.distinct_lengths(src, train, None, args)
        with open(train, encoding="utf-8") as f:
            ids = [line.split("\t", 1)[0] for line in f.read().splitlines()[1:]]
        expected = {"settings": SETTINGS, "pytorch": f"{torch.__version__}, transformers {transformers.__version__}",
                    "data": "semeval2018-ec/train.tsv", "examples": ids, "losses": {}, "mltc_cpu_losses": {}}
        expected["recipe"] = {"settings": RECIPE, "pytorch": expected["pytorch"], "losses": {}, "mltc_cpu_losses": {}}
        recipe_args = dict(head_lr=RECIPE["head_lr"], label_bias=RECIPE["label_bias"])
        for name, run, extra in (("papers", expected, {}), ("recipe", expected["recipe"], recipe_args)):
            runs = os.path.join(tmp, name)
            os.makedirs(runs)
            for head in ("bert", "lmmtc", "lam"):
                a = types.SimpleNamespace(**vars(args), **extra)
                if extra:
                    a.pooling = RECIPE["pooling"].get(head, "cls")
                r = step_check.train_both(a, head, model_dir, train, None, runs)
                theirs = [r.theirs[s] for s in range(1, SETTINGS["steps"] + 1)]
                ours = [r.ours[s] for s in range(1, SETTINGS["steps"] + 1)]
                worst = max(abs(a - b) / abs(b) for a, b in zip(ours, theirs))
                print(f"{name}, {head}: losses {theirs[0]:.5f} -> {theirs[-1]:.5f}, mltc (cpu) within {worst:.1e}")
                if worst > TOLERANCE:
                    sys.exit(f"train_fixture: mltc and PyTorch disagree by {worst:.1e} on {head} ({name}); "
                             "nothing written")
                run["losses"][head] = theirs
                run["mltc_cpu_losses"][head] = ours
        if cli.keep_papers:
            expected = keep_papers(cli.out, model_dir, expected)
        else:
            os.makedirs(cli.out, exist_ok=True)
            shutil.rmtree(os.path.join(cli.out, "model"), ignore_errors=True)
            shutil.copytree(model_dir, os.path.join(cli.out, "model"))
        with open(os.path.join(cli.out, "expected.json"), "w") as f:
            json.dump(expected, f, indent=1)
            f.write("\n")
        print(f"wrote {cli.out}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
