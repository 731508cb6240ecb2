#include "testutil.h"

#include "core/fileio.h"
#include "core/platform.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

static int passed, failed;
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static dev_ctx *last_ctx;

int tu_open(const char *backend, mltc_error *err, dev_ctx **out) {
    char spec[64];
    snprintf(spec, sizeof spec, "%s:0", backend);
    mltc_status st = dev_open(err, spec, out);
    if (st == MLTC_OK) {
        last_ctx = *out;
        return 0;
    }
    if (st == MLTC_ERR_UNSUPPORTED || st == MLTC_ERR_DEVICE || st == MLTC_ERR_INVALID_ARGUMENT) {
        printf("SKIP: backend %s unavailable: %s\n", backend, err->msg);
        return TU_SKIP;
    }
    printf("FAIL: opening %s: %s\n", spec, err->msg);
    return 1;
}

int tu_open_public(mltc_ctx *ctx, const char *backend, mltc_device **out) {
    char spec[64];
    snprintf(spec, sizeof spec, "%s:0", backend);
    mltc_status st = mltc_device_open(ctx, spec, out);
    if (st == MLTC_OK) return 0;
    if (st == MLTC_ERR_UNSUPPORTED || st == MLTC_ERR_DEVICE) {
        printf("SKIP: backend %s unavailable: %s\n", backend, mltc_last_error(ctx));
        return TU_SKIP;
    }
    printf("FAIL: opening %s: %s\n", spec, mltc_last_error(ctx));
    return 1;
}

/* Removes what is in dir, depth first, then dir; 0, or -1 when something stayed. */
static int remove_tree(const char *dir) {
    plat_dir *d = plat_dir_open(dir);
    int bad = 0;
    for (const char *name; d && (name = plat_dir_next(d)) != NULL;) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", dir, name);
        if (plat_is_dir(path) == 1)
            bad |= remove_tree(path);
        else
            bad |= plat_remove_file(path);
    }
    plat_dir_close(d);
    return plat_remove_dir(dir) | bad;
}

void tu_remove_tree(const char *dir) {
    if (plat_exists(dir) && remove_tree(dir) != 0) printf("note: could not remove %s\n", dir);
}

char *tu_mkdtemp(char *tmpl, size_t cap) {
    const char *slash = strrchr(tmpl, '/'), *base = slash ? slash + 1 : tmpl;
    char prefix[256];
    size_t n = strlen(base);
    if (n < 6 || strcmp(base + n - 6, "XXXXXX") || n - 6 >= sizeof prefix) return NULL;
    memcpy(prefix, base, n - 6);
    prefix[n - 6] = '\0';
    return plat_make_temp_dir(prefix, tmpl, cap) == 0 ? tmpl : NULL;
}

char *tu_read_file(const char *path) {
    mltc_error err = {0};
    char *data = NULL;
    size_t size = 0;
    if (file_read_all(&err, path, (size_t)16 << 20, &data, &size) != MLTC_OK) {
        printf("note: %s\n", err.msg);
        return NULL;
    }
    return data;
}

int tu_write_file(const char *path, const char *text) {
    mltc_error err = {0};
    if (file_write_atomic(&err, path, text, strlen(text)) != MLTC_OK) {
        printf("note: %s\n", err.msg);
        return -1;
    }
    return 0;
}

void tu_seed(uint64_t seed) { rng_state = seed * 0x9E3779B97F4A7C15ull + 1; }

static uint64_t next_u64(void) { /* splitmix64 */
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

float tu_uniform(float lo, float hi) { return lo + (hi - lo) * (float)((next_u64() >> 40) * (1.0 / 16777216.0)); }

void tu_fill_uniform(float *x, size_t n, float lo, float hi) {
    for (size_t i = 0; i < n; i++) x[i] = tu_uniform(lo, hi);
}

void tu_must(mltc_status st, const mltc_error *err, const char *what) {
    if (st == MLTC_OK) return;
    printf("FAIL: %s: %s (%s)\n", what, err && err->msg[0] ? err->msg : "", mltc_status_string(st));
    printf("%d passed, %d failed\n", passed, failed + 1);
    exit(1);
}

dev_buf *tu_buf(dev_ctx *ctx, const void *host, size_t elems) {
    dev_buf *b = NULL;
    tu_must(dev_alloc(ctx, elems * 4, &b), ctx->err, "alloc");
    if (host) tu_must(dev_upload(ctx, b, 0, host, elems * 4), ctx->err, "upload");
    return b;
}

dev_buf *tu_zeros(dev_ctx *ctx, size_t elems) {
    dev_buf *b = tu_buf(ctx, NULL, elems);
    tu_must(dev_fill(ctx, (dev_view){b, 0}, elems, 0.0f), ctx->err, "fill");
    return b;
}

float *tu_get(dev_ctx *ctx, dev_buf *b, size_t elems) {
    float *h = malloc(elems * 4);
    if (!h) tu_must(MLTC_ERR_OUT_OF_MEMORY, NULL, "host copy");
    tu_must(dev_download(ctx, b, 0, h, elems * 4), ctx->err, "download");
    return h;
}

dev_view tu_v(dev_buf *b) { return (dev_view){b, 0}; }

int tu_close(const char *what, const float *got, const double *want, size_t n, double atol, double rtol) {
    for (size_t i = 0; i < n; i++) {
        double g = got[i], w = want[i];
        int bad = isnan(g) != isnan(w) || (!isnan(w) && fabs(g - w) > atol + rtol * fabs(w));
        if (bad) {
            printf("FAIL %s: index %zu of %zu: got %.9g, expected %.9g (atol %g, rtol %g)\n", what, i, n, g, w, atol,
                   rtol);
            failed++;
            return 0;
        }
    }
    passed++;
    return 1;
}

int tu_check(int cond, const char *fmt, ...) {
    if (cond) {
        passed++;
        return 1;
    }
    va_list ap;
    va_start(ap, fmt);
    printf("FAIL ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    failed++;
    return 0;
}

int tu_status(mltc_status got, mltc_status want, const mltc_error *err, const char *what) {
    return tu_check(got == want, "%s: status '%s', expected '%s' (message: %s)", what, mltc_status_string(got),
                    mltc_status_string(want), err ? err->msg : "");
}

int tu_finish(void) {
    (void)last_ctx;
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

/* ---- a tiny random BERT folder ----------------------------------------------------------- */

#include <errno.h>

#include "model/bert.h"
#include "model/bert_config.h"
#include "model/safetensors.h"

const char *tu_data_dir(void) {
    static char buf[1024];
    const char *s = getenv("MLTC_DATA_DIR");
    if (s && *s) return s;
    const char *src = getenv("MLTC_SOURCE_DIR");
    snprintf(buf, sizeof buf, "%s/data", src && *src ? src : ".");
    return buf;
}

const char *tu_data_file(const char *rel) {
    static char buf[4][1200];
    static int next;
    char *out = buf[next++ % 4];
    snprintf(out, sizeof buf[0], "%s/%s", tu_data_dir(), rel);
    if (!plat_exists(out)) snprintf(out, sizeof buf[0], "%s/%s.gz", tu_data_dir(), rel);
    return out;
}

char *tu_read_text(const char *path, size_t *len) {
    text_file *f = text_open(path);
    if (!f) return NULL;
    char *all = NULL, *line = NULL;
    size_t n = 0, cap = 0, line_cap = 0;
    ssize_t got;
    while ((got = text_getline(f, &line, &line_cap)) >= 0) {
        if (n + (size_t)got + 1 > cap) {
            cap = 2 * (n + (size_t)got + 1);
            char *grown = realloc(all, cap);
            if (!grown) break;
            all = grown;
        }
        memcpy(all + n, line, (size_t)got);
        n += (size_t)got;
    }
    int ok = got < 0 && !text_error(f);
    free(line);
    text_close(f);
    if (ok && !all) all = calloc(1, 1);
    if (!ok || !all) {
        free(all);
        return NULL;
    }
    all[n] = '\0';
    if (len) *len = n;
    return all;
}

/* Closes a copy from in (read from src) to out (written to dst): count, or -1 (with a message)
 * when it was -1 already, in had a read error or out could not be written. */
static long close_copy(text_file *in, FILE *out, const char *src, const char *dst, const char *what, long count) {
    if (count >= 0 && text_error(in)) {
        printf("FAIL %s: reading %s: %s\n", what, src, text_error(in));
        count = -1;
    }
    text_close(in);
    if (fclose(out) != 0 && count >= 0) {
        printf("FAIL %s: cannot write %s\n", what, dst);
        count = -1;
    }
    return count;
}

/* Copies src (gzip-compressed or plain) to dst uncompressed; returns the number of lines, or -1
 * (with a message) on failure. */
static long copy_count_lines(const char *src, const char *dst) {
    text_file *in = text_open(src);
    FILE *out = in ? fopen(dst, "wb") : NULL;
    if (!in || !out) {
        printf("FAIL tiny BERT: cannot open %s: %s\n", in ? dst : src, strerror(errno));
        if (in) text_close(in);
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    long lines = 0;
    while ((got = text_getline(in, &line, &cap)) >= 0) {
        lines++;
        if (fwrite(line, 1, (size_t)got, out) != (size_t)got) lines = -1;
    }
    free(line);
    return close_copy(in, out, src, dst, "tiny BERT", lines);
}

static uint64_t tiny_next(uint64_t *s) { /* splitmix64 */
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* N(0, sd^2) by Box-Muller from a private generator, so callers' tu_uniform streams stay as
 * they were. */
static float tiny_normal(uint64_t *s, float sd) {
    double u1 = ((tiny_next(s) >> 11) + 1.0) * (1.0 / 9007199254740994.0);
    double u2 = (tiny_next(s) >> 11) * (1.0 / 9007199254740992.0);
    return (float)(sd * sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

/* Fills a tensor the way BERT initialises: layernorm weights 1, biases 0, the rest N(0, 0.02^2). */
static void tiny_fill(const char *name, float *x, size_t n, uint64_t *rng) {
    size_t len = strlen(name);
    int is_bias = len >= 4 && !strcmp(name + len - 4, "bias");
    int is_ln_weight = strstr(name, "LayerNorm.weight") != NULL;
    for (size_t i = 0; i < n; i++) x[i] = is_ln_weight ? 1.0f : is_bias ? 0.0f : tiny_normal(rng, 0.02f);
}

static int tiny_add(st_writer *w, const char *name, int ndim, const int64_t *shape, uint64_t *rng) {
    size_t n = (size_t)shape[0] * (ndim > 1 ? (size_t)shape[1] : 1);
    float *x = malloc(n * sizeof *x);
    if (!x) return 1;
    tiny_fill(name, x, n, rng);
    int bad = st_writer_add_f32(w, name, ndim, shape, x) != MLTC_OK;
    free(x);
    if (bad) printf("FAIL tiny BERT: adding tensor %s\n", name);
    return bad;
}

int tu_set_bert_dropout(const char *dir, float p) {
    mltc_error err = {0};
    char path[1200];
    bert_config cfg;
    snprintf(path, sizeof path, "%s/config.json", dir);
    if (bert_config_load(&err, path, &cfg) == MLTC_OK) {
        cfg.hidden_dropout = cfg.attention_dropout = p;
        if (bert_config_save(&err, &cfg, path) == MLTC_OK) return 0;
    }
    printf("FAIL setting the dropout of %s: %s\n", path, err.msg);
    return 1;
}

int tu_write_tiny_bert(const char *dir, uint64_t seed) {
    if (plat_mkdir(dir, 0) != 0 && errno != EEXIST) {
        printf("FAIL tiny BERT: mkdir %s: %s\n", dir, strerror(errno));
        return 1;
    }
    char src[1200], path[1200];
    snprintf(src, sizeof src, "%s", tu_data_file("vocab/bert-base-uncased/vocab.txt"));
    snprintf(path, sizeof path, "%s/vocab.txt", dir);
    long vocab = copy_count_lines(src, path);
    if (vocab <= 0) return 1;

    bert_config cfg = {
        .vocab_size = (int)vocab,
        .hidden_size = 32,
        .num_layers = 2,
        .num_heads = 2,
        .intermediate_size = 64,
        .max_position = 128,
        .type_vocab_size = 2,
        .layer_norm_eps = 1e-12f,
        .hidden_dropout = 0.1f,
        .attention_dropout = 0.1f,
        .pad_token_id = 0,
    };
    mltc_error err = {0};
    snprintf(path, sizeof path, "%s/config.json", dir);
    if (bert_config_save(&err, &cfg, path) != MLTC_OK) {
        printf("FAIL tiny BERT: %s\n", err.msg);
        return 1;
    }

    /* The model itself only supplies the tensor table, so the names and shapes are exactly
     * those the loader looks for. */
    dev_ctx *dev = NULL;
    bert_model *m = NULL;
    st_writer *w = NULL;
    int rc = 1;
    if (dev_open(&err, "cpu", &dev) != MLTC_OK || bert_model_create(dev, &cfg, 1, 8, &m) != MLTC_OK ||
        st_writer_create(&err, &w) != MLTC_OK) {
        printf("FAIL tiny BERT: %s\n", err.msg);
        goto done;
    }
    uint64_t rng = seed * 0x9E3779B97F4A7C15ull + 7;
    char name[160];
    for (int i = 0; i < bert_tensor_count(m); i++) {
        const bert_tensor *t = bert_tensor_at(m, i);
        snprintf(name, sizeof name, "bert.%s", t->name);
        if (tiny_add(w, name, t->ndim, t->shape, &rng)) goto done;
    }
    const int64_t cc[2] = {cfg.hidden_size, cfg.hidden_size}, c1[1] = {cfg.hidden_size}, v1[1] = {cfg.vocab_size};
    if (tiny_add(w, "cls.predictions.transform.dense.weight", 2, cc, &rng) ||
        tiny_add(w, "cls.predictions.transform.dense.bias", 1, c1, &rng) ||
        tiny_add(w, "cls.predictions.transform.LayerNorm.weight", 1, c1, &rng) ||
        tiny_add(w, "cls.predictions.transform.LayerNorm.bias", 1, c1, &rng) ||
        tiny_add(w, "cls.predictions.bias", 1, v1, &rng))
        goto done;
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    if (st_writer_commit(w, path) != MLTC_OK) {
        printf("FAIL tiny BERT: writing %s: %s\n", path, err.msg);
        goto done;
    }
    rc = 0;
done:
    st_writer_free(w);
    bert_model_free(m);
    dev_close(dev);
    return rc;
}

#include <cjson/cJSON.h>

/* Keeps the labels of one Reuters line that are among names; returns a new object or NULL. */
static cJSON *slice_example(const char *line, const char *const *names, int n) {
    cJSON *in = cJSON_Parse(line);
    if (!in) return NULL;
    cJSON *out = cJSON_CreateObject(), *labels = cJSON_AddArrayToObject(out, "labels");
    const cJSON *title = cJSON_GetObjectItemCaseSensitive(in, "title");
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(in, "text");
    if (cJSON_IsString(title)) cJSON_AddStringToObject(out, "title", title->valuestring);
    cJSON_AddStringToObject(out, "text", cJSON_IsString(text) ? text->valuestring : "");
    const cJSON *l;
    cJSON_ArrayForEach(l, cJSON_GetObjectItemCaseSensitive(in, "labels")) {
        for (int j = 0; j < n && cJSON_IsString(l); j++)
            if (!strcmp(l->valuestring, names[j])) cJSON_AddItemToArray(labels, cJSON_CreateString(names[j]));
    }
    cJSON_Delete(in);
    return out;
}

long tu_write_reuters_slice(const char *path, const char *labels_path, long skip, long count,
                            const char *const *names, int n) {
    char src[1200];
    snprintf(src, sizeof src, "%s", tu_data_file("reuters-modapte/train.jsonl"));
    text_file *in = text_open(src);
    if (!in) {
        printf("FAIL reuters slice: cannot open %s: %s\n", src, strerror(errno));
        return -1;
    }
    FILE *out = fopen(path, "wb");
    if (!out) {
        printf("FAIL reuters slice: cannot write %s: %s\n", path, strerror(errno));
        text_close(in);
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    long lineno = 0, written = 0;
    while (written < count && text_getline(in, &line, &cap) >= 0) {
        if (++lineno <= skip) continue;
        cJSON *ex = slice_example(line, names, n);
        char *s = ex ? cJSON_PrintUnformatted(ex) : NULL;
        cJSON_Delete(ex);
        if (!s) {
            printf("FAIL reuters slice: %s:%ld is not a JSON object\n", src, lineno);
            written = -1;
            break;
        }
        fprintf(out, "%s\n", s);
        free(s);
        written++;
    }
    free(line);
    written = close_copy(in, out, src, path, "reuters slice", written);
    if (written >= 0 && labels_path) {
        FILE *lf = fopen(labels_path, "wb");
        for (int j = 0; lf && j < n; j++) fprintf(lf, "%s\n", names[j]);
        if (!lf || fclose(lf) != 0) {
            printf("FAIL reuters slice: cannot write %s\n", labels_path);
            written = -1;
        }
    }
    return written;
}

int tu_make_run_inputs(tu_run_inputs *in, long n_train, long n_dev, const char *const *names, int n) {
    if (!tu_mkdtemp(in->tmp, sizeof in->tmp)) {
        printf("FAIL cannot make a folder from %s: %s\n", in->tmp, strerror(errno));
        return 1;
    }
    snprintf(in->model_dir, sizeof in->model_dir, "%s/bert", in->tmp);
    snprintf(in->train_path, sizeof in->train_path, "%s/train.jsonl", in->tmp);
    snprintf(in->dev_path, sizeof in->dev_path, "%s/dev.jsonl", in->tmp);
    snprintf(in->labels_path, sizeof in->labels_path, "%s/labels.txt", in->tmp);
    if (tu_write_tiny_bert(in->model_dir, 3) ||
        tu_write_reuters_slice(in->train_path, in->labels_path, 0, n_train, names, n) != n_train ||
        tu_write_reuters_slice(in->dev_path, NULL, n_train, n_dev, names, n) != n_dev)
        return 1;
    return 0;
}

int tu_write_small_config(char *path, int layers, int heads) {
    /* The template's XXXXXX becomes this process's id and a count: unique among the tests. */
    static int made;
    char *x = strstr(path, "XXXXXX");
    if (x) {
        char fill[16];
        snprintf(fill, sizeof fill, "%06lx", (unsigned long)(plat_pid() * 16 + made++) & 0xffffffUL);
        memcpy(x, fill, 6);
    }
    FILE *f = x ? fopen(path, "wb") : NULL;
    if (!f) {
        printf("FAIL cannot write a config at %s\n", path);
        return 1;
    }
    fprintf(f,
            "{\"model_type\": \"bert\", \"vocab_size\": 200, \"hidden_size\": 32, \"num_hidden_layers\": %d,\n"
            " \"num_attention_heads\": %d, \"intermediate_size\": 64, \"max_position_embeddings\": 64,\n"
            " \"type_vocab_size\": 2, \"layer_norm_eps\": 1e-12, \"hidden_dropout_prob\": 0.1,\n"
            " \"attention_probs_dropout_prob\": 0.1, \"hidden_act\": \"gelu\", \"pad_token_id\": 0}\n",
            layers, heads);
    if (fclose(f) != 0) {
        printf("FAIL cannot write a config at %s\n", path);
        return 1;
    }
    return 0;
}
