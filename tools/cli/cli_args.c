#include "cli_args.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Matches "--name" or "--name=VALUE"; *inline_value points after '=' for the second form. */
static int matches(const char *arg, const char *name, const char **inline_value) {
    size_t n = strlen(name);
    if (strncmp(arg, name, n)) return 0;
    if (arg[n] == '\0') {
        *inline_value = NULL;
        return 1;
    }
    if (arg[n] == '=') {
        *inline_value = arg + n + 1;
        return 1;
    }
    return 0;
}

static int bad(const char *cmd, const char *name, const char *value, const char *why) {
    fprintf(stderr, "mltc %s: %s: '%s' %s\n", cmd, name, value, why);
    return CLI_USAGE;
}

static int out_of_range(const char *cmd, const cli_arg *a, const char *value) {
    fprintf(stderr, "mltc %s: %s: '%s' is out of range (%.15g to %.15g)\n", cmd, a->name, value, a->min, a->max);
    return CLI_USAGE;
}

static int has_range(const cli_arg *a) { return a->min != 0 || a->max != 0; }

static int store(const char *cmd, const cli_arg *a, const char *v) {
    char *end = NULL;
    errno = 0;
    switch (a->kind) {
    case CLI_ARG_STRING:
        *(const char **)a->dest = v;
        return CLI_OK;
    case CLI_ARG_INT:
    case CLI_ARG_LONG: {
        long x = strtol(v, &end, 10);
        if (!*v || *end) return bad(cmd, a->name, v, "is not a whole number");
        if (errno == ERANGE) return bad(cmd, a->name, v, "is too large");
        if (has_range(a) && (x < a->min || x > a->max)) return out_of_range(cmd, a, v);
        if (a->kind == CLI_ARG_LONG) {
            *(long *)a->dest = x;
        } else {
            if (x < INT_MIN || x > INT_MAX) return bad(cmd, a->name, v, "is too large");
            *(int *)a->dest = (int)x;
        }
        return CLI_OK;
    }
    case CLI_ARG_U64: {
        /* strtoull accepts "-1" as a huge number; a seed given as negative is a mistake. */
        if (!*v || *v == '-' || *v == '+') return bad(cmd, a->name, v, "is not a number >= 0");
        unsigned long long x = strtoull(v, &end, 10);
        if (*end) return bad(cmd, a->name, v, "is not a number >= 0");
        if (errno == ERANGE) return bad(cmd, a->name, v, "is too large");
        *(uint64_t *)a->dest = (uint64_t)x;
        return CLI_OK;
    }
    case CLI_ARG_DOUBLE: {
        double x = strtod(v, &end);
        if (!*v || *end || !isfinite(x)) return bad(cmd, a->name, v, "is not a number");
        if (errno == ERANGE && x != 0) return bad(cmd, a->name, v, "is out of range");
        if (has_range(a) && (x < a->min || x > a->max)) return out_of_range(cmd, a, v);
        *(double *)a->dest = x;
        return CLI_OK;
    }
    case CLI_ARG_FLAG:
        break;
    }
    return CLI_OK;
}

int cli_parse_args(const char *cmd, int argc, char **argv, const cli_arg *args, int n) {
    for (int i = 1; i < argc; i++) {
        const cli_arg *a = NULL;
        const char *v = NULL;
        for (int k = 0; k < n && !a; k++)
            if (matches(argv[i], args[k].name, &v)) a = &args[k];
        if (!a) {
            fprintf(stderr, "mltc %s: unexpected argument '%s' (mltc %s --help)\n", cmd, argv[i], cmd);
            return CLI_USAGE;
        }
        if (a->kind == CLI_ARG_FLAG) {
            if (v) {
                fprintf(stderr, "mltc %s: %s takes no value\n", cmd, a->name);
                return CLI_USAGE;
            }
            *(int *)a->dest = 1;
            continue;
        }
        if (!v) {
            if (i + 1 >= argc) {
                fprintf(stderr, "mltc %s: %s needs a value\n", cmd, a->name);
                return CLI_USAGE;
            }
            v = argv[++i];
        }
        int rc = store(cmd, a, v);
        if (rc != CLI_OK) return rc;
    }
    return CLI_OK;
}

int cli_check_choice(const char *cmd, const char *option, mltc_status (*check)(mltc_ctx *, const char *),
                     const char *value) {
    if (!value) return CLI_OK;
    mltc_ctx *ctx = NULL;
    if (mltc_ctx_create(&ctx) != MLTC_OK) {
        fprintf(stderr, "mltc %s: out of memory\n", cmd);
        return CLI_FAIL;
    }
    int rc = CLI_OK;
    if (check(ctx, value) != MLTC_OK) {
        fprintf(stderr, "mltc %s: %s: %s\n", cmd, option, mltc_last_error(ctx));
        rc = CLI_USAGE;
    }
    mltc_ctx_destroy(ctx);
    return rc;
}

int cli_require(const char *cmd, const char *option, const char *value) {
    if (value) return CLI_OK;
    fprintf(stderr, "mltc %s: %s is required (mltc %s --help)\n", cmd, option, cmd);
    return CLI_USAGE;
}
