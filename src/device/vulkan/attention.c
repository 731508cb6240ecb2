/* Vulkan attention: the scaled masked softmax and its backward (shaders/softmax.comp), one work
 * group per row, and the fused training attention (shaders/flash_attention_*.comp). No fused
 * inference forward: dev_attention_forward runs the two products and the softmax as three ops. */
#include "device/vulkan/ops.h"

typedef struct sm_push {
    uint32_t nrows, cols, rows_per_batch, has_mask, o, x, aux;
    float scale;
    uint32_t has_yd, yd;
} sm_push;

mltc_status vk_softmax_forward(dev_ctx *ctx, const dev_softmax *s, dev_view y, dev_view x) {
    vk_ctx *c = C(ctx);
    uint64_t nrows = (uint64_t)s->batch * s->heads * s->rows;
    sm_push pc = {U(nrows), U(s->cols), U((uint64_t)s->heads * s->rows), s->key_mask.buf != NULL,
                  U(y.off), U(x.off), U(s->key_mask.off), s->scale, 0, 0};
    size_t n = (size_t)nrows * s->cols;
    vk_arg args[] = {VK_OUT(y, n, pc, o), VK_IN(x, n, pc, x),
                     VK_IN(s->key_mask, s->key_mask.buf ? (size_t)s->batch * s->cols : 0, pc, aux), VK_NONE};
    uint32_t gx, gy;
    vk_groups_2d(c, nrows, 1, &gx, &gy);
    return vk_dispatch(c, "softmax_forward", "softmax", 0, 0, args, 4, &pc, sizeof pc, gx, gy, 1);
}

mltc_status vk_softmax_backward(dev_ctx *ctx, const dev_softmax *s, dev_view dx, dev_view dy, dev_view y,
                                dev_view yd) {
    vk_ctx *c = C(ctx);
    uint64_t nrows = (uint64_t)s->batch * s->heads * s->rows;
    sm_push pc = {U(nrows), U(s->cols), U((uint64_t)s->heads * s->rows), 0, U(dx.off), U(dy.off), U(y.off), s->scale,
                  yd.buf != NULL, U(yd.off)};
    size_t n = (size_t)nrows * s->cols;
    vk_arg args[] = {VK_OUT(dx, n, pc, o), VK_IN(dy, n, pc, x), VK_IN(y, n, pc, aux),
                     yd.buf ? (vk_arg)VK_IN(yd, n, pc, yd) : (vk_arg)VK_NONE};
    uint32_t gx, gy;
    vk_groups_2d(c, nrows, 1, &gx, &gy);
    return vk_dispatch(c, "softmax_backward", "softmax", 1, 0, args, 4, &pc, sizeof pc, gx, gy, 1);
}

/* ---- fused training attention (shaders/flash_attention_forward.comp, _backward.comp) ---------- */

#define FA_WG 64 /* invocations a group, as the shaders' WG */

/* Elements operand x spans over every sequence and head, from its view's offset. */
static size_t fa_span(const dev_attention_train *a, const dev_heads *x, int rows) {
    return (size_t)(a->batch - 1) * (size_t)x->stride + (size_t)(a->heads - 1) * (size_t)a->dim +
           (size_t)(rows - 1) * (size_t)x->ld + (size_t)a->dim;
}

typedef struct fa_fwd_push {
    uint32_t problems, H, R, T, D, has_mask;
    uint32_t q, k, v, o, lse, mask;
    uint32_t q_ld, q_stride, k_ld, k_stride, v_ld, v_stride, o_ld, o_stride;
    float scale, p;
    uint32_t seed_lo, seed_hi, off_lo, off_hi;
} fa_fwd_push;

typedef struct fa_bwd_push {
    uint32_t problems, H, R, T, D, has_mask;
    uint32_t q, k, v, g, w, lse, delta, mask;
    uint32_t q_ld, q_stride, k_ld, k_stride, v_ld, v_stride, o_ld, o_stride;
    float scale, p;
    uint32_t seed_lo, seed_hi, off_lo, off_hi;
    int32_t dv_rel;
} fa_bwd_push;

static void fa_groups(vk_ctx *c, const dev_attention_train *a, int rows, uint32_t *gx, uint32_t *gy) {
    uint64_t tiles = (uint64_t)(rows + FA_WG - 1) / FA_WG;
    vk_groups_2d(c, (uint64_t)a->batch * a->heads * tiles, 1, gx, gy);
}

mltc_status vk_attention_train_forward(dev_ctx *ctx, const dev_attention_train *a) {
    vk_ctx *c = C(ctx);
    int has_mask = a->key_mask.buf != NULL;
    fa_fwd_push pc = {U(a->batch * a->heads), U(a->heads), U(a->rows), U(a->cols), U(a->dim), U(has_mask),
                      U(a->q.v.off), U(a->k.v.off), U(a->v.v.off), U(a->out.v.off), U(a->lse.off),
                      U(a->key_mask.off), U(a->q.ld), U(a->q.stride), U(a->k.ld), U(a->k.stride), U(a->v.ld),
                      U(a->v.stride), U(a->out.ld), U(a->out.stride), a->scale, a->p, U(a->seed),
                      U(a->seed >> 32), U(a->offset), U(a->offset >> 32)};
    size_t rows = (size_t)a->batch * a->heads * a->rows;
    vk_arg args[] = {VK_IN(a->q.v, fa_span(a, &a->q, a->rows), pc, q),
                     VK_IN(a->k.v, fa_span(a, &a->k, a->cols), pc, k),
                     VK_IN(a->v.v, fa_span(a, &a->v, a->cols), pc, v),
                     VK_OUT(a->out.v, fa_span(a, &a->out, a->rows), pc, o),
                     VK_OUT(a->lse, rows, pc, lse),
                     has_mask ? (vk_arg)VK_IN(a->key_mask, (size_t)a->batch * a->cols, pc, mask) : (vk_arg)VK_NONE};
    uint32_t gx, gy;
    fa_groups(c, a, a->rows, &gx, &gy);
    /* Specialization 0: the head size, so the shader's loops over it unroll (registers, not scratch). */
    return vk_dispatch(c, "attention_train_forward", "flash_attention_forward", a->dim, 0, args, 6, &pc, sizeof pc,
                       gx, gy, 1);
}

/* Three dispatches: delta, dq, then dk and dv (one dispatch when they share a buffer with dv after
 * dk, as the encoder's do; else one for each). */
mltc_status vk_attention_train_backward(dev_ctx *ctx, const dev_attention_train *a, const dev_attention_grads *g) {
    vk_ctx *c = C(ctx);
    const char *op = "attention_train_backward", *shader = "flash_attention_backward";
    int has_mask = a->key_mask.buf != NULL;
    size_t rows = (size_t)a->batch * a->heads * a->rows;
    size_t sq = fa_span(a, &a->q, a->rows), sk = fa_span(a, &a->k, a->cols), sv = fa_span(a, &a->v, a->cols);
    size_t so = fa_span(a, &a->out, a->rows);
    fa_bwd_push pc = {U(a->batch * a->heads), U(a->heads), U(a->rows), U(a->cols), U(a->dim), U(has_mask),
                      U(a->q.v.off), U(a->k.v.off), U(a->v.v.off), U(g->dout.v.off), 0, U(a->lse.off),
                      U(a->delta.off), U(a->key_mask.off), U(a->q.ld), U(a->q.stride), U(a->k.ld), U(a->k.stride),
                      U(a->v.ld), U(a->v.stride), U(a->out.ld), U(a->out.stride), a->scale, a->p, U(a->seed),
                      U(a->seed >> 32), U(a->offset), U(a->offset >> 32), 0};
    vk_arg mask = has_mask ? (vk_arg)VK_IN(a->key_mask, (size_t)a->batch * a->cols, pc, mask) : (vk_arg)VK_NONE;
    uint32_t gx, gy;
    fa_groups(c, a, a->rows, &gx, &gy);

    /* delta: binding 0 holds out (q's push word), 4 delta; the shader declares all 8 bindings */
    fa_bwd_push pd = pc;
    pd.q = U(a->out.v.off), pd.w = U(a->delta.off);
    vk_arg dargs[] = {VK_IN(a->out.v, so, pd, q),    VK_NONE, VK_NONE, VK_IN(g->dout.v, so, pd, g),
                      VK_OUT(a->delta, rows, pd, w), VK_NONE, VK_NONE, VK_NONE};
    TRY(vk_dispatch(c, op, shader, 0, 0, dargs, 8, &pd, sizeof pd, gx, gy, 1));

    fa_bwd_push pq = pc;
    pq.w = U(g->dq.v.off);
    vk_arg qargs[] = {VK_IN(a->q.v, sq, pq, q),      VK_IN(a->k.v, sk, pq, k),   VK_IN(a->v.v, sv, pq, v),
                      VK_IN(g->dout.v, so, pq, g),   VK_OUT(g->dq.v, sq, pq, w), VK_IN(a->lse, rows, pq, lse),
                      VK_IN(a->delta, rows, pq, delta), mask};
    TRY(vk_dispatch(c, op, shader, 1, 0, qargs, 8, &pq, sizeof pq, gx, gy, 1));

    fa_groups(c, a, a->cols, &gx, &gy);
    int shared = g->dk.v.buf == g->dv.v.buf && g->dv.v.off >= g->dk.v.off &&
                 g->dv.v.off - g->dk.v.off <= (size_t)INT32_MAX;
    for (int mode = shared ? 0 : 1; mode <= (shared ? 0 : 2); mode++) {
        fa_bwd_push pk = pc;
        dev_view w = mode == 2 ? g->dv.v : g->dk.v;
        size_t span = mode == 2 ? sv : sk;
        if (mode == 0) {
            pk.dv_rel = (int32_t)(g->dv.v.off - g->dk.v.off);
            size_t end = g->dv.v.off + sv > g->dk.v.off + sk ? g->dv.v.off + sv : g->dk.v.off + sk;
            span = end - g->dk.v.off;
        }
        pk.w = U(w.off);
        vk_arg kargs[] = {VK_IN(a->q.v, sq, pk, q),     VK_IN(a->k.v, sk, pk, k),  VK_IN(a->v.v, sv, pk, v),
                          VK_IN(g->dout.v, so, pk, g),  VK_OUT(w, span, pk, w),    VK_IN(a->lse, rows, pk, lse),
                          VK_IN(a->delta, rows, pk, delta), mask};
        TRY(vk_dispatch(c, op, shader, 2, mode, kargs, 8, &pk, sizeof pk, gx, gy, 1));
    }
    return MLTC_OK;
}
