/* Files in and out: the readers take gzip-compressed datasets, label lists and vocabularies (the
 * compressed files in data/ give what their plain text gives; a corrupt or cut-off one is an
 * error that names it), and folders are made as mkdir -p makes them, by dir_create and by
 * training into an output folder whose parents do not exist yet (a place that cannot hold a
 * folder is an error naming the path and the reason). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "core/fileio.h"
#include "mltc.h"
#include "model/tokenizer.h"
#include "run/dataset.h"
#include "model/labels.h"
#include "testutil.h"

static char tmp[256];

static const char *in_tmp(const char *name) {
    static char buf[4][600];
    static int next;
    char *out = buf[next++ % 4];
    snprintf(out, sizeof buf[0], "%s/%s", tmp, name);
    return out;
}

static void write_bytes(const char *path, const char *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, n, f) != n || fclose(f) != 0) tu_must(MLTC_ERR_IO, NULL, path);
}

static void write_gzip(const char *path, const char *data, size_t n) {
    gzFile g = gzopen(path, "wb9");
    if (!g || gzwrite(g, data, (unsigned)n) != (int)n || gzclose(g) != Z_OK) tu_must(MLTC_ERR_IO, NULL, path);
}

static int is_dir(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* Every example's text, line and labels alike. */
static int same_dataset(const dataset *a, const dataset *b) {
    if (a->n != b->n || a->n_labels != b->n_labels || a->format != b->format) return 0;
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->ex[i].text, b->ex[i].text) || a->ex[i].line != b->ex[i].line) return 0;
    return !memcmp(a->y, b->y, a->n * (size_t)a->n_labels);
}

/* ---- gzip-compressed input ------------------------------------------------------------------- */

static void test_compressed_data(void) {
    const char *gz = tu_data_file("reuters-modapte/test.jsonl");
    const char *labels_path = tu_data_file("reuters-modapte/labels.txt");
    size_t n = 0;
    char *text = tu_read_text(gz, &n);
    if (!tu_check(text && n > 0, "cannot read %s", gz)) return;
    const char *plain = in_tmp("test.jsonl");
    write_bytes(plain, text, n);

    mltc_error err = {0};
    labels l;
    tu_must(labels_load(&err, labels_path, &l), &err, "reuters labels");
    dataset a, b;
    tu_must(dataset_load(&err, gz, &l, NULL, &a), &err, gz);
    tu_must(dataset_load(&err, plain, &l, NULL, &b), &err, plain);
    tu_check(a.n == 3019 && same_dataset(&a, &b), "%s: %zu examples, the same as its plain text: %s", gz, a.n,
             same_dataset(&a, &b) ? "yes" : "no");
    dataset_free(&b);

    /* A labels file compressed: the same names in the same order; and the same dataset with it. */
    size_t ln = 0;
    char *names = tu_read_text(labels_path, &ln);
    const char *labels_gz = in_tmp("labels.txt.gz");
    if (tu_check(names != NULL, "cannot read %s", labels_path)) write_gzip(labels_gz, names, ln);
    free(names);
    labels lz;
    tu_must(labels_load(&err, labels_gz, &lz), &err, labels_gz);
    int same = lz.count == l.count;
    for (int j = 0; same && j < l.count; j++) same = !strcmp(lz.names[j], l.names[j]);
    tu_check(same, "%s: %d names, the same as the plain file's %d", labels_gz, lz.count, l.count);
    labels_free(&lz);

    /* The compressed bytes with their CRC spoiled, and cut in the middle: errors that name the file. */
    char *raw = NULL;
    size_t raw_n = 0;
    tu_must(file_read_all(&err, gz, (size_t)1 << 30, &raw, &raw_n), &err, gz);
    const char *bad_crc = in_tmp("bad-crc.jsonl.gz"), *cut = in_tmp("cut.jsonl.gz");
    raw[raw_n - 8] ^= 0x55;
    write_bytes(bad_crc, raw, raw_n);
    write_bytes(cut, raw, raw_n / 2);
    free(raw);
    mltc_status st = dataset_load(&err, bad_crc, &l, NULL, &b);
    tu_check(st == MLTC_ERR_IO && strstr(err.msg, bad_crc) && strstr(err.msg, "corrupt compressed data"),
             "a corrupt .gz: %s (%s)", err.msg, mltc_status_string(st));
    st = dataset_load(&err, cut, &l, NULL, &b);
    tu_check(st == MLTC_ERR_IO && strstr(err.msg, cut) && strstr(err.msg, "cut off"), "a cut-off .gz: %s (%s)",
             err.msg, mltc_status_string(st));
    const char *not_gz = in_tmp("not.gz");
    write_bytes(not_gz, "\x1f\x8b\x63 not really compressed\n", 26);
    st = labels_load(&err, not_gz, &lz);
    tu_check(st == MLTC_ERR_IO && strstr(err.msg, not_gz) && strstr(err.msg, "corrupt compressed data"),
             "a labels file with a gzip magic and no gzip data: %s (%s)", err.msg, mltc_status_string(st));

    /* The vocabulary: the same tokens, so the same ids for every text. */
    const char *vgz = tu_data_file("vocab/bert-base-uncased/vocab.txt");
    char *vtext = tu_read_text(vgz, &n);
    const char *vplain = in_tmp("vocab.txt");
    if (tu_check(vtext != NULL, "cannot read %s", vgz)) write_bytes(vplain, vtext, n);
    tokenizer *tz = NULL, *tp = NULL;
    tu_must(tok_load(&err, vgz, &tz), &err, vgz);
    tu_must(tok_load(&err, vplain, &tp), &err, vplain);
    int equal = tok_vocab_size(tz) == 30522 && tok_vocab_size(tp) == 30522, texts = 0;
    for (size_t i = 0; equal && i < a.n; i += 10, texts++) {
        int32_t *iz = NULL, *ip = NULL;
        int nz = 0, np = 0;
        tu_must(tok_encode(tz, &err, a.ex[i].text, strlen(a.ex[i].text), &iz, &nz), &err, "encode");
        tu_must(tok_encode(tp, &err, a.ex[i].text, strlen(a.ex[i].text), &ip, &np), &err, "encode");
        equal = nz == np && (nz == 0 || !memcmp(iz, ip, sizeof *iz * (size_t)nz));
        free(iz);
        free(ip);
    }
    tu_check(equal && texts > 300, "%s: %d tokens, the same ids as the plain vocabulary for %d texts", vgz,
             tok_vocab_size(tz), texts);
    tok_free(tz);
    tok_free(tp);
    const char *vcut = in_tmp("vocab-cut.txt.gz");
    char *vraw = NULL;
    tu_must(file_read_all(&err, vgz, (size_t)1 << 30, &vraw, &n), &err, vgz);
    write_bytes(vcut, vraw, n / 3);
    free(vraw);
    st = tok_load(&err, vcut, &tz);
    tu_check(st == MLTC_ERR_IO && strstr(err.msg, vcut) && strstr(err.msg, "cut off"), "a cut-off vocabulary: %s (%s)",
             err.msg, mltc_status_string(st));
    tok_free(tz);
    free(vtext);
    free(text);
    dataset_free(&a);
    labels_free(&l);
}

/* ---- folders --------------------------------------------------------------------------------- */

static void test_dir_create(void) {
    mltc_error err = {0};
    const char *deep = in_tmp("a/b/c");
    tu_check(dir_create(&err, deep) == MLTC_OK && is_dir(deep), "dir_create makes a/b/c: %s", err.msg);
    tu_check(dir_create(&err, deep) == MLTC_OK, "an existing folder is fine: %s", err.msg);
    const char *slashes = in_tmp("a//d///");
    tu_check(dir_create(&err, slashes) == MLTC_OK && is_dir(in_tmp("a/d")), "repeated slashes: %s", err.msg);

    const char *file = in_tmp("file");
    write_bytes(file, "x", 1);
    const char *under = in_tmp("file/x/y");
    mltc_status st = dir_create(&err, under);
    tu_check(st == MLTC_ERR_IO && strstr(err.msg, under) && strstr(err.msg, "exists and is not a folder") &&
                 strstr(err.msg, file),
             "a folder under a regular file: %s", err.msg);
    st = dir_create(&err, file);
    tu_check(st == MLTC_ERR_IO && strstr(err.msg, file) && strstr(err.msg, "exists and is not a folder"),
             "a folder where a file is: %s", err.msg);
    const char *parent_of = in_tmp("p/q/file.json");
    tu_check(dir_create_parent(&err, parent_of) == MLTC_OK && is_dir(in_tmp("p/q")), "dir_create_parent: %s",
             err.msg);
    tu_check(dir_create_parent(&err, "plain-name") == MLTC_OK, "dir_create_parent of a bare name");
    if (geteuid() != 0) { /* root may write anywhere */
        const char *locked = in_tmp("locked");
        tu_must(dir_create(&err, locked), &err, locked);
        chmod(locked, 0500);
        const char *inside = in_tmp("locked/x/y");
        st = dir_create(&err, inside);
        tu_check(st == MLTC_ERR_IO && strstr(err.msg, inside) && strstr(err.msg, strerror(EACCES)),
                 "a folder in a read-only one: %s", err.msg);
        chmod(locked, 0700);
    }
}

/* mltc_train into OUT whose parents are missing makes them; OUT under a regular file fails and says
 * where and why. */
static void test_train_out(void) {
    static const char *const names[] = {"earn", "acq", "crude"};
    const char *model = in_tmp("model"), *train = in_tmp("train.jsonl"), *labels_path = in_tmp("labels.txt");
    if (tu_write_tiny_bert(model, 3) || tu_write_reuters_slice(train, labels_path, 0, 8, names, 3) != 8) {
        tu_check(0, "writing the tiny model and data");
        return;
    }
    mltc_ctx *ctx = NULL;
    mltc_device *dev = NULL;
    tu_must(mltc_ctx_create(&ctx), NULL, "context");
    if (mltc_device_open(ctx, "cpu", &dev) != MLTC_OK) {
        tu_check(0, "cpu: %s", mltc_last_error(ctx));
        mltc_ctx_destroy(ctx);
        return;
    }
    mltc_train_options o;
    mltc_train_options_default(&o);
    o.model_dir = model;
    o.train_path = train;
    o.labels_path = labels_path;
    o.epochs = 1;
    o.batch = 8;
    o.max_len = 16;
    char out[600];
    snprintf(out, sizeof out, "%s", in_tmp("runs/x/y/out"));
    o.out_dir = out;
    mltc_train_result res;
    mltc_status st = mltc_train(ctx, dev, &o, NULL, NULL, &res);
    char last[700];
    snprintf(last, sizeof last, "%s/last/mltc.json", out);
    tu_check(st == MLTC_OK && access(last, F_OK) == 0, "training into %s (missing parents): %s", out,
             st ? mltc_last_error(ctx) : "no last/mltc.json");

    snprintf(out, sizeof out, "%s", in_tmp("file/out"));
    st = mltc_train(ctx, dev, &o, NULL, NULL, &res);
    const char *msg = mltc_last_error(ctx);
    tu_check(st == MLTC_ERR_IO && strstr(msg, out) && strstr(msg, "exists and is not a folder"),
             "training into a folder under a regular file: %s (%s)", msg, mltc_status_string(st));
    mltc_device_close(dev);
    mltc_ctx_destroy(ctx);
}

int main(void) {
    snprintf(tmp, sizeof tmp, "/tmp/mltc_test_files_XXXXXX");
    if (!tu_mkdtemp(tmp, sizeof tmp)) tu_must(MLTC_ERR_IO, NULL, "mkdtemp");
    test_compressed_data();
    test_dir_create();
    test_train_out();
    tu_remove_tree(tmp);
    return tu_finish();
}
