/* Which tile of shaders/gemm.comp a matrix product gets. A large tile does the most work per
 * shared-memory load, but BERT's products are often narrow (weight gradients of a few hundred
 * rows and columns, attention products n = head size): there a large tile launches fewer work
 * groups than a GPU can hold at once and most of the chip idles. So each product takes the
 * largest tile that still launches min_groups work groups (twice the groups the device holds
 * resident), else the smallest; a single product that even the smallest leaves short and
 * whose k is long is split along k (split-K) into medium-tile products summed afterwards.
 *
 * The device's compute units come from the driver where it says (AMD's and NVIDIA's shader-core
 * extensions), else from a table by vendor; MLTC_VK_GEMM_UNITS overrides them and
 * MLTC_VK_GEMM_TILE=large|medium|small forces one tile, for tuning and tests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device/vulkan/internal.h"

typedef struct tile_table {
    uint32_t vendor;     /* PCI vendor id; 0: any */
    const char *name;
    int compute_units;   /* when the driver does not say */
    int groups_per_unit; /* 256-invocation work groups resident per unit, at the large tile's registers */
} tile_table;

static const tile_table TABLES[] = {
    {0x1002, "AMD RDNA", 60, 2},       /* CUs: RX 7800 XT 60, RX 7900 XTX 96 */
    {0x10DE, "NVIDIA", 60, 2},         /* SMs: RTX 4070 46, RTX 3090 82, H100 132 */
    {0x8086, "Intel Xe", 32, 2},       /* Xe-cores: Arc A770 32, A750 28 */
    {0, "default (60 units)", 60, 2},
};
static const tile_table CPU_TABLE = {0, "CPU (large tiles)", 1, 1}; /* lavapipe: threads, not CUs */

static int env_int(const char *name, int fallback) {
    const char *v = getenv(name);
    if (!v || !*v) return fallback;
    char *end;
    long x = strtol(v, &end, 10);
    return *end == '\0' && x > 0 && x < 100000 ? (int)x : fallback;
}

/* The driver's own count of compute units, or 0. */
static int driver_units(VkPhysicalDevice pd) {
    if (vk_has_device_ext(pd, "VK_AMD_shader_core_properties")) {
        VkPhysicalDeviceShaderCorePropertiesAMD amd = {
            .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_CORE_PROPERTIES_AMD};
        VkPhysicalDeviceProperties2 p = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &amd};
        vkGetPhysicalDeviceProperties2(pd, &p);
        return (int)(amd.shaderEngineCount * amd.shaderArraysPerEngineCount * amd.computeUnitsPerShaderArray);
    }
    if (vk_has_device_ext(pd, "VK_NV_shader_sm_builtins")) {
        VkPhysicalDeviceShaderSMBuiltinsPropertiesNV nv = {
            .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_SM_BUILTINS_PROPERTIES_NV};
        VkPhysicalDeviceProperties2 p = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &nv};
        vkGetPhysicalDeviceProperties2(pd, &p);
        return (int)nv.shaderSMCount;
    }
    return 0;
}

vk_gemm_plan vk_gemm_plan_for(VkPhysicalDevice pd) {
    VkPhysicalDeviceProperties p;
    vkGetPhysicalDeviceProperties(pd, &p);
    const tile_table *t = &TABLES[sizeof TABLES / sizeof TABLES[0] - 1];
    if (p.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU) t = &CPU_TABLE;
    else
        for (size_t i = 0; i + 1 < sizeof TABLES / sizeof TABLES[0]; i++)
            if (TABLES[i].vendor == p.vendorID) t = &TABLES[i];
    vk_gemm_plan plan = {.table = t->name, .forced = -1};
    int units = driver_units(pd);
    plan.units_from_driver = units > 0;
    if (units <= 0) units = t->compute_units;
    plan.units = env_int("MLTC_VK_GEMM_UNITS", units);
    plan.min_groups = 2L * plan.units * t->groups_per_unit;
    const char *f = getenv("MLTC_VK_GEMM_TILE");
    if (f && !strcmp(f, "large")) plan.forced = VK_GEMM_LARGE;
    if (f && !strcmp(f, "medium")) plan.forced = VK_GEMM_MEDIUM;
    if (f && !strcmp(f, "small")) plan.forced = VK_GEMM_SMALL;
    return plan;
}

int vk_gemm_tile_side(int tile) { return 128 >> tile; }

static long tile_groups(int tile, long m, long n, long problems) {
    long s = vk_gemm_tile_side(tile);
    return ((m + s - 1) / s) * ((n + s - 1) / s) * problems;
}

static int pick_tile(const vk_gemm_plan *plan, long m, long n, long problems) {
    if (plan->forced >= 0) return plan->forced;
    for (int t = VK_GEMM_LARGE; t < VK_GEMM_SMALL; t++)
        if (tile_groups(t, m, n, problems) >= plan->min_groups) return t;
    return VK_GEMM_SMALL;
}

/* Each split sums at least this much of k: shorter sums would cost more in the partials'
 * traffic than they win in parallelism. */
#define SPLITK_MIN_CHUNK 256

vk_gemm_shape vk_gemm_plan_product(const vk_gemm_plan *plan, long m, long n, long k, long problems) {
    int picked = pick_tile(plan, m, n, problems);
    vk_gemm_shape s = {picked, 1, k};
    /* A single product (the weight gradients: few rows and columns, k = the batch's tokens) that
     * no tile spreads over enough groups: split k, each split a medium-tile product of its own. */
    if (problems != 1 || tile_groups(s.tile, m, n, 1) >= plan->min_groups || k < 2 * SPLITK_MIN_CHUNK) return s;
    if (plan->forced < 0) s.tile = VK_GEMM_MEDIUM;
    long groups = tile_groups(s.tile, m, n, 1), want = (plan->min_groups + groups - 1) / groups;
    long most = k / SPLITK_MIN_CHUNK < 64 ? k / SPLITK_MIN_CHUNK : 64;
    long splits = want < most ? want : most;
    if (splits < 2) {
        s.tile = picked;
        return s;
    }
    s.k_chunk = ((k + splits - 1) / splits + 7) / 8 * 8; /* whole BK = 8 slices */
    s.splits = (int)((k + s.k_chunk - 1) / s.k_chunk);
    return s;
}

void vk_gemm_plan_describe(const vk_gemm_plan *plan, char *out, size_t size) {
    static const char *const names[] = {"large", "medium", "small"};
    snprintf(out, size, "GEMM tiles: %s table, %d compute units (%s), large/medium/small by shape for >= %ld groups%s%s",
             plan->table, plan->units, plan->units_from_driver ? "driver" : "table", plan->min_groups,
             plan->forced >= 0 ? ", forced " : "", plan->forced >= 0 ? names[plan->forced] : "");
}
