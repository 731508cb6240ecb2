// Column sums over all the rows in one dispatch, deterministic with no atomics: a work group of
// 256 invocations takes CS_COLS adjacent columns, CS_LANES invocations per column; lane l sums
// rows l, l + CS_LANES, ... in order, then a fixed tree over shared memory adds the lanes. One
// dispatch and no partials in scratch, where a chunked sum and a second pass over the chunks
// took two dispatches with a barrier between them. Needs WG 256 (common.glsl's default).
#ifndef MLTC_COLSUM_WG_GLSL
#define MLTC_COLSUM_WG_GLSL

#define CS_COLS 16u
#define CS_LANES 16u

shared vec3 cs_red[256];

// This invocation's column (may be past the last: it still takes part in the barriers) and
// row lane.
uint cs_col() { return group_index() * CS_COLS + gl_LocalInvocationID.x % CS_COLS; }
uint cs_lane() { return gl_LocalInvocationID.x / CS_COLS; }

// The sums of v over the lanes of this invocation's column; valid where cs_lane() == 0.
vec3 cs_reduce(vec3 v) {
    uint t = gl_LocalInvocationID.x;
    cs_red[t] = v;
    barrier();
    for (uint s = CS_LANES / 2u; s > 0u; s >>= 1u) {
        if (cs_lane() < s) cs_red[t] += cs_red[t + s * CS_COLS];
        barrier();
    }
    return cs_red[t];
}

#endif
