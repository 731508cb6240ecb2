/* The report's page: one HTML file that holds its pictures (base64 data: URIs), so it can be
 * mailed or archived alone. Each image marks itself loaded or failed (data-state), which the
 * browser test reads back. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fileio.h"
#include "report/report.h"

typedef struct sbuf {
    char *p;
    size_t n, cap;
    int failed;
} sbuf;

static void put(sbuf *b, const char *s, size_t len) {
    if (b->failed) return;
    if (b->n + len + 1 > b->cap) {
        size_t cap = (b->cap ? b->cap * 2 : 65536) + len;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->failed = 1;
            return;
        }
        b->p = p, b->cap = cap;
    }
    memcpy(b->p + b->n, s, len);
    b->n += len;
    b->p[b->n] = '\0';
}

static void puts_(sbuf *b, const char *s) { put(b, s, strlen(s)); }

static void escaped(sbuf *b, const char *s) {
    for (; *s; s++) {
        if (*s == '<') puts_(b, "&lt;");
        else if (*s == '>') puts_(b, "&gt;");
        else if (*s == '&') puts_(b, "&amp;");
        else if (*s == '"') puts_(b, "&quot;");
        else put(b, s, 1);
    }
}

static void base64(sbuf *b, const unsigned char *d, size_t n) {
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char q[4];
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)d[i] << 16 | (i + 1 < n ? (unsigned)d[i + 1] << 8 : 0) | (i + 2 < n ? d[i + 2] : 0);
        q[0] = tab[v >> 18 & 63], q[1] = tab[v >> 12 & 63];
        q[2] = i + 1 < n ? tab[v >> 6 & 63] : '=';
        q[3] = i + 2 < n ? tab[v & 63] : '=';
        put(b, q, 4);
    }
}

mltc_status report_write_html(mltc_error *e, const char *dir, const char *title, const report_figure *f, int n,
                              const char *notes_html) {
    sbuf b = {0};
    puts_(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>");
    escaped(&b, title);
    puts_(&b, "</title>\n<style>body{font-family:sans-serif;max-width:1600px;margin:1em auto;padding:0 1em;color:#222}"
              "img{max-width:100%;border:1px solid #ddd}table{border-collapse:collapse;margin:.5em 0;font-size:90%}"
              "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}th{background:#f3f3f3}"
              "td:first-child,th:first-child{text-align:left}figure{margin:2em 0}"
              ".notes{background:#fff6e0;padding:.5em 1em}</style>\n"
              "<script>function loaded(i){i.dataset.state=i.naturalWidth>0?'loaded':'failed';"
              "i.dataset.size=i.naturalWidth+'x'+i.naturalHeight}</script></head><body>\n<h1>");
    escaped(&b, title);
    puts_(&b, "</h1>\n");
    if (notes_html && *notes_html) {
        puts_(&b, "<div class=\"notes\">");
        puts_(&b, notes_html);
        puts_(&b, "</div>\n");
    }
    mltc_status st = MLTC_OK;
    for (int i = 0; !st && i < n; i++) {
        puts_(&b, "<figure><h2>");
        escaped(&b, f[i].title);
        puts_(&b, "</h2>\n");
        if (f[i].file[0]) {
            char path[4400];
            snprintf(path, sizeof path, "%s/%s", dir, f[i].file);
            char *png = NULL;
            size_t size = 0;
            st = file_read_all(e, path, (size_t)64 << 20, &png, &size);
            if (st) break;
            puts_(&b, "<img alt=\"");
            escaped(&b, f[i].title);
            puts_(&b, "\" data-file=\"");
            escaped(&b, f[i].file);
            puts_(&b, "\" onload=\"loaded(this)\" onerror=\"this.dataset.state='failed'\" src=\"data:image/png;base64,");
            base64(&b, (const unsigned char *)png, size);
            puts_(&b, "\">\n");
            free(png);
        }
        puts_(&b, "<figcaption><p>");
        escaped(&b, f[i].caption);
        puts_(&b, "</p>");
        if (f[i].numbers_html) puts_(&b, f[i].numbers_html);
        puts_(&b, "</figcaption></figure>\n");
    }
    puts_(&b, "</body></html>\n");
    if (!st && b.failed) st = err_set(e, MLTC_ERR_OUT_OF_MEMORY, "report: no memory for index.html");
    if (!st) {
        char path[4200];
        snprintf(path, sizeof path, "%s/index.html", dir);
        st = file_write_atomic(e, path, b.p, b.n);
    }
    free(b.p);
    return st;
}
