/* Shorthands for the Vulkan op files (one per op family): push-constant words, the context, and
 * the sizes of grid-stride dispatches. */
#ifndef MLTC_DEVICE_VULKAN_OPS_H
#define MLTC_DEVICE_VULKAN_OPS_H

#include "device/vulkan/internal.h"

/* A push-constant word: sizes and element offsets travel as uint32. */
#define U(x) ((uint32_t)(x))

static inline vk_ctx *C(dev_ctx *ctx) { return (vk_ctx *)ctx; }

/* Grid-stride shaders (256 invocations a group): enough groups to cover n, at most the device's
 * x limit. */
static inline uint32_t groups_1d(const vk_ctx *c, size_t n) {
    size_t g = (n + 255) / 256, maxx = c->props.limits.maxComputeWorkGroupCount[0];
    return (uint32_t)(g < maxx ? g : maxx);
}

/* Elements of the piece that starts at element s of an n-element op. */
static inline size_t piece(const vk_ctx *c, size_t n, size_t s) {
    size_t w = vk_window_elems(c);
    return n - s < w ? n - s : w;
}

#endif
