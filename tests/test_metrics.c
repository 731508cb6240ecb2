/* Multi-label metrics on hand-computed cases (the arithmetic is in the comments), a random case
 * checked against scikit-learn, the JSON writer's keys, and the `mltc metrics` command itself. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "run/metrics.h"
#include "testutil.h"

static int near(double a, double b) { return fabs(a - b) < 1e-12; }

typedef struct expect {
    double hamming, micro_p, micro_r, micro_f1, macro_f1, subset, jaccard;
} expect;

static void check_metrics(const char *what, const metrics *m, expect x) {
    tu_check(near(m->hamming_loss, x.hamming), "%s: hamming_loss %.15g, expected %.15g", what, m->hamming_loss, x.hamming);
    tu_check(near(m->micro_precision, x.micro_p), "%s: micro_precision %.15g, expected %.15g", what, m->micro_precision,
             x.micro_p);
    tu_check(near(m->micro_recall, x.micro_r), "%s: micro_recall %.15g, expected %.15g", what, m->micro_recall, x.micro_r);
    tu_check(near(m->micro_f1, x.micro_f1), "%s: micro_f1 %.15g, expected %.15g", what, m->micro_f1, x.micro_f1);
    tu_check(near(m->macro_f1, x.macro_f1), "%s: macro_f1 %.15g, expected %.15g", what, m->macro_f1, x.macro_f1);
    tu_check(near(m->subset_accuracy, x.subset), "%s: subset_accuracy %.15g, expected %.15g", what, m->subset_accuracy,
             x.subset);
    tu_check(near(m->micro_jaccard, x.jaccard), "%s: micro_jaccard %.15g, expected %.15g", what, m->micro_jaccard,
             x.jaccard);
}

static void check_label(const char *what, const metrics *m, int j, double p, double r, double f1, size_t support,
                        size_t predicted) {
    const metrics_label *l = &m->per_label[j];
    tu_check(near(l->precision, p) && near(l->recall, r) && near(l->f1, f1) && l->support == support &&
                 l->predicted == predicted,
             "%s label %d: P %g R %g F1 %g support %zu predicted %zu, expected %g %g %g %zu %zu", what, j, l->precision,
             l->recall, l->f1, l->support, l->predicted, p, r, f1, support, predicted);
}

/* Case A, 3 examples x 4 labels:
 *   gold  1010 / 0100 / 1100      pred  1000 / 0101 / 1100
 * label 0: gold {0,2} pred {0,2}: TP 2           -> P 1, R 1, F1 1
 * label 1: gold {1,2} pred {1,2}: TP 2           -> P 1, R 1, F1 1
 * label 2: gold {0}   pred {}   : FN 1           -> P 0 (0/0), R 0, F1 0/(0+0+1) = 0
 * label 3: gold {}    pred {1}  : FP 1           -> P 0, R 0 (0/0), F1 0
 * micro: TP 4, FP 1, FN 1 -> P 4/5, R 4/5, F1 8/10, Jaccard 4/6; Hamming (1+1)/12;
 * subset: only example 2 is exact -> 1/3; macro-F1 (1+1+0+0)/4 = 0.5. */
static const uint8_t A_gold[] = {1, 0, 1, 0, 0, 1, 0, 0, 1, 1, 0, 0};
static const uint8_t A_pred[] = {1, 0, 0, 0, 0, 1, 0, 1, 1, 1, 0, 0};
static const expect A_expect = {2.0 / 12, 0.8, 0.8, 0.8, 0.5, 1.0 / 3, 4.0 / 6};

static void test_case_a(void) {
    mltc_error err = {0};
    metrics m;
    tu_must(metrics_compute(&err, A_gold, A_pred, 3, 4, &m), &err, "case A");
    check_metrics("case A", &m, A_expect);
    check_label("case A", &m, 0, 1, 1, 1, 2, 2);
    check_label("case A", &m, 1, 1, 1, 1, 2, 2);
    check_label("case A", &m, 2, 0, 0, 0, 1, 0);
    check_label("case A", &m, 3, 0, 0, 0, 0, 1);
    tu_check(m.tp == 4 && m.fp == 1 && m.fn == 1, "case A counts TP %zu FP %zu FN %zu, expected 4 1 1", m.tp, m.fp, m.fn);
    tu_check(m.n_examples == 3 && m.n_labels == 4, "case A sizes %zu x %d", m.n_examples, m.n_labels);
    metrics_free(&m);
    tu_check(m.per_label == NULL, "metrics_free clears per_label");
}

/* Case B, a label nobody uses, 2 x 3:  gold 100 / 010   pred 100 / 110
 * label 0: TP 1, FP 1 -> P 1/2, R 1, F1 2/(2+1) = 2/3
 * label 1: TP 1       -> F1 1
 * label 2: no gold, no prediction -> F1 0 (sklearn's default zero_division), still averaged in
 * macro-F1 = (2/3 + 1 + 0)/3 = 5/9; micro TP 2, FP 1, FN 0 -> P 2/3, R 1, F1 4/5, J 2/3;
 * Hamming 1/6; subset 1/2. */
static void test_case_unused_label(void) {
    const uint8_t gold[] = {1, 0, 0, 0, 1, 0}, pred[] = {1, 0, 0, 1, 1, 0};
    mltc_error err = {0};
    metrics m;
    tu_must(metrics_compute(&err, gold, pred, 2, 3, &m), &err, "case B");
    check_metrics("case B", &m, (expect){1.0 / 6, 2.0 / 3, 1.0, 0.8, 5.0 / 9, 0.5, 2.0 / 3});
    check_label("case B", &m, 0, 0.5, 1, 2.0 / 3, 1, 2);
    check_label("case B", &m, 2, 0, 0, 0, 0, 0);
    metrics_free(&m);
}

/* Case C, empty predictions against case A's gold (5 positives): TP 0, FP 0, FN 5 -> every ratio
 * 0 (0/0 and 0/5); Hamming 5/12; subset 0 (every gold row has a label); macro 0. */
static void test_empty_predictions(void) {
    const uint8_t pred[12] = {0};
    mltc_error err = {0};
    metrics m;
    tu_must(metrics_compute(&err, A_gold, pred, 3, 4, &m), &err, "case C");
    check_metrics("empty predictions", &m, (expect){5.0 / 12, 0, 0, 0, 0, 0, 0});
    metrics_free(&m);
}

/* Case D, examples without gold labels, 3 x 2:  gold 00 / 00 / 10   pred 00 / 01 / 10
 * label 0: TP 1 -> F1 1; label 1: FP 1 -> F1 0; macro 1/2.
 * micro TP 1, FP 1, FN 0 -> P 1/2, R 1, F1 2/3, J 1/2; Hamming 1/6;
 * subset: example 0 (both empty) and 2 exact -> 2/3. */
static void test_no_gold_labels(void) {
    const uint8_t gold[] = {0, 0, 0, 0, 1, 0}, pred[] = {0, 0, 0, 1, 1, 0};
    mltc_error err = {0};
    metrics m;
    tu_must(metrics_compute(&err, gold, pred, 3, 2, &m), &err, "case D");
    check_metrics("no gold labels", &m, (expect){1.0 / 6, 0.5, 1.0, 2.0 / 3, 0.5, 2.0 / 3, 0.5});
    metrics_free(&m);
}

/* Case E, all zero, 2 x 2: nothing positive anywhere -> P, R, F1, J, macro 0 (zero_division=0);
 * nothing wrong either -> Hamming 0, subset 1. */
static void test_all_zero(void) {
    const uint8_t z[4] = {0};
    mltc_error err = {0};
    metrics m;
    tu_must(metrics_compute(&err, z, z, 2, 2, &m), &err, "case E");
    check_metrics("all zero", &m, (expect){0, 0, 0, 0, 0, 1, 0});
    metrics_free(&m);
}

/* Case F, perfect prediction of case A's gold: micro scores 1, Hamming 0, subset 1; label 3 has
 * no gold and no prediction, so its F1 is 0 and macro-F1 = 3/4, not 1 (as sklearn). */
static void test_perfect(void) {
    mltc_error err = {0};
    metrics m;
    tu_must(metrics_compute(&err, A_gold, A_gold, 3, 4, &m), &err, "case F");
    check_metrics("perfect", &m, (expect){0, 1, 1, 1, 0.75, 1, 1});
    metrics_free(&m);
}

/* Any non-zero byte is a positive. */
static void test_nonzero_is_positive(void) {
    uint8_t gold[12], pred[12];
    for (int i = 0; i < 12; i++) {
        gold[i] = A_gold[i] ? 7 : 0;
        pred[i] = A_pred[i] ? 255 : 0;
    }
    mltc_error err = {0};
    metrics m;
    tu_must(metrics_compute(&err, gold, pred, 3, 4, &m), &err, "non-zero bytes");
    check_metrics("non-zero bytes", &m, A_expect);
    metrics_free(&m);
}

/* Case A's predictions as probabilities: positive iff p > 0.5, so exactly 0.5 and NaN are negative. */
static void test_from_probs(void) {
    const float probs[12] = {0.9f, 0.1f, 0.5f, 0.0f, 0.2f, 0.51f, NAN, 0.99f, 1.0f, 0.7f, 0.3f, 0.5f};
    mltc_error err = {0};
    metrics m;
    tu_must(metrics_from_probs(&err, A_gold, probs, 3, 4, 0.5f, &m), &err, "from probs");
    check_metrics("from probs", &m, A_expect);
    metrics_free(&m);
    /* At threshold 0.95 only 0.99 and 1.0 survive: preds {e1:l3, e2:l0}; TP 1 (e2 l0), FP 1, FN 4
     * -> micro P 1/2, R 1/5, F1 2/7. */
    tu_must(metrics_from_probs(&err, A_gold, probs, 3, 4, 0.95f, &m), &err, "from probs 0.95");
    tu_check(near(m.micro_precision, 0.5) && near(m.micro_recall, 0.2) && near(m.micro_f1, 2.0 / 7),
             "threshold 0.95: P %g R %g F1 %g, expected 0.5 0.2 0.285714", m.micro_precision, m.micro_recall,
             m.micro_f1);
    metrics_free(&m);
}

static void test_bad_arguments(void) {
    mltc_error err = {0};
    metrics m;
    tu_status(metrics_compute(&err, A_gold, A_pred, 0, 4, &m), MLTC_ERR_INVALID_ARGUMENT, &err, "no examples");
    tu_check(strstr(err.msg, "nothing to score") != NULL, "no examples message: %s", err.msg);
    tu_status(metrics_compute(&err, A_gold, A_pred, 3, 0, &m), MLTC_ERR_INVALID_ARGUMENT, &err, "no labels");
    tu_status(metrics_compute(&err, NULL, A_pred, 3, 4, &m), MLTC_ERR_INVALID_ARGUMENT, &err, "null gold");
    tu_status(metrics_from_probs(&err, A_gold, NULL, 3, 4, 0.5f, &m), MLTC_ERR_INVALID_ARGUMENT, &err, "null probs");
}

/* 40 x 6 pseudo-random matrices (below) scored by scikit-learn 1.x:
 *   python3 -c "
 *   import numpy as np; from sklearn import metrics as M
 *   s=12345; v=[]
 *   for _ in range(480): s=(s*1103515245+12345)%2**31; v.append((s>>16)&7)
 *   a=np.array(v).reshape(2,40,6); g=(a[0]<2).astype(int); p=(a[1]<2).astype(int); p[:,5]=0; g[:,5]=0
 *   print(M.hamming_loss(g,p), M.precision_score(g,p,average='micro'), M.recall_score(g,p,average='micro'),
 *         M.f1_score(g,p,average='micro'), M.f1_score(g,p,average='macro'), M.accuracy_score(g,p),
 *         M.jaccard_score(g,p,average='micro'))"
 * Label 5 is forced empty in both so the zero_division convention is exercised too. */
static void random_matrices(uint8_t *gold, uint8_t *pred) {
    uint64_t s = 12345;
    uint8_t v[480];
    for (int i = 0; i < 480; i++) {
        s = (s * 1103515245u + 12345u) % 2147483648u;
        v[i] = (uint8_t)((s >> 16) & 7);
    }
    for (int i = 0; i < 240; i++) {
        gold[i] = v[i] < 2 && i % 6 != 5;
        pred[i] = v[240 + i] < 2 && i % 6 != 5;
    }
}

static void test_against_sklearn(void) {
    uint8_t gold[240], pred[240];
    random_matrices(gold, pred);
    mltc_error err = {0};
    metrics m;
    tu_must(metrics_compute(&err, gold, pred, 40, 6, &m), &err, "random vs sklearn");
    /* scikit-learn 1.9.1 printed (pip install scikit-learn): */
    check_metrics("random vs sklearn", &m,
                  (expect){0.2708333333333333, 0.30357142857142855, 0.3953488372093023, 0.3434343434343434,
                           0.28428289976277593, 0.15, 0.2073170731707317});
    tu_check(m.tp == 17 && m.tp + m.fp == 56 && m.tp + m.fn == 43, "random: TP %zu, predicted %zu, gold %zu; sklearn "
             "counts 17, 56, 43", m.tp, m.tp + m.fp, m.tp + m.fn);
    metrics_free(&m);
}

static void test_json(void) {
    mltc_error err = {0};
    metrics m;
    tu_must(metrics_compute(&err, A_gold, A_pred, 3, 4, &m), &err, "json case");
    char *s = metrics_json_string(&m, 0);
    tu_check(s != NULL, "metrics_json_string returned NULL");
    cJSON *o = s ? cJSON_Parse(s) : NULL;
    tu_check(cJSON_IsObject(o), "JSON does not parse back: %s", s ? s : "(null)");
    static const char *const keys[] = {"hamming_loss",    "micro_precision", "micro_recall",
                                       "micro_f1",        "macro_f1",        "subset_accuracy",
                                       "micro_jaccard",   "n_examples",      "n_labels"};
    const double want[] = {2.0 / 12, 0.8, 0.8, 0.8, 0.5, 1.0 / 3, 4.0 / 6, 3, 4};
    tu_check(cJSON_GetArraySize(o) == 9, "JSON has %d keys, expected 9: %s", cJSON_GetArraySize(o), s ? s : "");
    for (int i = 0; i < 9; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, keys[i]);
        tu_check(cJSON_IsNumber(v) && near(v->valuedouble, want[i]), "JSON %s: %g, expected %g", keys[i],
                 cJSON_IsNumber(v) ? v->valuedouble : NAN, want[i]);
    }
    cJSON_Delete(o);
    free(s);
    metrics_free(&m);
    tu_check(metrics_to_json(NULL) == NULL && metrics_json_string(NULL, 1) == NULL, "JSON of no metrics is NULL");
}

/* ---- the command line ------------------------------------------------------------------------ */

static char tmpdir[256];
static char mltc_path[2100];

/* The CLI is built next to the tests' folder: build/mltc and build/tests/test_metrics. */
static int find_cli(void) {
    char self[2048];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) return 0;
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (!slash) return 0;
    *slash = '\0';
    snprintf(mltc_path, sizeof mltc_path, "%s/../mltc", self);
    return access(mltc_path, X_OK) == 0;
}

static void write_file(const char *name, const char *text, char *path, size_t cap) {
    snprintf(path, cap, "%s/%s", tmpdir, name);
    if (tu_write_file(path, text)) tu_must(MLTC_ERR_IO, NULL, path);
}

/* Runs the CLI with args; returns its exit code and its stdout+stderr in out. */
static int run_cli(const char *args, char *out, size_t cap) {
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "'%s' metrics %s 2>&1", mltc_path, args);
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_cli(void) {
    if (!tu_check(find_cli(), "mltc CLI not found at %s (expected beside the tests folder)", mltc_path)) return;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/mltc_test_metrics_XXXXXX");
    if (!tu_mkdtemp(tmpdir, sizeof tmpdir)) tu_must(MLTC_ERR_IO, NULL, "mkdtemp");
    char labels[512], gold[512], pred[512], short_pred[512], args[4096], out[16384];
    write_file("labels.txt", "a\nb\nc\nd\n", labels, sizeof labels);
    /* Case A: gold as JSONL, predictions as text<TAB>labels TSV; the formats are detected per file. */
    write_file("gold.jsonl",
               "{\"text\": \"one\", \"labels\": [\"a\", \"c\"]}\n{\"text\": \"two\", \"labels\": [\"b\"]}\n"
               "{\"text\": \"three\", \"labels\": [\"a\", \"b\"]}\n",
               gold, sizeof gold);
    write_file("pred.tsv", "one\ta\ntwo\tb,d\nthree\ta,b\n", pred, sizeof pred);
    write_file("short.tsv", "one\ta\ntwo\tb,d\n", short_pred, sizeof short_pred);

    snprintf(args, sizeof args, "--gold '%s' --pred '%s' --labels '%s' --json", gold, pred, labels);
    int rc = run_cli(args, out, sizeof out);
    cJSON *o = cJSON_Parse(out);
    tu_check(rc == 0 && cJSON_IsObject(o), "cli --json: exit %d, output: %s", rc, out);
    const cJSON *f1 = cJSON_GetObjectItemCaseSensitive(o, "micro_f1");
    const cJSON *mf1 = cJSON_GetObjectItemCaseSensitive(o, "macro_f1");
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(o, "n_examples");
    tu_check(cJSON_IsNumber(f1) && near(f1->valuedouble, 0.8) && cJSON_IsNumber(mf1) && near(mf1->valuedouble, 0.5) &&
                 cJSON_IsNumber(n) && n->valuedouble == 3,
             "cli --json values: %s", out);
    cJSON_Delete(o);

    snprintf(args, sizeof args, "--gold '%s' --pred '%s' --labels '%s'", gold, pred, labels);
    rc = run_cli(args, out, sizeof out);
    tu_check(rc == 0 && strstr(out, "micro F1") && strstr(out, "0.8000") && strstr(out, "precision"),
             "cli summary: exit %d, output: %s", rc, out);

    snprintf(args, sizeof args, "--gold '%s' --pred '%s' --labels '%s'", gold, short_pred, labels);
    rc = run_cli(args, out, sizeof out);
    tu_check(rc == 1 && strstr(out, "3 examples") && strstr(out, "2"), "cli count mismatch: exit %d, output: %s", rc,
             out);

    snprintf(args, sizeof args, "--gold '%s' --pred '%s'", gold, pred);
    rc = run_cli(args, out, sizeof out);
    tu_check(rc == 2 && strstr(out, "--labels is required"), "cli without --labels: exit %d, expected 2: %s", rc, out);
    /* Without --labels, a tsv-columns gold file's header names the labels. */
    write_file("gold_cols.tsv", "ID\ttext\ta\tb\tc\td\n1\tone\t1\t0\t1\t0\n2\ttwo\t0\t1\t0\t0\n3\tthree\t1\t1\t0\t0\n",
               gold, sizeof gold);
    snprintf(args, sizeof args, "--gold '%s' --pred '%s' --json", gold, pred);
    rc = run_cli(args, out, sizeof out);
    o = cJSON_Parse(out);
    f1 = cJSON_GetObjectItemCaseSensitive(o, "micro_f1");
    tu_check(rc == 0 && cJSON_IsNumber(f1) && near(f1->valuedouble, 0.8), "cli labels from the gold header: exit %d: %s",
             rc, out);
    cJSON_Delete(o);
    rc = run_cli("--gold", out, sizeof out);
    tu_check(rc == 2, "cli --gold without a value: exit %d, expected 2: %s", rc, out);
    rc = run_cli("--bogus", out, sizeof out);
    tu_check(rc == 2, "cli unknown option: exit %d, expected 2: %s", rc, out);
    snprintf(args, sizeof args, "--gold '%s' --pred '%s' --labels '%s' --format xml", gold, pred, labels);
    rc = run_cli(args, out, sizeof out);
    tu_check(rc == 2 && strstr(out, "xml"), "cli bad --format: exit %d: %s", rc, out);
    rc = run_cli("--help", out, sizeof out);
    tu_check(rc == 0 && strstr(out, "--gold"), "cli --help: exit %d: %s", rc, out);
    /* An unknown label in the predictions is an error naming file:line and the label. */
    write_file("bad.tsv", "one\ta\ntwo\tb,zz\nthree\ta\n", pred, sizeof pred);
    snprintf(args, sizeof args, "--gold '%s' --pred '%s' --labels '%s'", gold, pred, labels);
    rc = run_cli(args, out, sizeof out);
    tu_check(rc == 1 && strstr(out, "bad.tsv:2:") && strstr(out, "'zz'"), "cli unknown label: exit %d: %s", rc, out);

    const char *names[] = {"labels.txt", "gold.jsonl", "pred.tsv", "short.tsv", "bad.tsv", "gold_cols.tsv"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char p[512];
        snprintf(p, sizeof p, "%s/%s", tmpdir, names[i]);
        remove(p);
    }
    rmdir(tmpdir);
}

int main(void) {
    test_case_a();
    test_case_unused_label();
    test_empty_predictions();
    test_no_gold_labels();
    test_all_zero();
    test_perfect();
    test_nonzero_is_positive();
    test_from_probs();
    test_bad_arguments();
    test_against_sklearn();
    test_json();
    test_cli();
    return tu_finish();
}
