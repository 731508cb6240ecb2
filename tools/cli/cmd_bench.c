/* mltc bench: training and inference speed of a random-weight BERT on one device (mltc_bench),
 * as mltc_bench's JSON or a table read from it. */
#include <stdio.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "cli_args.h"
#include "cli_ranks.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: mltc bench [--device D] [--config minilm|small|base|FILE] [--seq N] [--batch N] [--steps N]\n"
            "                  [--micro-batch N] [--warmup N] [--profile-steps N] [--labels N]\n"
            "                  [--pooling mean|cls]\n"
            "                  [--precision fp32|bf16] [--counts] [--json]\n\n"
            "Builds a BERT of the given shape with random weights and the bert head, and measures on\n"
            "one device: training sequences/s (forward + backward + clipping + AdamW, each step\n"
            "synchronised, after warm-up steps), inference sequences/s, peak device memory, and the\n"
            "time split by op family (matmul, attention = softmax or a fused attention's ops,\n"
            "layernorm, other) from separate profiled steps that synchronise around every op.\n\n"
            "options:\n"
            "  --device D          cpu, opencl[:N], vulkan[:N] (default: $MLTC_DEVICE, else cpu);\n"
            "                      under mpirun also opencl:local, vulkan:local or a list (mltc train)\n"
            "  --config C          minilm (6 x 384, default), small (6 x 64, 4 heads), base (12 x 768)\n"
            "                      or a config.json\n"
            "  --seq N             tokens per sequence, [CLS] and [SEP] included (default 128)\n"
            "  --batch N           sequences per step (default 8)\n"
            "  --micro-batch N     sequences on the device at a time (default: the batch); a step\n"
            "                      accumulates the gradients of its parts, as mltc train --micro-batch\n"
            "  --steps N           timed training steps and inference batches (default 5)\n"
            "  --warmup N          untimed steps before each timing (default 2)\n"
            "  --profile-steps N   profiled steps for the split, 0 for none (default 2)\n"
            "  --labels N          labels of the head (default 90, as Reuters)\n"
            "  --pooling P         the bert head reads the mean of the last layer (mean, the default\n"
            "                      recipe) or [CLS] only (cls: the last layer runs for [CLS] alone)\n"
            "  --precision P       matrix products in fp32 (default) or bf16 (mixed precision, as\n"
            "                      mltc train --precision)\n"
            "  --counts            also print what the backend asked of the device per training step\n"
            "                      and per inference batch: dispatches, transfers (uploads and\n"
            "                      downloads), barriers, host waits (calls that block until the device\n"
            "                      is done), allocations (device buffers created) and submits\n"
            "  --json              one JSON object: train_seq_per_s, infer_seq_per_s, peak_bytes, split,\n"
            "                      infer_split, ops and infer_ops (profiled ms and count per op; batched\n"
            "                      matmuls, attention's, as matmul_batched), counts (always), shape, device\n\n"
            "On the cpu backend the thread count follows OMP_NUM_THREADS / OPENBLAS_NUM_THREADS.\n\n"
            "Under mpirun (mpirun -np N mltc bench --device opencl:local ...): rank 0 measures the above\n"
            "alone, then the N processes train together, each on its share of every batch (parts of\n"
            "--micro-batch, default batch/N), as mltc train under mpirun: the step time split into\n"
            "compute and the gradient sum, the bytes summed, the speedup over rank 0 alone and the\n"
            "efficiency (speedup / N); --json adds them as \"parallel\".\n");
}

/* A number of the result (0 when absent: the JSON is mltc_bench's own, so only a bug omits one). */
static double num(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static const char *str(const cJSON *o, const char *key) {
    const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
    return v ? v : "?";
}

static void print_split(const char *what, const cJSON *s) {
    printf("  %-22s matmul %5.1f%%  attention %5.1f%%  layernorm %5.1f%%  other %5.1f%%\n", what,
           100 * num(s, "matmul"), 100 * num(s, "attention"), 100 * num(s, "layernorm"), 100 * num(s, "other"));
}

/* The profiled ops of one phase ({"op": {"ms", "count"}}), slowest first. */
static void print_ops(const char *phase, const cJSON *ops) {
    int n = cJSON_GetArraySize(ops);
    const cJSON **order = calloc(n > 0 ? (size_t)n : 1, sizeof *order);
    if (!order) return;
    double total = 0;
    int k = 0;
    const cJSON *op;
    cJSON_ArrayForEach(op, ops) {
        total += num(op, "ms");
        order[k++] = op;
    }
    for (int i = 1; i < n; i++) /* insertion sort: a few dozen ops */
        for (int j = i; j > 0 && num(order[j], "ms") > num(order[j - 1], "ms"); j--) {
            const cJSON *t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    char title[64];
    snprintf(title, sizeof title, "op (profiled %s)", phase);
    printf("\n  %-26s %10s %8s %7s\n", title, "ms", "calls", "share");
    for (int i = 0; i < n; i++) {
        double ms = num(order[i], "ms");
        printf("  %-26s %10.2f %8ld %6.1f%%\n", order[i]->string, ms, (long)num(order[i], "count"),
               total > 0 ? 100 * ms / total : 0.0);
    }
    free(order);
}

/* What the backend asked of the device per timed step and batch (the JSON's counts). */
static void print_counts(const cJSON *r) {
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(r, "counts");
    static const char *const keys[] = {"dispatches", "transfers", "barriers", "host_waits", "allocations", "submits"};
    printf("\ndevice calls (counted by the backend, timed steps):\n  %-22s", "");
    for (int i = 0; i < 6; i++) printf(" %11s", keys[i]);
    printf("\n");
    static const char *const phases[][2] = {{"train_step", "per training step"}, {"infer_batch", "per inference batch"}};
    for (int p = 0; p < 2; p++) {
        const cJSON *o = cJSON_GetObjectItemCaseSensitive(c, phases[p][0]);
        printf("  %-22s", phases[p][1]);
        for (int i = 0; i < 6; i++) printf(" %11.1f", num(o, keys[i]));
        printf("\n");
    }
}

static void print_table(const cJSON *r, int profiled, int counts) {
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(r, "shape");
    printf("device %s (%s matmul), config %s (%d layers x %d, %d heads, FFN %d, vocab %d), %d labels\n",
           str(r, "device"), str(r, "precision"), str(r, "config"), (int)num(shape, "layers"),
           (int)num(shape, "hidden"), (int)num(shape, "heads"), (int)num(shape, "intermediate"),
           (int)num(shape, "vocab"), (int)num(r, "labels"));
    printf("seq %d, batch %d (micro-batch %d), %d timed steps\n\n", (int)num(r, "seq"), (int)num(r, "batch"),
           (int)num(r, "micro_batch"), (int)num(r, "steps"));
    printf("  %-22s %10.2f seq/s  (%.1f ms a step)\n", "training", num(r, "train_seq_per_s"), num(r, "train_step_ms"));
    printf("  %-22s %10.2f seq/s  (%.1f ms a batch)\n", "inference", num(r, "infer_seq_per_s"),
           num(r, "infer_batch_ms"));
    printf("  %-22s %10.1f MiB\n", "peak device memory", num(r, "peak_bytes") / (1024.0 * 1024.0));
    const cJSON *par = cJSON_GetObjectItemCaseSensitive(r, "parallel");
    if (par) {
        printf("\n%d processes, each on its share of every batch (training above: rank 0 alone):\n",
               (int)num(par, "processes"));
        printf("  %-22s %10.2f seq/s  (%.1f ms a step: compute %.1f ms, gradient sum %.1f ms)\n", "training",
               num(par, "train_seq_per_s"), num(par, "train_step_ms"), num(par, "compute_ms"), num(par, "sum_ms"));
        printf("  %-22s %10.1f MB a step\n", "gradients summed", num(par, "sum_bytes") / 1e6);
        printf("  %-22s %10.2fx  (efficiency %.0f%%)\n", "speedup", num(par, "speedup"),
               100 * num(par, "efficiency"));
    }
    if (counts) print_counts(r);
    if (!profiled) return;
    printf("\ntime by op family (profiled steps, a sync around every op):\n");
    print_split("training", cJSON_GetObjectItemCaseSensitive(r, "split"));
    print_split("inference", cJSON_GetObjectItemCaseSensitive(r, "infer_split"));
    print_ops("training", cJSON_GetObjectItemCaseSensitive(r, "ops"));
    print_ops("inference", cJSON_GetObjectItemCaseSensitive(r, "infer_ops"));
}

int cmd_bench(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return CLI_OK;
    }
    mltc_bench_options o;
    mltc_bench_options_default(&o);
    int json = 0, counts = 0;
    const cli_arg args[] = {
        {"--device", CLI_ARG_STRING, &o.device, 0, 0},
        {"--config", CLI_ARG_STRING, &o.config, 0, 0},
        {"--seq", CLI_ARG_INT, &o.seq, 3, 1 << 20},
        {"--batch", CLI_ARG_INT, &o.batch, 1, 1 << 20},
        {"--micro-batch", CLI_ARG_INT, &o.micro_batch, 1, 1 << 20},
        {"--steps", CLI_ARG_INT, &o.steps, 1, 1 << 20},
        {"--warmup", CLI_ARG_INT, &o.warmup, 0, 1 << 20},
        {"--profile-steps", CLI_ARG_INT, &o.profile_steps, 0, 1 << 20},
        {"--labels", CLI_ARG_INT, &o.labels, 1, 1 << 20},
        {"--pooling", CLI_ARG_STRING, &o.pooling, 0, 0},
        {"--precision", CLI_ARG_STRING, &o.precision, 0, 0},
        {"--counts", CLI_ARG_FLAG, &counts, 0, 0},
        {"--json", CLI_ARG_FLAG, &json, 0, 0},
    };
    int rc = cli_parse_args("bench", argc, argv, args, (int)(sizeof args / sizeof args[0]));
    if (rc == CLI_OK) rc = cli_check_choice("bench", "--precision", mltc_check_precision, o.precision);
    if (rc != CLI_OK) return rc;

    cli_ranks ranks;
    if (cli_ranks_start(&ranks, "bench", 0)) return CLI_FAIL;
    char spec[256];
    if (cli_rank_device(&ranks, o.device ? o.device : getenv("MLTC_DEVICE"), spec, sizeof spec)) {
        cli_ranks_stop(&ranks, 1);
        return CLI_FAIL;
    }
    o.device = *spec ? spec : NULL;
    mltc_ctx *ctx = NULL;
    char *text = NULL;
    if (mltc_ctx_create(&ctx) != MLTC_OK) {
        fprintf(stderr, "mltc bench: out of memory\n");
        cli_ranks_stop(&ranks, 1);
        return CLI_FAIL;
    }
    rc = CLI_FAIL;
    /* mltc_bench_parallel opens the device and agrees on every failure with the other ranks */
    if (mltc_bench_parallel(ctx, &o, ranks.comm, &text) != MLTC_OK) {
        fprintf(stderr, "mltc bench: %s\n", mltc_last_error(ctx));
    } else if (ranks.rank > 0) { /* rank 0 reports */
        rc = CLI_OK;
    } else if (json) {
        printf("%s\n", text);
        rc = CLI_OK;
    } else {
        cJSON *r = cJSON_Parse(text);
        if (r) {
            print_table(r, o.profile_steps > 0, counts);
            rc = CLI_OK;
        } else {
            fprintf(stderr, "mltc bench: out of memory\n");
        }
        cJSON_Delete(r);
    }
    mltc_free(text);
    mltc_ctx_destroy(ctx);
    cli_ranks_stop(&ranks, 0);
    return rc;
}
