/* Helpers shared by the test programs: opening a backend (or skipping), buffers, comparisons
 * that say what failed and where, a deterministic RNG, and the closing summary line. */
#ifndef MLTC_TESTUTIL_H
#define MLTC_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "device/device.h"
#include "mltc.h"

#define TU_SKIP 77

/* Opens backend ("cpu", "opencl", "vulkan") device 0. On failure prints "SKIP: reason" and
 * returns TU_SKIP when the backend or its devices are absent, 1 on any other error. */
int tu_open(const char *backend, mltc_error *err, dev_ctx **out);

/* The same through the public API: mltc_device_open(ctx, "<backend>:0"). Returns 0, TU_SKIP
 * (after "SKIP: reason") when the backend or its devices are absent, or 1 (after "FAIL ..."). */
int tu_open_public(mltc_ctx *ctx, const char *backend, mltc_device **out);

/* Removes a test's scratch folder and all in it (rm -rf), noting on stdout when it cannot. */
void tu_remove_tree(const char *dir);

/* As mkdtemp: makes a new folder from tmpl ("<dir>/<prefix>XXXXXX"), written back into tmpl (cap
 * bytes) as "<temp>/<prefix>......" through the platform layer (TMPDIR, else the system's
 * temporary folder); tmpl, or NULL. */
char *tu_mkdtemp(char *tmpl, size_t cap);

/* A whole text file, malloc'd and NUL-terminated (core/fileio.h's file_read_all, up to 16 MiB),
 * or NULL after printing why. */
char *tu_read_file(const char *path);
/* Writes text to path (core/fileio.h's file_write_atomic); 0 on success, else -1 after printing why. */
int tu_write_file(const char *path, const char *text);

/* Deterministic test data. */
void tu_seed(uint64_t seed);
float tu_uniform(float lo, float hi);
void tu_fill_uniform(float *x, size_t n, float lo, float hi);

/* Device buffers holding copies of host arrays (exits the test on failure). */
dev_buf *tu_buf(dev_ctx *ctx, const void *host, size_t elems);
dev_buf *tu_zeros(dev_ctx *ctx, size_t elems);
float *tu_get(dev_ctx *ctx, dev_buf *b, size_t elems); /* malloc'd copy of the buffer */
dev_view tu_v(dev_buf *b);

/* Compares got (float) with want (double): |got - want| <= atol + rtol*|want| everywhere.
 * On the first failure prints "FAIL what: index i: got g, expected e" and returns 0. */
int tu_close(const char *what, const float *got, const double *want, size_t n, double atol, double rtol);

/* Records a check result: tu_check(cond, fmt, ...) prints the message on failure. */
int tu_check(int cond, const char *fmt, ...);

/* Asserts a status; prints the context's message when it differs. */
int tu_status(mltc_status got, mltc_status want, const mltc_error *err, const char *what);

/* Prints "N passed, N failed" and returns the exit code. */
int tu_finish(void);

/* Aborts the test program on an unexpected failure of a set-up call. */
void tu_must(mltc_status st, const mltc_error *err, const char *what);

/* ---- a tiny random BERT folder (for training and API tests) ---------------------------- */

/* The data folder (MLTC_DATA_DIR, else data/ in the source tree): the datasets and the
 * vocabulary (data/README.md). */
const char *tu_data_dir(void);

/* The path of rel (e.g. "reuters-modapte/train.jsonl") in the data folder: rel itself where it
 * is there, else rel.gz. A static buffer, one of 4 used in turn. */
const char *tu_data_file(const char *rel);

/* A whole text file, gzip-compressed or plain, NUL-terminated, in a malloc'd buffer (*len bytes
 * before the NUL); NULL when it cannot be read. */
char *tu_read_text(const char *path, size_t *len);

/* Writes a Hugging Face BERT folder into dir (created if needed): config.json (hidden 32,
 * 2 layers, 2 heads, intermediate 64, max_position 128, type_vocab 2, dropout 0.1, the vocabulary
 * of data/vocab/bert-base-uncased), model.safetensors with every encoder tensor under its
 * "bert." name plus the MLM transform ("cls.predictions.*"), weights N(0, 0.02^2), biases 0,
 * layernorm weights 1, drawn from seed; and vocab.txt, uncompressed from the data folder.
 * Returns 0, or prints "FAIL ..." and returns 1. */
int tu_write_tiny_bert(const char *dir, uint64_t seed);

/* Sets the encoder dropout (hidden and attention) in dir/config.json: 0 makes training steps
 * deterministic functions of the weights and the batch. 0, or 1 after printing "FAIL ...". */
int tu_set_bert_dropout(const char *dir, float p);

/* Writes examples skip+1 .. skip+count of data/reuters-modapte/train.jsonl to path as
 * jsonl, keeping only the labels among names[0..n) (others are dropped, so an example may end
 * with none), and names to labels_path (one a line) unless it is NULL. Returns the number of
 * examples written, or prints "FAIL ..." and returns -1. */
long tu_write_reuters_slice(const char *path, const char *labels_path, long skip, long count,
                            const char *const *names, int n);

/* The inputs of a short training run, in a new folder made from tmp (a mkdtemp template, filled
 * in): model_dir = tmp/bert (tu_write_tiny_bert, seed 3), train_path = tmp/train.jsonl (the first
 * n_train examples of the Reuters slice, labels among names[0..n)), labels_path =
 * tmp/labels.txt, dev_path = tmp/dev.jsonl (the n_dev examples after them). */
typedef struct tu_run_inputs {
    char tmp[256], model_dir[300], train_path[300], dev_path[300], labels_path[300];
} tu_run_inputs;

/* in->tmp holds the template on entry. Returns 0, or prints "FAIL ..." and returns 1. */
int tu_make_run_inputs(tu_run_inputs *in, long n_train, long n_dev, const char *const *names, int n);

/* Writes a small BERT config.json (vocab 200, hidden 32, intermediate 64, 64 positions, dropout
 * 0.1) with the given layers and heads to a new file made from path (a mkstemp template, filled
 * in with this process's id), for bench_run's config. Returns 0, or prints "FAIL ..." and returns 1. */
int tu_write_small_config(char *path, int layers, int heads);

#endif
