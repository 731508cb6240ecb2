/* A minimal application of the public API: load a trained checkpoint and print the label
 * probabilities of the texts given on the command line.
 *
 *   example_predict CHECKPOINT_DIR "first text" ["second text" ...]
 *
 * The device comes from MLTC_DEVICE (cpu, opencl[:N], vulkan[:N]); cpu when it is unset. */
#include <stdio.h>
#include <stdlib.h>

#include <mltc.h>

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s CHECKPOINT_DIR TEXT [TEXT ...]\n", argv[0]);
        return 2;
    }
    mltc_ctx *ctx = NULL;
    mltc_device *dev = NULL;
    mltc_model *model = NULL;
    float *probs = NULL;
    int rc = 1;
    if (mltc_ctx_create(&ctx) != MLTC_OK) return 1;
    if (mltc_device_open(ctx, NULL, &dev) != MLTC_OK || mltc_model_load(ctx, dev, argv[1], &model) != MLTC_OK)
        goto fail;

    size_t n = (size_t)(argc - 2);
    int k = mltc_model_num_labels(model);
    probs = malloc(sizeof *probs * n * (size_t)k);
    if (!probs || mltc_predict(ctx, model, (const char *const *)(argv + 2), n, probs) != MLTC_OK) goto fail;

    float t = mltc_model_threshold(model);
    for (size_t i = 0; i < n; i++) {
        printf("%s\n", argv[2 + i]);
        for (int j = 0; j < k; j++) {
            float p = probs[i * (size_t)k + j];
            printf("  %-24s %.4f%s\n", mltc_model_label_name(model, j), p, p > t ? "  *" : "");
        }
    }
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "error: %s\n", probs || !model ? mltc_last_error(ctx) : "out of memory");
done:
    free(probs);
    mltc_model_free(model);
    mltc_device_close(dev);
    mltc_ctx_destroy(ctx);
    return rc;
}
