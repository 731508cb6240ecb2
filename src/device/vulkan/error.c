/* VkResult names and the one place Vulkan failures become mltc statuses. */
#include "device/vulkan/internal.h"

const char *vk_result_name(VkResult r) {
    switch (r) {
#define N(x) \
    case x:  \
        return #x;
        N(VK_SUCCESS)
        N(VK_NOT_READY)
        N(VK_TIMEOUT)
        N(VK_EVENT_SET)
        N(VK_EVENT_RESET)
        N(VK_INCOMPLETE)
        N(VK_ERROR_OUT_OF_HOST_MEMORY)
        N(VK_ERROR_OUT_OF_DEVICE_MEMORY)
        N(VK_ERROR_INITIALIZATION_FAILED)
        N(VK_ERROR_DEVICE_LOST)
        N(VK_ERROR_MEMORY_MAP_FAILED)
        N(VK_ERROR_LAYER_NOT_PRESENT)
        N(VK_ERROR_EXTENSION_NOT_PRESENT)
        N(VK_ERROR_FEATURE_NOT_PRESENT)
        N(VK_ERROR_INCOMPATIBLE_DRIVER)
        N(VK_ERROR_TOO_MANY_OBJECTS)
        N(VK_ERROR_FORMAT_NOT_SUPPORTED)
        N(VK_ERROR_FRAGMENTED_POOL)
        N(VK_ERROR_UNKNOWN)
        N(VK_ERROR_OUT_OF_POOL_MEMORY)
        N(VK_ERROR_INVALID_EXTERNAL_HANDLE)
        N(VK_ERROR_FRAGMENTATION)
        N(VK_ERROR_INVALID_OPAQUE_CAPTURE_ADDRESS)
        N(VK_PIPELINE_COMPILE_REQUIRED)
        N(VK_ERROR_SURFACE_LOST_KHR)
        N(VK_ERROR_NATIVE_WINDOW_IN_USE_KHR)
        N(VK_SUBOPTIMAL_KHR)
        N(VK_ERROR_OUT_OF_DATE_KHR)
        N(VK_ERROR_VALIDATION_FAILED_EXT)
        N(VK_ERROR_INVALID_SHADER_NV)
#undef N
    default:
        return "VkResult (unknown)";
    }
}

mltc_status vk_fail(vk_ctx *c, VkResult r, const char *call) {
    mltc_status st = MLTC_ERR_DEVICE;
    if (r == VK_ERROR_OUT_OF_DEVICE_MEMORY || r == VK_ERROR_OUT_OF_HOST_MEMORY) st = MLTC_ERR_OUT_OF_MEMORY;
    if (r == VK_ERROR_DEVICE_LOST) c->lost = 1;
    return err_set(c->base.err, st, "vulkan: %s failed: %s (%d)%s", call, vk_result_name(r), (int)r,
                   r == VK_ERROR_DEVICE_LOST ? "; the device is lost, reopen it" : "");
}
