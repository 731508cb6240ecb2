/* Selected outputs: the last layer computed only at the positions a head reads.
 *
 * The `bert` head reads [CLS] alone and LM-MTC the K label-state positions, yet a full last
 * layer computes every token. Only keys and values need every token; the queries, the attention
 * rows, the output projection, both LayerNorms and the feed-forward are needed at the selected
 * positions only. With R positions of T, the last layer costs about (2 + 4R/T) / 6 of a full
 * one in its projections and R/T of it in everything after (for [CLS] at T = 128: a sixth of one
 * of MiniLM's six layers remains). The result equals the full layer's rows at those positions
 * (the ops are the same, only fewer rows); dropout draws different numbers (its counters index
 * the smaller tensors), which is still one fixed mask per (seed, step, site, element).
 *
 * Buffers: the layer's own activation buffers hold the smaller tensors (q, k and v as
 * bert_qkv_selected lays them out in qkv); sel_x keeps the layer input at the selected rows for
 * the residual and the query projection's backward. */
#include <stdlib.h>

#include "model/bert_layer.h"

mltc_status bert_select_outputs(bert_model *m, const int32_t *positions, int R) {
    dev_ctx *dev = m->dev;
    if (R < 0 || R > m->max_seq || (R > 0 && !positions))
        return err_set(dev->err, MLTC_ERR_INVALID_ARGUMENT,
                       "bert_select_outputs: %d positions for sequences of up to %d tokens", R, m->max_seq);
    for (int r = 0; r < R; r++) {
        if (positions[r] < 0 || positions[r] >= m->max_seq)
            return err_set(dev->err, MLTC_ERR_INVALID_ARGUMENT,
                           "bert_select_outputs: position %d (entry %d) is outside [0, %d)", positions[r], r,
                           m->max_seq);
        for (int q = 0; q < r; q++)
            if (positions[q] == positions[r])
                return err_set(dev->err, MLTC_ERR_INVALID_ARGUMENT,
                               "bert_select_outputs: position %d is listed twice (entries %d and %d)", positions[r],
                               q, r);
    }
    /* Invalid positions (above) leave the current selection as it is. Past this point the old
     * one is released before the new one is built, so running out of memory leaves none. */
    dev_free(dev, m->sel_buf);
    free(m->sel_pos);
    free(m->h_sel_idx);
    m->sel_buf = NULL, m->sel_pos = NULL, m->h_sel_idx = NULL, m->sel_R = 0;
    m->have_forward = 0; /* a backward needs a forward of the same shape */
    if (R == 0) return MLTC_OK;

    size_t n = (size_t)m->max_batch * R, C = (size_t)m->cfg.hidden_size;
    m->sel_pos = malloc(sizeof *m->sel_pos * (size_t)R);
    m->h_sel_idx = malloc(sizeof *m->h_sel_idx * n);
    size_t o_idx = 0, o_plan = n, o_x = (4 * n + 1 + 63) / 64 * 64;
    mltc_status st = !m->sel_pos || !m->h_sel_idx
                         ? err_set(dev->err, MLTC_ERR_OUT_OF_MEMORY, "bert_select_outputs: no host memory")
                         : dev_alloc(dev, (o_x + n * C) * 4, &m->sel_buf);
    if (st) {
        free(m->sel_pos), free(m->h_sel_idx);
        m->sel_pos = NULL, m->h_sel_idx = NULL;
        return st;
    }
    for (int r = 0; r < R; r++) m->sel_pos[r] = positions[r];
    m->sel_idx = (dev_view){m->sel_buf, o_idx};
    m->sel_plan = (dev_view){m->sel_buf, o_plan};
    m->sel_x = (dev_view){m->sel_buf, o_x};
    m->sel_R = R;
    return MLTC_OK;
}

int bert_selected_outputs(const bert_model *m) { return m->sel_R; }

/* Rows b*T + pos[r] of this batch, uploaded with their scatter plan (the rows are distinct). */
static mltc_status upload_rows(bert_model *m) {
    dev_ctx *dev = m->dev;
    int R = m->sel_R, n = m->B * R;
    for (int b = 0; b < m->B; b++)
        for (int r = 0; r < R; r++) m->h_sel_idx[b * R + r] = b * m->T + m->sel_pos[r];
    TRY(dev_upload(dev, m->sel_idx.buf, m->sel_idx.off * 4, m->h_sel_idx, 4 * (size_t)n));
    return dev_rows_plan_upload(dev, m->h_sel_idx, n, m->B * m->T, m->sel_plan, m->h_plan, &m->sel_rows);
}

mltc_status bert_last_layer_forward_selected(bert_model *m, int l, dev_view x) {
    const bert_config *c = &m->cfg;
    const bert_layer_off *o = &m->lay.layers[l];
    const bert_layer_act *a = &m->act[l];
    dev_ctx *dev = m->dev;
    int B = m->B, T = m->T, R = m->sel_R, C = c->hidden_size;
    int N = B * T, NR = B * R;

    /* Keys and values of every token (rows C..3C of W_qkv), queries of the selected rows only. */
    bert_qkv qkv = bert_qkv_selected(m, a->qkv, R);
    TRY(bert_linear(m, qkv.k.v, x, o->qkv_w + (size_t)C * C, o->qkv_b + (size_t)C, N, C, 2 * C));
    TRY(upload_rows(m));
    TRY(dev_gather_rows(dev, m->sel_x, x, m->sel_idx, NR, C, N, 0.0f));
    TRY(bert_linear(m, qkv.q.v, m->sel_x, o->qkv_w, o->qkv_b, NR, C, C));

    TRY(bert_attention_forward(m, l, R, &qkv));
    return bert_layer_tail_forward(m, l, m->sel_x, NR);
}

mltc_status bert_last_layer_backward_selected(bert_model *m, int l, dev_view x, dev_view dout) {
    const bert_config *c = &m->cfg;
    const bert_layer_off *o = &m->lay.layers[l];
    dev_ctx *dev = m->dev;
    int B = m->B, T = m->T, R = m->sel_R, C = c->hidden_size;
    int N = B * T, NR = B * R;

    /* After attention: s_dA = d res1 (the selected rows' residual gradient), s_dB = d ctx. Keep
     * the residual's gradient in s_dC: s_dA becomes the whole layer's d x at the end. */
    TRY(bert_layer_tail_backward(m, l, dout, NR));
    TRY(dev_copy(dev, m->s_dC, m->s_dA, (size_t)NR * C));
    bert_qkv qkv = bert_qkv_selected(m, m->act[l].qkv, R), dqkv = bert_qkv_selected(m, m->s_dqkv, R);
    TRY(bert_attention_backward(m, l, R, &qkv, &dqkv));

    /* Query projection: d x at the selected rows = residual + dq W_q (into s_dC). */
    TRY(bert_linear_backward(m, m->s_dC, 1.0f, dqkv.q.v, m->sel_x, o->qkv_w, o->qkv_b, NR, C, C));

    /* Key and value projections over every row: s_dA = d kv W_kv, then the selected rows'
     * gradient added in. */
    TRY(bert_linear_backward(m, m->s_dA, 0.0f, dqkv.k.v, x, o->qkv_w + (size_t)C * C, o->qkv_b + (size_t)C, N, C,
                             2 * C));
    return dev_scatter_add_rows(dev, m->s_dA, m->s_dC, &m->sel_rows, C);
}
