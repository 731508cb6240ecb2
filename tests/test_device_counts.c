/* What a backend asks of the device in a warmed-up training step and inference batch, from its
 * own counts (dev_counts) through mltc bench on a small shape: at most one host wait a step (the
 * read-back of the losses and the gradient norm) and one a batch (the probabilities), no device
 * buffer created once warmed up, and on Vulkan barriers only where a dispatch depends on
 * another. */
/* ctest: per-backend */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run/bench.h"
#include "testutil.h"

/* 6 layers x 32 wide, 4 heads: the depth (where the head's and embeddings' ops weigh
 * little), at a size that runs in seconds; bench_run's batch of 8 x 16 tokens gives the column
 * sums more rows than one chunk, as any real batch does. */
static void check_phase(const char *backend, const char *what, const dev_counts *c, int steps) {
    int gpu = strcmp(backend, "cpu") != 0;
    printf("%s, %d %s: %ld dispatches, %ld transfers, %ld barriers, %ld host waits, %ld allocations, "
           "%ld submits\n",
           backend, steps, what, c->dispatches, c->transfers, c->barriers, c->host_waits, c->allocations, c->submits);
    tu_check(c->host_waits <= steps, "%s: %ld host waits in %d %s (at most one each)", backend, c->host_waits, steps,
             what);
    tu_check(c->allocations == 0, "%s: %ld device buffers created in %d warmed-up %s", backend, c->allocations,
             steps, what);
    tu_check(c->transfers > 0, "%s: no transfer counted in %s", backend, what);
    if (gpu) tu_check(c->dispatches > 0, "%s: no dispatch counted in %s", backend, what);
    /* Dispatches that depend on the one before them need a barrier each (the forward pass is one
     * chain of them); independent ones (the weight gradients beside the input gradients, the
     * column sums) share one. Half of the training step's dispatches is out of reach until
     * fused kernels shorten the chain; a barrier per dispatch, as with whole-buffer tracking,
     * fails this. */
    if (!strcmp(backend, "vulkan") && !strcmp(what, "training steps"))
        tu_check(4 * c->barriers <= 3 * c->dispatches, "vulkan: %ld barriers for %ld dispatches (at most 3/4)",
                 c->barriers, c->dispatches);
    if (!strcmp(backend, "opencl")) tu_check(c->barriers == 0, "opencl: %ld barriers on an in-order queue", c->barriers);
}

int main(int argc, char **argv) {
    const char *backend = argc > 1 ? argv[1] : "cpu";
    mltc_error err = {0};
    dev_ctx *probe = NULL;
    int rc = tu_open(backend, &err, &probe);
    if (rc) return rc;
    dev_close(probe);

    char cfg[] = "/tmp/mltc-test-counts-XXXXXX";
    if (tu_write_small_config(cfg, 6, 4)) return 1;
    bench_options o;
    bench_options_default(&o);
    o.device = backend;
    o.config = cfg;
    o.seq = 16, o.batch = 8, o.steps = 2, o.warmup = 1, o.profile_steps = 0, o.labels = 5;
    bench_result r;
    mltc_status st = bench_run(&err, &o, &r);
    remove(cfg);
    if (!tu_status(st, MLTC_OK, &err, "bench_run")) return tu_finish();
    check_phase(backend, "training steps", &r.train_counts, o.steps);
    check_phase(backend, "inference batches", &r.infer_counts, o.steps);

    char *json = bench_result_json(&r);
    tu_check(json && strstr(json, "\"counts\"") && strstr(json, "\"train_step\"") && strstr(json, "\"host_waits\"") &&
                 strstr(json, "\"allocations\"") && strstr(json, "\"barriers\""),
             "JSON lacks the counts: %s", json ? json : "(null)");
    free(json);
    return tu_finish();
}
