/* include/mltc_platform.h: the platform layer's console and folder services for applications. */
#include "mltc_platform.h"

#include "api/api_internal.h"
#include "core/fileio.h"
#include "core/platform.h"

long mltc_read_line(FILE *f, char **line, size_t *cap) { return plat_read_line(f, line, cap); }

int mltc_is_terminal(FILE *f) { return plat_is_terminal(f); }

int mltc_path_kind(const char *path) { return path ? plat_is_dir(path) : -1; }

mltc_status mltc_make_folder(mltc_ctx *ctx, const char *path) {
    if (!ctx) return MLTC_ERR_INVALID_ARGUMENT;
    err_clear(&ctx->err);
    if (!path) return api_null(ctx, "mltc_make_folder", "path");
    return dir_create(&ctx->err, path);
}

void mltc_catch_stop(void (*on_stop)(void)) { plat_catch_stop(on_stop); }

void mltc_default_stop(void) { plat_default_stop(); }
