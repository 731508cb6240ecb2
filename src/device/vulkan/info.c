/* `mltc devices` for Vulkan: the limits that matter for training, per compute device. */
#include <stdio.h>
#include <string.h>

#include "device/vulkan/internal.h"

static const char *type_name(VkPhysicalDeviceType t) {
    switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated GPU";
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete GPU";
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual GPU";
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return "CPU";
    default: return "other";
    }
}

static int device_fp16(VkPhysicalDevice pd, uint32_t api) {
    VkPhysicalDeviceShaderFloat16Int8Features f16 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES};
    if (api < VK_API_VERSION_1_2 && !vk_has_device_ext(pd, VK_KHR_SHADER_FLOAT16_INT8_EXTENSION_NAME)) return 0;
    VkPhysicalDeviceFeatures2 f = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &f16};
    vkGetPhysicalDeviceFeatures2(pd, &f);
    return f16.shaderFloat16 != 0;
}

static void fill_info(VkPhysicalDevice pd, int index, mltc_device_info *d) {
    VkPhysicalDeviceSubgroupProperties sub = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
    VkPhysicalDeviceMaintenance3Properties m3 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES,
                                                 .pNext = &sub};
    VkPhysicalDeviceProperties2 p2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &m3};
    vkGetPhysicalDeviceProperties2(pd, &p2);
    const VkPhysicalDeviceProperties *p = &p2.properties;
    VkPhysicalDeviceMemoryProperties mem;
    vkGetPhysicalDeviceMemoryProperties(pd, &mem);
    VkPhysicalDeviceFeatures feat;
    vkGetPhysicalDeviceFeatures(pd, &feat);

    memset(d, 0, sizeof *d);
    snprintf(d->id, sizeof d->id, "vulkan:%d", index);
    snprintf(d->backend, sizeof d->backend, "vulkan");
    snprintf(d->name, sizeof d->name, "%s", p->deviceName);
    snprintf(d->driver, sizeof d->driver, "Vulkan %u.%u.%u, driver 0x%x", VK_API_VERSION_MAJOR(p->apiVersion),
             VK_API_VERSION_MINOR(p->apiVersion), VK_API_VERSION_PATCH(p->apiVersion), p->driverVersion);
    uint64_t local = 0, largest = 0;
    for (uint32_t i = 0; i < mem.memoryHeapCount; i++) {
        if (mem.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) local += mem.memoryHeaps[i].size;
        if (mem.memoryHeaps[i].size > largest) largest = mem.memoryHeaps[i].size;
    }
    d->global_mem_bytes = local ? local : largest;
    /* Buffers up to maxMemoryAllocationSize work; one op's operand must fit in a
     * maxStorageBufferRange window (in details). */
    d->max_alloc_bytes = m3.maxMemoryAllocationSize;
    d->local_mem_bytes = p->limits.maxComputeSharedMemorySize;
    d->compute_units = 0; /* Vulkan does not report it */
    d->subgroup_size = sub.subgroupSize;
    d->fp16 = device_fp16(pd, p->apiVersion);
    d->fp64 = feat.shaderFloat64 != 0;
    d->cooperative_matrix = vk_has_device_ext(pd, "VK_KHR_cooperative_matrix");
    snprintf(d->details, sizeof d->details,
             "%s; maxStorageBufferRange %u B (largest operand of one op); maxMemoryAllocationSize %llu B; %u heap(s); "
             "max work-group %u invocations (%u x %u x %u); max groups %u x %u x %u; push constants %u B; "
             "int64 %s",
             type_name(p->deviceType), p->limits.maxStorageBufferRange, (unsigned long long)m3.maxMemoryAllocationSize,
             mem.memoryHeapCount, p->limits.maxComputeWorkGroupInvocations, p->limits.maxComputeWorkGroupSize[0],
             p->limits.maxComputeWorkGroupSize[1], p->limits.maxComputeWorkGroupSize[2],
             p->limits.maxComputeWorkGroupCount[0], p->limits.maxComputeWorkGroupCount[1],
             p->limits.maxComputeWorkGroupCount[2], p->limits.maxPushConstantsSize, feat.shaderInt64 ? "yes" : "no");
    vk_gemm_plan plan = vk_gemm_plan_for(pd);
    size_t used = strlen(d->details);
    if (used + 2 < sizeof d->details) {
        snprintf(d->details + used, sizeof d->details - used, "; ");
        vk_gemm_plan_describe(&plan, d->details + used + 2, sizeof d->details - used - 2);
    }
}

mltc_status vk_enumerate(mltc_error *err, mltc_device_info *infos, int max, int *count) {
    *count = 0;
    VkInstance inst;
    mltc_status st = vk_instance_create(err, 0, NULL, &inst);
    if (st != MLTC_OK) return st;
    VkPhysicalDevice pds[64];
    int n = 0;
    st = vk_compute_devices(err, inst, pds, 64, &n);
    if (st == MLTC_OK) {
        for (int i = 0; i < n && i < 64 && infos && i < max; i++) fill_info(pds[i], i, &infos[i]);
        *count = n;
    }
    vkDestroyInstance(inst, NULL);
    return st;
}
