/* mltc train: fine-tunes a BERT folder into a multi-label classifier (mltc_train does the work). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_args.h"
#include "cli_ranks.h"
#include "mltc_platform.h"
#include "progress.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: mltc train --model DIR --train FILE --labels FILE --head bert|lmmtc|lam --out DIR\n"
            "                  [--dev FILE] [--device D] [--epochs N] [--batch N] [--lr X] [--max-len N]\n"
            "                  [--seed N] [--lambda X] [--warmup X] [--threshold X] [--dropout X]\n"
            "                  [--weight-decay X] [--max-grad-norm X] [--mask-prob X]\n"
            "                  [--label-tokens per-label|shared] [--format F] [--skip-bad]\n"
            "                  [--max-steps N] [--log-every N] [--save-every N]\n"
            "                  [--micro-batch N] [--precision fp32|bf16] [--resume]\n"
            "                  [--head-lr X] [--label-bias prior|zero] [--pooling mean|cls]\n"
            "                  [--dev-split F] [--patience N] [--tune-threshold global|per-label|none]\n"
            "                  [--min-labels auto|N] [--recipe mltc|papers] [--report]\n"
            "                  [--reduce allreduce|in-order]\n"
            "       mpirun -np N mltc train ... --device cpu|opencl:local|vulkan:local\n\n"
            "Fine-tunes a BERT model for multi-label classification and writes:\n"
            "  OUT/best/             the checkpoint with the best dev micro-F1 (the last one without --dev)\n"
            "  OUT/last/             the latest checkpoint with optimizer state, for --resume\n"
            "  OUT/train_log.jsonl   one JSON object per logged step and per evaluation\n\n"
            "options:\n"
            "  --model DIR        Hugging Face BERT folder: config.json, model.safetensors, vocab.txt\n"
            "  --train FILE       training data: jsonl, tsv or tsv-columns (see mltc metrics --help)\n"
            "  --dev FILE         evaluated after every epoch; the best micro-F1 is kept in OUT/best\n"
            "  --labels FILE      label names, one a line (may be left out for tsv-columns data)\n"
            "  --head H           bert: [CLS] + linear; lmmtc: label prompt + label MLM (LM-MTC);\n"
            "                     lam: cosine label attention (BERT-LAM)\n"
            "  --out DIR          output folder\n"
            "  --device D         cpu, opencl[:N], vulkan[:N] (default: $MLTC_DEVICE, else cpu); under\n"
            "                     mpirun, opencl:local / vulkan:local is the device numbered as the\n"
            "                     process among those on its machine, and opencl:0,2 picks from a list\n"
            "  --precision P      matrix products in fp32 (default) or bf16: mixed precision like\n"
            "                     PyTorch's autocast, operands rounded to bfloat16, sums, weights and\n"
            "                     checkpoints fp32 (cpu device of the oneMKL build, AVX512-BF16 or AMX)\n"
            "  --epochs N         passes over the training data (default 3)\n"
            "  --batch N          examples per optimizer step (default 16)\n"
            "  --micro-batch N    examples on the device at a time (default: the batch): each step's\n"
            "                     batch runs in parts of N whose gradients add up (gradient accumulation),\n"
            "                     so memory for activations shrinks with N; same loss and gradients\n"
            "                     up to rounding and dropout draws; may differ on --resume\n"
            "  --lr X             peak AdamW learning rate of the encoder (default 1e-4; the papers' 5e-5)\n"
            "  --max-len N        tokens per input, [CLS] and [SEP] included (default 128)\n"
            "  --seed N           initialisation, shuffling and dropout seed (default 42)\n"
            "  --lambda X         lmmtc: weight of the label MLM loss (default 0.05)\n"
            "  --warmup X         share of the steps with linear warm-up, 0..1 (default 0.1)\n"
            "  --threshold X      a label is predicted when p > X (default 0.5; given, it is kept: no\n"
            "                     threshold tuning unless --tune-threshold is given too)\n"
            "  --dropout X        dropout before the head's classifier, 0..<1 (default 0.1); the encoder's\n"
            "                     dropout is the model's own (config.json hidden/attention_probs_dropout_prob)\n"
            "  --weight-decay X   AdamW decoupled weight decay of matrices and embeddings (default 0.01)\n"
            "  --max-grad-norm X  global gradient-norm clipping threshold, > 0 (default 1.0)\n"
            "  --mask-prob X      lmmtc: probability of masking a label state in the MLM copy (default 0.15)\n"
            "  --label-tokens T   lmmtc: per-label tokens (default) or one shared set\n"
            "  --format F         data format: auto (default), jsonl, tsv, tsv-columns\n"
            "  --skip-bad         skip malformed data lines (counted) instead of stopping\n"
            "  --max-steps N      stop after N optimizer steps (0: all epochs)\n"
            "  --log-every N      steps between log lines (default 10)\n"
            "  --save-every N     also write OUT/last every N steps, so a killed run loses at most N\n"
            "                     (default 0: at the end of each epoch and on a stop only)\n"
            "  --recipe R         the defaults to start from: mltc (default; chosen on dev splits, see the\n"
            "                     README) or papers (the papers' recipe: --lr 5e-5 --head-lr 0 --label-bias zero\n"
            "                     --pooling cls --dev-split 0 --tune-threshold none --min-labels 0);\n"
            "                     options given beside it still apply\n"
            "  --head-lr X        peak learning rate of the head's own parameters (default 1e-3; 0: --lr)\n"
            "  --label-bias B     prior (default): each label's bias starts at its log prior odds in the\n"
            "                     training data; zero: at 0\n"
            "  --pooling P        bert head: mean (default) over the real tokens, or cls ([CLS] only)\n"
            "  --dev-split F      without --dev, hold out this share of the training data as dev data\n"
            "                     (seeded, every label with enough examples represented; default 0.1; 0: none)\n"
            "  --patience N       stop after N epochs without a better dev micro-F1 (default 0: never)\n"
            "  --tune-threshold T after each dev pass, tune the decision threshold on it: global (default,\n"
            "                     one for every label), per-label, or none (keep --threshold); the best\n"
            "                     epoch's thresholds are saved with it and used by eval and predict\n"
            "  --min-labels M     at least M labels per prediction (the most probable ones); auto (default):\n"
            "                     1 when every training example has a label, else 0\n"
            "  --report           at the end, write OUT/report (mltc report --run OUT --data the --dev\n"
            "                     file, else the --train file)\n"
            "  --reduce R         under mpirun: how the processes sum gradients: allreduce (default,\n"
            "                     MPI_Allreduce) or in-order (gathered and added in rank order on rank 0:\n"
            "                     bitwise reproducible whatever MPI does, more traffic)\n"
            "  --resume           continue the run in OUT from OUT/last with the settings saved there\n"
            "                     (--model and --head may then be left out); the numbers come out as if\n"
            "                     it had never stopped (same device); a finished run is left as it is\n\n"
            "Ctrl-C (or SIGTERM) stops after the current step and writes OUT/last, so --resume can go on.\n\n"
            "Under mpirun each process trains on its share of every batch (--batch stays the whole step's;\n"
            "each process runs batch/N examples, in parts of --micro-batch when given) and the gradients\n"
            "are summed across processes; rank 0 evaluates and writes OUT. The numbers are those of one\n"
            "process with --micro-batch batch/N (rounded up). mpirun kills the processes 1 s after it\n"
            "passes on a SIGTERM: give it --mca odls_base_sigkill_timeout 30 for time to write OUT/last,\n"
            "and --save-every for what a kill would lose. --resume may use another number of processes.\n");
}

/* The other ranks print nothing of the run, but stop on Ctrl-C or SIGTERM as rank 0 does. */
static int quiet_report(const mltc_train_progress *pr, void *user) {
    (void)pr;
    (void)user;
    return progress_interrupted();
}

int cmd_train(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return CLI_OK;
    }
    mltc_train_options o;
    /* --recipe picks the defaults the other options then change, wherever it stands. */
    const char *recipe = "mltc";
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], "--recipe")) recipe = argv[i + 1];
    if (!strcmp(recipe, "papers"))
        mltc_train_options_papers(&o);
    else if (!strcmp(recipe, "mltc"))
        mltc_train_options_default(&o);
    else {
        fprintf(stderr, "mltc train: --recipe: '%s': expected mltc or papers\n", recipe);
        return CLI_USAGE;
    }
    const char *device = NULL, *head = NULL, *label_tokens = "per-label", *format = "auto", *precision = NULL;
    const char *min_labels = NULL, *tune = NULL, *reduce = "allreduce";
    double threshold = -1;
    int report = 0;
    const cli_arg args[] = {
        {"--report", CLI_ARG_FLAG, &report, 0, 0},
        {"--model", CLI_ARG_STRING, &o.model_dir, 0, 0},
        {"--train", CLI_ARG_STRING, &o.train_path, 0, 0},
        {"--dev", CLI_ARG_STRING, &o.dev_path, 0, 0},
        {"--labels", CLI_ARG_STRING, &o.labels_path, 0, 0},
        {"--head", CLI_ARG_STRING, &head, 0, 0},
        {"--out", CLI_ARG_STRING, &o.out_dir, 0, 0},
        {"--device", CLI_ARG_STRING, &device, 0, 0},
        {"--precision", CLI_ARG_STRING, &precision, 0, 0},
        {"--epochs", CLI_ARG_INT, &o.epochs, 1, 100000},
        {"--batch", CLI_ARG_INT, &o.batch, 1, 65536},
        {"--lr", CLI_ARG_DOUBLE, &o.lr, 1e-12, 10},
        {"--max-len", CLI_ARG_INT, &o.max_len, 3, 65536},
        {"--seed", CLI_ARG_U64, &o.seed, 0, 0},
        {"--lambda", CLI_ARG_DOUBLE, &o.lambda, 0, 1e6},
        {"--warmup", CLI_ARG_DOUBLE, &o.warmup, 0, 1},
        {"--threshold", CLI_ARG_DOUBLE, &threshold, 0, 1},
        {"--dropout", CLI_ARG_DOUBLE, &o.dropout, 0, 1},
        {"--weight-decay", CLI_ARG_DOUBLE, &o.weight_decay, 0, 1e6},
        {"--max-grad-norm", CLI_ARG_DOUBLE, &o.max_grad_norm, 0, 1e30},
        {"--mask-prob", CLI_ARG_DOUBLE, &o.mask_prob, 0, 1},
        {"--label-tokens", CLI_ARG_STRING, &label_tokens, 0, 0},
        {"--format", CLI_ARG_STRING, &format, 0, 0},
        {"--skip-bad", CLI_ARG_FLAG, &o.skip_bad, 0, 0},
        {"--max-steps", CLI_ARG_LONG, &o.max_steps, 0, 1e15},
        {"--log-every", CLI_ARG_INT, &o.log_every, 1, 1000000000},
        {"--save-every", CLI_ARG_LONG, &o.save_every, 0, 1e15},
        {"--micro-batch", CLI_ARG_INT, &o.micro_batch, 1, 65536},
        {"--resume", CLI_ARG_FLAG, &o.resume, 0, 0},
        {"--recipe", CLI_ARG_STRING, &recipe, 0, 0},
        {"--head-lr", CLI_ARG_DOUBLE, &o.head_lr, 0, 10},
        {"--label-bias", CLI_ARG_STRING, &o.label_bias, 0, 0},
        {"--pooling", CLI_ARG_STRING, &o.pooling, 0, 0},
        {"--dev-split", CLI_ARG_DOUBLE, &o.dev_split, 0, 0.5},
        {"--patience", CLI_ARG_INT, &o.patience, 0, 1000000},
        {"--tune-threshold", CLI_ARG_STRING, &tune, 0, 0},
        {"--min-labels", CLI_ARG_STRING, &min_labels, 0, 0},
        {"--reduce", CLI_ARG_STRING, &reduce, 0, 0},
    };
    int rc = cli_parse_args("train", argc, argv, args, (int)(sizeof args / sizeof args[0]));
    if (rc == CLI_OK) rc = cli_check_choice("train", "--precision", mltc_check_precision, precision);
    if (rc == CLI_OK && !o.resume) rc = cli_require("train", "--model", o.model_dir);
    if (rc == CLI_OK) rc = cli_require("train", "--train", o.train_path);
    if (rc == CLI_OK) rc = cli_require("train", "--out", o.out_dir);
    if (rc == CLI_OK && !o.resume) rc = cli_require("train", "--head", head);
    if (rc != CLI_OK) return rc;

    /* Choices are checked here so a typo is a usage error before any model is read. With
     * --resume the checkpoint's own head and settings apply. */
    if (head) o.head = head;
    rc = cli_check_choice("train", "--head", mltc_check_head, o.head);
    if (rc == CLI_OK) rc = cli_check_choice("train", "--format", mltc_check_format, format);
    if (rc != CLI_OK) return rc;
    o.format = format;
    if (!strcmp(label_tokens, "shared"))
        o.shared_label_tokens = 1;
    else if (strcmp(label_tokens, "per-label")) {
        fprintf(stderr, "mltc train: --label-tokens: '%s': expected per-label or shared\n", label_tokens);
        return CLI_USAGE;
    }
    if (min_labels && strcmp(min_labels, "auto")) {
        char *end = NULL;
        long v = strtol(min_labels, &end, 10);
        if (!*min_labels || *end || v < 0 || v > 1000000) {
            fprintf(stderr, "mltc train: --min-labels: '%s': expected auto or a count >= 0\n", min_labels);
            return CLI_USAGE;
        }
        o.min_labels = (int)v;
    } else if (min_labels) {
        o.min_labels = -1;
    }
    /* A threshold given by hand is the one to keep, unless tuning is asked for as well. */
    if (threshold >= 0) {
        o.threshold = threshold;
        if (!tune) tune = "none";
    }
    if (tune) o.tune_threshold = tune;
    if (strcmp(reduce, "allreduce") && strcmp(reduce, "in-order")) {
        fprintf(stderr, "mltc train: --reduce: '%s': expected allreduce or in-order\n", reduce);
        return CLI_USAGE;
    }
    /* Only tsv-columns data (which auto may find) has a header to name the labels. */
    if (!o.labels_path && (!strcmp(format, "jsonl") || !strcmp(format, "tsv"))) {
        fprintf(stderr, "mltc train: --labels is required unless the data is tsv-columns\n");
        return CLI_USAGE;
    }

    cli_ranks ranks;
    if (cli_ranks_start(&ranks, "train", !strcmp(reduce, "in-order"))) return CLI_FAIL;
    char who[32] = "", spec[256];
    if (ranks.size > 1) snprintf(who, sizeof who, "rank %d: ", ranks.rank);
    mltc_ctx *ctx = NULL;
    mltc_device *dev = NULL;
    if (mltc_ctx_create(&ctx) != MLTC_OK) {
        fprintf(stderr, "mltc train: %sout of memory\n", who);
        cli_ranks_stop(&ranks, 1);
        return CLI_FAIL;
    }
    rc = CLI_FAIL;
    int failed = cli_rank_device(&ranks, device ? device : getenv("MLTC_DEVICE"), spec, sizeof spec);
    if (!failed && (failed = cli_open_device(ctx, *spec ? spec : NULL, precision, &dev) != MLTC_OK))
        fprintf(stderr, "mltc train: %s%s\n", who, mltc_last_error(ctx));
    /* Every rank learns of a device that did not open, instead of waiting for its rank. */
    if (cli_ranks_agree(&ranks, failed, "to open its device")) goto done;
    if (ranks.size > 1)
        fprintf(stderr, "mltc train: rank %d of %d on %s\n", ranks.rank, ranks.size, mltc_device_id(dev));
    if (ranks.rank > 0) {
        /* the run's lines come from rank 0 */
    } else if (o.resume)
        fprintf(stderr, "mltc train: resuming %s/last on %s\n", o.out_dir, mltc_device_id(dev));
    else
        fprintf(stderr, "mltc train: head %s on %s%s, %d epoch(s), batch %d, lr %g, max-len %d -> %s\n", o.head,
                mltc_device_id(dev), precision && !strcmp(precision, "bf16") ? " (bf16 matmul)" : "", o.epochs,
                o.batch, o.lr, o.max_len, o.out_dir);
    cli_progress prog;
    progress_init(&prog, stderr, o.log_every);
    mltc_train_result res;
    mltc_status st = mltc_train_parallel(ctx, dev, &o, ranks.comm, ranks.rank == 0 ? progress_report : quiet_report,
                                         &prog, &res);
    if (ranks.rank == 0) progress_finish(&prog);
    if (st != MLTC_OK) {
        fprintf(stderr, "mltc train: %s%s\n", who, mltc_last_error(ctx));
        goto done;
    }
    if (ranks.rank > 0) { /* where it stopped: every rank at rank 0's step */
        fprintf(stderr, "mltc train: rank %d: stopped after step %ld\n", ranks.rank, res.steps);
        rc = CLI_OK;
        goto done;
    }
    if (isnan(res.final_loss)) /* resumed a finished run: nothing ran */
        fprintf(stderr, "mltc train: the run in %s already finished (%ld step(s), %d epoch(s)); nothing to do",
                o.out_dir, res.steps, res.epochs_done);
    else
        fprintf(stderr, "mltc train: %ld step(s), %d epoch(s) in %.1f s (%.1f examples/s), final loss %.4f",
                res.steps, res.epochs_done, res.seconds, res.examples_per_s, res.final_loss);
    if (res.best_micro_f1 >= 0) fprintf(stderr, ", best dev micro-F1 %.4f", res.best_micro_f1);
    /* OUT/best appears at the end of the first epoch, so a run stopped earlier has none. */
    char best[4200];
    snprintf(best, sizeof best, "%s/best", o.out_dir);
    int have_best = mltc_path_kind(best) >= 0;
    fprintf(stderr, "\nmltc train: checkpoints: %s%s%s/last%s\n", have_best ? best : "", have_best ? " and " : "",
            o.out_dir, progress_interrupted() ? " (interrupted; continue with --resume)" : "");
    rc = CLI_OK;
    if (report) {
        mltc_report_options ro;
        mltc_report_options_default(&ro);
        ro.run_dir = o.out_dir;
        ro.data_path = o.dev_path ? o.dev_path : o.train_path;
        ro.format = o.format;
        rc = cli_write_report(ctx, dev, &ro, "train --report");
    }
done:
    mltc_device_close(dev);
    mltc_ctx_destroy(ctx);
    /* Every failure so far was agreed on by all ranks (mltc_train_parallel agrees on its own). */
    cli_ranks_stop(&ranks, 0);
    return rc;
}
