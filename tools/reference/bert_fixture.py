#!/usr/bin/env python3
"""Writes the tiny-BERT fixture that tests/test_bert.c checks mltc's encoder against.

A small random transformers.BertModel (2 layers, hidden 64, 4 heads, intermediate 128,
vocab 512, 64 positions, 2 token types) runs in fp32, eval mode (dropout off), on a padded
batch (lengths 24, 17, 9; some token type 1). The scalar loss sum(hidden * R), with R a fixed
random tensor, is back-propagated so every parameter has a gradient to compare.

Files written to tests/fixtures/bert_tiny/ (all float32 / int32 safetensors):
  config.json          the Hugging Face config
  model.safetensors    the weights under Hugging Face names (no "bert." prefix, no pooler)
  io.safetensors       input_ids, token_type_ids, attention_mask [B, T] int32,
                       R and hidden (last_hidden_state) [B, T, C] float32
  grads.safetensors    d loss / d parameter, under the same names as model.safetensors

Usage: python tools/reference/bert_fixture.py [out_dir]
Needs torch, transformers, safetensors (tools/reference/requirements.txt).
"""
import json
import os
import sys

import torch
from safetensors.torch import save_file
from transformers import BertConfig, BertModel

SEED = 1234
B, T = 3, 24
LENGTHS = [24, 17, 9]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "..", "tests", "fixtures", "bert_tiny")
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(SEED)

    cfg = BertConfig(
        vocab_size=512,
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=128,
        max_position_embeddings=64,
        type_vocab_size=2,
        hidden_act="gelu",
        layer_norm_eps=1e-12,
        hidden_dropout_prob=0.1,
        attention_probs_dropout_prob=0.1,
    )
    cfg._attn_implementation = "eager"  # the textbook softmax(QK^T/sqrt(d)) V path
    model = BertModel(cfg, add_pooling_layer=False).float().eval()

    # Re-draw every parameter so that none is trivially 0 or 1 (LayerNorm weights, biases)
    # and attention scores are large enough for softmax to be far from uniform.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("LayerNorm.weight"):
                p.copy_(1.0 + 0.2 * torch.randn_like(p))
            elif name.endswith("bias"):
                p.copy_(0.1 * torch.randn_like(p))
            elif "embeddings" in name:
                p.copy_(0.5 * torch.randn_like(p))
            else:
                p.copy_(0.15 * torch.randn_like(p))

    ids = torch.randint(0, cfg.vocab_size, (B, T), dtype=torch.int64)
    mask = torch.zeros(B, T, dtype=torch.int64)
    types = torch.zeros(B, T, dtype=torch.int64)
    for b, n in enumerate(LENGTHS):
        mask[b, :n] = 1
        ids[b, n:] = 0  # [PAD]
        types[b, n // 2 : n] = 1  # a second segment, as in sentence pairs
    R = torch.randn(B, T, cfg.hidden_size)

    hidden = model(input_ids=ids, attention_mask=mask, token_type_ids=types).last_hidden_state
    loss = (hidden * R).sum()
    model.zero_grad()
    loss.backward()

    weights = {n: p.detach().contiguous() for n, p in model.named_parameters()}
    grads = {n: p.grad.detach().contiguous() for n, p in model.named_parameters()}
    save_file(weights, os.path.join(out, "model.safetensors"))
    save_file(grads, os.path.join(out, "grads.safetensors"))
    save_file(
        {
            "input_ids": ids.to(torch.int32),
            "token_type_ids": types.to(torch.int32),
            "attention_mask": mask.to(torch.int32),
            "R": R.contiguous(),
            "hidden": hidden.detach().contiguous(),
        },
        os.path.join(out, "io.safetensors"),
    )
    conf = cfg.to_dict()
    keep = [
        "architectures", "model_type", "vocab_size", "hidden_size", "num_hidden_layers",
        "num_attention_heads", "intermediate_size", "hidden_act", "hidden_dropout_prob",
        "attention_probs_dropout_prob", "max_position_embeddings", "type_vocab_size",
        "initializer_range", "layer_norm_eps", "pad_token_id",
    ]
    conf = {k: conf[k] for k in keep if k in conf}
    conf["architectures"] = ["BertModel"]
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(conf, f, indent=2, sort_keys=True)
        f.write("\n")
    print(f"wrote {out}: loss {loss.item():.6f}, |hidden|max {hidden.abs().max().item():.4f}")


if __name__ == "__main__":
    main()
