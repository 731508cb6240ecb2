/* Data parallel training under mpirun (mltc train in N processes, src/run/data_parallel.c):
 * - 2 ranks compute the per-step losses of one process with the same micro-batch (the parts
 *   draw their own dropout masks, so the ranks must run exactly the parts one process runs),
 *   and end on the same weights up to the order of adding the gradients;
 * - the in-order sum (--reduce in-order) is bitwise reproducible: two 3-rank runs give the same
 *   bits, and match one process as well;
 * - a 2-rank run resumes with 1 and with 2 ranks on the uninterrupted run's losses;
 * - SIGTERM stops both ranks after the same step, with OUT/last written;
 * - a rank given a bad device, or killed mid-run, makes mpirun exit non-zero within a timeout,
 *   OUT/last intact.
 * The mltc command and mpirun come from CMake; without MPI the test is skipped.
 */
/* ctest: per-backend */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "testutil.h"

#ifndef MLTC_MPIEXEC
int main(void) {
    printf("SKIP: built without MPI (CMake found none)\n");
    return TU_SKIP;
}
#else

#define STEPS_PER_EPOCH 3 /* 12 examples, batch 4 */

static char dir[] = "/tmp/mltc_mpiXXXXXX";
static char common[4096]; /* the options every run shares */
static const char *device_spec; /* each rank's device */

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* mpirun with the flags of a 2-core CI machine run as root, one thread a rank. After passing on
 * a SIGTERM (or when a rank failed), mpirun waits odls_base_sigkill_timeout seconds (default 1)
 * per process before it kills them, even when they have finished; grace_s 0 keeps the default. */
static void mpirun_grace(char *buf, size_t size, int ranks, int grace_s) {
    char grace[64] = "";
    if (grace_s > 0) snprintf(grace, sizeof grace, "--mca odls_base_sigkill_timeout %d", grace_s);
    snprintf(buf, size,
             "%s --allow-run-as-root --oversubscribe --bind-to none -x OMP_NUM_THREADS=1 -x OMP_WAIT_POLICY=passive "
             "%s -np %d",
             MLTC_MPIEXEC, grace, ranks);
}

static void mpirun(char *buf, size_t size, int ranks) { mpirun_grace(buf, size, ranks, 0); }

static void nap(void) {
    struct timespec ts = {0, 20000000};
    nanosleep(&ts, NULL);
}

static pid_t spawn(const char *cmd) {
    pid_t pid = fork();
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* The exit status of pid, or -1 after killing it when it outlives timeout_s. */
static int wait_for(pid_t pid, double timeout_s, double *took) {
    double t0 = now_s();
    for (;;) {
        int status = 0;
        pid_t got = waitpid(pid, &status, WNOHANG);
        if (got == pid) {
            if (took) *took = now_s() - t0;
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
        if (now_s() - t0 > timeout_s) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            if (took) *took = now_s() - t0;
            return -1;
        }
        nap();
    }
}

/* Runs `ranks` processes of mltc train (0: one process without mpirun, on the backend's first
 * device) with extra options into out; stderr goes to out.err. Returns the exit status. */
static int train(int ranks, const char *out, const char *extra) {
    char cmd[8192], mpi[1024] = "", one[64];
    snprintf(one, sizeof one, "%.*s", (int)strcspn(device_spec, ":"), device_spec);
    if (ranks > 0) mpirun(mpi, sizeof mpi, ranks);
    snprintf(cmd, sizeof cmd, "OMP_NUM_THREADS=1 exec %s %s train %s --device %s --out %s %s 2>%s.err", mpi, MLTC_CLI,
             common, ranks > 0 ? device_spec : one, out, extra, out);
    int rc = wait_for(spawn(cmd), 300, NULL);
    if (rc != 0) {
        char path[4200];
        snprintf(path, sizeof path, "%s.err", out);
        char *text = tu_read_file(path);
        printf("  %s: exit %d:\n%s\n", out, rc, text ? text : "");
        free(text);
    }
    return rc;
}

/* The logged loss of each step 1..n (NaN where missing). */
static void losses(const char *out, double *v, int n) {
    char path[4200];
    snprintf(path, sizeof path, "%s/train_log.jsonl", out);
    for (int i = 0; i < n; i++) v[i] = NAN;
    char *text = access(path, R_OK) == 0 ? tu_read_file(path) : NULL;
    for (char *line = text; line && *line;) {
        char *end = strchr(line, '\n');
        if (end) *end = '\0';
        cJSON *o = cJSON_Parse(line);
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(o, "type"),
                    *step = cJSON_GetObjectItemCaseSensitive(o, "step"),
                    *loss = cJSON_GetObjectItemCaseSensitive(o, "loss");
        if (cJSON_IsString(type) && !strcmp(type->valuestring, "step") && cJSON_IsNumber(step) &&
            cJSON_IsNumber(loss) && step->valueint >= 1 && step->valueint <= n)
            v[step->valueint - 1] = loss->valuedouble;
        cJSON_Delete(o);
        line = end ? end + 1 : line + strlen(line);
    }
    free(text);
}

/* |a - b| / |a| of every step's loss at most rtol (0: the same bits), a and b both complete. */
static int same_losses(const char *what, const char *a, const char *b, int n, double rtol) {
    double la[64], lb[64];
    losses(a, la, n);
    losses(b, lb, n);
    double worst = 0;
    for (int i = 0; i < n; i++) {
        if (!isfinite(la[i]) || !isfinite(lb[i]))
            return tu_check(0, "%s: step %d's loss is missing (%g, %g)", what, i + 1, la[i], lb[i]);
        worst = fmax(worst, fabs(la[i] - lb[i]) / fabs(la[i]));
    }
    printf("%s: %d steps, losses %.9g .. %.9g, worst relative difference %.3g\n", what, n, la[0], la[n - 1], worst);
    return tu_check(rtol > 0 ? worst <= rtol : worst == 0, "%s: the losses differ by %.3g (allowed %.3g)", what,
                    worst, rtol);
}

/* OUT/last/model.safetensors of two runs: the same header, and the largest difference of their
 * floats over the largest weight (0: the same bits). -1 when they cannot be compared. */
static double weights_diff(const char *a, const char *b) {
    char pa[4200], pb[4200];
    snprintf(pa, sizeof pa, "%s/last/model.safetensors", a);
    snprintf(pb, sizeof pb, "%s/last/model.safetensors", b);
    FILE *fa = fopen(pa, "rb"), *fb = fopen(pb, "rb");
    double worst = -1, top = 0;
    uint64_t ha = 0, hb = 0;
    if (fa && fb && fread(&ha, 8, 1, fa) == 1 && fread(&hb, 8, 1, fb) == 1 && ha == hb && ha < (1u << 24)) {
        char *xa = malloc(ha), *xb = malloc(hb);
        if (xa && xb && fread(xa, 1, ha, fa) == ha && fread(xb, 1, hb, fb) == hb && !memcmp(xa, xb, ha)) {
            float x, y;
            worst = 0;
            while (fread(&x, 4, 1, fa) == 1 && fread(&y, 4, 1, fb) == 1) {
                worst = fmax(worst, fabs((double)x - y));
                top = fmax(top, fabs((double)x));
            }
            if (!feof(fa) || fread(&y, 4, 1, fb) == 1) worst = -1;
        }
        free(xa);
        free(xb);
    }
    if (fa) fclose(fa);
    if (fb) fclose(fb);
    return worst > 0 && top > 0 ? worst / top : worst;
}

static long saved_step(const char *out) {
    char path[4200];
    snprintf(path, sizeof path, "%s/last/mltc.json", out);
    char *text = tu_read_file(path);
    cJSON *o = text ? cJSON_Parse(text) : NULL;
    const cJSON *step = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, "extra"), "step");
    long s = cJSON_IsNumber(step) ? (long)step->valuedouble : -1;
    cJSON_Delete(o);
    free(text);
    return s;
}

/* The highest step in the log so far. */
static long logged_steps(const char *out) {
    enum { MAX = 100000 };
    double *v = malloc(sizeof *v * MAX);
    if (!v) return 0;
    losses(out, v, MAX);
    long n = 0;
    for (int i = 0; i < MAX; i++)
        if (isfinite(v[i])) n = i + 1;
    free(v);
    return n;
}

static char *path_in(const char *name) {
    static char buf[8][4200];
    static int next;
    char *p = buf[next++ % 8];
    snprintf(p, sizeof buf[0], "%s/%s", dir, name);
    return p;
}

static void check_same_numbers(void) {
    const char *one = path_in("one"), *two = path_in("two");
    int n = 2 * STEPS_PER_EPOCH;
    /* Two ranks share each batch of 4 in parts of 2: one process with --micro-batch 2. */
    if (!tu_check(train(0, one, "--micro-batch 2") == 0, "one process trains") ||
        !tu_check(train(2, two, "") == 0, "two ranks train"))
        return;
    same_losses("2 ranks vs 1 process", one, two, n, 1e-6);
    double dw = weights_diff(one, two);
    printf("2 ranks vs 1 process: final weights differ by %.3g of the largest\n", dw);
    tu_check(dw >= 0 && dw <= 1e-5, "2 ranks vs 1 process: final weights differ by %.3g", dw);
}

static void check_in_order(void) {
    const char *one = path_in("one-m1"), *a = path_in("three-a"), *b = path_in("three-b");
    int n = STEPS_PER_EPOCH + 1;
    char extra[128];
    snprintf(extra, sizeof extra, "--micro-batch 1 --max-steps %d", n);
    char in_order[160];
    snprintf(in_order, sizeof in_order, "%s --reduce in-order", extra);
    if (!tu_check(train(0, one, extra) == 0, "one process trains in parts of 1") ||
        !tu_check(train(3, a, in_order) == 0, "three ranks train, in order") ||
        !tu_check(train(3, b, in_order) == 0, "three ranks train again, in order"))
        return;
    same_losses("3 ranks in order, twice", a, b, n, 0);
    double dw = weights_diff(a, b);
    tu_check(dw == 0, "3 ranks in order, twice: final weights differ by %.3g", dw);
    same_losses("3 ranks in order vs 1 process", one, a, n, 1e-6);
}

static void check_resume(void) {
    const char *two = path_in("two"), *r1 = path_in("resume-1"), *r2 = path_in("resume-2");
    int n = 2 * STEPS_PER_EPOCH;
    /* Two ranks stop after step 2 of 6 (mid-epoch); then one rank, or two, go on. */
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "mkdir -p %s %s", r1, r2);
    if (system(cmd) != 0) return;
    if (!tu_check(train(2, r1, "--max-steps 2") == 0, "two ranks train 2 steps")) return;
    snprintf(cmd, sizeof cmd, "cp -r %s/. %s/", r1, r2);
    if (!tu_check(system(cmd) == 0, "copying the stopped run")) return;
    /* One process resumes with the parts the two ranks ran: --micro-batch 2. */
    if (tu_check(train(0, r1, "--resume --micro-batch 2") == 0, "one process resumes the 2-rank run"))
        same_losses("2 ranks, resumed by 1 process", two, r1, n, 1e-6);
    if (tu_check(train(2, r2, "--resume") == 0, "two ranks resume the 2-rank run"))
        same_losses("2 ranks, resumed by 2 ranks", two, r2, n, 1e-6);
}

/* Starts a 2-rank run of many steps whose ranks write their pids to out.pid.RANK. */
static pid_t start_long(const char *out, const char *extra, int grace_s) {
    char cmd[8192], mpi[1024];
    mpirun_grace(mpi, sizeof mpi, 2, grace_s);
    snprintf(cmd, sizeof cmd,
             "exec %s sh -c 'echo $$ > %s.pid.$OMPI_COMM_WORLD_RANK; exec %s train %s --device %s --out %s "
             "--epochs 1000 --log-every 1 %s' 2>%s.err",
             mpi, out, MLTC_CLI, common, device_spec, out, extra, out);
    return spawn(cmd);
}

/* Waits until the run in out has logged more than `steps` steps (0 after timeout_s). */
static int wait_steps(const char *out, long steps, double timeout_s) {
    double t0 = now_s();
    while (now_s() - t0 < timeout_s) {
        if (logged_steps(out) > steps) return 1;
        nap();
    }
    return 0;
}

static pid_t rank_pid(const char *out, int rank) {
    char path[4200];
    snprintf(path, sizeof path, "%s.pid.%d", out, rank);
    char *text = tu_read_file(path);
    pid_t pid = text ? (pid_t)atol(text) : 0;
    free(text);
    return pid;
}

/* After a stop: OUT/last is at the last logged step, and both ranks say they stopped there. */
static void check_stopped(const char *what, const char *out, long after) {
    long step = saved_step(out);
    tu_check(step > after && step == logged_steps(out), "%s: OUT/last at step %ld, the log at %ld", what, step,
             logged_steps(out));
    char path[4200], want[2][64];
    snprintf(path, sizeof path, "%s.err", out);
    char *text = tu_read_file(path);
    for (int r = 0; r < 2; r++) {
        snprintf(want[r], sizeof want[r], r ? "rank 1: stopped after step %ld" : "%ld step(s)", step);
        tu_check(text && strstr(text, want[r]), "%s: rank %d's output lacks '%s':\n%s", what, r, want[r],
                 text ? text : "");
    }
    free(text);
}

static void check_sigterm(void) {
    const char *out = path_in("term");
    /* A SIGTERM that reaches rank 1 alone stops both after the same step. */
    pid_t pid = start_long(out, "", 0);
    pid_t victim = 0;
    if (tu_check(wait_steps(out, 3, 120), "SIGTERM: the run got going") && (victim = rank_pid(out, 1)) > 0)
        kill(victim, SIGTERM);
    double took = 0;
    int rc = wait_for(pid, 120, &took);
    printf("SIGTERM to rank 1: mpirun exited %d after %.1f s; OUT/last at step %ld\n", rc, took, saved_step(out));
    tu_check(rc == 0, "SIGTERM to rank 1: mpirun exited %d", rc);
    check_stopped("SIGTERM to rank 1", out, 3);
    /* A SIGTERM to mpirun (Ctrl-C) reaches both; they stop and rank 0 writes OUT/last in the grace
     * mpirun gives them (a step and a save on a slow device of a loaded machine). */
    long step = saved_step(out);
    pid = start_long(out, "--resume", 20);
    if (tu_check(wait_steps(out, step + 2, 120), "SIGTERM to mpirun: the run got going")) kill(pid, SIGTERM);
    rc = wait_for(pid, 120, &took);
    printf("SIGTERM to mpirun: mpirun exited %d after %.1f s; OUT/last at step %ld\n", rc, took, saved_step(out));
    tu_check(rc >= 0, "SIGTERM to mpirun: mpirun still ran 120 s later");
    check_stopped("SIGTERM to mpirun", out, step + 2);
}

/* OUT/last's files, to see that a failed run left them as they were. */
static char *last_files(const char *out) {
    char path[4200];
    snprintf(path, sizeof path, "%s/last/mltc.json", out);
    return tu_read_file(path);
}

static void check_failures(void) {
    const char *out = path_in("term");
    char *before = last_files(out);
    long step = saved_step(out);
    if (!tu_check(before && step > 0, "failures: a run to resume")) {
        free(before);
        return;
    }
    /* Rank 1 cannot open its device: mpirun fails, fast, and OUT/last stays. */
    char cmd[8192], mpi[1024], bad[128];
    mpirun(mpi, sizeof mpi, 2);
    snprintf(bad, sizeof bad, "%.*s:0,7", (int)strcspn(device_spec, ":"), device_spec);
    snprintf(cmd, sizeof cmd, "exec %s %s train %s --device %s --out %s --resume 2>%s.bad.err", mpi, MLTC_CLI, common,
             bad, out, out);
    double took = 0;
    int rc = wait_for(spawn(cmd), 60, &took);
    printf("bad device on rank 1: mpirun exited %d after %.1f s\n", rc, took);
    tu_check(rc > 0, "bad device on rank 1: mpirun exited %d (non-zero expected, -1: timed out)", rc);
    char *after = last_files(out);
    tu_check(after && !strcmp(before, after), "bad device on rank 1: OUT/last changed");
    free(after);

    /* Rank 1 killed while the run goes on: mpirun fails, fast, and OUT/last is whole. */
    pid_t pid = start_long(out, "--resume --save-every 2", 0);
    if (tu_check(wait_steps(out, step + 3, 120), "kill: the resumed run got going")) {
        pid_t victim = rank_pid(out, 1);
        if (tu_check(victim > 0, "kill: rank 1's pid")) kill(victim, SIGKILL);
    }
    rc = wait_for(pid, 60, &took);
    long saved = saved_step(out);
    printf("rank 1 killed: mpirun exited %d after %.1f s; OUT/last at step %ld\n", rc, took, saved);
    tu_check(rc > 0, "rank 1 killed: mpirun exited %d (non-zero expected, -1: timed out)", rc);
    /* OUT/last loads and resumes: a few more steps from where it was saved. */
    char extra[64];
    snprintf(extra, sizeof extra, "--resume --max-steps %ld", saved + 1);
    tu_check(saved >= step && train(2, out, extra) == 0, "rank 1 killed: OUT/last (step %ld) resumes", saved);
    free(before);
}

/* mltc eval under mpirun: each rank predicts half of the data; the scores are one process's. */
static void check_eval(void) {
    char cmd[16384], mpi[1024], one[4200], two[4200], one_dev[64];
    snprintf(one, sizeof one, "%s/eval-1.json", dir);
    snprintf(two, sizeof two, "%s/eval-2.json", dir);
    snprintf(one_dev, sizeof one_dev, "%.*s", (int)strcspn(device_spec, ":"), device_spec);
    snprintf(cmd, sizeof cmd, "OMP_NUM_THREADS=1 exec %s eval --checkpoint %s/best --data %s --device %s --json >%s",
             MLTC_CLI, path_in("two"), path_in("train.jsonl"), one_dev, one);
    int rc1 = wait_for(spawn(cmd), 300, NULL);
    mpirun(mpi, sizeof mpi, 2);
    snprintf(cmd, sizeof cmd, "exec %s %s eval --checkpoint %s/best --data %s --device %s --json >%s", mpi, MLTC_CLI,
             path_in("two"), path_in("train.jsonl"), device_spec, two);
    int rc2 = wait_for(spawn(cmd), 300, NULL);
    char *a = tu_read_file(one), *b = tu_read_file(two);
    printf("eval, 1 process (exit %d) and 2 ranks (exit %d): %s\n", rc1, rc2, a ? a : "");
    tu_check(rc1 == 0 && rc2 == 0 && a && b && strstr(a, "micro_f1") && !strcmp(a, b),
             "eval: 2 ranks print other scores than one process:\n%s\n%s", a ? a : "", b ? b : "");
    free(a);
    free(b);
}

/* mltc predict under mpirun: each rank a share of the lines; rank 0 writes one process's output. */
static void check_predict(void) {
    char cmd[16384], mpi[1024], one[4200], two[4200], texts[4200], one_dev[64];
    snprintf(one, sizeof one, "%s/predict-1.jsonl", dir);
    snprintf(two, sizeof two, "%s/predict-2.jsonl", dir);
    snprintf(texts, sizeof texts, "%s/texts.txt", dir);
    if (tu_write_file(texts, "oil prices rose\nthe bank cut rates\nwheat exports\nnet profit up 12 pct\ncrude fell\n"))
        return;
    snprintf(one_dev, sizeof one_dev, "%.*s", (int)strcspn(device_spec, ":"), device_spec);
    snprintf(cmd, sizeof cmd, "OMP_NUM_THREADS=1 exec %s predict --checkpoint %s/best --input %s --device %s >%s",
             MLTC_CLI, path_in("two"), texts, one_dev, one);
    int rc1 = wait_for(spawn(cmd), 300, NULL);
    mpirun(mpi, sizeof mpi, 2);
    snprintf(cmd, sizeof cmd, "exec %s %s predict --checkpoint %s/best --input %s --device %s >%s", mpi, MLTC_CLI,
             path_in("two"), texts, device_spec, two);
    int rc2 = wait_for(spawn(cmd), 300, NULL);
    char *a = tu_read_file(one), *b = tu_read_file(two);
    int lines = 0;
    for (const char *p = a; p && (p = strchr(p, '\n')); p++) lines++;
    printf("predict, 1 process (exit %d) and 2 ranks (exit %d): %d lines\n", rc1, rc2, lines);
    tu_check(rc1 == 0 && rc2 == 0 && lines == 5 && b && !strcmp(a, b),
             "predict: 2 ranks write other lines than one process:\n%s\n%s", a ? a : "", b ? b : "");
    free(a);
    free(b);
}

/* mltc bench under mpirun: rank 0 alone, then both; the gradient bytes are the model's. */
static void check_bench(void) {
    char cmd[16384], mpi[1024], out[4200];
    mpirun(mpi, sizeof mpi, 2);
    snprintf(out, sizeof out, "%s/bench.json", dir);
    snprintf(cmd, sizeof cmd,
             "exec %s %s bench --device %s --config %s/config.json --seq 16 --batch 4 --steps 2 --warmup 0 "
             "--profile-steps 0 --labels 4 --json >%s 2>%s.err",
             mpi, MLTC_CLI, device_spec, path_in("model"), out, out);
    int rc = wait_for(spawn(cmd), 300, NULL);
    char *text = tu_read_file(out);
    cJSON *o = text ? cJSON_Parse(text) : NULL;
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(o, "parallel");
    double procs = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(p, "processes"));
    double bytes = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(p, "sum_bytes"));
    double step = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(p, "train_step_ms"));
    double compute = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(p, "compute_ms"));
    double sum = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(p, "sum_ms"));
    double eff = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(p, "efficiency"));
    printf("bench, 2 ranks: exit %d, step %.1f ms = compute %.1f + sum %.1f, %.0f bytes summed, efficiency %.2f\n",
           rc, step, compute, sum, bytes, eff);
    /* the bytes the 2-rank training run of the same model logged per step */
    char log[4200];
    snprintf(log, sizeof log, "%s/train_log.jsonl", path_in("two"));
    char *train_log = tu_read_file(log);
    const char *at = train_log ? strstr(train_log, "\"sum_bytes\":") : NULL;
    double trained = at ? strtod(at + 12, NULL) : -1;
    free(train_log);
    tu_check(rc == 0 && procs == 2, "bench, 2 ranks: exit %d, %g processes", rc, procs);
    tu_check(bytes > 0 && bytes == trained, "bench, 2 ranks: %.0f bytes summed, training %.0f", bytes, trained);
    tu_check(step > 0 && compute > 0 && sum > 0 && compute + sum <= step * 1.01 && eff > 0,
             "bench, 2 ranks: step %g ms, compute %g, sum %g, efficiency %g", step, compute, sum, eff);
    cJSON_Delete(o);
    free(text);
}

int main(int argc, char **argv) {
    const char *backend = argc > 1 ? argv[1] : "cpu";
    mltc_error err = {0};
    dev_ctx *dev = NULL;
    int rc = tu_open(backend, &err, &dev);
    if (rc) return rc;
    dev_close(dev);
    /* Both ranks on the backend's first device: explicit lists, as a one-device machine has. */
    device_spec = !strcmp(backend, "cpu") ? "cpu" : !strcmp(backend, "opencl") ? "opencl:0,0,0" : "vulkan:0,0,0";
    if (!tu_mkdtemp(dir, sizeof dir)) return 1;
    static const char *const names[] = {"earn", "acq", "crude", "grain"};
    if (tu_write_tiny_bert(path_in("model"), 5) ||
        tu_write_reuters_slice(path_in("train.jsonl"), path_in("labels.txt"), 0, 12, names, 4) != 12)
        return 1;
    snprintf(common, sizeof common,
             "--model %s --train %s --labels %s --head bert --batch 4 --max-len 32 --epochs 2 --log-every 1 "
             "--dev-split 0 --seed 7",
             path_in("model"), path_in("train.jsonl"), path_in("labels.txt"));
    check_same_numbers();
    check_in_order();
    check_resume();
    check_sigterm();
    check_failures();
    check_bench();
    check_eval();
    check_predict();
    if (tu_finish() == 0) tu_remove_tree(dir);
    else printf("the runs are in %s\n", dir);
    return tu_finish();
}
#endif
