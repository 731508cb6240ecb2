/*
 * shader_stats: compiles every embedded compute shader for a real GPU's ISA and prints what the
 * driver's compiler made of it (VK_KHR_pipeline_executable_properties): registers, spills,
 * shared memory (LDS), scratch, code size, waves per SIMD. Meant for Mesa's RADV without an AMD
 * GPU: RADV_FORCE_FAMILY=gfx1100 (RDNA3; names as that Mesa knows them) makes RADV expose a
 * "null hardware" device that compiles pipelines but cannot run them (tools/shader_stats.sh
 * sets it up).
 *
 *   shader_stats [--variants FILE] [--max-spills N] [--known-spills NAME,NAME] [--json FILE]
 *
 * Each shader is compiled with its specialization constants at their defaults, and with every (name, spec0,
 * spec1) line of FILE: the variants the Vulkan backend created while it ran, as it logs them
 * under MLTC_VK_PIPELINE_LOG=FILE. Exit status 1 when any pipeline spills more than N registers
 * (default 0), except the shaders named by --known-spills (still shown, marked "known"); 77 when
 * no device offers the statistics (nothing to check here).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vulkan/vulkan.h>

#include "device/embedded.h"

#define MAX_BINDINGS 16 /* more than any shader declares: a layout may hold bindings a shader lacks */
#define MAX_VARIANTS 512

typedef struct variant {
    char name[48];
    int spec[2];
    int defaults; /* compiled with the shader's own specialization defaults (spec unused) */
} variant;

/* The statistics shown as columns; the JSON keeps every one the driver reports. */
static const char *const COLUMNS[] = {"VGPRs", "SGPRs", "Spilled VGPRs", "Spilled SGPRs", "LDS size",
                                      "Scratch size", "Code size", "Instructions", "Subgroups per SIMD"};
#define NCOLS (sizeof COLUMNS / sizeof COLUMNS[0])

typedef struct gpu {
    VkInstance instance;
    VkPhysicalDevice phys;
    VkDevice device;
    VkPipelineLayout layout;
    VkDescriptorSetLayout set_layout;
    PFN_vkGetPipelineExecutablePropertiesKHR props;
    PFN_vkGetPipelineExecutableStatisticsKHR stats;
    char name[VK_MAX_PHYSICAL_DEVICE_NAME_SIZE];
} gpu;

static int has_extension(VkPhysicalDevice p, const char *ext) {
    uint32_t n = 0;
    if (vkEnumerateDeviceExtensionProperties(p, NULL, &n, NULL) != VK_SUCCESS || n == 0) return 0;
    VkExtensionProperties *e = calloc(n, sizeof *e);
    int found = 0;
    if (e && vkEnumerateDeviceExtensionProperties(p, NULL, &n, e) == VK_SUCCESS)
        for (uint32_t i = 0; i < n && !found; i++) found = strcmp(e[i].extensionName, ext) == 0;
    free(e);
    return found;
}

/* The first device with pipeline statistics, a device and a layout that fits every shader.
 * Returns 0, or 77 (no such device) or 1 (a Vulkan call failed), having said why. */
static int open_gpu(gpu *g) {
    VkApplicationInfo app = {.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO, .apiVersion = VK_API_VERSION_1_1};
    VkInstanceCreateInfo ici = {.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO, .pApplicationInfo = &app};
    if (vkCreateInstance(&ici, NULL, &g->instance) != VK_SUCCESS) {
        fprintf(stderr, "shader_stats: no Vulkan instance\n");
        return 77;
    }
    uint32_t n = 0;
    vkEnumeratePhysicalDevices(g->instance, &n, NULL);
    VkPhysicalDevice devs[16];
    if (n > 16) n = 16;
    vkEnumeratePhysicalDevices(g->instance, &n, devs);
    const char *ext = VK_KHR_PIPELINE_EXECUTABLE_PROPERTIES_EXTENSION_NAME;
    for (uint32_t i = 0; i < n && !g->phys; i++)
        if (has_extension(devs[i], ext)) g->phys = devs[i];
    if (!g->phys) {
        fprintf(stderr, "shader_stats: none of %u Vulkan device(s) offers %s\n", n, ext);
        return 77;
    }
    VkPhysicalDeviceProperties pp;
    vkGetPhysicalDeviceProperties(g->phys, &pp);
    snprintf(g->name, sizeof g->name, "%s", pp.deviceName);

    uint32_t nq = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(g->phys, &nq, NULL);
    float prio = 1.0f;
    VkDeviceQueueCreateInfo qci = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
                                   .queueFamilyIndex = 0, .queueCount = 1, .pQueuePriorities = &prio};
    VkPhysicalDevicePipelineExecutablePropertiesFeaturesKHR feat = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PIPELINE_EXECUTABLE_PROPERTIES_FEATURES_KHR,
        .pipelineExecutableInfo = VK_TRUE};
    VkDeviceCreateInfo dci = {.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO, .pNext = &feat,
                              .queueCreateInfoCount = nq ? 1 : 0, .pQueueCreateInfos = &qci,
                              .enabledExtensionCount = 1, .ppEnabledExtensionNames = &ext};
    VkResult r = vkCreateDevice(g->phys, &dci, NULL, &g->device);
    if (r != VK_SUCCESS) {
        fprintf(stderr, "shader_stats: vkCreateDevice on %s failed (%d)\n", g->name, (int)r);
        return 1;
    }
    g->props = (PFN_vkGetPipelineExecutablePropertiesKHR)vkGetDeviceProcAddr(
        g->device, "vkGetPipelineExecutablePropertiesKHR");
    g->stats = (PFN_vkGetPipelineExecutableStatisticsKHR)vkGetDeviceProcAddr(
        g->device, "vkGetPipelineExecutableStatisticsKHR");
    if (!g->props || !g->stats) {
        fprintf(stderr, "shader_stats: %s lacks the statistics entry points\n", g->name);
        return 1;
    }
    VkDescriptorSetLayoutBinding b[MAX_BINDINGS];
    for (int i = 0; i < MAX_BINDINGS; i++)
        b[i] = (VkDescriptorSetLayoutBinding){.binding = (uint32_t)i,
                                              .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                              .descriptorCount = 1, .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT};
    VkDescriptorSetLayoutCreateInfo sl = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
                                          .bindingCount = MAX_BINDINGS, .pBindings = b};
    VkPushConstantRange push = {VK_SHADER_STAGE_COMPUTE_BIT, 0, pp.limits.maxPushConstantsSize < 256
                                                                    ? pp.limits.maxPushConstantsSize
                                                                    : 256};
    if (vkCreateDescriptorSetLayout(g->device, &sl, NULL, &g->set_layout) != VK_SUCCESS) return 1;
    VkPipelineLayoutCreateInfo pl = {.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
                                     .setLayoutCount = 1, .pSetLayouts = &g->set_layout,
                                     .pushConstantRangeCount = 1, .pPushConstantRanges = &push};
    return vkCreatePipelineLayout(g->device, &pl, NULL, &g->layout) == VK_SUCCESS ? 0 : 1;
}

static void close_gpu(gpu *g) {
    if (g->layout) vkDestroyPipelineLayout(g->device, g->layout, NULL);
    if (g->set_layout) vkDestroyDescriptorSetLayout(g->device, g->set_layout, NULL);
    if (g->device) vkDestroyDevice(g->device, NULL);
    if (g->instance) vkDestroyInstance(g->instance, NULL);
}

static double stat_value(const VkPipelineExecutableStatisticKHR *s) {
    switch (s->format) {
    case VK_PIPELINE_EXECUTABLE_STATISTIC_FORMAT_BOOL32_KHR: return s->value.b32;
    case VK_PIPELINE_EXECUTABLE_STATISTIC_FORMAT_INT64_KHR: return (double)s->value.i64;
    case VK_PIPELINE_EXECUTABLE_STATISTIC_FORMAT_UINT64_KHR: return (double)s->value.u64;
    default: return s->value.f64;
    }
}

/* Compiles one variant and prints its row (and its JSON object); *spills gets its spilled
 * registers. Returns 0, or 1 when the driver refused the shader. */
static int report(gpu *g, const variant *v, FILE *json, int first, long *spills) {
    const mltc_embedded_file *spv = mltc_embedded_find(mltc_spirv, v->name);
    if (!spv) {
        fprintf(stderr, "shader_stats: shader %s is not in this build\n", v->name);
        return 1;
    }
    VkShaderModuleCreateInfo mi = {.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO, .codeSize = spv->size,
                                   .pCode = (const uint32_t *)spv->data};
    VkShaderModule module;
    if (vkCreateShaderModule(g->device, &mi, NULL, &module) != VK_SUCCESS) return 1;
    VkSpecializationMapEntry map[2] = {{0, 0, 4}, {1, 4, 4}};
    VkSpecializationInfo si = {2, map, sizeof v->spec, v->spec};
    if (v->defaults) si.mapEntryCount = 0;
    VkComputePipelineCreateInfo ci = {
        .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
        .flags = VK_PIPELINE_CREATE_CAPTURE_STATISTICS_BIT_KHR,
        .stage = {.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO, .stage = VK_SHADER_STAGE_COMPUTE_BIT,
                  .module = module, .pName = "main", .pSpecializationInfo = &si},
        .layout = g->layout};
    VkPipeline pipe;
    VkResult r = vkCreateComputePipelines(g->device, VK_NULL_HANDLE, 1, &ci, NULL, &pipe);
    vkDestroyShaderModule(g->device, module, NULL);
    if (r != VK_SUCCESS) {
        fprintf(stderr, "shader_stats: %s (%d, %d): vkCreateComputePipelines failed (%d)\n", v->name, v->spec[0],
                v->spec[1], (int)r);
        return 1;
    }
    VkPipelineExecutableInfoKHR ei = {.sType = VK_STRUCTURE_TYPE_PIPELINE_EXECUTABLE_INFO_KHR, .pipeline = pipe,
                                      .executableIndex = 0};
    uint32_t n = 0;
    g->stats(g->device, &ei, &n, NULL);
    VkPipelineExecutableStatisticKHR *s = calloc(n ? n : 1, sizeof *s);
    if (!s) {
        vkDestroyPipeline(g->device, pipe, NULL);
        return 1;
    }
    for (uint32_t i = 0; i < n; i++) s[i].sType = VK_STRUCTURE_TYPE_PIPELINE_EXECUTABLE_STATISTIC_KHR;
    g->stats(g->device, &ei, &n, s);
    if (v->defaults) printf("%-26s %5s", v->name, "deflt");
    else printf("%-26s %2d %2d", v->name, v->spec[0], v->spec[1]);
    *spills = 0;
    for (size_t c = 0; c < NCOLS; c++) {
        const VkPipelineExecutableStatisticKHR *hit = NULL;
        for (uint32_t i = 0; i < n && !hit; i++)
            if (strcmp(s[i].name, COLUMNS[c]) == 0) hit = &s[i];
        if (hit) printf(" %8.0f", stat_value(hit));
        else printf(" %8s", "-");
        if (hit && strncmp(COLUMNS[c], "Spilled", 7) == 0) *spills += (long)stat_value(hit);
    }
    printf("\n");
    if (json) {
        if (v->defaults) fprintf(json, "%s\n  {\"shader\": \"%s\", \"spec\": \"defaults\"", first ? "" : ",", v->name);
        else
            fprintf(json, "%s\n  {\"shader\": \"%s\", \"spec\": [%d, %d]", first ? "" : ",", v->name, v->spec[0],
                    v->spec[1]);
        for (uint32_t i = 0; i < n; i++) fprintf(json, ", \"%s\": %.17g", s[i].name, stat_value(&s[i]));
        fprintf(json, "}");
    }
    free(s);
    vkDestroyPipeline(g->device, pipe, NULL);
    return 0;
}

static int add_variant(variant *v, int *n, const char *name, int s0, int s1, int defaults) {
    for (int i = 0; i < *n; i++)
        if (v[i].defaults == defaults && v[i].spec[0] == s0 && v[i].spec[1] == s1 && strcmp(v[i].name, name) == 0)
            return 0;
    if (*n == MAX_VARIANTS || strlen(name) >= sizeof v->name) return 1;
    snprintf(v[*n].name, sizeof v[*n].name, "%s", name);
    v[*n].spec[0] = s0;
    v[*n].spec[1] = s1;
    v[*n].defaults = defaults;
    (*n)++;
    return 0;
}

/* Whether name is one of the comma-separated names in list. */
static int in_list(const char *list, const char *name) {
    size_t n = strlen(name);
    for (const char *p = list; *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && strncmp(p, name, n) == 0) return 1;
        if (!end) break;
        p = end + 1;
    }
    return 0;
}

static int cmp_variant(const void *a, const void *b) {
    const variant *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c) return c;
    if (x->defaults != y->defaults) return y->defaults - x->defaults;
    return x->spec[0] != y->spec[0] ? x->spec[0] - y->spec[0] : x->spec[1] - y->spec[1];
}

/* Every shader at its own specialization defaults, then the logged variants. */
static int collect(const char *log, variant *v, int *n) {
    for (const mltc_embedded_file *f = mltc_spirv; f->name; f++)
        if (add_variant(v, n, f->name, 0, 0, 1)) return 1;
    if (!log) return 0;
    FILE *in = fopen(log, "r");
    if (!in) {
        fprintf(stderr, "shader_stats: cannot read the variants file %s\n", log);
        return 1;
    }
    char name[64];
    int s0, s1, line = 0, bad = 0;
    char buf[256];
    while (!bad && fgets(buf, sizeof buf, in)) {
        line++;
        if (sscanf(buf, "%63s %d %d", name, &s0, &s1) != 3) {
            fprintf(stderr, "shader_stats: %s:%d: expected 'shader spec0 spec1'\n", log, line);
            bad = 1;
        } else if (add_variant(v, n, name, s0, s1, 0)) {
            fprintf(stderr, "shader_stats: %s:%d: too many variants or a name too long\n", log, line);
            bad = 1;
        }
    }
    fclose(in);
    return bad;
}

int main(int argc, char **argv) {
    const char *log = NULL, *json_path = NULL, *known = "";
    long max_spills = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--variants") && i + 1 < argc) log = argv[++i];
        else if (!strcmp(argv[i], "--max-spills") && i + 1 < argc) max_spills = strtol(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--json") && i + 1 < argc) json_path = argv[++i];
        else if (!strcmp(argv[i], "--known-spills") && i + 1 < argc) known = argv[++i];
        else {
            fprintf(stderr, "usage: shader_stats [--variants FILE] [--max-spills N] [--known-spills NAME,NAME] "
                            "[--json FILE]\n");
            return 2;
        }
    }
    static variant v[MAX_VARIANTS];
    int nv = 0;
    if (collect(log, v, &nv)) return 1;
    qsort(v, (size_t)nv, sizeof *v, cmp_variant);
    gpu g = {0};
    int rc = open_gpu(&g);
    if (rc) {
        close_gpu(&g);
        return rc;
    }
    FILE *json = json_path ? fopen(json_path, "w") : NULL;
    if (json_path && !json) fprintf(stderr, "shader_stats: cannot write %s\n", json_path);
    if (json) fprintf(json, "{\"device\": \"%s\", \"pipelines\": [", g.name);
    printf("%s: %d pipelines\n%-26s %5s", g.name, nv, "shader", "spec");
    for (size_t c = 0; c < NCOLS; c++) printf(" %8.8s", COLUMNS[c]);
    printf("\n");
    int failed = 0, spilling = 0, known_spilling = 0;
    for (int i = 0; i < nv; i++) {
        long spills = 0;
        if (report(&g, &v[i], json, i == 0, &spills)) failed++;
        else if (spills > max_spills && in_list(known, v[i].name)) known_spilling++;
        else if (spills > max_spills) spilling++;
    }
    if (known_spilling)
        printf("shader_stats: %d pipeline(s) of the known-spilling shaders (%s) spill\n", known_spilling, known);
    if (json) {
        fprintf(json, "\n]}\n");
        if (fclose(json) != 0) fprintf(stderr, "shader_stats: writing %s failed\n", json_path), failed++;
    }
    if (spilling) printf("shader_stats: %d pipeline(s) spill more than %ld register(s)\n", spilling, max_spills);
    if (failed) printf("shader_stats: %d pipeline(s) could not be compiled\n", failed);
    close_gpu(&g);
    return failed || spilling ? 1 : 0;
}
