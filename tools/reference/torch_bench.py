#!/usr/bin/env python3
"""PyTorch counterpart of `mltc bench`: the same shapes and the same step, timed the same way.

A random-weight transformers BertModel (no pooler) with the `bert` head ([CLS] -> dropout ->
linear -> BCE-with-logits), AdamW 5e-5 with weight decay 0.01 on matrices only, gradient
clipping to 1.0. Training sequences/s is forward + backward + clipping + AdamW over timed steps
after warm-up steps, each step synchronised (the loss is read back, as mltc reads it);
inference sequences/s is the eval-mode forward with sigmoid under torch.no_grad(), read back.
Every sequence is full length (no padding), as in mltc bench.

    python torch_bench.py --config minilm --seq 128 --batch 8 --steps 5 --threads 2 --json
    python torch_bench.py --device cuda --autocast bf16        # where a GPU exists

Prints a table, or with --json one object with the keys of `mltc bench --json` that apply:
train_seq_per_s, infer_seq_per_s, train_step_ms, infer_batch_ms, peak_bytes (CUDA only), shape.
"""
import argparse
import json
import sys
import time

import torch
from transformers import BertConfig, BertModel

SHAPES = {
    "minilm": dict(hidden_size=384, num_hidden_layers=6, num_attention_heads=12, intermediate_size=1536),
    "base": dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072),
}


def make_config(spec):
    if spec in SHAPES:
        return BertConfig(vocab_size=30522, max_position_embeddings=512, type_vocab_size=2, layer_norm_eps=1e-12,
                          hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1, hidden_act="gelu",
                          pad_token_id=0, **SHAPES[spec])
    return BertConfig.from_json_file(spec)


class BertHead(torch.nn.Module):
    """mltc's `bert` head: [CLS] -> dropout -> linear (K x C)."""

    def __init__(self, cfg, labels, attn):
        super().__init__()
        cfg._attn_implementation = attn
        self.bert = BertModel(cfg, add_pooling_layer=False)
        self.dropout = torch.nn.Dropout(cfg.hidden_dropout_prob)
        self.classifier = torch.nn.Linear(cfg.hidden_size, labels)

    def forward(self, ids, types, mask):
        h = self.bert(input_ids=ids, token_type_ids=types, attention_mask=mask).last_hidden_state
        return self.classifier(self.dropout(h[:, 0]))


def adamw(model, lr=5e-5, wd=0.01):
    # Decay on matrices and embeddings only (dim >= 2), as mltc and the usual BERT recipe.
    decay = [p for p in model.parameters() if p.dim() >= 2]
    rest = [p for p in model.parameters() if p.dim() < 2]
    return torch.optim.AdamW([{"params": decay, "weight_decay": wd}, {"params": rest, "weight_decay": 0.0}],
                             lr=lr, betas=(0.9, 0.999), eps=1e-8)


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def run(args):
    torch.manual_seed(0)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    cfg = make_config(args.config)
    if args.seq > cfg.max_position_embeddings:
        sys.exit(f"torch_bench: --seq {args.seq} exceeds the model's {cfg.max_position_embeddings} positions")
    model = BertHead(cfg, args.labels, args.attn).to(device)
    opt = adamw(model)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(5, cfg.vocab_size, (args.batch, args.seq), generator=g)
    ids[:, 0], ids[:, -1] = 2, 3  # [CLS] ... [SEP], like the classifier's rows
    ids = ids.to(device)
    types = torch.zeros_like(ids)
    mask = torch.ones_like(ids)
    gold = (torch.rand(args.batch, args.labels, generator=g) < 1 / 16).float().to(device)
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(args.autocast)
    scaler = torch.amp.GradScaler(device.type) if dtype == torch.float16 else None

    def autocast():
        return torch.autocast(device.type, dtype=dtype, enabled=dtype is not None)

    def train_step():
        model.train()
        opt.zero_grad(set_to_none=False)
        with autocast():
            loss = loss_fn(model(ids, types, mask).float(), gold)
        if scaler:
            scaler.scale(loss).backward()
            scaler.unscale_(opt)
        else:
            loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        if scaler:
            scaler.step(opt)
            scaler.update()
        else:
            opt.step()
        loss.item()
        sync(device)

    @torch.no_grad()
    def infer():
        model.eval()
        with autocast():
            probs = torch.sigmoid(model(ids, types, mask).float())
        probs.cpu()
        sync(device)

    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    for _ in range(args.warmup):
        train_step()
    t0 = time.perf_counter()
    for _ in range(args.steps):
        train_step()
    train_s = (time.perf_counter() - t0) / args.steps
    for _ in range(args.warmup):
        infer()
    t0 = time.perf_counter()
    for _ in range(args.steps):
        infer()
    infer_s = (time.perf_counter() - t0) / args.steps
    return {
        "framework": f"pytorch {torch.__version__}",
        "device": str(device),
        "threads": torch.get_num_threads(),
        "autocast": args.autocast or "off",
        "attn": args.attn,
        "config": args.config,
        "shape": {"layers": cfg.num_hidden_layers, "hidden": cfg.hidden_size, "heads": cfg.num_attention_heads,
                  "intermediate": cfg.intermediate_size, "vocab": cfg.vocab_size},
        "seq": args.seq, "batch": args.batch, "steps": args.steps, "labels": args.labels,
        "train_seq_per_s": args.batch / train_s,
        "infer_seq_per_s": args.batch / infer_s,
        "train_step_ms": 1e3 * train_s,
        "infer_batch_ms": 1e3 * infer_s,
        "peak_bytes": torch.cuda.max_memory_allocated() if device.type == "cuda" else None,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default="minilm", help="minilm, base or a config.json")
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--labels", type=int, default=90)
    ap.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N")
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: PyTorch's default)")
    ap.add_argument("--attn", default="sdpa", choices=["sdpa", "eager"], help="transformers attention kernel")
    ap.add_argument("--autocast", choices=["bf16", "fp16"], help="mixed precision (fp32 without it)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    r = run(args)
    if args.json:
        print(json.dumps(r, indent=2))
        return
    print(f"{r['framework']} on {r['device']} ({r['threads']} threads, autocast {r['autocast']}, attn {r['attn']})")
    print(f"config {args.config}, seq {args.seq}, batch {args.batch}, {args.steps} timed steps")
    print(f"  training   {r['train_seq_per_s']:10.2f} seq/s  ({r['train_step_ms']:.1f} ms a step)")
    print(f"  inference  {r['infer_seq_per_s']:10.2f} seq/s  ({r['infer_batch_ms']:.1f} ms a batch)")


if __name__ == "__main__":
    main()
