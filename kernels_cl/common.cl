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

/* Column sums in one kernel, deterministic with no atomics: a work group takes cg adjacent
 * columns and local_size / cg lanes per column; lane l sums rows l, l + lanes, ... in order, then
 * this fixed tree over local memory (3 floats a work-item in s) adds the lanes. The sums are
 * valid in lane 0. Every work-item of the group must call it. */
float3 lanes_sum3(float3 v, int cg, __local float *s) {
    int lid = (int)get_local_id(0), lanes = (int)get_local_size(0) / cg, lane = lid / cg;
    s[3 * lid] = v.x;
    s[3 * lid + 1] = v.y;
    s[3 * lid + 2] = v.z;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int o = lanes / 2; o > 0; o >>= 1) {
        if (lane < o)
            for (int k = 0; k < 3; k++) s[3 * lid + k] += s[3 * (lid + o * cg) + k];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    return (float3)(s[3 * lid], s[3 * lid + 1], s[3 * lid + 2]);
}
