/* The benchmark on a tiny config, and the device accounting under it: positive, finite
 * figures and a split that sums to 1. No timing is asserted (the machine may be busy). */
/* ctest: per-backend */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device/device_profile.h"
#include "run/bench.h"
#include "testutil.h"

static int finite_pos(double v) { return isfinite(v) && v > 0; }

static void check_split(const char *what, const bench_split *s) {
    double sum = s->matmul + s->attention + s->layernorm + s->other;
    tu_check(fabs(sum - 1.0) < 1e-6, "%s split sums to %g", what, sum);
    tu_check(s->matmul > 0 && s->attention > 0 && s->layernorm > 0 && s->other >= 0,
             "%s split has an empty family: %g %g %g %g", what, s->matmul, s->attention, s->layernorm, s->other);
}

/* Accounting on its own: bytes follow alloc/free, the peak stays, profiling counts ops. */
static void test_accounting(const char *backend) {
    mltc_error err = {0};
    dev_ctx *d = NULL;
    if (tu_open(backend, &err, &d) != 0) return;
    size_t base = dev_mem_current(d);
    dev_buf *a = NULL, *b = NULL;
    tu_must(dev_alloc(d, 4096, &a), &err, "alloc a");
    tu_must(dev_alloc(d, 1024, &b), &err, "alloc b");
    tu_check(dev_mem_current(d) == base + 5120, "current %zu after 5120 bytes", dev_mem_current(d));
    dev_free(d, a);
    tu_check(dev_mem_current(d) == base + 1024, "current %zu after freeing 4096", dev_mem_current(d));
    tu_check(dev_mem_peak(d) >= base + 5120, "peak %zu below 5120", dev_mem_peak(d));
    dev_mem_reset_peak(d);
    tu_check(dev_mem_peak(d) == dev_mem_current(d), "reset peak %zu != current", dev_mem_peak(d));

    tu_check(!dev_profile_enabled(d), "profiling is on by default");
    tu_must(dev_fill(d, (dev_view){b, 0}, 256, 1.0f), &err, "fill unprofiled");
    dev_profile p;
    dev_profile_read(d, &p);
    tu_check(p.count[DEV_PROF_FILL] == 0, "an unprofiled fill was counted");
    tu_must(dev_profile_enable(d, 1), &err, "enable");
    tu_must(dev_fill(d, (dev_view){b, 0}, 256, 2.0f), &err, "fill");
    tu_must(dev_axpby(d, (dev_view){b, 0}, 1.0f, (dev_view){b, 0}, 1.0f, (dev_view){b, 0}, 256), &err, "axpby");
    tu_must(dev_axpby(d, (dev_view){b, 0}, 1.0f, (dev_view){b, 0}, 1.0f, (dev_view){b, 0}, 256), &err, "axpby");
    dev_profile_read(d, &p);
    tu_check(p.count[DEV_PROF_FILL] == 1 && p.count[DEV_OP_AXPBY] == 2, "counts fill %ld axpby %ld",
             p.count[DEV_PROF_FILL], p.count[DEV_OP_AXPBY]);
    tu_check(p.seconds[DEV_OP_AXPBY] >= 0, "negative time");
    float host[4];
    tu_must(dev_download(d, b, 0, host, sizeof host), &err, "download");
    tu_check(host[0] == 8.0f, "profiled ops computed %g, expected 8", host[0]);
    dev_profile_reset(d);
    dev_profile_read(d, &p);
    tu_check(p.count[DEV_OP_AXPBY] == 0, "reset kept counts");
    tu_must(dev_profile_enable(d, 0), &err, "disable");
    tu_check(!dev_profile_enabled(d), "profiling still on");
    tu_check(atomic_load(&dev_profile_active) == 0, "active count %d", atomic_load(&dev_profile_active));
    dev_free(d, b);
    dev_close(d);
}

int main(int argc, char **argv) {
    const char *backend = argc > 1 ? argv[1] : "cpu";
    mltc_error err = {0};
    dev_ctx *probe = NULL;
    int rc = tu_open(backend, &err, &probe);
    if (rc) return rc;
    dev_close(probe);
    test_accounting(backend);

    char cfg[] = "/tmp/mltc-test-bench-XXXXXX";
    if (tu_write_small_config(cfg, 2, 2)) return 1;
    bench_options o;
    bench_options_default(&o);
    o.device = backend;
    o.config = cfg;
    o.seq = 16, o.batch = 3, o.steps = 2, o.warmup = 1, o.profile_steps = 1, o.labels = 5;
    bench_result r;
    mltc_status st = bench_run(&err, &o, &r);
    if (!tu_status(st, MLTC_OK, &err, "bench_run")) {
        remove(cfg);
        return tu_finish();
    }
    tu_check(finite_pos(r.train_seq_per_s), "train seq/s %g", r.train_seq_per_s);
    tu_check(finite_pos(r.infer_seq_per_s), "infer seq/s %g", r.infer_seq_per_s);
    /* At least the parameters, their gradients and the two AdamW moments. */
    tu_check(r.peak_bytes > 0, "peak bytes %zu", r.peak_bytes);
    check_split("training", &r.train_split);
    check_split("inference", &r.infer_split);
    tu_check(r.train_prof.count[DEV_OP_ADAMW] > 0 && r.infer_prof.count[DEV_OP_ADAMW] == 0,
             "AdamW ran %ld times in training, %ld in inference", r.train_prof.count[DEV_OP_ADAMW],
             r.infer_prof.count[DEV_OP_ADAMW]);
    tu_check(r.cfg.hidden_size == 32 && r.seq == 16, "shape not kept");

    char *json = bench_result_json(&r);
    tu_check(json && strstr(json, "\"train_seq_per_s\"") && strstr(json, "\"split\"") &&
                 strstr(json, "\"peak_bytes\""),
             "JSON lacks a key: %s", json ? json : "(null)");
    free(json);

    /* A bad shape is an error, not a crash. */
    o.seq = 1000;
    tu_status(bench_run(&err, &o, &r), MLTC_ERR_INVALID_ARGUMENT, &err, "seq beyond positions");
    remove(cfg);
    o.seq = 16;
    o.config = "/nonexistent/config.json";
    tu_check(bench_run(&err, &o, &r) != MLTC_OK, "a missing config file was accepted");
    return tu_finish();
}
