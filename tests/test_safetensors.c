/* safetensors: writer/reader round trip, F16/BF16 decoding against hand-computed values in
 * files crafted byte by byte, a clear error for each kind of damage, and (when Python has the
 * safetensors package) interoperability with the reference implementation both ways. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "model/safetensors.h"
#include "testutil.h"

static char tmpdir[2048];

static const char *tmp_path(const char *name) {
    static char buf[4][4096];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/mltc_st_%ld_%s", tmpdir, (long)getpid(), name);
    return buf[k];
}

/* Writes an 8-byte length (hlen, or strlen(header) when hlen is UINT64_MAX), the header and
 * the data: any file the format allows or forbids. */
static const char *craft(const char *name, uint64_t hlen, const char *header, const void *data, size_t ndata) {
    const char *path = tmp_path(name);
    FILE *f = fopen(path, "wb");
    if (!f) {
        printf("FAIL: cannot create %s\n", path);
        exit(1);
    }
    if (hlen == UINT64_MAX) hlen = strlen(header);
    uint8_t lb[8];
    for (int b = 0; b < 8; b++) lb[b] = (uint8_t)(hlen >> (8 * b));
    fwrite(lb, 1, 8, f);
    fwrite(header, 1, strlen(header), f);
    if (ndata) fwrite(data, 1, ndata, f);
    fclose(f);
    return path;
}

static int same_float(float a, float b) {
    if (isnan(a) || isnan(b)) return isnan(a) && isnan(b);
    return a == b && signbit(a) == signbit(b);
}

/* ---- round trip ------------------------------------------------------------------------ */

static void round_trip(void) {
    mltc_error err = {0};
    st_writer *w = NULL;
    tu_must(st_writer_create(&err, &w), &err, "writer create");
    float a[6];
    for (int i = 0; i < 6; i++) a[i] = (float)i * 0.5f - 1.0f;
    const int32_t ids[4] = {-2, 0, 7, 2147483647};
    const int64_t sa[2] = {2, 3}, si[1] = {4}, se[2] = {0, 5};
    tu_must(st_writer_add_f32(w, "a.weight", 2, sa, a), &err, "add a.weight");
    tu_must(st_writer_add_i32(w, "ids", 1, si, ids), &err, "add ids");
    tu_must(st_writer_add_f32(w, "empty", 2, se, NULL), &err, "add empty");
    tu_must(st_writer_set_metadata(w, "format", "pt"), &err, "metadata");
    tu_must(st_writer_set_metadata(w, "note", "first"), &err, "metadata");
    tu_must(st_writer_set_metadata(w, "note", "written by mltc"), &err, "metadata replaced");
    mltc_status st = st_writer_add_f32(w, "ids", 1, si, a);
    tu_check(st == MLTC_ERR_INVALID_ARGUMENT && strstr(err.msg, "'ids' added twice"), "duplicate add: %d '%s'", (int)st,
             err.msg);
    const char *path = tmp_path("round.safetensors");
    tu_must(st_writer_commit(w, path), &err, "commit");
    st_writer_free(w);

    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    tu_check(access(tmp, F_OK) != 0, "the temporary file %s is left behind", tmp);

    /* the header length is a multiple of 8 and padded with spaces */
    FILE *f = fopen(path, "rb");
    uint8_t raw[8];
    tu_check(f && fread(raw, 1, 8, f) == 8, "reading back %s", path);
    uint64_t hlen = 0;
    for (int b = 0; b < 8; b++) hlen |= (uint64_t)raw[b] << (8 * b);
    char *hdr = calloc(1, (size_t)hlen + 1);
    tu_check(fread(hdr, 1, (size_t)hlen, f) == hlen, "reading the header");
    fclose(f);
    tu_check(hlen % 8 == 0, "header length %llu is not a multiple of 8", (unsigned long long)hlen);
    size_t jl = strlen(hdr);
    while (jl && hdr[jl - 1] == ' ') jl--;
    tu_check(jl > 0 && hdr[jl - 1] == '}' && hdr[0] == '{', "header padding: '%s'", hdr);
    tu_check(strstr(hdr, "\"__metadata__\":{\"format\":\"pt\",\"note\":\"written by mltc\"}") != NULL,
             "metadata in the header: %s", hdr);
    free(hdr);

    st_file *sf = NULL;
    tu_must(st_open(&err, path, &sf), &err, "open round trip");
    tu_check(st_count(sf) == 3, "count %d, expected 3", st_count(sf));
    const char *order[3] = {"a.weight", "ids", "empty"};
    for (int i = 0; i < 3 && i < st_count(sf); i++)
        tu_check(!strcmp(st_at(sf, i)->name, order[i]), "tensor %d is '%s', expected '%s'", i, st_at(sf, i)->name, order[i]);
    const st_tensor *t = st_find(sf, "a.weight");
    tu_check(t && t->dtype == ST_F32 && !strcmp(t->dtype_name, "F32") && t->ndim == 2 && t->shape[0] == 2 &&
                 t->shape[1] == 3 && t->numel == 6 && t->nbytes == 24,
             "a.weight header entry");
    float back[6] = {0};
    const int64_t want_shape[2] = {2, 3};
    tu_must(st_load_f32(&err, sf, "a.weight", 2, want_shape, back), &err, "load a.weight");
    tu_check(!memcmp(back, a, sizeof a), "a.weight values differ after the round trip");
    t = st_find(sf, "ids");
    int32_t iback[4] = {0};
    tu_check(t && t->dtype == ST_I32 && t->numel == 4, "ids header entry");
    if (t) tu_must(st_read_i32(&err, sf, t, iback), &err, "read ids");
    tu_check(!memcmp(iback, ids, sizeof ids), "ids values differ after the round trip");
    t = st_find(sf, "empty");
    tu_check(t && t->numel == 0 && t->nbytes == 0 && t->ndim == 2 && t->shape[0] == 0 && t->shape[1] == 5, "empty entry");
    tu_check(st_metadata(sf, "format") && !strcmp(st_metadata(sf, "format"), "pt"), "metadata format");
    tu_check(st_metadata(sf, "note") && !strcmp(st_metadata(sf, "note"), "written by mltc"), "metadata note");
    tu_check(st_metadata(sf, "absent") == NULL, "absent metadata key");
    t = st_find(sf, "ids");
    st = st_read_f32(&err, sf, t, back);
    tu_check(st == MLTC_ERR_UNSUPPORTED && strstr(err.msg, "'ids'") && strstr(err.msg, "I32"), "I32 as f32: %d '%s'",
             (int)st, err.msg);
    st_close(sf);

    /* The reference implementation reads what we wrote. */
    char cmd[8192];
    const char *src = getenv("MLTC_SOURCE_DIR");
    snprintf(cmd, sizeof cmd, "python3 %s/tools/reference/safetensors_check.py check '%s'", src ? src : ".", path);
    int rc = system(cmd);
    if (rc != -1 && WIFEXITED(rc) && (WEXITSTATUS(rc) == 77 || WEXITSTATUS(rc) == 127))
        printf("note: python3 or its safetensors package is missing; interop check (mltc -> python) skipped\n");
    else
        tu_check(rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) == 0, "python safetensors rejects our file (%s)", cmd);
    remove(path);
}

/* We read what the reference implementation wrote. */
static void read_python_file(void) {
    char cmd[8192];
    const char *src = getenv("MLTC_SOURCE_DIR");
    const char *path = tmp_path("python.safetensors");
    snprintf(cmd, sizeof cmd, "python3 %s/tools/reference/safetensors_check.py write '%s'", src ? src : ".", path);
    int rc = system(cmd);
    if (rc == -1 || !WIFEXITED(rc) || WEXITSTATUS(rc) != 0) {
        printf("note: python3 or its safetensors package is missing; interop check (python -> mltc) skipped\n");
        return;
    }
    mltc_error err = {0};
    st_file *sf = NULL;
    tu_must(st_open(&err, path, &sf), &err, "open python's file");
    float h[4] = {0}, d[3] = {0};
    int32_t c[2] = {0};
    const int64_t sh[2] = {2, 2}, sd[1] = {3};
    tu_must(st_load_f32(&err, sf, "half", 2, sh, h), &err, "load half");
    tu_must(st_load_f32(&err, sf, "wide", 1, sd, d), &err, "load wide");
    const st_tensor *t = st_find(sf, "count");
    tu_check(t && t->dtype == ST_I64, "count is I64");
    if (t) tu_must(st_read_i32(&err, sf, t, c), &err, "read count");
    tu_check(h[0] == 1 && h[1] == -2 && h[2] == 0.5f && h[3] == 65504, "half: %g %g %g %g", h[0], h[1], h[2], h[3]);
    tu_check(d[0] == 0.25f && d[1] == (float)-1e-3 && d[2] == 3, "wide: %g %g %g", d[0], d[1], d[2]);
    tu_check(c[0] == 5 && c[1] == -7, "count: %d %d", c[0], c[1]);
    tu_check(st_metadata(sf, "by") && !strcmp(st_metadata(sf, "by"), "python"), "python metadata");
    st_close(sf);
    remove(path);
}

/* ---- F16 / BF16 / F64 / I64 decoding ---------------------------------------------------- */

static void decoding(void) {
    /* F16 bits and their values: normal, subnormal (m * 2^-24), extremes, signed zero, inf, NaN. */
    const uint16_t hb[12] = {0x3C00, 0xC000, 0x3555, 0x0001, 0x03FF, 0x0400, 0x7BFF, 0x8000, 0x7C00, 0xFC00, 0x7E00, 0x8001};
    const float hv[12] = {1.0f, -2.0f, 0.333251953125f, 0x1p-24f, 1023 * 0x1p-24f, 0x1p-14f, 65504.0f, -0.0f,
                          INFINITY, -INFINITY, NAN, -0x1p-24f};
    /* BF16 bits: the top half of a float. */
    const uint16_t bb[8] = {0x3F80, 0x4049, 0x3EAB, 0x0001, 0x8000, 0x7F80, 0xFF80, 0x7FC0};
    const float bv[8] = {1.0f, 3.140625f, 0.333984375f, 0x1p-133f, -0.0f, INFINITY, -INFINITY, NAN};
    uint8_t data[24 + 16 + 24 + 24];
    for (int i = 0; i < 12; i++) data[2 * i] = (uint8_t)hb[i], data[2 * i + 1] = (uint8_t)(hb[i] >> 8);
    for (int i = 0; i < 8; i++) data[24 + 2 * i] = (uint8_t)bb[i], data[24 + 2 * i + 1] = (uint8_t)(bb[i] >> 8);
    const double dv[3] = {0.1, -1e30, 1e-50};
    memcpy(data + 40, dv, 24); /* the test host is little-endian, as the format */
    const int64_t lv[3] = {-5, 2147483647, 4294967296LL};
    memcpy(data + 64, lv, 24);
    const char *hdr = "{\"h\":{\"dtype\":\"F16\",\"shape\":[3,4],\"data_offsets\":[0,24]},"
                      "\"b\":{\"dtype\":\"BF16\",\"shape\":[8],\"data_offsets\":[24,40]},"
                      "\"d\":{\"dtype\":\"F64\",\"shape\":[3],\"data_offsets\":[40,64]},"
                      "\"l\":{\"dtype\":\"I64\",\"shape\":[3],\"data_offsets\":[64,88]}}";
    const char *path = craft("dec.safetensors", UINT64_MAX, hdr, data, sizeof data);
    mltc_error err = {0};
    st_file *sf = NULL;
    tu_must(st_open(&err, path, &sf), &err, "open crafted file");
    float got[12];
    tu_must(st_read_f32(&err, sf, st_find(sf, "h"), got), &err, "read F16");
    for (int i = 0; i < 12; i++)
        tu_check(same_float(got[i], hv[i]), "F16 0x%04x: got %a, expected %a", hb[i], (double)got[i], (double)hv[i]);
    tu_must(st_read_f32(&err, sf, st_find(sf, "b"), got), &err, "read BF16");
    for (int i = 0; i < 8; i++)
        tu_check(same_float(got[i], bv[i]), "BF16 0x%04x: got %a, expected %a", bb[i], (double)got[i], (double)bv[i]);
    tu_must(st_read_f32(&err, sf, st_find(sf, "d"), got), &err, "read F64");
    for (int i = 0; i < 3; i++) tu_check(got[i] == (float)dv[i], "F64 %g: got %g", dv[i], (double)got[i]);
    int32_t iv[3];
    mltc_status st = st_read_i32(&err, sf, st_find(sf, "l"), iv);
    tu_check(st == MLTC_ERR_UNSUPPORTED && strstr(err.msg, "'l'") && strstr(err.msg, "4294967296"),
             "I64 out of int32 range: %d '%s'", (int)st, err.msg);
    tu_check(iv[0] == -5 && iv[1] == 2147483647, "I64 in range: %d %d", iv[0], iv[1]);
    st_close(sf);
    remove(path);
}

/* A pipe cannot be mapped: the reader falls back to read(). A child writes a crafted file
 * into a FIFO while the parent opens it. */
static void read_from_fifo(void) {
    const float v[3] = {1.5f, -2.25f, 1e-20f};
    const char *hdr = "{\"v\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]}}";
    const char *src = craft("fifo_src.safetensors", UINT64_MAX, hdr, v, sizeof v);
    const char *fifo = tmp_path("fifo.safetensors");
    remove(fifo);
    if (mkfifo(fifo, 0600) != 0) {
        printf("note: mkfifo failed; the read() fallback is not tested\n");
        remove(src);
        return;
    }
    pid_t child = fork();
    if (child < 0) {
        printf("note: fork failed; the read() fallback is not tested\n");
        remove(fifo);
        remove(src);
        return;
    }
    if (child == 0) {
        FILE *in = fopen(src, "rb"), *out = fopen(fifo, "wb");
        char buf[256];
        size_t n = in ? fread(buf, 1, sizeof buf, in) : 0;
        int ok = in && out && fwrite(buf, 1, n, out) == n;
        if (out) ok = fclose(out) == 0 && ok; /* _exit does not flush stdio */
        _exit(ok ? 0 : 1);
    }
    mltc_error err = {0};
    st_file *sf = NULL;
    float got[3] = {0};
    const int64_t shape[1] = {3};
    mltc_status st = st_open(&err, fifo, &sf);
    tu_check(st == MLTC_OK, "open through a FIFO: %s", err.msg);
    if (sf) {
        tu_must(st_load_f32(&err, sf, "v", 1, shape, got), &err, "read v through a FIFO");
        tu_check(!memcmp(got, v, sizeof v), "FIFO values: %g %g %g", got[0], got[1], got[2]);
        st_close(sf);
    }
    int status = 0;
    waitpid(child, &status, 0);
    remove(fifo);
    remove(src);
}

/* ---- damaged files ---------------------------------------------------------------------- */

static void expect_open_error(const char *what, const char *path, mltc_status want, const char *want1, const char *want2) {
    mltc_error err = {0};
    st_file *sf = NULL;
    mltc_status st = st_open(&err, path, &sf);
    tu_check(st == want && sf == NULL && strstr(err.msg, path) && strstr(err.msg, want1) && (!want2 || strstr(err.msg, want2)),
             "%s: status %d (want %d), message '%s' (want '%s'%s%s)", what, (int)st, (int)want, err.msg, want1,
             want2 ? " and " : "", want2 ? want2 : "");
    st_close(sf);
    remove(path);
}

static void damaged(void) {
    uint8_t data[64] = {0};
    const char *path = tmp_path("trunc.safetensors");
    FILE *f = fopen(path, "wb");
    fwrite("\x10\x00\x00", 1, 3, f);
    fclose(f);
    expect_open_error("truncated", path, MLTC_ERR_PARSE, "truncated", NULL);

    path = tmp_path("empty.safetensors");
    f = fopen(path, "wb");
    fclose(f);
    expect_open_error("empty file", path, MLTC_ERR_PARSE, "truncated", NULL);

    expect_open_error("header past the end", craft("past.safetensors", 1000, "{}", NULL, 0), MLTC_ERR_PARSE,
                      "header length 1000 runs past the end of the 10-byte file", NULL);
    expect_open_error("oversized header", craft("huge.safetensors", (uint64_t)ST_MAX_HEADER_BYTES + 1, "{}", NULL, 0),
                      MLTC_ERR_PARSE, "exceeds the format's limit", NULL);
    expect_open_error("bad JSON", craft("json.safetensors", UINT64_MAX, "{\"a\": {\"dtype\": }", NULL, 0), MLTC_ERR_PARSE,
                      "not valid JSON", NULL);
    expect_open_error("not an object", craft("arr.safetensors", UINT64_MAX, "[1,2]", NULL, 0), MLTC_ERR_PARSE,
                      "does not start with '{'", NULL);
    expect_open_error("trailing bytes", craft("trail.safetensors", UINT64_MAX, "{}  x", NULL, 0), MLTC_ERR_PARSE,
                      "bytes after its JSON object", NULL);
    expect_open_error("unknown dtype",
                      craft("dtype.safetensors", UINT64_MAX,
                            "{\"w\":{\"dtype\":\"F33\",\"shape\":[2],\"data_offsets\":[0,8]}}", data, 8),
                      MLTC_ERR_PARSE, "tensor 'w': unknown dtype 'F33'", NULL);
    expect_open_error("offsets out of range",
                      craft("range.safetensors", UINT64_MAX,
                            "{\"x.weight\":{\"dtype\":\"F32\",\"shape\":[24],\"data_offsets\":[0,96]}}", data, 64),
                      MLTC_ERR_PARSE, "tensor 'x.weight': data_offsets [0, 96) run past the 64-byte data section", NULL);
    expect_open_error("offsets reversed",
                      craft("rev.safetensors", UINT64_MAX,
                            "{\"x\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,4]}}", data, 64),
                      MLTC_ERR_PARSE, "tensor 'x'", "end before they begin");
    expect_open_error("shape/size mismatch",
                      craft("size.safetensors", UINT64_MAX,
                            "{\"m\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]}}", data, 64),
                      MLTC_ERR_PARSE, "tensor 'm': shape holds 6 elements of 4 bytes (24 bytes)", "span 20 bytes");
    expect_open_error("negative dimension",
                      craft("neg.safetensors", UINT64_MAX,
                            "{\"m\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", data, 64),
                      MLTC_ERR_PARSE, "tensor 'm': shape entry 0", NULL);
    expect_open_error("bad data_offsets",
                      craft("offs.safetensors", UINT64_MAX,
                            "{\"m\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", data, 64),
                      MLTC_ERR_PARSE, "tensor 'm': data_offsets is not a pair", NULL);
    expect_open_error("duplicate tensor",
                      craft("dup.safetensors", UINT64_MAX,
                            "{\"m\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                            "\"m\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
                            data, 8),
                      MLTC_ERR_PARSE, "tensor 'm' appears twice", NULL);
    expect_open_error("metadata not strings",
                      craft("meta.safetensors", UINT64_MAX, "{\"__metadata__\":{\"step\":3}}", NULL, 0), MLTC_ERR_PARSE,
                      "__metadata__ value of 'step' is not a string", NULL);
    expect_open_error("missing file", tmp_path("does_not_exist.safetensors"), MLTC_ERR_IO, "cannot open", NULL);

    /* loader-level errors name the tensor and both shapes */
    path = craft("load.safetensors", UINT64_MAX, "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}}",
                 data, 24);
    mltc_error err = {0};
    st_file *sf = NULL;
    tu_must(st_open(&err, path, &sf), &err, "open load.safetensors");
    float out[6];
    const int64_t wrong[2] = {3, 2};
    mltc_status st = st_load_f32(&err, sf, "w", 2, wrong, out);
    tu_check(st == MLTC_ERR_PARSE && strstr(err.msg, path) && strstr(err.msg, "'w' has shape [2, 3], expected [3, 2]"),
             "wrong shape: %d '%s'", (int)st, err.msg);
    const int64_t flat[1] = {6};
    st = st_load_f32(&err, sf, "w", 1, flat, out);
    tu_check(st == MLTC_ERR_PARSE && strstr(err.msg, "has shape [2, 3], expected [6]"), "wrong rank: %d '%s'", (int)st,
             err.msg);
    st = st_load_f32(&err, sf, "bert.nope", 2, wrong, out);
    tu_check(st == MLTC_ERR_PARSE && strstr(err.msg, "'bert.nope'") && strstr(err.msg, "missing") &&
                 strstr(err.msg, "[3, 2]"),
             "missing tensor: %d '%s'", (int)st, err.msg);
    st_close(sf);
    remove(path);

    /* writer argument errors and an unwritable destination */
    st_writer *w = NULL;
    tu_must(st_writer_create(&err, &w), &err, "writer");
    const int64_t bad[1] = {-1};
    st = st_writer_add_f32(w, "x", 1, bad, out);
    tu_check(st == MLTC_ERR_INVALID_ARGUMENT && strstr(err.msg, "'x'"), "negative dimension add: %d '%s'", (int)st, err.msg);
    st = st_writer_add_f32(w, "__metadata__", 0, NULL, out);
    tu_check(st == MLTC_ERR_INVALID_ARGUMENT, "__metadata__ as a tensor name accepted");
    st = st_writer_commit(w, "/nonexistent-dir/x.safetensors");
    tu_check(st == MLTC_ERR_IO && strstr(err.msg, "/nonexistent-dir/x.safetensors"), "unwritable path: %d '%s'", (int)st,
             err.msg);
    st_writer_free(w);
}

int main(void) {
    const char *t = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s", t && *t ? t : "/tmp");
    round_trip();
    read_python_file();
    decoding();
    read_from_fifo();
    damaged();
    return tu_finish();
}
