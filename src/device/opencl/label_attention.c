/* OpenCL cosine label attention (kernels_cl/label_attention.cl). Forward: label norms, the
 * best label per word, then softmax over words and the weighted sum. Backward: label norms,
 * score gradients per batch row, dh per word, then dl per (label, column) in (b, t) order.
 * Intermediates live in views of the context's scratch buffer (the queue is in order). */
#include "device/opencl/internal.h"

#define CTX(ctx) ((ocl_ctx *)(ctx))

static mltc_status label_norms(ocl_ctx *c, dev_view nl, const dev_label_attention *a, const char *op) {
    ocl_launch L;
    if (ocl_begin(&L, c, K_LA_LABEL_NORMS, op) != MLTC_OK) return L.st;
    size_t local = ocl_row_local(c, K_LA_LABEL_NORMS, a->dim);
    ocl_arg_view(&L, nl);
    ocl_arg_view(&L, a->l);
    ocl_arg_int(&L, a->dim);
    ocl_arg_local(&L, local * sizeof(float));
    return ocl_run_groups(&L, (size_t)a->labels, local);
}

mltc_status ocl_label_attention_forward(dev_ctx *ctx, const dev_label_attention *a) {
    ocl_ctx *c = CTX(ctx);
    const char *op = "label_attention_forward";
    cl_mem mem;
    mltc_status st = ocl_scratch(c, (size_t)a->labels * 4, op, &mem);
    if (st != MLTC_OK) return st;
    ocl_buf sb = {{c->scratch_bytes}, mem};
    dev_view nl = {&sb.base, 0};
    st = label_norms(c, nl, a, op);
    if (st != MLTC_OK) return st;

    ocl_launch L;
    if (ocl_begin(&L, c, K_LA_SCORES, op) != MLTC_OK) return L.st;
    size_t local = ocl_row_local(c, K_LA_SCORES, a->dim);
    ocl_arg_view(&L, a->weights);
    ocl_arg_view(&L, a->argmax);
    ocl_arg_view(&L, a->h);
    ocl_arg_view(&L, a->l);
    ocl_arg_view(&L, nl);
    ocl_arg_view(&L, a->word_mask);
    ocl_arg_int(&L, a->labels);
    ocl_arg_int(&L, a->dim);
    ocl_arg_local(&L, local * sizeof(float));
    st = ocl_run_groups(&L, (size_t)a->batch * a->words, local);
    if (st != MLTC_OK) return st;

    if (ocl_begin(&L, c, K_LA_OUTPUT, op) != MLTC_OK) return L.st;
    local = ocl_row_local(c, K_LA_OUTPUT, a->dim > a->words ? a->dim : a->words);
    ocl_arg_view(&L, a->out);
    ocl_arg_view(&L, a->weights);
    ocl_arg_view(&L, a->argmax);
    ocl_arg_view(&L, a->h);
    ocl_arg_int(&L, a->words);
    ocl_arg_int(&L, a->dim);
    ocl_arg_local(&L, local * sizeof(float));
    return ocl_run_groups(&L, (size_t)a->batch, local);
}

mltc_status ocl_label_attention_backward(dev_ctx *ctx, const dev_label_attention *a, dev_view dh, dev_view dl,
                                         dev_view dout) {
    ocl_ctx *c = CTX(ctx);
    const char *op = "label_attention_backward";
    size_t K = (size_t)a->labels, BT = (size_t)a->batch * a->words;
    cl_mem mem;
    mltc_status st = ocl_scratch(c, (K + 3 * BT) * 4, op, &mem);
    if (st != MLTC_OK) return st;
    /* scratch: nl[K], da[BT], nh[BT], sim[BT] */
    ocl_buf sb = {{c->scratch_bytes}, mem};
    dev_view nl = {&sb.base, 0}, da = {&sb.base, K}, nh = {&sb.base, K + BT}, sim = {&sb.base, K + 2 * BT};
    st = label_norms(c, nl, a, op);
    if (st != MLTC_OK) return st;

    ocl_launch L;
    if (ocl_begin(&L, c, K_LA_SCORE_GRADS, op) != MLTC_OK) return L.st;
    size_t local = ocl_row_local(c, K_LA_SCORE_GRADS, a->dim);
    ocl_arg_view(&L, da);
    ocl_arg_view(&L, a->weights);
    ocl_arg_view(&L, a->argmax);
    ocl_arg_view(&L, a->h);
    ocl_arg_view(&L, dout);
    ocl_arg_int(&L, a->words);
    ocl_arg_int(&L, a->dim);
    ocl_arg_local(&L, local * sizeof(float));
    st = ocl_run_groups(&L, (size_t)a->batch, local);
    if (st != MLTC_OK) return st;

    if (ocl_begin(&L, c, K_LA_DH, op) != MLTC_OK) return L.st;
    local = ocl_row_local(c, K_LA_DH, a->dim);
    ocl_arg_view(&L, dh);
    ocl_arg_view(&L, nh);
    ocl_arg_view(&L, sim);
    ocl_arg_view(&L, a->h);
    ocl_arg_view(&L, a->l);
    ocl_arg_view(&L, nl);
    ocl_arg_view(&L, a->weights);
    ocl_arg_view(&L, a->argmax);
    ocl_arg_view(&L, da);
    ocl_arg_view(&L, dout);
    ocl_arg_int(&L, a->words);
    ocl_arg_int(&L, a->dim);
    ocl_arg_local(&L, local * sizeof(float));
    st = ocl_run_groups(&L, BT, local);
    if (st != MLTC_OK) return st;

    ocl_begin(&L, c, K_LA_DL, op);
    ocl_arg_view(&L, dl);
    ocl_arg_view(&L, a->h);
    ocl_arg_view(&L, a->l);
    ocl_arg_view(&L, nl);
    ocl_arg_view(&L, a->argmax);
    ocl_arg_view(&L, da);
    ocl_arg_view(&L, nh);
    ocl_arg_view(&L, sim);
    ocl_arg_int(&L, (int)BT);
    ocl_arg_int(&L, a->labels);
    ocl_arg_int(&L, a->dim);
    return ocl_run_items(&L, K * (size_t)a->dim);
}
