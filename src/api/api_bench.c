/* mltc_bench: the speed benchmark of run/bench.c behind the public options and JSON. */
#include <string.h>

#include "api/api_internal.h"
#include "run/bench.h"

void mltc_bench_options_default(mltc_bench_options *o) {
    if (!o) return;
    bench_options b;
    bench_options_default(&b);
    *o = (mltc_bench_options){.device = b.device, .config = b.config, .precision = b.precision, .seq = b.seq,
                              .batch = b.batch, .micro_batch = b.micro_batch, .steps = b.steps, .warmup = b.warmup,
                              .profile_steps = b.profile_steps, .labels = b.labels, .pooling = b.pooling};
}

mltc_status mltc_bench(mltc_ctx *ctx, const mltc_bench_options *o, char **json) {
    return mltc_bench_parallel(ctx, o, NULL, json);
}

mltc_status mltc_bench_parallel(mltc_ctx *ctx, const mltc_bench_options *o, const mltc_comm *comm, char **json) {
    if (!ctx) return MLTC_ERR_INVALID_ARGUMENT;
    err_clear(&ctx->err);
    if (!json) return api_null(ctx, "mltc_bench", "json");
    *json = NULL;
    if (!o) return api_null(ctx, "mltc_bench", "opts");
    const bench_options b = {.device = o->device, .config = o->config, .precision = o->precision, .seq = o->seq,
                             .batch = o->batch, .micro_batch = o->micro_batch, .steps = o->steps,
                             .warmup = o->warmup, .profile_steps = o->profile_steps, .labels = o->labels,
                             .pooling = o->pooling, .comm = comm};
    mltc_status st = api_check_comm(ctx, "mltc_bench_parallel", comm);
    if (st != MLTC_OK) return st;
    bench_result r;
    st = bench_run(&ctx->err, &b, &r);
    if (st != MLTC_OK) return st;
    *json = bench_result_json(&r);
    if (!*json) return err_set(&ctx->err, MLTC_ERR_OUT_OF_MEMORY, "mltc_bench: out of host memory for the result");
    return MLTC_OK;
}
