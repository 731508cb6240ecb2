"""mltc's random draws in Python, so the PyTorch reference can be made to draw the same ones.

tools/reference/step_check.py (and train_fixture.py through it) uses this: with the same draws,
a training run of mltc and of torch_reference.py must agree to float rounding, dropout and the
label MLM included. Written from the C sources named below; nothing here is used by mltc itself.

  philox4x32_10      src/device/philox.h (Salmon et al., SC 2011)
  dropout_keep       the Philox index of element i of dropout site s at step t is
                     (t << 40) + (s << 32) + i under the model's seed (src/model/bert.h); an element
                     is kept when its uniform (word >> 8) * 2^-24 is >= p (float compare)
  mltc_masked        src/model/lmmtc_prompt.c lmmtc_mask_copy: which label states the MLM copy masks
  share_dropout      puts dropout_keep into a torch_reference.Classifier at mltc's sites
"""
import struct

import numpy as np
import torch
from transformers.models.bert import modeling_bert

M32 = 0xFFFFFFFF
PHILOX_M0, PHILOX_M1 = 0xD2511F53, 0xCD9E8D57
PHILOX_W0, PHILOX_W1 = 0x9E3779B9, 0xBB67AE85

SITE_EMB = 0                      # src/model/bert_internal.h
HEAD_SITE = 248                   # BERT_DROPOUT_HEAD_SITE (bert head; lam uses 249)
LABEL_SEED_SALT = 0x4C4142454C53  # "LABELS": the lam label pass's dropout seed is seed ^ this
MLM_SEED_SALT = 0x4D4C4D          # "MLM"


def site_att(layer):
    return 1 + 3 * layer


def site_att_out(layer):
    return 2 + 3 * layer


def site_ffn_out(layer):
    return 3 + 3 * layer


def philox4x32_10(ctr, key):
    """Four 32-bit words from a 4-word counter and a 2-word key; ints or numpy uint64 arrays."""
    c0, c1, c2, c3 = ctr
    k0, k1 = key
    for _ in range(10):
        p0, p1 = PHILOX_M0 * c0, PHILOX_M1 * c2
        c0, c1, c2, c3 = (p1 >> 32) ^ c1 ^ k0, p1 & M32, (p0 >> 32) ^ c3 ^ k1, p0 & M32
        k0, k1 = (k0 + PHILOX_W0) & M32, (k1 + PHILOX_W1) & M32
    return c0, c1, c2, c3


def as_float32(x):
    return struct.unpack("f", struct.pack("f", x))[0]


def mltc_masked(seed, stream, K, mask_prob):
    """The labels whose state lmmtc_mask_copy masks in one example's MLM copy (at least one);
    stream = step x batch + row, steps counted from 1."""
    s = seed ^ MLM_SEED_SALT
    key = (s & M32, s >> 32)
    p = as_float32(mask_prob)
    lo, hi = stream & M32, stream >> 32
    masked = [l for l in range(K) if (philox4x32_10((l, 0, lo, hi), key)[0] >> 8) / 16777216.0 < p]
    if not masked:
        masked = [(philox4x32_10((M32, 0, lo, hi), key)[0] * K) >> 32]
    return masked


def dropout_keep(seed, step, site, n, p):
    """Bool [n]: which of the n elements of a dropout site mltc keeps at this step."""
    first = (step << 40) | (site << 32)  # a multiple of 4: element i is word i % 4 of group i / 4
    g = np.arange(first >> 2, (first >> 2) + (n + 3) // 4, dtype=np.uint64)
    zero = np.zeros_like(g)
    ctr = (g & np.uint64(M32), g >> np.uint64(32), zero, zero)  # uint64 lanes: 32x32-bit products fit
    key = (np.uint64(seed & M32), np.uint64(seed >> 32))
    words = np.stack(philox4x32_10(ctr, key), axis=1).reshape(-1)[:n]
    u = (words >> np.uint64(8)).astype(np.float32) * np.float32(1.0 / 16777216.0)
    return torch.from_numpy(u >= np.float32(as_float32(p)))


def apply_keep(x, keep, p):
    scale = torch.tensor(1.0, dtype=torch.float32) / (1.0 - torch.tensor(p, dtype=torch.float32))
    return torch.where(keep.view(x.shape), x * scale, torch.zeros((), dtype=x.dtype))


def drop_at(x, seed, step, site, p, positions=None, axis=1):
    """x with mltc's mask of a site. positions: the last layer's selected outputs along `axis`,
    where mltc's tensor holds those positions only (src/model/bert_select.c) and so indexes its
    mask over them; the other positions then get no dropout (no head reads them)."""
    if positions is None:
        return apply_keep(x, dropout_keep(seed, step, site, x.numel(), p), p)
    at = (slice(None),) * axis + (positions,)
    sel = x[at]
    out = x.clone()
    out[at] = apply_keep(sel, dropout_keep(seed, step, site, sel.numel(), p), p)
    return out


class SharedDropout(torch.nn.Module):
    """nn.Dropout at one of mltc's sites: x [rows, T, C], or [B, C] for a head. positions: the
    last layer's selected outputs, where mltc's tensor is [rows, R, C] (src/model/bert_select.c);
    the other positions then get no dropout (no head reads them). seed: fixed (a head's), else
    the pass's (state)."""

    def __init__(self, p, site, state, positions=None, seed=None):
        super().__init__()
        self.p, self.site, self.state, self.positions, self.seed = p, site, state, positions, seed

    def forward(self, x):
        if not self.training or self.p <= 0:
            return x
        seed = self.state["seed"] if self.seed is None else self.seed
        pos = self.positions if self.state["select"] else None
        return drop_at(x, seed, self.state["step"], self.site, self.p, pos)  # [rows, R, C] when selected


def shared_attention(positions_of, state):
    """modeling_bert.eager_attention_forward with mltc's attention-probability masks."""

    def attention(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs):
        state["calls"] += 1
        if scaling is None:
            scaling = query.size(-1) ** -0.5
        w = torch.matmul(query, key.transpose(2, 3)) * scaling
        if attention_mask is not None:
            w = w + attention_mask
        w = torch.softmax(w, dim=-1)
        if module.training and dropout > 0:
            w = drop_at(w, state["seed"], state["step"], site_att(module.mltc_layer), dropout,
                        positions_of(module.mltc_layer), axis=2)  # [rows, H, R, T] when selected
        out = torch.matmul(w, value).transpose(1, 2).contiguous()
        return out, w

    return attention


def share_dropout(model, head, seed, step_of):
    """Makes a torch_reference.Classifier draw mltc's dropout masks. step_of() gives the training
    step being computed (from 1). The text pass uses the seed, lam's label pass seed ^ "LABELS";
    the last layer's selected outputs (bert: [CLS]; lmmtc: the K label-state positions) index
    their own smaller tensors in mltc, and do so here. The bert head with mean pooling reads every
    position, so mltc selects none and its last layer's masks cover the whole batch."""
    bert = model.bert
    layers = bert.encoder.layer
    last = len(layers) - 1
    cls = [0] if getattr(model, "pooling", "cls") == "cls" else None
    sel = {"bert": cls, "lmmtc": [3 * i + 2 for i in range(model.K)]}.get(head)
    state = {"seed": seed, "step": 1, "select": False, "calls": 0}

    def positions_of(layer):
        return sel if state["select"] and layer == last else None

    p_h = bert.config.hidden_dropout_prob
    bert.embeddings.dropout = SharedDropout(p_h, SITE_EMB, state)
    for l, layer in enumerate(layers):
        layer.attention.self.mltc_layer = l
        pos = sel if l == last else None
        layer.attention.output.dropout = SharedDropout(p_h, site_att_out(l), state, pos)
        layer.output.dropout = SharedDropout(p_h, site_ffn_out(l), state, pos)
    modeling_bert.eager_attention_forward = shared_attention(positions_of, state)
    if head in ("bert", "lam"):  # after the encoder, with the text pass's seed (lam's label pass
        # runs in between)
        model.drop = SharedDropout(model.args.dropout, HEAD_SITE + (head == "lam"), state, seed=seed)

    inner = bert.forward

    def forward(*args, input_ids=None, **kwargs):
        labels = getattr(model, "l_ids", None)
        is_label_pass = labels is not None and input_ids is labels
        state.update(step=step_of(), seed=seed ^ LABEL_SEED_SALT if is_label_pass else seed,
                     select=not is_label_pass)
        return inner(*args, input_ids=input_ids, **kwargs)

    bert.forward = forward
    return state
