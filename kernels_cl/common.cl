/* Helpers shared by every mltc OpenCL program (prepended to each program's source).
 * Views are buffer + element offset: kernels take the offset as an argument rather than
 * sub-buffers, whose alignment rules (CL_DEVICE_MEM_BASE_ADDR_ALIGN) views cannot meet. */

/* Work-group sums and maxima through local memory. Every work-item of the group must call
 * them (they hold barriers); the local size is a power of two, chosen by the host. */
float group_sum(float v, __local float *s) {
    uint lid = get_local_id(0);
    s[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint o = get_local_size(0) / 2; o > 0; o >>= 1) {
        if (lid < o) s[lid] += s[lid + o];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    float r = s[0];
    barrier(CLK_LOCAL_MEM_FENCE); /* s may be reused right away */
    return r;
}

float group_max(float v, __local float *s) {
    uint lid = get_local_id(0);
    s[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint o = get_local_size(0) / 2; o > 0; o >>= 1) {
        if (lid < o) s[lid] = fmax(s[lid], s[lid + o]);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    float r = s[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return r;
}
