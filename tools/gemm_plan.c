/*
 * gemm_plan: how the Vulkan backend launches each matrix product of a BERT training step on a
 * GPU of N compute units (default 60, two 256-invocation groups resident on each): the tile,
 * the work groups, the split of k, and whether the product launches at least twice the groups
 * the GPU holds at once (or splits k where even the smallest tile cannot). Runs without a GPU:
 * it prints the choice src/device/vulkan/gemm_tiles.c makes.
 *
 *   gemm_plan [--units N] [--tokens-per-seq T] [--batch B]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device/vulkan/internal.h"

typedef struct model {
    const char *name;
    long hidden, inter, heads;
} model;

static int row(const vk_gemm_plan *p, const char *what, long m, long n, long k, long problems) {
    static const char *const tiles[] = {"large", "medium", "small"};
    vk_gemm_shape s = vk_gemm_plan_product(p, m, n, k, problems);
    long side = vk_gemm_tile_side(s.tile);
    long groups = ((m + side - 1) / side) * ((n + side - 1) / side) * problems * s.splits;
    int ok = groups >= p->min_groups || s.splits > 1;
    printf("  %-22s %5ld x %5ld x %5ld x %4ld  %-6s %6ld %6d  %s\n", what, m, n, k, problems, tiles[s.tile], groups,
           s.splits, ok ? "yes" : "NO");
    return ok;
}

int main(int argc, char **argv) {
    long units = 60, T = 128, B = 16;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--units")) units = strtol(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--tokens-per-seq")) T = strtol(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--batch")) B = strtol(argv[i + 1], NULL, 10);
        else {
            fprintf(stderr, "usage: gemm_plan [--units N] [--tokens-per-seq T] [--batch B]\n");
            return 2;
        }
    }
    if (units < 1 || T < 1 || B < 1) {
        fprintf(stderr, "gemm_plan: --units, --tokens-per-seq and --batch must be positive\n");
        return 2;
    }
    vk_gemm_plan p = {.table = "given", .units = (int)units, .min_groups = 2 * 2 * units, .forced = -1};
    static const model models[] = {{"MiniLM-L6 (384, 1536, 12 heads)", 384, 1536, 12},
                                   {"BERT-base (768, 3072, 12 heads)", 768, 3072, 12}};
    long N = T * B;
    int all = 1;
    printf("GPU of %ld compute units: a product should launch >= %ld work groups (or split k)\n", units,
           p.min_groups);
    for (int i = 0; i < 2; i++) {
        const model *m = &models[i];
        long C = m->hidden, I = m->inter, H = m->heads, D = C / H;
        printf("%s, %ld x %ld tokens\n  %-22s %-30s  %-6s %6s %6s  %s\n", m->name, B, T, "product", "m x n x k x problems",
               "tile", "groups", "splits", "fills");
        all &= row(&p, "qkv forward", N, 3 * C, C, 1);
        all &= row(&p, "qkv d input", N, C, 3 * C, 1);
        all &= row(&p, "qkv d weight", 3 * C, C, N, 1);
        all &= row(&p, "out forward", N, C, C, 1);
        all &= row(&p, "out d input", N, C, C, 1);
        all &= row(&p, "out d weight", C, C, N, 1);
        all &= row(&p, "ffn1 forward", N, I, C, 1);
        all &= row(&p, "ffn1 d input", N, C, I, 1);
        all &= row(&p, "ffn1 d weight", I, C, N, 1);
        all &= row(&p, "ffn2 forward", N, C, I, 1);
        all &= row(&p, "ffn2 d input", N, I, C, 1);
        all &= row(&p, "ffn2 d weight", C, I, N, 1);
        all &= row(&p, "attn scores", T, T, D, B * H);
        all &= row(&p, "attn context", T, D, T, B * H);
        all &= row(&p, "attn d probs", T, T, D, B * H);
        all &= row(&p, "attn d v / d k", T, D, T, B * H);
        all &= row(&p, "attn d q", T, D, T, B * H);
    }
    printf(all ? "every product fills the GPU\n" : "some products leave the GPU short\n");
    return all ? 0 : 1;
}
