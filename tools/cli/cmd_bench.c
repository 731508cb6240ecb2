/* mltc bench: training and inference speed of a random-weight BERT on one device (run/bench.c). */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "cli_args.h"
#include "run/bench.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: mltc bench [--device D] [--config minilm|base|FILE] [--seq N] [--batch N] [--steps N]\n"
            "                  [--micro-batch N] [--warmup N] [--profile-steps N] [--labels N]\n"
            "                  [--precision fp32|bf16] [--json]\n\n"
            "Builds a BERT of the given shape with random weights and the bert head, and measures on\n"
            "one device: training sequences/s (forward + backward + clipping + AdamW, each step\n"
            "synchronised, after warm-up steps), inference sequences/s, peak device memory, and the\n"
            "time split by op family (matmul, attention = softmax or a fused inference attention,\n"
            "layernorm, other) from separate profiled steps that synchronise around every op.\n\n"
            "options:\n"
            "  --device D          cpu, opencl[:N], vulkan[:N] (default: $MLTC_DEVICE, else cpu)\n"
            "  --config C          minilm (6 x 384, default), base (12 x 768) or a config.json\n"
            "  --seq N             tokens per sequence, [CLS] and [SEP] included (default 128)\n"
            "  --batch N           sequences per step (default 8)\n"
            "  --micro-batch N     sequences on the device at a time (default: the batch); a step\n"
            "                      accumulates the gradients of its parts, as mltc train --micro-batch\n"
            "  --steps N           timed training steps and inference batches (default 5)\n"
            "  --warmup N          untimed steps before each timing (default 2)\n"
            "  --profile-steps N   profiled steps for the split, 0 for none (default 2)\n"
            "  --labels N          labels of the head (default 90, as Reuters)\n"
            "  --precision P       matrix products in fp32 (default) or bf16 (mixed precision, as\n"
            "                      mltc train --precision)\n"
            "  --json              one JSON object: train_seq_per_s, infer_seq_per_s, peak_bytes, split,\n"
            "                      infer_split, ops and infer_ops (profiled ms and count per op; batched\n"
            "                      matmuls, attention's, as matmul_batched), shape, device\n\n"
            "On the cpu backend the thread count follows OMP_NUM_THREADS / OPENBLAS_NUM_THREADS.\n");
}

static void print_split(const char *what, const bench_split *s) {
    printf("  %-22s matmul %5.1f%%  attention %5.1f%%  layernorm %5.1f%%  other %5.1f%%\n", what, 100 * s->matmul,
           100 * s->attention, 100 * s->layernorm, 100 * s->other);
}

/* The profiled ops of one phase, slowest first. */
static void print_ops(const char *phase, const dev_profile *p) {
    int order[DEV_PROF_COUNT], n = 0;
    double total = 0;
    for (int b = 0; b < DEV_PROF_COUNT; b++) {
        total += p->seconds[b];
        if (p->count[b]) order[n++] = b;
    }
    for (int i = 1; i < n; i++) /* insertion sort: a few dozen buckets */
        for (int j = i; j > 0 && p->seconds[order[j]] > p->seconds[order[j - 1]]; j--) {
            int t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    char title[64];
    snprintf(title, sizeof title, "op (profiled %s)", phase);
    printf("\n  %-26s %10s %8s %7s\n", title, "ms", "calls", "share");
    for (int i = 0; i < n; i++) {
        int b = order[i];
        printf("  %-26s %10.2f %8ld %6.1f%%\n", dev_prof_bucket_name(b), 1e3 * p->seconds[b], p->count[b],
               total > 0 ? 100 * p->seconds[b] / total : 0.0);
    }
}

static void print_table(const bench_result *r, int profiled) {
    printf("device %s (%s matmul), config %s (%d layers x %d, %d heads, FFN %d, vocab %d), %d labels\n",
           r->device, r->precision, r->config, r->cfg.num_layers, r->cfg.hidden_size, r->cfg.num_heads,
           r->cfg.intermediate_size, r->cfg.vocab_size, r->labels);
    printf("seq %d, batch %d (micro-batch %d), %d timed steps\n\n", r->seq, r->batch, r->micro_batch, r->steps);
    printf("  %-22s %10.2f seq/s  (%.1f ms a step)\n", "training", r->train_seq_per_s, 1e3 * r->train_step_s);
    printf("  %-22s %10.2f seq/s  (%.1f ms a batch)\n", "inference", r->infer_seq_per_s, 1e3 * r->infer_batch_s);
    printf("  %-22s %10.1f MiB\n", "peak device memory", (double)r->peak_bytes / (1024.0 * 1024.0));
    if (!profiled) return;
    printf("\ntime by op family (profiled steps, a sync around every op):\n");
    print_split("training", &r->train_split);
    print_split("inference", &r->infer_split);
    print_ops("training", &r->train_prof);
    print_ops("inference", &r->infer_prof);
}

int cmd_bench(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return CLI_OK;
    }
    bench_options o;
    bench_options_default(&o);
    int json = 0;
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
        {"--precision", CLI_ARG_STRING, &o.precision, 0, 0},
        {"--json", CLI_ARG_FLAG, &json, 0, 0},
    };
    int rc = cli_parse_args("bench", argc, argv, args, (int)(sizeof args / sizeof args[0]));
    if (rc == CLI_OK) rc = cli_check_precision("bench", o.precision);
    if (rc != CLI_OK) return rc;

    mltc_error err = {0};
    bench_result r;
    if (bench_run(&err, &o, &r) != MLTC_OK) {
        fprintf(stderr, "mltc bench: %s\n", err.msg);
        return CLI_FAIL;
    }
    if (!json) {
        print_table(&r, o.profile_steps > 0);
        return CLI_OK;
    }
    char *text = bench_result_json(&r);
    if (!text) {
        fprintf(stderr, "mltc bench: out of memory\n");
        return CLI_FAIL;
    }
    printf("%s\n", text);
    free(text);
    return CLI_OK;
}
