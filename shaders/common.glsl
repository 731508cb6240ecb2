// Shared by every mltc shader: the work-group size, the flattened group index, and
// fixed-order work-group reductions (a tree over shared memory: the result does not depend
// on scheduling, so every run sums the same way).
#ifndef MLTC_COMMON_GLSL
#define MLTC_COMMON_GLSL

// 256 unless a shader defines WG before including this (and declares the same local size).
#ifndef WG
#define WG 256u
#endif

// Ops with more work groups than the device allows in x spread them over y as well.
uint group_index() { return gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x; }

float neg_inf() { return uintBitsToFloat(0xff800000u); }

#ifdef MLTC_REDUCE
shared float red_a[WG];
shared float red_b[WG];
shared float red_c[WG];

float wg_sum(float v) {
    uint t = gl_LocalInvocationID.x;
    red_a[t] = v;
    barrier();
    for (uint s = WG / 2u; s > 0u; s >>= 1u) {
        if (t < s) red_a[t] += red_a[t + s];
        barrier();
    }
    float r = red_a[0];
    barrier();
    return r;
}

float wg_max(float v) {
    uint t = gl_LocalInvocationID.x;
    red_a[t] = v;
    barrier();
    for (uint s = WG / 2u; s > 0u; s >>= 1u) {
        if (t < s) red_a[t] = max(red_a[t], red_a[t + s]);
        barrier();
    }
    float r = red_a[0];
    barrier();
    return r;
}

// Three sums at once (one pass of barriers instead of three).
vec3 wg_sum3(vec3 v) {
    uint t = gl_LocalInvocationID.x;
    red_a[t] = v.x;
    red_b[t] = v.y;
    red_c[t] = v.z;
    barrier();
    for (uint s = WG / 2u; s > 0u; s >>= 1u) {
        if (t < s) {
            red_a[t] += red_a[t + s];
            red_b[t] += red_b[t + s];
            red_c[t] += red_c[t + s];
        }
        barrier();
    }
    vec3 r = vec3(red_a[0], red_b[0], red_c[0]);
    barrier();
    return r;
}
#endif

#endif
