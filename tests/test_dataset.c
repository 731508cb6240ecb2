/* Labels files and dataset readers: each format from small files written here, detection, every
 * error path (the message must name file:line), skipping bad lines, and the real datasets in data/. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run/dataset.h"
#include "model/labels.h"
#include "core/platform.h"
#include "testutil.h"

static char tmpdir[256];
static char written[64][512];
static int n_written;

/* Writes text (len bytes, or strlen when len < 0) to tmpdir/name; returns the path. */
static const char *put(const char *name, const char *text, long len) {
    if (n_written == 64) tu_must(MLTC_ERR_INVALID_ARGUMENT, NULL, "test writes more than 64 files");
    char *path = written[n_written++];
    snprintf(path, sizeof written[0], "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "wb");
    size_t n = len < 0 ? strlen(text) : (size_t)len;
    if (!f || fwrite(text, 1, n, f) != n || fclose(f)) tu_must(MLTC_ERR_IO, NULL, path);
    return path;
}

static labels abcd; /* a, b, c, d */

/* The row of example i as a string of 0/1 digits, for compact comparisons. */
static const char *row(const dataset *d, size_t i) {
    static char s[128];
    int k = d->n_labels < 127 ? d->n_labels : 127;
    for (int j = 0; j < k; j++) s[j] = d->ex[i].labels[j] ? '1' : '0';
    s[k] = '\0';
    return s;
}

/* Loads path expecting failure with status want and a message containing each of the fragments. */
static void expect_error(const char *what, const char *path, dataset_format fmt, mltc_status want, ...) {
    mltc_error err = {0};
    dataset d;
    dataset_options opt = {.format = fmt};
    mltc_status st = dataset_load(&err, path, &abcd, &opt, &d);
    tu_check(st == want, "%s: status '%s', expected '%s' (message: %s)", what, mltc_status_string(st),
             mltc_status_string(want), err.msg);
    tu_check(d.n == 0 && d.ex == NULL && d.y == NULL, "%s: dataset not left empty on failure", what);
    va_list ap;
    va_start(ap, want);
    for (const char *frag; (frag = va_arg(ap, const char *));)
        tu_check(strstr(err.msg, frag) != NULL, "%s: message '%s' lacks '%s'", what, err.msg, frag);
    va_end(ap);
}

/* Path of a file written by put(), followed by ":line:" — what every data error must name. */
static const char *at(const char *path, int line) {
    static char s[8][600];
    static int next;
    char *out = s[next++ % 8];
    snprintf(out, sizeof s[0], "%s:%d:", path, line);
    return out;
}

static void test_labels(void) {
    mltc_error err = {0};
    labels l;
    const char *p = put("labels1.txt", "\xEF\xBB\xBF" "alpha\r\n  beta  \n\n\t\ngamma delta\r\n", -1);
    tu_must(labels_load(&err, p, &l), &err, "labels with BOM, CRLF, blanks");
    tu_check(l.count == 3, "labels count %d, expected 3", l.count);
    tu_check(l.count == 3 && !strcmp(l.names[0], "alpha") && !strcmp(l.names[1], "beta") &&
                 !strcmp(l.names[2], "gamma delta"),
             "labels names trimmed and in order");
    tu_check(labels_find(&l, "beta") == 1 && labels_find(&l, "gamma delta") == 2 && labels_find(&l, "alpha") == 0,
             "labels_find indices");
    tu_check(labels_find(&l, "Beta") == -1 && labels_find(&l, "") == -1 && labels_find(&l, "alph") == -1,
             "labels_find of absent names is -1");
    tu_check(labels_find_n(&l, "betamax", 4) == 1, "labels_find_n on a prefix");
    labels_free(&l);
    tu_check(l.count == 0 && l.names == NULL, "labels_free empties");

    p = put("labels_dup.txt", "a\nb\n\nc\n a \n", -1);
    tu_status(labels_load(&err, p, &l), MLTC_ERR_PARSE, &err, "duplicate label");
    tu_check(strstr(err.msg, at(p, 5)) && strstr(err.msg, "'a'") && strstr(err.msg, "line 1"),
             "duplicate label message names file:5, the name and line 1: %s", err.msg);
    tu_check(l.count == 0 && l.names == NULL, "labels left empty on failure");

    p = put("labels_empty.txt", "\n  \r\n", -1);
    tu_status(labels_load(&err, p, &l), MLTC_ERR_PARSE, &err, "empty labels file");
    tu_check(strstr(err.msg, p) != NULL, "empty labels message names the file: %s", err.msg);
    tu_status(labels_load(&err, "/nonexistent/labels.txt", &l), MLTC_ERR_IO, &err, "missing labels file");
    tu_check(strstr(err.msg, "/nonexistent/labels.txt") != NULL, "missing labels file message: %s", err.msg);

    labels m = {0};
    tu_must(labels_add(&err, &m, "x"), &err, "labels_add");
    tu_status(labels_add(&err, &m, "x"), MLTC_ERR_INVALID_ARGUMENT, &err, "labels_add duplicate");
    tu_status(labels_add(&err, &m, ""), MLTC_ERR_INVALID_ARGUMENT, &err, "labels_add empty");
    tu_check(m.count == 1, "labels_add count %d, expected 1", m.count);
    labels_free(&m);
}

static void load_ok(const char *what, const char *path, dataset_format fmt, dataset *d) {
    mltc_error err = {0};
    dataset_options opt = {.format = fmt};
    tu_must(dataset_load(&err, path, &abcd, &opt, d), &err, what);
}

static void test_jsonl(void) {
    /* BOM, CRLF, a blank line, title join, empty title, labels missing / null / empty, an escaped
     * newline and non-ASCII text. */
    const char *p = put("a.jsonl",
                        "\xEF\xBB\xBF{\"id\": 1, \"title\": \"Head\", \"text\": \"Body\\nmore\", \"labels\": [\"b\", \"a\"]}\r\n"
                        "\r\n"
                        "{\"text\": \"caf\xC3\xA9\", \"title\": \"\", \"labels\": [\"d\", \"d\"]}\n"
                        "   \n"
                        "{\"text\": \"no labels key\"}\n"
                        "{\"text\": \"\", \"title\": \"only a title\", \"labels\": null}\n"
                        "{\"labels\": [], \"text\": \"empty list\", \"title\": null}",
                        -1);
    for (int pass = 0; pass < 2; pass++) {
        dataset d;
        load_ok("jsonl", p, pass ? DATASET_JSONL : DATASET_AUTO, &d);
        tu_check(d.format == DATASET_JSONL, "jsonl detected as %s", dataset_format_name(d.format));
        tu_check(d.n == 5 && d.n_labels == 4, "jsonl: %zu examples, expected 5", d.n);
        if (d.n != 5) {
            dataset_free(&d);
            continue;
        }
        tu_check(!strcmp(d.ex[0].text, "Head\nBody\nmore"), "title joined with a newline: '%s'", d.ex[0].text);
        tu_check(!strcmp(row(&d, 0), "1100"), "jsonl row 0 %s, expected 1100", row(&d, 0));
        tu_check(!strcmp(d.ex[1].text, "caf\xC3\xA9") && !strcmp(row(&d, 1), "0001"),
                 "empty title not joined, duplicate label once: '%s' %s", d.ex[1].text, row(&d, 1));
        tu_check(!strcmp(d.ex[2].text, "no labels key") && !strcmp(row(&d, 2), "0000"), "missing labels: %s",
                 row(&d, 2));
        tu_check(!strcmp(d.ex[3].text, "only a title\n") && !strcmp(row(&d, 3), "0000"),
                 "title with empty text: '%s'", d.ex[3].text);
        tu_check(!strcmp(d.ex[4].text, "empty list") && !strcmp(row(&d, 4), "0000"), "empty label list");
        tu_check(d.ex[0].line == 1 && d.ex[1].line == 3 && d.ex[2].line == 5 && d.ex[3].line == 6 &&
                     d.ex[4].line == 7,
                 "jsonl line numbers %ld %ld %ld %ld %ld, expected 1 3 5 6 7", d.ex[0].line, d.ex[1].line,
                 d.ex[2].line, d.ex[3].line, d.ex[4].line);
        tu_check(d.ex[1].labels == d.y + 4 && d.skipped == 0, "labels point into y");
        dataset_free(&d);
    }
}

static void test_tsv(void) {
    const char *p = put("a.tsv",
                        "first text\ta,c\r\n"
                        "\n"
                        "second \"quoted\" text\t\n"
                        "third\t d , b \n"
                        "\tc\n",
                        -1);
    for (int pass = 0; pass < 2; pass++) {
        dataset d;
        load_ok("tsv", p, pass ? DATASET_TSV : DATASET_AUTO, &d);
        tu_check(d.format == DATASET_TSV, "tsv detected as %s", dataset_format_name(d.format));
        tu_check(d.n == 4, "tsv: %zu examples, expected 4", d.n);
        if (d.n == 4) {
            tu_check(!strcmp(d.ex[0].text, "first text") && !strcmp(row(&d, 0), "1010"), "tsv row 0 '%s' %s",
                     d.ex[0].text, row(&d, 0));
            tu_check(!strcmp(d.ex[1].text, "second \"quoted\" text") && !strcmp(row(&d, 1), "0000"),
                     "tsv empty label field: '%s' %s", d.ex[1].text, row(&d, 1));
            tu_check(!strcmp(row(&d, 2), "0101"), "tsv labels with spaces: %s", row(&d, 2));
            tu_check(!strcmp(d.ex[3].text, "") && !strcmp(row(&d, 3), "0010"), "tsv empty text");
            tu_check(d.ex[1].line == 3 && d.ex[3].line == 5, "tsv line numbers %ld %ld", d.ex[1].line, d.ex[3].line);
        }
        dataset_free(&d);
    }
}

static void test_tsv_columns(void) {
    /* Label columns in another order than the labels file; an ignored ID column; CRLF; a BOM. */
    const char *p = put("cols.tsv",
                        "\xEF\xBB\xBFID\tTweet\td\tb\ta\tc\r\n"
                        "x1\thello there\t1\t0\t0\t1\r\n"
                        "\r\n"
                        "x2\tnothing\t0\t0\t0\t0\r\n"
                        "x3\tall of them\t 1\t1\t1 \t1\r\n",
                        -1);
    for (int pass = 0; pass < 2; pass++) {
        dataset d;
        load_ok("tsv-columns", p, pass ? DATASET_TSV_COLUMNS : DATASET_AUTO, &d);
        tu_check(d.format == DATASET_TSV_COLUMNS, "tsv-columns detected as %s", dataset_format_name(d.format));
        tu_check(d.n == 3, "tsv-columns: %zu examples, expected 3", d.n);
        if (d.n == 3) {
            tu_check(!strcmp(d.ex[0].text, "hello there") && !strcmp(row(&d, 0), "0011"), "columns row 0 '%s' %s",
                     d.ex[0].text, row(&d, 0));
            tu_check(!strcmp(row(&d, 1), "0000") && !strcmp(row(&d, 2), "1111"), "columns rows 1, 2: %s",
                     row(&d, 2));
            tu_check(d.ex[0].line == 2 && d.ex[1].line == 4 && d.ex[2].line == 5, "columns line numbers");
        }
        dataset_free(&d);
    }
    /* A header with a "text" column and no id, detected too. */
    p = put("cols2.tsv", "text\ta\tb\tc\td\nsome text\t0\t1\t0\t0\n", -1);
    dataset d;
    load_ok("tsv-columns without id", p, DATASET_AUTO, &d);
    tu_check(d.format == DATASET_TSV_COLUMNS && d.n == 1 && !strcmp(row(&d, 0), "0100"), "text-first header");
    dataset_free(&d);
    /* A data line that happens to start with the word "text" stays tsv. */
    p = put("not_cols.tsv", "text\ta,b\n", -1);
    load_ok("tsv starting with text", p, DATASET_AUTO, &d);
    tu_check(d.format == DATASET_TSV && d.n == 1 && !strcmp(row(&d, 0), "1100"), "'text<TAB>a,b' read as tsv");
    dataset_free(&d);

    mltc_error err = {0};
    labels hl;
    tu_must(dataset_header_labels(&err, put("hdr.tsv", "ID\tTweet\tz\ty\n1\tt\t0\t1\n", -1), &hl), &err,
            "header labels");
    tu_check(hl.count == 2 && !strcmp(hl.names[0], "z") && !strcmp(hl.names[1], "y"), "header labels z, y");
    labels_free(&hl);
    const char *bad = put("hdr_dup.tsv", "ID\tTweet\tz\tz\n", -1);
    tu_status(dataset_header_labels(&err, bad, &hl), MLTC_ERR_PARSE, &err, "header labels duplicate");
    tu_check(strstr(err.msg, at(bad, 1)) && strstr(err.msg, "both name label 'z'"), "header duplicate message: %s",
             err.msg);
}

static void test_empty_file(void) {
    dataset d;
    load_ok("empty file", put("empty.jsonl", "\n\n", -1), DATASET_AUTO, &d);
    tu_check(d.n == 0 && d.skipped == 0, "an empty file holds no examples");
    dataset_free(&d);
}

static void test_errors(void) {
    const char *p;
    const dataset_format J = DATASET_JSONL, T = DATASET_TSV, C = DATASET_TSV_COLUMNS, A = DATASET_AUTO;
    const char *good = "{\"text\": \"ok\", \"labels\": [\"a\"]}\n";
    char buf[512];
#define JSONL_BAD_AT4(name, line4)                                                                                      \
    (snprintf(buf, sizeof buf, "%s\n%s%s\n", good, good, line4), put(name, buf, -1))

    p = JSONL_BAD_AT4("e_json.jsonl", "{\"text\": \"unterminated}");
    expect_error("bad JSON", p, A, MLTC_ERR_PARSE, at(p, 4), "bad JSON", NULL);
    p = JSONL_BAD_AT4("e_obj.jsonl", "[\"text\", \"a\"]");
    expect_error("not an object", p, A, MLTC_ERR_PARSE, at(p, 4), "object", NULL);
    p = JSONL_BAD_AT4("e_trail.jsonl", "{\"text\": \"x\"} trailing");
    expect_error("trailing garbage", p, A, MLTC_ERR_PARSE, at(p, 4), "bad JSON", NULL);
    p = JSONL_BAD_AT4("e_notext.jsonl", "{\"title\": \"x\", \"labels\": []}");
    expect_error("missing text", p, A, MLTC_ERR_PARSE, at(p, 4), "missing \"text\"", NULL);
    p = JSONL_BAD_AT4("e_textnum.jsonl", "{\"text\": 5}");
    expect_error("text not a string", p, A, MLTC_ERR_PARSE, at(p, 4), "\"text\" is not a string", NULL);
    p = JSONL_BAD_AT4("e_title.jsonl", "{\"text\": \"x\", \"title\": [1]}");
    expect_error("title not a string", p, A, MLTC_ERR_PARSE, at(p, 4), "\"title\"", NULL);
    p = JSONL_BAD_AT4("e_labels.jsonl", "{\"text\": \"x\", \"labels\": \"a,b\"}");
    expect_error("labels not an array", p, A, MLTC_ERR_PARSE, at(p, 4), "not an array", NULL);
    p = JSONL_BAD_AT4("e_labelnum.jsonl", "{\"text\": \"x\", \"labels\": [\"a\", 3]}");
    expect_error("label not a string", p, A, MLTC_ERR_PARSE, at(p, 4), "\"labels\"[1]", NULL);
    p = JSONL_BAD_AT4("e_unknown.jsonl", "{\"text\": \"x\", \"labels\": [\"a\", \"zebra\"]}");
    expect_error("unknown label (jsonl)", p, A, MLTC_ERR_PARSE, at(p, 4), "'zebra'", NULL);
    p = put("e_forced.jsonl", "text\ta\n", -1);
    expect_error("tsv read as jsonl", p, J, MLTC_ERR_PARSE, at(p, 1), "bad JSON", NULL);

    p = put("e_1col.tsv", "fine\ta\nno tab here\n", -1);
    expect_error("tsv one field", p, A, MLTC_ERR_PARSE, at(p, 2), "expected 2", "got 1", NULL);
    p = put("e_3col.tsv", "fine\ta\n\nx\ta\tb\n", -1);
    expect_error("tsv three fields", p, T, MLTC_ERR_PARSE, at(p, 3), "got 3", NULL);
    p = put("e_emptyname.tsv", "x\ta,,b\n", -1);
    expect_error("tsv empty label name", p, A, MLTC_ERR_PARSE, at(p, 1), "empty label name", NULL);
    p = put("e_unknown.tsv", "x\ta\ny\tb, nope\n", -1);
    expect_error("unknown label (tsv)", p, A, MLTC_ERR_PARSE, at(p, 2), "'nope'", NULL);

    p = put("e_cols_count.tsv", "ID\ttext\ta\tb\tc\td\n1\tx\t0\t1\t0\t0\n2\ty\t0\t1\t0\n", -1);
    expect_error("columns count", p, A, MLTC_ERR_PARSE, at(p, 3), "expected 6", "got 5", NULL);
    p = put("e_cols_cell.tsv", "ID\ttext\ta\tb\tc\td\n\n1\tx\t0\t1\tyes\t0\n", -1);
    expect_error("columns cell", p, A, MLTC_ERR_PARSE, at(p, 3), "'yes'", "label 'c'", NULL);
    p = put("e_cols_extra.tsv", "ID\ttext\ta\tb\tc\td\te\n1\tx\t0\t1\t0\t0\t1\n", -1);
    expect_error("header column not a label", p, A, MLTC_ERR_PARSE, at(p, 1), "'e'", "not in the labels file", NULL);
    p = put("e_cols_missing.tsv", "ID\ttext\ta\tb\tc\n1\tx\t0\t1\t0\n", -1);
    expect_error("label without a column", p, A, MLTC_ERR_PARSE, at(p, 1), "'d'", "no column", NULL);
    p = put("e_cols_dup.tsv", "ID\ttext\ta\tb\tc\td\ta\n", -1);
    expect_error("duplicate label column", p, A, MLTC_ERR_PARSE, at(p, 1), "both name label 'a'", NULL);
    p = put("e_cols_notext.tsv", "ID\tmessage\ta\tb\tc\td\n", -1);
    expect_error("no text column", p, C, MLTC_ERR_PARSE, at(p, 1), "no text column", NULL);
    p = put("e_cols_nolabels.tsv", "ID\ttext\n", -1);
    expect_error("no label columns", p, C, MLTC_ERR_PARSE, at(p, 1), "no label columns", NULL);

    p = put("e_nul.tsv", "x\ta\ny\0z\tb\n", 10);
    expect_error("NUL byte", p, A, MLTC_ERR_PARSE, at(p, 2), "NUL", NULL);
    expect_error("missing file", "/nonexistent/data.jsonl", A, MLTC_ERR_IO, "/nonexistent/data.jsonl", NULL);
#undef JSONL_BAD_AT4
}

static void test_skip_bad(void) {
    /* 4 good lines (1, 3, 6, 10) and 7 bad ones: more than DATASET_MAX_REASONS. */
    const char *p = put("skip.jsonl",
                        "{\"text\": \"g1\", \"labels\": [\"a\"]}\n"
                        "{\"text\": \"bad json\n"
                        "{\"text\": \"g2\"}\n"
                        "{\"labels\": [\"a\"]}\n"
                        "{\"text\": \"x\", \"labels\": [\"nope\"]}\n"
                        "{\"text\": \"g3\", \"labels\": [\"c\", \"d\"]}\n"
                        "[1]\n"
                        "{\"text\": 1}\n"
                        "{\"text\": \"x\", \"labels\": 1}\n"
                        "{\"text\": \"g4\", \"labels\": [\"b\"]}\n"
                        "{\"text\": \"x\", \"labels\": [2]}\n",
                        -1);
    mltc_error err = {0};
    dataset d;
    dataset_options opt = {.format = DATASET_AUTO, .skip_bad = 1};
    tu_must(dataset_load(&err, p, &abcd, &opt, &d), &err, "skip_bad");
    tu_check(d.n == 4 && d.skipped == 7, "skip_bad kept %zu, skipped %zu; expected 4 and 7", d.n, d.skipped);
    tu_check(d.n_reasons == DATASET_MAX_REASONS, "skip_bad kept %d reasons, expected %d", d.n_reasons,
             DATASET_MAX_REASONS);
    tu_check(d.n_reasons > 0 && strstr(d.reasons[0], at(p, 2)) && strstr(d.reasons[0], "bad JSON"),
             "first reason names line 2: %s", d.n_reasons ? d.reasons[0] : "");
    tu_check(d.n_reasons > 4 && strstr(d.reasons[4], at(p, 8)), "fifth reason names line 8: %s",
             d.n_reasons > 4 ? d.reasons[4] : "");
    if (d.n == 4)
        tu_check(!strcmp(d.ex[2].text, "g3") && !strcmp(row(&d, 2), "0011") && d.ex[3].line == 10 &&
                     !strcmp(row(&d, 3), "0100"),
                 "skip_bad keeps the good lines in order");
    dataset_free(&d);

    /* Header errors are never skipped. */
    p = put("skip_hdr.tsv", "ID\ttext\ta\tb\tc\n1\tx\t0\t1\t0\n", -1);
    tu_status(dataset_load(&err, p, &abcd, &opt, &d), MLTC_ERR_PARSE, &err, "skip_bad with a bad header");
    /* Bad rows of a column file are. */
    p = put("skip_rows.tsv", "ID\ttext\ta\tb\tc\td\n1\tx\t0\t1\t0\t0\n2\ty\t0\t2\t0\t0\n3\tz\t1\n4\tw\t1\t1\t1\t1\n", -1);
    tu_must(dataset_load(&err, p, &abcd, &opt, &d), &err, "skip_bad rows");
    tu_check(d.n == 2 && d.skipped == 2 && d.ex[1].line == 5, "skip_bad rows: kept %zu, skipped %zu", d.n, d.skipped);
    dataset_free(&d);
}

static void test_format_names(void) {
    mltc_error err = {0};
    dataset_format f = DATASET_AUTO;
    const char *names[] = {"auto", "jsonl", "tsv", "tsv-columns"};
    for (int i = 0; i < 4; i++) {
        tu_must(dataset_format_parse(&err, names[i], &f), &err, names[i]);
        tu_check((int)f == i && !strcmp(dataset_format_name(f), names[i]), "format %s round trip", names[i]);
    }
    tu_status(dataset_format_parse(&err, "csv", &f), MLTC_ERR_INVALID_ARGUMENT, &err, "format csv");
    tu_check(strstr(err.msg, "'csv'") && strstr(err.msg, "tsv-columns"), "format error lists choices: %s", err.msg);
}

/* ---- the datasets in data/ ------------------------------------------------------------------- */

static int starts_with(const char *s, const char *prefix) { return !strncmp(s, prefix, strlen(prefix)); }

static size_t positives(const dataset *d) {
    size_t n = 0;
    for (size_t i = 0; i < d->n * (size_t)d->n_labels; i++) n += d->y[i];
    return n;
}

static int has_labels(const dataset *d, const labels *l, size_t i, const char *const *names, int count) {
    int want = 0;
    for (int k = 0; k < count; k++) {
        int j = labels_find(l, names[k]);
        if (j < 0 || !d->ex[i].labels[j]) return 0;
    }
    for (int j = 0; j < d->n_labels; j++) want += d->ex[i].labels[j];
    return want == count;
}

static void test_reuters(void) {
    char lp[1200], tp[1200], sp[1200];
    snprintf(lp, sizeof lp, "%s", tu_data_file("reuters-modapte/labels.txt"));
    snprintf(tp, sizeof tp, "%s", tu_data_file("reuters-modapte/train.jsonl"));
    snprintf(sp, sizeof sp, "%s", tu_data_file("reuters-modapte/test.jsonl"));
    mltc_error err = {0};
    labels l;
    tu_must(labels_load(&err, lp, &l), &err, "reuters labels");
    tu_check(l.count == 90, "reuters: %d labels, expected 90", l.count);
    dataset d;
    tu_must(dataset_load(&err, tp, &l, NULL, &d), &err, "reuters train");
    tu_check(d.format == DATASET_JSONL && d.n == 7770, "reuters train: %zu examples (%s), expected 7770 jsonl", d.n,
             dataset_format_name(d.format));
    /* Counted with Python's json module: 9,585 labels in all. */
    tu_check(positives(&d) == 9585, "reuters train: %zu labels in all, expected 9585", positives(&d));
    tu_check(fabs(dataset_label_cardinality(&d) - 9585.0 / 7770.0) < 1e-12, "reuters train: %g labels a document",
             dataset_label_cardinality(&d));
    if (d.n == 7770) {
        static const char *const l0[] = {"cocoa"};
        static const char *const l2[] = {"corn",    "grain",   "lin-oil", "oilseed", "sorghum", "soy-oil",
                                         "soybean", "sun-oil", "sunseed", "veg-oil", "wheat"};
        static const char *const l144[] = {"coffee",     "copra-cake", "corn",     "cotton", "grain",
                                           "palm-oil",   "palmkernel", "rice",     "rubber", "soy-meal",
                                           "soybean",    "sugar",      "tea",      "veg-oil", "wheat"};
        static const char *const l7769[] = {"ship"};
        tu_check(has_labels(&d, &l, 0, l0, 1), "reuters id 1 is cocoa only");
        tu_check(starts_with(d.ex[0].text, "BAHIA COCOA REVIEW\nShowers continued throughout the week in\nthe Bahia"),
                 "reuters id 1 text is title + newline + text: %.60s", d.ex[0].text);
        tu_check(has_labels(&d, &l, 2, l2, 11), "reuters id 6 has its 11 labels");
        tu_check(has_labels(&d, &l, 144, l144, 15), "reuters id 235 has its 15 labels");
        tu_check(has_labels(&d, &l, 7769, l7769, 1) && d.ex[7769].line == 7770, "reuters id 14818 is ship, line 7770");
        /* id 99 has an empty title: its text must not start with the join's newline. */
        tu_check(starts_with(d.ex[61].text, "FEDERAL RESERVE WEEKLY REPORT 1"), "reuters id 99 (no title): %.40s",
                 d.ex[61].text);
    }
    dataset_free(&d);
    tu_must(dataset_load(&err, sp, &l, NULL, &d), &err, "reuters test");
    tu_check(d.n == 3019, "reuters test: %zu examples, expected 3019", d.n);
    dataset_free(&d);
    labels_free(&l);
}

static void test_semeval(void) {
    static const char *const emotions[] = {"anger", "anticipation", "disgust", "fear",     "joy",  "love",
                                           "optimism", "pessimism", "sadness", "surprise", "trust"};
    char tp[1200], dp[1200], sp[1200];
    snprintf(tp, sizeof tp, "%s", tu_data_file("semeval2018-ec/train.tsv"));
    snprintf(dp, sizeof dp, "%s", tu_data_file("semeval2018-ec/dev.tsv"));
    snprintf(sp, sizeof sp, "%s", tu_data_file("semeval2018-ec/test.tsv"));
    mltc_error err = {0};
    labels l;
    tu_must(dataset_header_labels(&err, tp, &l), &err, "semeval header labels");
    tu_check(l.count == 11, "semeval: %d labels from the header, expected 11", l.count);
    for (int j = 0; j < l.count && j < 11; j++)
        tu_check(!strcmp(l.names[j], emotions[j]), "semeval label %d '%s', expected '%s'", j, l.names[j], emotions[j]);
    labels_free(&l);

    /* A labels file in another order than the columns: rows must follow the file's order. */
    char lbl_text[256] = "";
    for (int j = 10; j >= 0; j--) {
        strcat(lbl_text, emotions[j]);
        strcat(lbl_text, "\n");
    }
    tu_must(labels_load(&err, put("semeval_labels.txt", lbl_text, -1), &l), &err, "semeval labels file");
    dataset d;
    tu_must(dataset_load(&err, tp, &l, NULL, &d), &err, "semeval train");
    tu_check(d.format == DATASET_TSV_COLUMNS && d.n == 6838, "semeval train: %zu examples (%s), expected 6838", d.n,
             dataset_format_name(d.format));
    /* Counted with Python's csv module: 16,048 labels; 204 tweets with none. */
    size_t none = 0;
    for (size_t i = 0; i < d.n; i++) {
        int any = 0;
        for (int j = 0; j < d.n_labels; j++) any |= d.ex[i].labels[j];
        none += !any;
    }
    tu_check(positives(&d) == 16048 && none == 204, "semeval train: %zu labels, %zu without; expected 16048, 204",
             positives(&d), none);
    if (d.n == 6838) {
        static const char *const r0[] = {"anticipation", "optimism", "trust"};
        static const char *const r2[] = {"anger", "disgust", "joy", "optimism"};
        static const char *const r3[] = {"joy", "optimism"};
        static const char *const rlast[] = {"pessimism"};
        tu_check(has_labels(&d, &l, 0, r0, 3) && d.ex[0].line == 2, "semeval 2017-En-21441 labels");
        tu_check(starts_with(d.ex[0].text, "\xE2\x80\x9CWorry is a down payment"), "semeval first tweet: %.30s",
                 d.ex[0].text);
        tu_check(has_labels(&d, &l, 2, r2, 4), "semeval 2017-En-21068 labels");
        tu_check(has_labels(&d, &l, 3, r3, 2) && starts_with(d.ex[3].text, "Accept the challenges"),
                 "semeval 2017-En-31436 labels");
        tu_check(has_labels(&d, &l, 6837, rlast, 1) && d.ex[6837].line == 6839, "semeval 2017-En-31003 labels");
    }
    dataset_free(&d);
    tu_must(dataset_load(&err, dp, &l, NULL, &d), &err, "semeval dev");
    tu_check(d.n == 886, "semeval dev: %zu examples, expected 886", d.n);
    dataset_free(&d);
    tu_must(dataset_load(&err, sp, &l, NULL, &d), &err, "semeval test");
    tu_check(d.n == 3259, "semeval test: %zu examples, expected 3259", d.n);
    dataset_free(&d);
    labels_free(&l);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/mltc_test_dataset_XXXXXX");
    if (!tu_mkdtemp(tmpdir, sizeof tmpdir)) tu_must(MLTC_ERR_IO, NULL, "mkdtemp");
    mltc_error err = {0};
    tu_must(labels_load(&err, put("abcd.txt", "a\nb\nc\nd\n", -1), &abcd), &err, "labels a..d");

    test_labels();
    test_jsonl();
    test_tsv();
    test_tsv_columns();
    test_empty_file();
    test_errors();
    test_skip_bad();
    test_format_names();
    test_reuters();
    test_semeval();

    labels_free(&abcd);
    for (int i = 0; i < n_written; i++) remove(written[i]);
    plat_remove_dir(tmpdir);
    return tu_finish();
}
