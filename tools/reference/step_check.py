#!/usr/bin/env python3
"""Trains mltc and the PyTorch reference step for step from the same weights, on the same batch,
with the same random draws, and prints how far apart they end up.

compare.py compares the two frameworks in distribution: their batch order, dropout masks and
label-MLM masks come from different generators, so a difference of means over a few seeds mixes
noise with any real difference in the training math. This removes the noise. For each head:
  1. a copy of --model with config.json's hidden and attention dropout set to --dropout (0:
     all dropout off; above 0 the reference draws mltc's masks, tools/reference/mltc_draws.py);
  2. the first --examples training examples of distinct token counts as one batch (--batch =
     --examples), so both sides see the same batch, in the same row order, at every step (one
     step per epoch; both sort a batch longest first);
  3. `mltc train --warmup 1 --max-steps 1`: the first step's learning rate is 0, so its
     checkpoint holds mltc's initial weights (head included) exactly;
  4. `mltc train --epochs --steps --log-every 1` from the same seed (the same initial weights),
     and torch_reference.train() from the weights of step 3, with the same settings; but for the
     head's label biases, which the reference sets itself (0, or --label-bias prior's log prior
     odds of the batch's labels) and mltc's initial ones must equal;
  5. per step: both losses; at the end: per tensor, how far apart the two updates are,
     |w_mltc - w_torch| / |w_torch - w_init| (L2 over the tensor), and the worst one.
lmmtc trains with its label MLM (--lambda 0.05), the reference masking the label states mltc
masks (mltc_draws.mltc_masked, indexed by step and row: hence the fixed row order).

What to expect if the math is the same: losses equal to ~1e-7 relative, drifting slowly; updates
within ~1e-4 (Adam divides by sqrt(v), so an element whose gradient is rounding noise on both
sides moves by +-lr at random: the attention key biases, whose gradient is 0 in exact
arithmetic, are left out for that reason).

    python step_check.py --mltc ../../build/mltc --heads bert,lmmtc,lam --steps 10
    python step_check.py --mltc ../../build/mltc --dropout 0.1
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import types

import torch
import transformers
from safetensors.torch import load_file

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import compare  # noqa: E402  (dataset_files, mltc_env)
import textfile  # noqa: E402
import mltc_draws  # noqa: E402
import recipe  # noqa: E402  (prior_bias)
import torch_reference as ref  # noqa: E402

# mltc checkpoint names of the head parameters -> attribute of torch_reference.Classifier
HEAD_NAMES = {
    "bert": {"mltc.classifier.weight": "w", "mltc.classifier.bias": "b"},
    "lmmtc": {"mltc.lmmtc.state.weight": "w", "mltc.lmmtc.state.bias": "b",
              "mltc.mlm.transform.dense.weight": "t_w", "mltc.mlm.transform.dense.bias": "t_b",
              "mltc.mlm.transform.LayerNorm.weight": "ln_w", "mltc.mlm.transform.LayerNorm.bias": "ln_b",
              "mltc.mlm.decoder.bias": "dec_b"},
    "lam": {"mltc.lam.dense.weight": "d_w", "mltc.lam.dense.bias": "d_b",
            "mltc.lam.classifier.weight": "w", "mltc.lam.classifier.bias": "b"},
}


def model_with_dropout(src, dst, p):
    """A model folder beside src whose config sets the encoder's dropout to p."""
    os.makedirs(dst)
    for name in os.listdir(src):
        if name != "config.json":
            os.symlink(os.path.abspath(os.path.join(src, name)), os.path.join(dst, name))
    with open(os.path.join(src, "config.json")) as f:
        cfg = json.load(f)
    cfg["hidden_dropout_prob"] = cfg["attention_probs_dropout_prob"] = p
    with open(os.path.join(dst, "config.json"), "w") as f:
        json.dump(cfg, f)


def distinct_lengths(src, dst, labels, args):
    """Copies the first --examples examples of src whose token counts differ from each other's
    and fit in --max-len, so that both sides sort them into the same rows of the batch."""
    names = ref.read_labels(labels) if labels else ref.header_labels(src)
    texts, _ = ref.read_dataset(src, {n: i for i, n in enumerate(names)})
    tok = ref.load_tokenizer(os.path.join(args.model, "vocab.txt"))
    with textfile.open_text(src) as f:
        lines = [line for line in f if line.strip()]
    header = [] if labels else [lines.pop(0)]
    if len(lines) != len(texts):
        sys.exit(f"step_check: {src}: {len(lines)} data lines but {len(texts)} examples")
    keep, seen = [], set()
    for line, ids in zip(lines, ref.encode(tok, texts)):
        if len(ids) + 2 < args.max_len and len(ids) not in seen:
            seen.add(len(ids))
            keep.append(line)
            if len(keep) == args.examples:
                break
    if len(keep) < args.examples:
        sys.exit(f"step_check: only {len(keep)} examples of {src} have distinct lengths below --max-len")
    with open(dst, "w", encoding="utf-8") as f:
        f.writelines(header + keep)


# Training recipe v1 (issue 21) changed mltc train's defaults; a step check trains one batch with
# no dev set, so it passes the papers' recipe (or the --head-lr / --pooling / --label-bias asked
# for, to both sides) explicitly. An mltc from before the recipe has none of these flags.
RECIPE_FLAGS = ("--head-lr", "--label-bias", "--pooling", "--dev-split", "--patience", "--tune-threshold",
                "--min-labels")
_MLTC_FLAGS = {}


def mltc_recipe_flags(mltc):
    """The recipe flags this mltc build's `mltc train --help` mentions."""
    if mltc not in _MLTC_FLAGS:
        p = subprocess.run([mltc, "train", "--help"], capture_output=True, text=True)
        _MLTC_FLAGS[mltc] = {f for f in RECIPE_FLAGS if f in p.stdout + p.stderr}
    return _MLTC_FLAGS[mltc]


def recipe_args(args, head):
    """mltc train's recipe flags for a step check: args' head_lr, pooling (bert only) and
    label_bias (default: the papers' 0, cls, zero), no dev split, no tuning, no min-labels rule."""
    want = [("--head-lr", str(getattr(args, "head_lr", 0.0))), ("--label-bias", getattr(args, "label_bias", "zero")),
            ("--dev-split", "0"), ("--patience", "0"), ("--tune-threshold", "none"), ("--min-labels", "0")]
    if head == "bert":
        want.append(("--pooling", getattr(args, "pooling", "cls")))
    have = mltc_recipe_flags(args.mltc)
    out = []
    for flag, value in want:
        if flag in have:
            out += [flag, value]
        elif (flag == "--head-lr" and float(value) != 0) or (flag, value) in (("--pooling", "mean"),
                                                                             ("--label-bias", "prior")):
            sys.exit(f"step_check: {flag} {value} asked for, but {args.mltc} has no {flag}")
    return out


def mltc_train(args, head, model, train, labels, out, extra):
    cmd = [args.mltc, "train", "--model", model, "--train", train, "--head", head, "--out", out,
           "--device", args.device, "--batch", str(args.examples), "--max-len", str(args.max_len),
           "--seed", str(args.seed), "--lr", str(args.lr), "--dropout", str(args.dropout), "--lambda", str(args.lam),
           "--mask-prob", str(args.mask_prob), "--max-grad-norm", str(args.max_grad_norm)] + recipe_args(args, head) + extra
    if labels:
        cmd += ["--labels", labels]
    p = subprocess.run(cmd, capture_output=True, text=True, env=compare.mltc_env(args.threads))
    if p.returncode != 0:
        sys.exit(f"step_check: {' '.join(cmd)}\n{p.stderr.strip()}")


def mltc_losses(out):
    with open(os.path.join(out, "train_log.jsonl")) as f:
        rows = [json.loads(line) for line in f]
    return {r["step"]: r["loss"] for r in rows if r.get("type") == "step"}


def load_into(model, head, weights):
    """Copies an mltc checkpoint into the reference model; every parameter must be covered."""
    params = dict(model.named_parameters())
    to_mltc = {HEAD_NAMES[head].get(n) or "bert." + n: n for n in weights}
    with torch.no_grad():
        for target, name in to_mltc.items():
            t = weights[name]
            if target not in params:
                sys.exit(f"step_check: mltc tensor {name} has no counterpart ({target}) in the reference")
            if params[target].shape != t.shape:
                sys.exit(f"step_check: {name} is {tuple(t.shape)} in mltc, {tuple(params[target].shape)} in torch")
            params[target].copy_(t)
    missing = sorted(set(params) - set(to_mltc))
    if missing:
        sys.exit(f"step_check: the mltc checkpoint sets no value for {', '.join(missing[:5])}")
    return to_mltc


def train_both(args, head, model_dir, train, labels, tmp):
    """Trains one head in both frameworks as the module docstring says. Returns a namespace:
    ours and theirs ({step: loss}), init and final (mltc's weights by mltc name), model (the
    trained reference) and to_mltc (reference parameter name -> mltc name)."""
    init_out, run_out = os.path.join(tmp, f"{head}-init"), os.path.join(tmp, f"{head}-run")
    mltc_train(args, head, model_dir, train, labels, init_out, ["--warmup", "1", "--max-steps", "1"])
    mltc_train(args, head, model_dir, train, labels, run_out,
               ["--epochs", str(args.steps), "--log-every", "1"])
    init = load_file(os.path.join(init_out, "last", "model.safetensors"))
    final = load_file(os.path.join(run_out, "last", "model.safetensors"))

    names = ref.read_labels(labels) if labels else ref.header_labels(train)
    index = {n: i for i, n in enumerate(names)}
    tok = ref.load_tokenizer(os.path.join(model_dir, "vocab.txt"))
    texts, gold = ref.read_dataset(train, index)
    rargs = types.SimpleNamespace(dropout=args.dropout, seed=args.seed, max_len=args.max_len, lam=args.lam,
                                  mask_prob=args.mask_prob,
                                  lr=args.lr, batch=args.examples, epochs=args.steps, weight_decay=0.01,
                                  max_grad_norm=args.max_grad_norm, warmup=0.1, max_steps=0, log_every=0,
                                  head_lr=getattr(args, "head_lr", 0.0),
                                  pooling=getattr(args, "pooling", "cls") if head == "bert" else "cls")
    model = ref.Classifier(model_dir, head, names, tok, rargs)
    to_mltc = load_into(model, head, init)
    bias_gap = label_bias(args, model, head, init, gold)
    torch_loss = {}
    # The MLM copy is built before the step's forward pass, so its step is the one after the last
    # finished; mltc's steps count from 1 and the stream of row b is step x batch + b.
    model.draw_masked = lambda b, gen: mltc_draws.mltc_masked(args.seed, (len(torch_loss) + 1) * args.examples + b,
                                                              len(names), args.mask_prob)
    shared = mltc_draws.share_dropout(model, head, args.seed, lambda: len(torch_loss) + 1) if args.dropout else None
    ref.train(model, ref.encode(tok, texts), gold, rargs, torch.device("cpu"),
              on_step=lambda step, loss, bce, lr: torch_loss.__setitem__(step, loss))

    if shared is not None and shared["calls"] == 0:
        sys.exit("step_check: transformers never called the patched eager_attention_forward; the dropout "
                 "masks of the attention probabilities were not shared")
    return types.SimpleNamespace(ours=mltc_losses(run_out), theirs=torch_loss, init=init, final=final,
                                 model=model, to_mltc=to_mltc, bias_gap=bias_gap)


# The head's per-label bias (recipe v1's --label-bias) by head, as mltc names it.
LABEL_BIAS = {"bert": "mltc.classifier.bias", "lmmtc": "mltc.lmmtc.state.bias", "lam": "mltc.lam.classifier.bias"}


def label_bias(args, model, head, init, gold):
    """The reference's own initial label biases: 0, or with --label-bias prior the log prior odds
    of the training batch (recipe.prior_bias, as torch_reference.py sets them), in place of the
    ones copied from mltc's checkpoint, so that mltc's priors are checked rather than copied.
    mltc's must be the same float32 numbers to within rounding; returns the largest gap."""
    want = (recipe.prior_bias(gold.int().tolist()) if getattr(args, "label_bias", "zero") == "prior"
            else [0.0] * gold.shape[1])
    model.set_label_bias(want)
    gap = (init[LABEL_BIAS[head]] - model.b.detach()).abs().max().item()
    if gap > 1e-6:
        sys.exit(f"step_check: {head}: mltc's initial {LABEL_BIAS[head]} is {init[LABEL_BIAS[head]].tolist()}, "
                 f"the --label-bias {getattr(args, 'label_bias', 'zero')} one {want} (apart by {gap:.1e})")
    return gap


def check_head(args, head, model_dir, train, labels, tmp):
    r = train_both(args, head, model_dir, train, labels, tmp)
    ours, torch_loss, init, final, model, to_mltc = r.ours, r.theirs, r.init, r.final, r.model, r.to_mltc
    print(f"\n### {head}\n\n| step | mltc loss | PyTorch loss | relative difference |\n|---:|---:|---:|---:|")
    worst_loss = 0.0
    for step in sorted(torch_loss):
        a, b = ours.get(step), torch_loss[step]
        rel = abs(a - b) / abs(b) if a is not None else float("nan")
        worst_loss = max(worst_loss, rel)
        print(f"| {step} | {a:.7f} | {b:.7f} | {rel:.1e} |")
    rows = []
    with torch.no_grad():
        for tname, p in model.named_parameters():
            n = to_mltc[tname]
            moved = (p - init[n]).norm().item()
            apart = (final[n] - p).norm().item()
            # A key bias adds q.b to every score of a query, which softmax cancels: its gradient is
            # 0 in exact arithmetic, float noise in practice, and Adam turns noise into +-lr steps.
            if moved > 0 and not n.endswith("attention.self.key.bias"):
                rows.append((apart / moved, n, moved))
    rows.sort(reverse=True)
    print(f"\ninitial label biases ({getattr(args, 'label_bias', 'zero')}): mltc's within {r.bias_gap:.1e} of the "
          f"reference's")
    print(f"\nworst loss difference {worst_loss:.1e}; update differences |w_mltc - w_torch| / "
          f"|w_torch - w_init|, the largest {args.show} of {len(rows)} tensors (key biases left out: "
          f"their gradient is 0 but for rounding):\n")
    for r, n, moved in rows[:args.show]:
        print(f"- {n}: {r:.2e} (update norm {moved:.2e})")
    median = sorted(r for r, _, _ in rows)[len(rows) // 2]
    print(f"- median over tensors: {median:.2e}")
    return worst_loss, rows[0][0] if rows else 0.0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mltc", default=os.path.join(ROOT, "build", "mltc"))
    ap.add_argument("--model", default=os.path.join(ROOT, "models", "all-MiniLM-L6-v2"))
    ap.add_argument("--data", default=os.path.join(textfile.data_dir(), "semeval2018-ec"),
                    help="a dataset folder as compare.py reads it (SemEval E-c: 11 labels, a short prompt)")
    ap.add_argument("--heads", default="bert,lmmtc,lam")
    ap.add_argument("--examples", type=int, default=16, help="the one batch both sides train on")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--max-grad-norm", type=float, default=1.0,
                    help="below the gradient norm (~0.4 at the start here) to check the clipping too")
    ap.add_argument("--max-len", type=int, default=64)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--dropout", type=float, default=0.0,
                    help="every dropout (encoder and head) at this probability, the reference drawing mltc's "
                         "masks (tools/reference/mltc_draws.py); 0: all off")
    ap.add_argument("--lambda", dest="lam", type=float, default=0.05, help="lmmtc: weight of the label MLM")
    ap.add_argument("--mask-prob", type=float, default=0.15)
    ap.add_argument("--head-lr", type=float, default=0.0, help="recipe v1: the head's peak learning rate on both "
                    "sides (0: --lr, the papers' recipe)")
    ap.add_argument("--pooling", choices=["cls", "mean"], default="cls", help="recipe v1, bert head: pooling on both sides")
    ap.add_argument("--label-bias", choices=["zero", "prior"], default="zero", help="recipe v1: the initial label biases "
                    "on both sides (the reference computes its own prior odds; mltc's must equal them)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--show", type=int, default=5, help="tensors listed per head")
    args = ap.parse_args()
    torch.set_num_threads(max(args.threads, 1))
    transformers.logging.set_verbosity_error()  # the unused pooler of every load is not news
    transformers.logging.disable_progress_bar()

    src_train, _, labels = compare.dataset_files(args.data)
    tmp = tempfile.mkdtemp(prefix="mltc-step-check-")
    try:
        model_dir = os.path.join(tmp, "model")
        model_with_dropout(args.model, model_dir, args.dropout)
        train = os.path.join(tmp, "train" + os.path.splitext(textfile.plain_name(src_train))[1])
        distinct_lengths(src_train, train, labels, args)
        print(f"mltc ({args.device}) and PyTorch {torch.__version__}, {args.examples} examples of "
              f"{os.path.basename(os.path.normpath(args.data))} as one batch, {args.steps} steps, lr {args.lr}, "
              f"max-len {args.max_len}, seed {args.seed}, clipping at {args.max_grad_norm}, "
              + (f"dropout {args.dropout} with mltc's masks on both sides" if args.dropout else "all dropout off"))
        for head in args.heads.split(","):
            check_head(args, head, model_dir, train, labels, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
