#!/usr/bin/env python3
"""Writes tests/fixtures/minilm/reference.safetensors: what PyTorch's BertModel computes for a
few real sentences with all-MiniLM-L6-v2 (fetch it first with fetch_minilm.py), so
tests/test_minilm.c can check mltc on a real model without PyTorch or the tokenizer.

Tensors (batch of the sentences below, padded to the longest; one is a sentence pair):
  input_ids, token_type_ids, attention_mask  [B, T] int32, from the model's own tokenizer
  hidden_head    [B, T, 8]  float32: the first 8 dims of every token's last hidden state
  hidden_cls     [B, C]     float32: the whole [CLS] state
  mean_pooled    [B, C]     float32: mean over real tokens (the sentence embedding
                            sentence-transformers computes, before its normalisation)

Usage: python tools/reference/minilm_reference.py [model_dir] [out_dir]
"""
import os
import sys

import torch
from safetensors.torch import save_file
from transformers import BertModel, BertTokenizerFast

SENTENCES = [
    ("The quick brown fox jumps over the lazy dog.", None),
    ("Multi-label text classification assigns several labels to one document.", None),
    ("Café au lait, s'il vous plaît!", None),
    ("GPUs run BERT fast.", "OpenCL and Vulkan are portable."),
    ("Hello", None),
]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.join(here, "..", "..")
    model_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "models", "all-MiniLM-L6-v2")
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(root, "tests", "fixtures", "minilm")
    os.makedirs(out, exist_ok=True)

    tok = BertTokenizerFast.from_pretrained(model_dir)
    model = BertModel.from_pretrained(model_dir, attn_implementation="eager", add_pooling_layer=False)
    model = model.float().eval()

    enc_single = [tok(a) if b is None else tok(a, b) for a, b in SENTENCES]
    T = max(len(e["input_ids"]) for e in enc_single)
    B = len(SENTENCES)
    ids = torch.zeros(B, T, dtype=torch.int64)  # [PAD] is 0 in this vocabulary
    types = torch.zeros(B, T, dtype=torch.int64)
    mask = torch.zeros(B, T, dtype=torch.int64)
    for i, e in enumerate(enc_single):
        n = len(e["input_ids"])
        ids[i, :n] = torch.tensor(e["input_ids"])
        types[i, :n] = torch.tensor(e["token_type_ids"])
        mask[i, :n] = 1
    assert tok.pad_token_id == 0

    with torch.no_grad():
        h = model(input_ids=ids, attention_mask=mask, token_type_ids=types).last_hidden_state
    m = mask.unsqueeze(-1).float()
    pooled = (h * m).sum(1) / m.sum(1)

    save_file(
        {
            "input_ids": ids.to(torch.int32),
            "token_type_ids": types.to(torch.int32),
            "attention_mask": mask.to(torch.int32),
            "hidden_head": h[:, :, :8].contiguous(),
            "hidden_cls": h[:, 0, :].contiguous(),
            "mean_pooled": pooled.contiguous(),
        },
        os.path.join(out, "reference.safetensors"),
    )
    with open(os.path.join(out, "sentences.txt"), "w", encoding="utf-8") as f:
        f.write("# Inputs of reference.safetensors, one per line (a pair is split by a tab).\n")
        for a, b in SENTENCES:
            f.write(a + ("\t" + b if b else "") + "\n")
    print(f"wrote {out}: batch {B} x {T} tokens")


if __name__ == "__main__":
    main()
