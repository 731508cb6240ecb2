/* OpenCL device discovery through the ICD loader: every device of every platform, numbered
 * opencl:0..N-1, and the limits `mltc devices` shows. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device/opencl/internal.h"

#define MAX_PLATFORMS 16

/* Every device of every platform, in platform order then device order: the numbering that
 * opencl:N uses. The order is the loader's, which is stable for a given installation. */
mltc_status ocl_list_devices(mltc_error *err, cl_platform_id *plat_of, cl_device_id *devs, int max, int *count) {
    cl_platform_id plats[MAX_PLATFORMS];
    cl_uint np = 0;
    cl_int rc = clGetPlatformIDs(MAX_PLATFORMS, plats, &np);
    *count = 0;
    if (rc == -1001 /* CL_PLATFORM_NOT_FOUND_KHR */ || (rc == CL_SUCCESS && np == 0))
        return err_set(err, MLTC_ERR_UNSUPPORTED,
                       "no OpenCL platform found (no ICD installed under /etc/OpenCL/vendors, "
                       "or OCL_ICD_VENDORS points nowhere)");
    if (rc != CL_SUCCESS)
        return err_set(err, MLTC_ERR_UNSUPPORTED, "clGetPlatformIDs failed: %s (%d)", ocl_error_name(rc), rc);
    if (np > MAX_PLATFORMS) np = MAX_PLATFORMS;
    int n = 0;
    for (cl_uint p = 0; p < np; p++) {
        cl_device_id d[OCL_MAX_DEVICES];
        cl_uint nd = 0;
        rc = clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, OCL_MAX_DEVICES, d, &nd);
        if (rc == CL_DEVICE_NOT_FOUND) continue; /* a platform without devices */
        if (rc != CL_SUCCESS)
            return err_set(err, MLTC_ERR_DEVICE, "opencl: clGetDeviceIDs(platform %u) failed: %s (%d)", p,
                           ocl_error_name(rc), rc);
        if (nd > OCL_MAX_DEVICES) nd = OCL_MAX_DEVICES;
        for (cl_uint i = 0; i < nd; i++) {
            if (n < max) {
                plat_of[n] = plats[p];
                devs[n] = d[i];
            }
            n++;
        }
    }
    *count = n;
    return MLTC_OK;
}

void ocl_dev_str(cl_device_id d, cl_device_info what, char *out, size_t cap) {
    out[0] = '\0';
    if (clGetDeviceInfo(d, what, cap, out, NULL) != CL_SUCCESS) out[0] = '\0';
    out[cap - 1] = '\0';
}

void ocl_plat_str(cl_platform_id p, cl_platform_info what, char *out, size_t cap) {
    out[0] = '\0';
    if (clGetPlatformInfo(p, what, cap, out, NULL) != CL_SUCCESS) out[0] = '\0';
    out[cap - 1] = '\0';
}

cl_ulong ocl_dev_ulong(cl_device_id d, cl_device_info what) {
    cl_ulong v = 0;
    if (clGetDeviceInfo(d, what, sizeof v, &v, NULL) != CL_SUCCESS) v = 0;
    return v;
}

static cl_uint dev_uint(cl_device_id d, cl_device_info what) {
    cl_uint v = 0;
    if (clGetDeviceInfo(d, what, sizeof v, &v, NULL) != CL_SUCCESS) v = 0;
    return v;
}

int ocl_has_extension(cl_device_id d, const char *ext) {
    size_t len = 0;
    if (clGetDeviceInfo(d, CL_DEVICE_EXTENSIONS, 0, NULL, &len) != CL_SUCCESS || len == 0) return 0;
    char *s = malloc(len + 1);
    if (!s) return 0;
    int found = 0;
    if (clGetDeviceInfo(d, CL_DEVICE_EXTENSIONS, len, s, NULL) == CL_SUCCESS) {
        s[len] = '\0';
        size_t el = strlen(ext);
        for (char *p = strstr(s, ext); p && !found; p = strstr(p + 1, ext))
            found = (p == s || p[-1] == ' ') && (p[el] == ' ' || p[el] == '\0');
    }
    free(s);
    return found;
}

static void fill_info(int index, cl_platform_id p, cl_device_id d, mltc_device_info *info) {
    memset(info, 0, sizeof *info);
    snprintf(info->id, sizeof info->id, "opencl:%d", index);
    snprintf(info->backend, sizeof info->backend, "opencl");
    ocl_dev_str(d, CL_DEVICE_NAME, info->name, sizeof info->name);
    char drv[64], pname[128], pver[128], dver[128], type[16] = "other";
    ocl_dev_str(d, CL_DRIVER_VERSION, drv, sizeof drv);
    ocl_plat_str(p, CL_PLATFORM_NAME, pname, sizeof pname);
    ocl_plat_str(p, CL_PLATFORM_VERSION, pver, sizeof pver);
    ocl_dev_str(d, CL_DEVICE_VERSION, dver, sizeof dver);
    snprintf(info->driver, sizeof info->driver, "%.60s (%.60s)", drv, pname);
    info->global_mem_bytes = ocl_dev_ulong(d, CL_DEVICE_GLOBAL_MEM_SIZE);
    info->max_alloc_bytes = ocl_dev_ulong(d, CL_DEVICE_MAX_MEM_ALLOC_SIZE);
    info->local_mem_bytes = ocl_dev_ulong(d, CL_DEVICE_LOCAL_MEM_SIZE);
    info->compute_units = dev_uint(d, CL_DEVICE_MAX_COMPUTE_UNITS);
    info->fp16 = ocl_has_extension(d, "cl_khr_fp16");
    info->fp64 = ocl_has_extension(d, "cl_khr_fp64");
    cl_device_type t = 0;
    if (clGetDeviceInfo(d, CL_DEVICE_TYPE, sizeof t, &t, NULL) == CL_SUCCESS)
        snprintf(type, sizeof type, "%s", (t & CL_DEVICE_TYPE_GPU) ? "GPU" : (t & CL_DEVICE_TYPE_CPU) ? "CPU"
                                                                         : (t & CL_DEVICE_TYPE_ACCELERATOR) ? "accelerator"
                                                                                                             : "other");
    size_t wg = 0;
    if (clGetDeviceInfo(d, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof wg, &wg, NULL) != CL_SUCCESS) wg = 0;
    snprintf(info->details, sizeof info->details, "%s; platform %.100s, %.100s; device %.80s; max work-group %zu",
             type, pname, pver, dver, wg);
}

mltc_status ocl_enumerate(mltc_error *err, mltc_device_info *infos, int max, int *count) {
    cl_platform_id plats[OCL_MAX_DEVICES];
    cl_device_id devs[OCL_MAX_DEVICES];
    int n = 0;
    *count = 0;
    mltc_status st = ocl_list_devices(err, plats, devs, OCL_MAX_DEVICES, &n);
    if (st != MLTC_OK) return st;
    if (n > OCL_MAX_DEVICES) n = OCL_MAX_DEVICES;
    for (int i = 0; i < n && infos && i < max; i++) fill_info(i, plats[i], devs[i], &infos[i]);
    *count = n;
    return MLTC_OK;
}
