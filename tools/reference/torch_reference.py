#!/usr/bin/env python3
"""PyTorch + transformers reference for mltc's three heads, trained and scored the mltc way.

The same recipe as `mltc train` / `mltc eval`, written from src/model/head_*.c and
src/model/lmmtc_prompt.c, so quality can be compared number for number:
  data      jsonl {"title", "text", "labels"} (text = title + "\\n" + text when the title is non-empty),
            tsv (text<TAB>a,b) or tsv-columns (a header, one 0/1 column per label, e.g. SemEval E-c)
  tokens    BertTokenizerFast on the model's vocab.txt (lower case, accents stripped), no special
            tokens, then [CLS] text [SEP] cut to --max-len
  bert      [CLS] (--pooling mean: the mean over the real tokens) -> dropout -> linear (K x C)
  lmmtc     [CLS] [LS-i] [MASK-i] [LE-i] ... [SEP] text [SEP] (token types 0 through the first
            [SEP], 1 after); 5 new tokens per label (LS, LE, YES, NO, MASK) with embeddings
            N(0, 0.02); logit i = w_i . h(3i + 2) + b_i; with lambda > 0 a second copy shows the
            true YES/NO states, each masked with probability --mask-prob (at least one per
            example), and an MLM head (dense -> GELU -> LayerNorm -> decoder tied to the word
            embeddings, + bias; from cls.predictions.* when the checkpoint has it) predicts them:
            loss = BCE + lambda * mean CE over the masked states
  lam       label names ('_' and '-' as spaces) as [CLS] name [SEP] through the same BERT (train
            mode while training), mean-pooled over their tokens; cosine similarity of every text
            token with every label vector, max over labels, softmax over the text's tokens
            (attention mask), weighted sum of the token states -> dropout -> dense -> GELU ->
            linear (K)
  training  BCE-with-logits (mean over B x K), AdamW lr 5e-5, betas (0.9, 0.999), eps 1e-8,
            weight decay 0.01 on matrices and embeddings only, global gradient clipping 1.0,
            linear warm-up over round(10%) of the steps then linear decay to 0, batch 16,
            3 epochs; batches drawn as mltc does (shuffle, length buckets of 50 batches, shuffle
            the batches), but from torch's RNG: the order and the dropout masks differ from mltc's
            Philox streams, so results agree in distribution, not bit for bit
  recipe v1 (issue 21; the same flags as mltc train, the torch-free parts in recipe.py):
            --head-lr X         the head's parameters (bert w, b; lmmtc state w, b and the MLM head
                                but the tied decoder; lam dense and classifier) in their own AdamW
                                groups at peak X, same schedule (0: --lr)
            --label-bias prior  the per-label biases start at log(p / (1 - p)), p = (n_k + 0.5) / (N + 1)
                                on the training part (zero: at 0)
            --pooling mean      bert head: the mean of the last hidden states over the real tokens
            --dev-split F       without --dev, a share F of --train is the dev set (recipe.dev_split,
                                seeded by --seed: the same examples as mltc's)
            --tune-threshold    after each epoch: dev probabilities, thresholds tuned on them (global
                                or per-label; none: the fixed 0.5), the epoch's score = dev micro-F1 at
                                them; the best epoch's weights and thresholds are used on the test set
            --patience N        stop after N epochs without a better dev score (0: never)
            --min-labels        auto (1 when every training example has a label, else 0) or N: a row
                                with fewer predicted labels gets its most probable ones up to N
            defaults: mltc's (--lr 1e-4, --head-lr 1e-3, prior, mean pooling for bert, 0.1,
            --patience 0, global, auto)
            the papers' recipe: --lr 5e-5 --head-lr 0 --label-bias zero --pooling cls --dev-split 0
            --tune-threshold none --min-labels 0 (as before the recipe, bit for bit)
  scoring   p = sigmoid(logit) > the tuned threshold(s) (--threshold wins when given; 0.5 without
            tuning), then the min-labels rule; Hamming loss, micro P/R/F1, macro-F1, subset
            accuracy, micro-Jaccard with undefined ratios scored 0 (scikit-learn default), and
            micro/macro-F1 by label frequency in the training part (<= 10, 11-100, > 100 examples)

    python torch_reference.py --model ../../models/all-MiniLM-L6-v2 --head bert \\
        --train DATA/train.jsonl --test DATA/test.jsonl --labels DATA/labels.txt --limit 200 --json
"""
import argparse
import json
import math
import os
import random
import signal
import sys
import time

import torch
import torch.nn.functional as F
from transformers import BertConfig, BertModel, BertTokenizerFast

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data_io  # noqa: E402
import recipe  # noqa: E402
from textfile import open_text  # noqa: E402  (data files may be gzip-compressed)
from data_io import TEXT_COLUMNS, header_labels, read_labels, tsv_header  # noqa: E402,F401  (step_check uses them)


# ---- data ------------------------------------------------------------------------------------

def read_dataset(path, index, limit=0):
    """data_io.read_dataset with the gold rows as a float tensor."""
    texts, gold = data_io.read_dataset(path, index, limit)
    return texts, torch.tensor(gold, dtype=torch.float32).reshape(len(gold), len(index))


def load_tokenizer(vocab_path):
    """BertTokenizerFast on exactly mltc's vocab.txt. transformers 5 takes the file as vocab=, 4 as
    vocab_file=, and 5 silently ignores vocab_file= and builds a 5-token vocabulary that maps every
    word to [UNK]; so the result is checked against the file, never trusted."""
    with open_text(vocab_path, encoding="utf-8") as f:
        words = [line.rstrip("\n") for line in f]
    for kw in ("vocab", "vocab_file"):
        try:
            tok = BertTokenizerFast(**{kw: vocab_path}, do_lower_case=True)
        except TypeError:
            continue
        if len(tok) == len(words) and tok.convert_tokens_to_ids("[CLS]") == words.index("[CLS]"):
            return tok
    sys.exit(f"torch_reference: this transformers cannot build a BertTokenizerFast on {vocab_path} "
             f"({len(words)} entries)")


# ---- the model ---------------------------------------------------------------------------------

LS, LE, YES, NO, MASK = range(5)


class Classifier(torch.nn.Module):
    def __init__(self, model_dir, head, labels, tok, args):
        super().__init__()
        cfg = BertConfig.from_pretrained(model_dir)
        cfg._attn_implementation = "eager"
        self.bert = BertModel.from_pretrained(model_dir, config=cfg, add_pooling_layer=False)
        self.head, self.K, self.C = head, len(labels), cfg.hidden_size
        self.args, self.tok = args, tok
        self.eps = cfg.layer_norm_eps
        self.drop = torch.nn.Dropout(args.dropout)
        g = torch.Generator().manual_seed(args.seed)

        def normal(*shape):
            return torch.nn.Parameter(torch.randn(*shape, generator=g) * 0.02)

        self.pooling = getattr(args, "pooling", "cls") or "cls"
        if self.pooling not in ("cls", "mean") or (self.pooling == "mean" and head != "bert"):
            raise ValueError(f"--pooling {self.pooling}: cls or mean, and mean for the bert head only")
        if head == "bert":
            self.w = normal(self.K, self.C)
            self.b = torch.nn.Parameter(torch.zeros(self.K))
        elif head == "lmmtc":
            self.V0 = cfg.vocab_size
            new = torch.randn(5 * self.K, self.C, generator=g) * 0.02
            self.bert.resize_token_embeddings(self.V0 + 5 * self.K, mean_resizing=False)
            with torch.no_grad():
                self.bert.get_input_embeddings().weight[self.V0:] = new
            self.w = normal(self.K, self.C)  # per-label state weights
            self.b = torch.nn.Parameter(torch.zeros(self.K))
            self.t_w = normal(self.C, self.C)
            self.t_b = torch.nn.Parameter(torch.zeros(self.C))
            self.ln_w = torch.nn.Parameter(torch.ones(self.C))
            self.ln_b = torch.nn.Parameter(torch.zeros(self.C))
            self.dec_b = torch.nn.Parameter(torch.zeros(self.V0 + 5 * self.K))
            self._load_pretrained_mlm(model_dir)
        else:  # lam
            self.d_w = normal(self.C, self.C)
            self.d_b = torch.nn.Parameter(torch.zeros(self.C))
            self.w = normal(self.K, self.C)
            self.b = torch.nn.Parameter(torch.zeros(self.K))
            self._label_inputs(labels)

    # Recipe v1: the head's parameters (own learning rate) and its per-label biases (prior odds).
    HEAD_PARAMS = ("w", "b", "t_w", "t_b", "ln_w", "ln_b", "dec_b", "d_w", "d_b")

    def head_parameters(self):
        """The head's parameter table (mltc: bert classifier.*; lmmtc lmmtc.state.* and mlm.*, the
        decoder's weight being the encoder's word embeddings; lam lam.*), in a fixed order."""
        return [getattr(self, n) for n in self.HEAD_PARAMS if hasattr(self, n)]

    def set_label_bias(self, values):
        """The per-label bias (bert classifier.bias, lmmtc lmmtc.state.bias, lam lam.classifier.bias)."""
        with torch.no_grad():
            self.b.copy_(torch.tensor(values, dtype=self.b.dtype))

    def _load_pretrained_mlm(self, model_dir):
        path = os.path.join(model_dir, "model.safetensors")
        if not os.path.exists(path):
            return
        from safetensors.torch import load_file
        t = load_file(path)
        names = ["cls.predictions.transform.dense.weight", "cls.predictions.transform.dense.bias",
                 "cls.predictions.transform.LayerNorm.weight", "cls.predictions.transform.LayerNorm.bias"]
        if not all(n in t for n in names) or "cls.predictions.bias" not in t:
            return
        with torch.no_grad():
            for p, n in zip([self.t_w, self.t_b, self.ln_w, self.ln_b], names):
                p.copy_(t[n])
            bias = t["cls.predictions.bias"]
            self.dec_b[:bias.numel()] = bias

    def _label_inputs(self, labels):
        ids = []
        for name in labels:
            text = name.replace("_", " ").replace("-", " ")
            piece = self.tok(text, add_special_tokens=False)["input_ids"][: self.args.max_len - 2]
            ids.append([self.tok.cls_token_id] + piece + [self.tok.sep_token_id])
        TL = max(len(x) for x in ids)
        self.register_buffer("l_ids", torch.tensor([x + [self.tok.pad_token_id] * (TL - len(x)) for x in ids]))
        self.register_buffer("l_mask", torch.tensor([[1] * len(x) + [0] * (TL - len(x)) for x in ids]))

    # -- inputs --

    def build(self, ids_list, gold=None, gen=None):
        """Padded ids, types, mask for a batch; lmmtc adds the MLM copy and its targets."""
        rows, types_rows = [], []
        cls, sep, L = self.tok.cls_token_id, self.tok.sep_token_id, self.args.max_len
        for ids in ids_list:
            if self.head == "lmmtc":
                prompt = [cls]
                for i in range(self.K):
                    prompt += [self.tok_id(i, LS), self.tok_id(i, MASK), self.tok_id(i, LE)]
                prompt.append(sep)
                room = L - len(prompt) - 1
                row = prompt + ids[:max(room, 0)] + [sep]
                types_rows.append([0] * len(prompt) + [1] * (len(row) - len(prompt)))
            else:
                row = [cls] + ids[: L - 2] + [sep]
                types_rows.append([0] * len(row))
            rows.append(row)
        targets = None
        if self.head == "lmmtc" and gold is not None and self.args.lam > 0:
            copies, targets = [], []
            for b, row in enumerate(rows):
                row = list(row)
                tgt = [-100] * len(row)
                for i in range(self.K):
                    row[3 * i + 2] = self.tok_id(i, YES if gold[b, i] > 0 else NO)
                for i in self.draw_masked(b, gen):
                    pos = 3 * i + 2
                    tgt[pos], row[pos] = row[pos], self.tok_id(i, MASK)
                copies.append(row)
                targets.append(tgt)
            types_rows = types_rows + types_rows
            rows = rows + copies
        T = max(len(r) for r in rows)
        pad = self.tok.pad_token_id
        ids_t = torch.tensor([r + [pad] * (T - len(r)) for r in rows])
        types_t = torch.tensor([t + [0] * (T - len(t)) for t in types_rows])
        mask_t = torch.tensor([[1] * len(r) + [0] * (T - len(r)) for r in rows])
        if targets is not None:
            targets = torch.tensor([t + [-100] * (T - len(t)) for t in targets])
        return ids_t, types_t, mask_t, targets

    def draw_masked(self, b, gen):
        """The labels whose state the MLM copy of the batch's row b masks: each with probability
        --mask-prob, at least one (tools/reference/step_check.py puts mltc's draws here)."""
        masked = [i for i in range(self.K) if torch.rand(1, generator=gen).item() < self.args.mask_prob]
        return masked or [int(torch.randint(self.K, (1,), generator=gen).item())]

    def tok_id(self, label, which):
        return self.V0 + 5 * label + which

    # -- forward --

    def forward(self, ids, types, mask, mlm_targets=None):
        """Logits [B, K] and the MLM loss (0 when there is none)."""
        dev = self.w.device
        ids, types, mask = ids.to(dev), types.to(dev), mask.to(dev)
        h = self.bert(input_ids=ids, token_type_ids=types, attention_mask=mask).last_hidden_state
        zero = h.new_zeros(())
        if self.head == "bert":
            if self.pooling == "mean":  # over the real tokens, [CLS] and [SEP] included
                m = mask.to(h.dtype)[..., None]
                pooled = (h * m).sum(1) / m.sum(1)
            else:
                pooled = h[:, 0]
            return F.linear(self.drop(pooled), self.w, self.b), zero
        if self.head == "lmmtc":
            B = ids.shape[0] // 2 if mlm_targets is not None else ids.shape[0]
            states = h[:B, 2:2 + 3 * self.K:3]  # [B, K, C] at positions 3i + 2
            logits = (states * self.w).sum(-1) + self.b
            if mlm_targets is None:
                return logits, zero
            tgt = mlm_targets.to(dev)
            sel = tgt >= 0
            x = h[B:][sel]
            y = F.layer_norm(F.gelu(F.linear(x, self.t_w, self.t_b)), (self.C,), self.ln_w, self.ln_b, self.eps)
            dec = F.linear(y, self.bert.get_input_embeddings().weight, self.dec_b)
            return logits, F.cross_entropy(dec, tgt[sel])
        # lam
        lh = self.bert(input_ids=self.l_ids, attention_mask=self.l_mask,
                       token_type_ids=torch.zeros_like(self.l_ids)).last_hidden_state
        m = self.l_mask.float()
        lvec = (lh * m[..., None]).sum(1) / m.sum(1, keepdim=True)  # [K, C]
        hn = h / torch.sqrt((h * h).sum(-1, keepdim=True) + 1e-12)
        ln = lvec / torch.sqrt((lvec * lvec).sum(-1, keepdim=True) + 1e-12)
        a = torch.einsum("btc,kc->btk", hn, ln).max(-1).values  # [B, T]
        a = a.masked_fill(mask == 0, float("-inf"))
        w = torch.softmax(a, -1)
        att = (w[..., None] * h).sum(1)
        g = F.gelu(F.linear(self.drop(att), self.d_w, self.d_b))
        return F.linear(g, self.w, self.b), zero


# ---- training and scoring -----------------------------------------------------------------------

def batches(lengths, B, gen, pool=50):
    """mltc's batching: shuffle, sort pools of `pool` batches by length (longest first), cut,
    shuffle the batches."""
    n = len(lengths)
    order = torch.randperm(n, generator=gen).tolist()
    out = []
    for s in range(0, n, B * pool):
        chunk = sorted(order[s:s + B * pool], key=lambda i: -lengths[i])
        out += [chunk[j:j + B] for j in range(0, len(chunk), B)]
    perm = torch.randperm(len(out), generator=gen).tolist()
    return [out[p] for p in perm]


def metrics(gold, pred):
    """mltc eval's figures (recipe.metrics) of 0/1 tensors or arrays."""
    as_np = [x.numpy() if isinstance(x, torch.Tensor) else x for x in (gold, pred)]
    return recipe.metrics(*as_np)


def encode(tok, texts):
    return [tok(t, add_special_tokens=False)["input_ids"] for t in texts]


# What must match for a checkpoint to be resumed: everything that decides the run's numbers.
RESUME_KEYS = ("model", "train", "labels", "head", "epochs", "batch", "lr", "weight_decay", "max_grad_norm",
               "warmup", "dropout", "max_len", "seed", "lam", "mask_prob", "limit", "max_steps", "device",
               "head_lr", "label_bias", "pooling", "dev", "dev_split", "patience", "tune_threshold", "min_labels",
               "threshold")


class Stopped(Exception):
    """SIGTERM or Ctrl-C during training: the checkpoint has been written."""


class RunCheckpoint:
    """--checkpoint FILE: every --save-every steps, at the end of each epoch and on SIGTERM or
    Ctrl-C, the whole training state (weights, AdamW moments, schedule, position in the epoch,
    the epoch's batch order, every RNG) goes to FILE, written whole or not at all. A later run
    with the same settings and FILE continues where it stopped and takes the same steps as a run
    that never stopped (on the same device and thread count)."""

    def __init__(self, args):
        self.path = getattr(args, "checkpoint", None)
        self.every = getattr(args, "save_every", 0) or 0
        self.settings = {k: getattr(args, k, None) for k in RESUME_KEYS}
        for k in ("model", "train", "labels", "dev"):  # the same files however they were named
            if self.settings[k]:
                self.settings[k] = os.path.realpath(self.settings[k])
        self.stop = False
        if self.path:
            def on_signal(sig, frame):
                self.stop = True
            signal.signal(signal.SIGTERM, on_signal)
            signal.signal(signal.SIGINT, on_signal)

    def load(self):
        if not self.path or not os.path.exists(self.path):
            return None
        state = torch.load(self.path, map_location="cpu", weights_only=False)
        if state.get("settings") != self.settings:
            diff = [k for k in RESUME_KEYS if state.get("settings", {}).get(k) != self.settings[k]]
            sys.exit(f"{self.path}: a checkpoint of a run with other settings ({', '.join(diff)}); "
                     "remove it or give another --checkpoint")
        return state

    def save(self, state):
        if self.path:
            state["settings"] = self.settings
            torch.save(state, self.path + ".tmp")
            os.replace(self.path + ".tmp", self.path)


class DevTracker:
    """Recipe v1's per-epoch dev evaluation: after each epoch, the dev probabilities, thresholds
    tuned on them (--tune-threshold), the epoch's score (dev micro-F1 at those thresholds, the
    min-labels rule applied), the best epoch's weights and thresholds kept (a later epoch must
    score strictly higher), and early stopping after --patience epochs without a better one."""

    def __init__(self, ids, gold, mode, min_labels, patience, fixed_threshold):
        self.ids, self.gold = ids, gold.numpy().astype(bool)
        self.mode, self.min_labels, self.patience, self.fixed = mode, min_labels, patience, fixed_threshold
        self.best_f1, self.best_epoch, self.best_thresholds, self.best_state = -1.0, 0, None, None
        self.since_best, self.stopped, self.history = 0, False, []

    def after_epoch(self, model, epoch, args):
        """Scores the model after `epoch` (1-based); True when training should stop."""
        probs = predict(model, self.ids, args).numpy()
        thresholds, f1 = recipe.tune(self.mode, probs, self.gold, self.min_labels, self.fixed)
        better = f1 > self.best_f1
        self.history.append({"epoch": epoch, "dev_micro_f1": f1, "best": better,
                             "threshold": thresholds})
        if better:
            self.best_f1, self.best_epoch, self.best_thresholds = f1, epoch, thresholds
            self.best_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
            self.since_best = 0
        else:
            self.since_best += 1
        self.stopped = bool(self.patience and self.since_best >= self.patience)
        return self.stopped

    STATE = ("best_f1", "best_epoch", "best_thresholds", "best_state", "since_best", "stopped", "history")

    def state(self):
        return {k: getattr(self, k) for k in self.STATE}

    def load(self, state):
        for k in self.STATE:
            setattr(self, k, state[k])


def param_groups(model, args):
    """AdamW groups: the encoder's and the head's parameters, each with weight decay on matrices
    (and embeddings) only; the head's peak learning rate is --head-lr (0: --lr). The encoder's
    matrices come first (param_groups[0]'s lr is the one logged)."""
    head_lr = getattr(args, "head_lr", 0) or args.lr
    head = {id(p) for p in model.head_parameters()}
    enc = [p for p in model.parameters() if id(p) not in head]
    hp = [p for p in model.parameters() if id(p) in head]
    groups = [{"params": [p for p in enc if p.dim() >= 2], "weight_decay": args.weight_decay, "lr": args.lr},
              {"params": [p for p in enc if p.dim() < 2], "weight_decay": 0.0, "lr": args.lr},
              {"params": [p for p in hp if p.dim() >= 2], "weight_decay": args.weight_decay, "lr": head_lr},
              {"params": [p for p in hp if p.dim() < 2], "weight_decay": 0.0, "lr": head_lr}]
    return [g for g in groups if g["params"]]


def train(model, ids, gold, args, device, on_step=None, tracker=None):
    """Trains in place; on_step(step, loss, bce, lr), when given, sees every optimizer step;
    tracker (a DevTracker), when given, scores each epoch on dev and may stop training early.
    Raises Stopped after a SIGTERM or Ctrl-C when args.checkpoint is set (saved by then)."""
    opt = torch.optim.AdamW(param_groups(model, args), lr=args.lr, betas=(0.9, 0.999), eps=1e-8)
    n_batches = math.ceil(len(ids) / args.batch)
    total = n_batches * args.epochs
    if args.max_steps:
        total = min(total, args.max_steps)
    warm = min(round(args.warmup * total), total)

    def lr_mult(t):  # Hugging Face's get_linear_schedule_with_warmup at scheduler count t
        if t < warm:
            return t / warm
        return max(0.0, (total - t) / (total - warm)) if total > warm else 0.0

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_mult)
    gen = torch.Generator().manual_seed(args.seed)
    lengths = [len(x) for x in ids]
    bce = torch.nn.BCEWithLogitsLoss()
    step, t0 = 0, time.time()
    ckpt = RunCheckpoint(args)
    start_epoch, plan, at = 0, None, 0  # plan: the epoch's batches; at: the next one
    before = 0.0  # training seconds of the runs this one resumes
    state = ckpt.load()
    if state:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        gen.set_state(state["gen"])
        torch.set_rng_state(state["torch_rng"])
        if device.type == "cuda" and state.get("cuda_rng") is not None:
            torch.cuda.set_rng_state(state["cuda_rng"], device)
        random.setstate(state["random"])
        step, start_epoch, plan, at = state["step"], state["epoch"], state["plan"], state["at"]
        before = state["train_s"]
        if tracker and state.get("tracker"):
            tracker.load(state["tracker"])
        print(f"resumed from {ckpt.path} at step {step} (epoch {start_epoch + 1}, batch {at})", file=sys.stderr)

    def save(epoch, plan, at):
        ckpt.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                   "gen": gen.get_state(), "torch_rng": torch.get_rng_state(),
                   "cuda_rng": torch.cuda.get_rng_state(device) if device.type == "cuda" else None,
                   "random": random.getstate(), "step": step, "epoch": epoch, "plan": plan, "at": at,
                   "train_s": before + time.time() - t0, "tracker": tracker.state() if tracker else None})

    for epoch in range(start_epoch, args.epochs):
        if tracker and tracker.stopped:
            break
        model.train()
        if plan is None:
            plan, at = batches(lengths, args.batch, gen), 0
        while at < len(plan):
            idx = plan[at]
            at += 1
            if step >= total:
                break
            x_ids, x_types, x_mask, tgt = model.build([ids[i] for i in idx], gold[idx], gen)
            logits, mlm = model(x_ids, x_types, x_mask, tgt)
            bce_loss = bce(logits, gold[idx].to(device))
            loss = bce_loss + (args.lam * mlm if model.head == "lmmtc" else 0)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), args.max_grad_norm)
            lr = opt.param_groups[0]["lr"]
            opt.step()
            sched.step()
            step += 1
            if on_step:
                on_step(step, loss.item(), bce_loss.item(), lr)
            if args.log_every and (step % args.log_every == 0 or step == 1):
                print(f"step {step}/{total} epoch {epoch + 1} loss {loss.item():.5f} "
                      f"({time.time() - t0:.0f} s)", file=sys.stderr)
            if ckpt.stop:
                save(epoch, plan, at)
                raise Stopped(f"stopped after step {step}; {ckpt.path} holds the run, the same command goes on")
            if ckpt.every and step % ckpt.every == 0 and at < len(plan):
                save(epoch, plan, at)
        plan = None
        if tracker:
            tracker.after_epoch(model, epoch + 1, args)
            h = tracker.history[-1]
            print(f"epoch {epoch + 1}: dev micro-F1 {h['dev_micro_f1']:.4f}"
                  + (" (per-label thresholds)" if isinstance(h["threshold"], list) else f" at threshold {h['threshold']}")
                  + (" (best)" if h["best"] else f" ({tracker.since_best} since the best, epoch {tracker.best_epoch})"),
                  file=sys.stderr)
        save(epoch + 1, None, 0)
        if step >= total:
            break
    return step, before + time.time() - t0


@torch.no_grad()
def predict(model, ids, args):
    model.eval()
    out = []
    for s in range(0, len(ids), args.batch):
        x_ids, x_types, x_mask, _ = model.build(ids[s:s + args.batch])
        logits, _ = model(x_ids, x_types, x_mask)
        out.append(torch.sigmoid(logits).cpu())
    return torch.cat(out)


def min_labels_arg(v):
    if v != "auto" and not (v.isdigit()):
        raise argparse.ArgumentTypeError("auto or a number >= 0")
    return v


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--train", required=True)
    ap.add_argument("--test", required=True)
    ap.add_argument("--dev", help="dev file (as mltc train --dev); without it --dev-split carves one from --train")
    ap.add_argument("--labels", help="label names, one a line (default: the header of a tsv-columns --train)")
    ap.add_argument("--head", choices=["bert", "lmmtc", "lam"], default="bert")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=1e-4, help="the encoder's peak learning rate (mltc's default; "
                    "the papers' 5e-5)")
    ap.add_argument("--weight-decay", type=float, default=0.01)
    ap.add_argument("--max-grad-norm", type=float, default=1.0)
    ap.add_argument("--warmup", type=float, default=0.1)
    ap.add_argument("--dropout", type=float, default=0.1)
    ap.add_argument("--max-len", type=int, default=128)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--lambda", dest="lam", type=float, default=0.05)
    ap.add_argument("--mask-prob", type=float, default=0.15)
    # Recipe v1 (issue 21). The papers' recipe: --head-lr 0 --label-bias zero --pooling cls
    # --dev-split 0 --tune-threshold none --min-labels 0 (and --patience 0, --threshold 0.5).
    ap.add_argument("--head-lr", type=float, default=1e-3, help="peak learning rate of the head (0: --lr)")
    ap.add_argument("--label-bias", choices=["prior", "zero"], default="prior",
                    help="the head's label biases start at the training data's log prior odds, or at 0")
    ap.add_argument("--pooling", choices=["cls", "mean"], default=None, help="bert head: [CLS] or the mean "
                    "of the real tokens (default: mean for bert, as mltc; the other heads have none)")
    ap.add_argument("--dev-split", type=float, default=0.1, help="share of --train held out as dev when no --dev "
                    "is given (recipe.dev_split; 0: no dev set)")
    ap.add_argument("--patience", type=int, default=0, help="stop after N epochs without a better dev micro-F1 "
                    "(0: never)")
    ap.add_argument("--tune-threshold", choices=["none", "global", "per-label"], default="global",
                    help="thresholds tuned on the dev probabilities after each epoch (the best epoch's are used)")
    ap.add_argument("--min-labels", type=min_labels_arg, default="auto", help="auto (1 when every training "
                    "example has a label, else 0) or N: each document gets at least N labels")
    ap.add_argument("--threshold", type=float, default=None, help="decision threshold on the test set, over the "
                    "tuned ones (default: the tuned thresholds; 0.5 without tuning)")
    ap.add_argument("--limit", type=int, default=0, help="use only the first N training (before the dev split), "
                    "N dev and N test examples")
    ap.add_argument("--max-steps", type=int, default=0)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--log-every", type=int, default=0)
    ap.add_argument("--pred-out", help="write the predicted labels as jsonl (for mltc metrics)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--checkpoint", help="training state file: resumed when it is there (same settings), written "
                    "at each epoch's end, every --save-every steps and on SIGTERM / Ctrl-C")
    ap.add_argument("--save-every", type=int, default=0, help="steps between checkpoints (0: epoch ends only)")
    args = ap.parse_args()
    if not 0 <= args.dev_split <= 0.5:
        sys.exit("torch_reference: --dev-split takes a share in [0, 0.5]")
    if args.pooling == "mean" and args.head != "bert":
        sys.exit("torch_reference: --pooling mean is for the bert head only")
    if args.pooling is None:
        args.pooling = "mean" if args.head == "bert" else "cls"

    torch.manual_seed(args.seed)
    random.seed(args.seed)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    labels = read_labels(args.labels) if args.labels else header_labels(args.train)
    index = {n: i for i, n in enumerate(labels)}
    tok = load_tokenizer(os.path.join(args.model, "vocab.txt"))
    tr_texts, tr_gold = read_dataset(args.train, index, args.limit)
    te_texts, te_gold = read_dataset(args.test, index, args.limit)
    if args.dev:
        dv_texts, dv_gold = read_dataset(args.dev, index, args.limit)
    elif args.dev_split > 0:
        tr_rows, dv_rows = recipe.dev_split(tr_gold.int().tolist(), args.dev_split, args.seed)
        dv_texts, dv_gold = [tr_texts[i] for i in dv_rows], tr_gold[dv_rows]
        tr_texts, tr_gold = [tr_texts[i] for i in tr_rows], tr_gold[tr_rows]
    else:
        dv_texts, dv_gold = [], None
    tr_rows01 = tr_gold.int().tolist()
    min_labels = recipe.resolve_min_labels(args.min_labels, tr_rows01)
    if args.head == "lmmtc" and 3 * len(labels) + 4 > args.max_len:
        sys.exit(f"lmmtc: the prompt of {len(labels)} labels needs {3 * len(labels) + 2} tokens plus text; "
                 f"--max-len {args.max_len} is too small (at least {3 * len(labels) + 4})")
    model = Classifier(args.model, args.head, labels, tok, args).to(device)
    if args.label_bias == "prior":
        model.set_label_bias(recipe.prior_bias(tr_rows01))
    tr_ids, te_ids = encode(tok, tr_texts), encode(tok, te_texts)
    fixed = args.threshold if args.threshold is not None else 0.5
    tracker = (DevTracker(encode(tok, dv_texts), dv_gold, args.tune_threshold, min_labels, args.patience, fixed)
               if dv_texts else None)
    try:
        steps, train_s = train(model, tr_ids, tr_gold, args, device, tracker=tracker)
    except Stopped as e:
        sys.exit(f"torch_reference: {e}")
    thresholds = fixed
    if tracker and tracker.best_state is not None:
        model.load_state_dict(tracker.best_state)
        if args.threshold is None:
            thresholds = tracker.best_thresholds
    t0 = time.time()
    probs = predict(model, te_ids, args).numpy()
    pred = recipe.decide(probs, thresholds, min_labels)
    m = recipe.metrics(te_gold.numpy(), pred)
    m["by_frequency"] = recipe.by_frequency(te_gold.numpy(), pred, tr_gold.sum(0).int().tolist())
    m.update({"head": args.head, "steps": steps, "train_s": train_s, "eval_s": time.time() - t0,
              "n_train": len(tr_ids), "n_dev": len(dv_texts), "min_labels": min_labels,
              "thresholds": thresholds, "framework": f"pytorch {torch.__version__}"})
    if tracker:
        m.update({"best_epoch": tracker.best_epoch, "best_dev_micro_f1": tracker.best_f1,
                  "epochs_run": len(tracker.history), "dev_history": tracker.history})
    if args.pred_out:
        with open(args.pred_out, "w") as f:
            for row in pred:
                f.write(json.dumps({"text": "", "labels": [labels[k] for k in row.nonzero()[0].tolist()]}) + "\n")
    if args.json:
        print(json.dumps(m, indent=2))
    else:
        for k in ["micro_precision", "micro_recall", "micro_f1", "macro_f1", "subset_accuracy", "micro_jaccard",
                  "hamming_loss"]:
            print(f"  {k:16s} {m[k]:.4f}")
        for b in m["by_frequency"]:
            print(f"  labels with {b['bucket']:>6s} training examples: {b['n_labels']:3d}, micro-F1 "
                  f"{b['micro_f1']:.4f}, macro-F1 {b['macro_f1']:.4f}")
        where = (f"; best epoch {tracker.best_epoch} of {len(tracker.history)} (dev micro-F1 {tracker.best_f1:.4f})"
                 if tracker else "")
        thr = thresholds if not isinstance(thresholds, list) else "per label"
        print(f"  {steps} steps in {train_s:.0f} s on {len(tr_ids)} examples, {len(dv_texts)} dev{where}; "
              f"threshold {thr}, min-labels {min_labels}; {m['n_examples']} test examples")


if __name__ == "__main__":
    main()
