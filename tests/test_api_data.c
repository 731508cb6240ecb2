/* The public calls that need no device (mltc.h): checking choices, and freeing what a call
 * hands over. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mltc.h"
#include "testutil.h"

static char tmp[256];

/* A failed call: the status, and a message that contains want. */
static void expect_error(mltc_ctx *ctx, mltc_status got, mltc_status want, const char *want_text, const char *what) {
    tu_check(got == want && strstr(mltc_last_error(ctx), want_text), "%s: status %s (expected %s), message '%s' "
             "should contain '%s'", what, mltc_status_string(got), mltc_status_string(want), mltc_last_error(ctx),
             want_text);
}

static void test_checks(mltc_ctx *ctx) {
    tu_check(mltc_check_precision(ctx, "fp32") == MLTC_OK && mltc_check_precision(ctx, "bf16") == MLTC_OK,
             "precision fp32 and bf16: %s", mltc_last_error(ctx));
    expect_error(ctx, mltc_check_precision(ctx, "fp64"), MLTC_ERR_INVALID_ARGUMENT, "'fp64': expected fp32 or bf16",
                 "precision fp64");
    expect_error(ctx, mltc_check_precision(ctx, NULL), MLTC_ERR_INVALID_ARGUMENT, "precision", "precision NULL");
    static const char *const formats[] = {"auto", "jsonl", "tsv", "tsv-columns", NULL};
    for (int i = 0; i < 5; i++)
        tu_check(mltc_check_format(ctx, formats[i]) == MLTC_OK, "format %s: %s", formats[i] ? formats[i] : "NULL",
                 mltc_last_error(ctx));
    expect_error(ctx, mltc_check_format(ctx, "xml"), MLTC_ERR_INVALID_ARGUMENT,
                 "'xml' (auto, jsonl, tsv or tsv-columns)", "format xml");
    static const char *const heads[] = {"bert", "lmmtc", "lam", NULL};
    for (int i = 0; i < 4; i++)
        tu_check(mltc_check_head(ctx, heads[i]) == MLTC_OK, "head %s: %s", heads[i] ? heads[i] : "NULL",
                 mltc_last_error(ctx));
    expect_error(ctx, mltc_check_head(ctx, "gpt"), MLTC_ERR_INVALID_ARGUMENT, "'gpt': expected bert, lmmtc or lam",
                 "head gpt");
    tu_check(mltc_check_precision(NULL, "fp32") == MLTC_ERR_INVALID_ARGUMENT &&
                 mltc_check_format(NULL, "tsv") == MLTC_ERR_INVALID_ARGUMENT &&
                 mltc_check_head(NULL, "bert") == MLTC_ERR_INVALID_ARGUMENT,
             "the checks without a context");
    mltc_check_format(ctx, "xml");
    tu_check(mltc_check_format(ctx, "tsv") == MLTC_OK && !mltc_last_error(ctx)[0], "a check clears the last error");
    mltc_free(NULL);
}

int main(void) {
    mltc_ctx *ctx = NULL;
    if (mltc_ctx_create(&ctx) != MLTC_OK) return 1;
    snprintf(tmp, sizeof tmp, "/tmp/mltc_test_api_data_XXXXXX");
    if (!mkdtemp(tmp)) return 1;
    test_checks(ctx);
    mltc_ctx_destroy(ctx);
    tu_remove_tree(tmp);
    return tu_finish();
}
