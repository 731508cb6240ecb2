/* ctest: per-backend */
/*
 * The encoder on a real model: sentence-transformers/all-MiniLM-L6-v2 (6 layers, hidden 384,
 * 12 heads) against the hidden states PyTorch computed for a few real sentences
 * (tests/fixtures/minilm, written by tools/reference/minilm_reference.py; the token ids in it
 * come from the model's own tokenizer, so this test does not depend on mltc's).
 *
 * The weights are not committed: tools/reference/fetch_minilm.py puts them into
 * models/all-MiniLM-L6-v2/ (or set MLTC_MINILM_DIR). Without them the test is skipped (77).
 *
 * Tolerance: max abs error <= 1e-4 on every compared value (first 8 dims of every token,
 * the whole [CLS] state, the mean over real tokens); values reach ~6 and pass through six
 * fp32 layers whose summation order differs from PyTorch's.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/bert.h"
#include "model/safetensors.h"
#include "testutil.h"

#define ATOL 1e-4

static mltc_error err;

static void *read_tensor(const st_file *f, const char *name, int is_int, size_t *numel, const st_tensor **tt) {
    const st_tensor *t = st_find(f, name);
    if (!t) tu_must(MLTC_ERR_PARSE, NULL, name);
    void *x = malloc(t->numel * 4);
    tu_must(is_int ? st_read_i32(&err, f, t, x) : st_read_f32(&err, f, t, x), &err, name);
    if (numel) *numel = t->numel;
    if (tt) *tt = t;
    return x;
}

static double max_abs_diff(const float *a, const float *b, size_t n) {
    double d = 0;
    for (size_t i = 0; i < n; i++) d = fmax(d, fabs((double)a[i] - b[i]));
    return d;
}

int main(int argc, char **argv) {
    const char *backend = argc > 1 ? argv[1] : "cpu";
    const char *src = getenv("MLTC_SOURCE_DIR");
    const char *mdir = getenv("MLTC_MINILM_DIR");
    char model_dir[1024], p[1200];
    if (mdir && *mdir)
        snprintf(model_dir, sizeof model_dir, "%s", mdir);
    else
        snprintf(model_dir, sizeof model_dir, "%s/models/all-MiniLM-L6-v2", src ? src : ".");
    snprintf(p, sizeof p, "%s/model.safetensors", model_dir);
    FILE *probe = fopen(p, "rb");
    if (!probe) {
        printf("SKIP: %s is absent (run tools/reference/fetch_minilm.py)\n", p);
        return TU_SKIP;
    }
    fclose(probe);

    dev_ctx *dev = NULL;
    int rc = tu_open(backend, &err, &dev);
    if (rc) return rc;

    bert_config cfg;
    snprintf(p, sizeof p, "%s/config.json", model_dir);
    tu_must(bert_config_load(&err, p, &cfg), &err, "config.json");

    snprintf(p, sizeof p, "%s/tests/fixtures/minilm/reference.safetensors", src ? src : ".");
    st_file *ref = NULL;
    tu_must(st_open(&err, p, &ref), &err, "reference.safetensors");
    const st_tensor *ti = NULL;
    int32_t *ids = read_tensor(ref, "input_ids", 1, NULL, &ti);
    int B = (int)ti->shape[0], T = (int)ti->shape[1], C = cfg.hidden_size;
    int32_t *types = read_tensor(ref, "token_type_ids", 1, NULL, NULL);
    int32_t *mask = read_tensor(ref, "attention_mask", 1, NULL, NULL);
    size_t n_head = 0, n_cls = 0, n_pool = 0;
    float *head_ref = read_tensor(ref, "hidden_head", 0, &n_head, NULL);
    float *cls_ref = read_tensor(ref, "hidden_cls", 0, &n_cls, NULL);
    float *pool_ref = read_tensor(ref, "mean_pooled", 0, &n_pool, NULL);
    st_close(ref);
    tu_check(n_head == (size_t)B * T * 8 && n_cls == (size_t)B * C && n_pool == (size_t)B * C,
             "reference shapes do not match the model's hidden size %d", C);

    bert_model *m = NULL;
    tu_must(bert_model_create(dev, &cfg, B, T, &m), &err, "bert_model_create");
    snprintf(p, sizeof p, "%s/model.safetensors", model_dir);
    tu_must(bert_load_hf_file(m, p), &err, "load all-MiniLM-L6-v2");

    dev_view hv;
    tu_must(bert_forward(m, ids, types, mask, B, T, 0, 0, &hv), &err, "bert_forward");
    size_t n = (size_t)B * T * C;
    float *h = malloc(n * sizeof *h);
    tu_must(dev_download(dev, hv.buf, hv.off * 4, h, n * 4), &err, "download");

    float *head = malloc(n_head * sizeof *head), *cls = malloc(n_cls * sizeof *cls),
          *pool = calloc(n_pool, sizeof *pool);
    for (int b = 0; b < B; b++) {
        int len = 0;
        for (int t = 0; t < T; t++) {
            const float *row = h + ((size_t)b * T + t) * C;
            memcpy(head + ((size_t)b * T + t) * 8, row, 8 * sizeof *row);
            if (mask[b * T + t]) {
                len++;
                for (int c = 0; c < C; c++) pool[(size_t)b * C + c] += row[c];
            }
        }
        memcpy(cls + (size_t)b * C, h + (size_t)b * T * C, (size_t)C * sizeof *cls);
        for (int c = 0; c < C; c++) pool[(size_t)b * C + c] /= (float)(len ? len : 1);
    }
    double e_head = max_abs_diff(head, head_ref, n_head), e_cls = max_abs_diff(cls, cls_ref, n_cls),
           e_pool = max_abs_diff(pool, pool_ref, n_pool);
    printf("all-MiniLM-L6-v2, %d sentences x %d tokens on %s: max abs error: first 8 dims %.3g, [CLS] %.3g, "
           "mean-pooled %.3g (tolerance %.0e)\n",
           B, T, dev->id, e_head, e_cls, e_pool, ATOL);
    tu_check(e_head <= ATOL, "hidden states (first 8 dims): max abs error %.3g", e_head);
    tu_check(e_cls <= ATOL, "[CLS] states: max abs error %.3g", e_cls);
    tu_check(e_pool <= ATOL, "mean-pooled states: max abs error %.3g", e_pool);

    /* A model created for prediction (two activation sets used in turn by the 6 layers, no
     * gradients) gives the same hidden states bit for bit through bert_forward_inference. */
    bert_model *pm = NULL;
    tu_must(bert_model_create_inference(dev, &cfg, B, T, &pm), &err, "bert_model_create_inference");
    tu_must(bert_load_hf_file(pm, p), &err, "load all-MiniLM-L6-v2 for prediction");
    tu_must(bert_forward_inference(pm, ids, types, mask, B, T, &hv), &err, "bert_forward_inference");
    float *hp = malloc(n * sizeof *hp);
    tu_must(dev_download(dev, hv.buf, hv.off * 4, hp, n * 4), &err, "download");
    tu_check(memcmp(h, hp, n * sizeof *h) == 0, "prediction model (shared activations): hidden states bit-equal");
    free(hp);
    bert_model_free(pm);

    free(h);
    free(head);
    free(cls);
    free(pool);
    free(ids);
    free(types);
    free(mask);
    free(head_ref);
    free(cls_ref);
    free(pool_ref);
    bert_model_free(m);
    dev_close(dev);
    return tu_finish();
}
