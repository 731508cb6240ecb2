/* The Vulkan instance, the optional Khronos validation layer, and the list of devices that
 * can run compute work. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device/vulkan/internal.h"

#define VALIDATION_LAYER "VK_LAYER_KHRONOS_validation"

static int has_layer(const char *name) {
    uint32_t n = 0;
    if (vkEnumerateInstanceLayerProperties(&n, NULL) != VK_SUCCESS || n == 0) return 0;
    VkLayerProperties *p = calloc(n, sizeof *p);
    int found = 0;
    if (p && vkEnumerateInstanceLayerProperties(&n, p) == VK_SUCCESS)
        for (uint32_t i = 0; i < n; i++) found |= strcmp(p[i].layerName, name) == 0;
    free(p);
    return found;
}

static int has_instance_ext(const char *name) {
    uint32_t n = 0;
    if (vkEnumerateInstanceExtensionProperties(NULL, &n, NULL) != VK_SUCCESS || n == 0) return 0;
    VkExtensionProperties *p = calloc(n, sizeof *p);
    int found = 0;
    if (p && vkEnumerateInstanceExtensionProperties(NULL, &n, p) == VK_SUCCESS)
        for (uint32_t i = 0; i < n; i++) found |= strcmp(p[i].extensionName, name) == 0;
    free(p);
    return found;
}

int vk_has_device_ext(VkPhysicalDevice pd, const char *name) {
    uint32_t n = 0;
    if (vkEnumerateDeviceExtensionProperties(pd, NULL, &n, NULL) != VK_SUCCESS || n == 0) return 0;
    VkExtensionProperties *p = calloc(n, sizeof *p);
    int found = 0;
    if (p && vkEnumerateDeviceExtensionProperties(pd, NULL, &n, p) == VK_SUCCESS)
        for (uint32_t i = 0; i < n; i++) found |= strcmp(p[i].extensionName, name) == 0;
    free(p);
    return found;
}

/* Validation errors are printed and counted; the context turns a non-zero count into a
 * failing status at the next sync, so a test run under the layer cannot pass silently. */
static VKAPI_ATTR VkBool32 VKAPI_CALL on_message(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                                 VkDebugUtilsMessageTypeFlagsEXT type,
                                                 const VkDebugUtilsMessengerCallbackDataEXT *data, void *user) {
    (void)type;
    if (!(severity & (VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT)))
        return VK_FALSE;
    const char *msg = data && data->pMessage ? data->pMessage : "(no message)";
    fprintf(stderr, "vulkan validation %s: %s\n",
            (severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT) ? "error" : "warning", msg);
    vk_ctx *c = user;
    if (c && (severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT)) {
        if (c->validation_errors++ == 0) snprintf(c->validation_msg, sizeof c->validation_msg, "%s", msg);
    }
    return VK_FALSE;
}

mltc_status vk_instance_create(mltc_error *err, int validation, vk_ctx *c, VkInstance *out) {
    *out = VK_NULL_HANDLE;
    const char *layers[1], *exts[1];
    uint32_t nlayers = 0, nexts = 0;
    VkDebugUtilsMessengerCreateInfoEXT dbg = {
        .sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
        .messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT,
        .messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                       VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT,
        .pfnUserCallback = on_message,
        .pUserData = c,
    };
    if (validation) {
        if (!has_layer(VALIDATION_LAYER))
            return err_set(err, MLTC_ERR_UNSUPPORTED,
                           "vulkan: MLTC_VK_VALIDATION is set but the layer %s is not installed", VALIDATION_LAYER);
        if (!has_instance_ext(VK_EXT_DEBUG_UTILS_EXTENSION_NAME))
            return err_set(err, MLTC_ERR_UNSUPPORTED, "vulkan: MLTC_VK_VALIDATION needs %s",
                           VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
        layers[nlayers++] = VALIDATION_LAYER;
        exts[nexts++] = VK_EXT_DEBUG_UTILS_EXTENSION_NAME;
    }
    VkApplicationInfo app = {
        .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
        .pApplicationName = "mltc",
        .pEngineName = "mltc",
        .apiVersion = VK_API_VERSION_1_1,
    };
    /* Synchronization validation checks the barriers the recorder leaves out between
     * independent dispatches: a missing one is reported as a hazard. */
    VkValidationFeatureEnableEXT enables[] = {VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT};
    VkValidationFeaturesEXT features = {.sType = VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT,
                                        .pNext = &dbg,
                                        .enabledValidationFeatureCount = 1,
                                        .pEnabledValidationFeatures = enables};
    VkInstanceCreateInfo ci = {
        .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
        .pNext = validation ? (const void *)&features : NULL,
        .pApplicationInfo = &app,
        .enabledLayerCount = nlayers,
        .ppEnabledLayerNames = layers,
        .enabledExtensionCount = nexts,
        .ppEnabledExtensionNames = exts,
    };
    VkResult r = vkCreateInstance(&ci, NULL, out);
    if (r == VK_ERROR_INCOMPATIBLE_DRIVER || r == VK_ERROR_INITIALIZATION_FAILED)
        return err_set(err, MLTC_ERR_UNSUPPORTED, "vulkan: no usable driver (vkCreateInstance: %s)", vk_result_name(r));
    if (r != VK_SUCCESS)
        return err_set(err, r == VK_ERROR_OUT_OF_HOST_MEMORY ? MLTC_ERR_OUT_OF_MEMORY : MLTC_ERR_DEVICE,
                       "vulkan: vkCreateInstance failed: %s", vk_result_name(r));
    if (validation && c) {
        PFN_vkCreateDebugUtilsMessengerEXT create =
            (PFN_vkCreateDebugUtilsMessengerEXT)vkGetInstanceProcAddr(*out, "vkCreateDebugUtilsMessengerEXT");
        if (!create || create(*out, &dbg, NULL, &c->messenger) != VK_SUCCESS) {
            vkDestroyInstance(*out, NULL);
            *out = VK_NULL_HANDLE;
            return err_set(err, MLTC_ERR_DEVICE, "vulkan: vkCreateDebugUtilsMessengerEXT failed");
        }
    }
    return MLTC_OK;
}

void vk_instance_destroy(vk_ctx *c) {
    if (!c->instance) return;
    if (c->messenger) {
        PFN_vkDestroyDebugUtilsMessengerEXT destroy =
            (PFN_vkDestroyDebugUtilsMessengerEXT)vkGetInstanceProcAddr(c->instance, "vkDestroyDebugUtilsMessengerEXT");
        if (destroy) destroy(c->instance, c->messenger, NULL);
        c->messenger = VK_NULL_HANDLE;
    }
    vkDestroyInstance(c->instance, NULL);
    c->instance = VK_NULL_HANDLE;
}

static int has_compute_queue(VkPhysicalDevice pd) {
    uint32_t n = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, NULL);
    VkQueueFamilyProperties *q = calloc(n ? n : 1, sizeof *q);
    int found = 0;
    if (q) {
        vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, q);
        for (uint32_t i = 0; i < n; i++) found |= (q[i].queueFlags & VK_QUEUE_COMPUTE_BIT) != 0;
    }
    free(q);
    return found;
}

mltc_status vk_compute_devices(mltc_error *err, VkInstance inst, VkPhysicalDevice *out, int max, int *count) {
    *count = 0;
    uint32_t n = 0;
    VkResult r = vkEnumeratePhysicalDevices(inst, &n, NULL);
    if (r != VK_SUCCESS)
        return err_set(err, MLTC_ERR_DEVICE, "vulkan: vkEnumeratePhysicalDevices failed: %s", vk_result_name(r));
    VkPhysicalDevice *all = calloc(n ? n : 1, sizeof *all);
    if (!all) return err_set(err, MLTC_ERR_OUT_OF_MEMORY, "vulkan: listing %u devices", n);
    r = vkEnumeratePhysicalDevices(inst, &n, all);
    if (r != VK_SUCCESS && r != VK_INCOMPLETE) {
        free(all);
        return err_set(err, MLTC_ERR_DEVICE, "vulkan: vkEnumeratePhysicalDevices failed: %s", vk_result_name(r));
    }
    int k = 0;
    for (uint32_t i = 0; i < n; i++) {
        /* The shaders are SPIR-V 1.3 (--target-env=vulkan1.1) and the queries use 1.1 calls. */
        VkPhysicalDeviceProperties p;
        vkGetPhysicalDeviceProperties(all[i], &p);
        if (p.apiVersion < VK_API_VERSION_1_1 || !has_compute_queue(all[i])) continue;
        if (k < max) out[k] = all[i];
        k++;
    }
    free(all);
    *count = k;
    return MLTC_OK;
}
