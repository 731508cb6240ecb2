/* A text with its words shaded by weight, drawn by cairo (PNG and SVG surfaces). */
#include "report/report_draw.h"

#ifdef MLTC_HAVE_DRAWING

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <cairo-svg.h>
#include <cairo.h>

#include "core/platform.h"

#define SHADE_W 1000
#define MARGIN 16
#define FONT 18.0
#define LINE 28.0

/* Lays the heading and the pieces out (and draws them when draw): returns the height used. */
static double layout(cairo_t *cr, const char *const *heading, int n_heading, const char *const *tokens,
                     const float *weights, int n, int draw) {
    /* From white at the text's smallest weight to full colour at its largest: lam's weights are a
     * softmax of cosines, close to uniform, and would otherwise all look alike. */
    double top = -INFINITY, low = INFINITY;
    for (int i = 0; i < n; i++) top = fmax(top, weights[i]), low = fmin(low, weights[i]);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
    cairo_set_font_size(cr, FONT - 2);
    double y = MARGIN + FONT;
    for (int i = 0; i < n_heading; i++, y += LINE - 4) {
        if (!draw) continue;
        cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
        cairo_move_to(cr, MARGIN, y);
        cairo_show_text(cr, heading[i]);
    }
    y += 8;
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, FONT);
    cairo_font_extents_t fe;
    cairo_font_extents(cr, &fe);
    double x = MARGIN, space = FONT * 0.3;
    for (int i = 0; i < n; i++) {
        const char *t = tokens[i];
        int cont = strncmp(t, "##", 2) == 0 && t[2];
        if (cont) t += 2;
        cairo_text_extents_t te;
        cairo_text_extents(cr, t, &te);
        double gap = cont || i == 0 ? 0 : space;
        if (x + gap + te.x_advance > SHADE_W - MARGIN && x > MARGIN) x = MARGIN, y += LINE, gap = 0;
        x += gap;
        if (draw) {
            double a = top > low ? (weights[i] - low) / (top - low) : 0;
            cairo_set_source_rgb(cr, 1 - 0.15 * a, 1 - 0.55 * a, 1 - 0.85 * a);
            cairo_rectangle(cr, x, y - fe.ascent, te.x_advance, fe.ascent + fe.descent);
            cairo_fill(cr);
            cairo_set_source_rgb(cr, 0.05, 0.05, 0.05);
            cairo_move_to(cr, x, y);
            cairo_show_text(cr, t);
        }
        x += te.x_advance;
    }
    return y + fe.descent + MARGIN;
}

static mltc_status finish(mltc_error *e, cairo_surface_t *s, const char *tmp, const char *path, int png) {
    cairo_status_t cs = png ? cairo_surface_write_to_png(s, tmp) : CAIRO_STATUS_SUCCESS;
    cairo_surface_finish(s);
    if (cs == CAIRO_STATUS_SUCCESS) cs = cairo_surface_status(s);
    cairo_surface_destroy(s);
    if (cs != CAIRO_STATUS_SUCCESS || plat_replace(tmp, path) != 0) {
        plat_remove_file(tmp);
        return err_set(e, MLTC_ERR_IO, "%s: could not be written (%s)", path,
                       cs != CAIRO_STATUS_SUCCESS ? cairo_status_to_string(cs) : "rename failed");
    }
    return MLTC_OK;
}

mltc_status report_draw_shaded_text(mltc_error *e, const char *base, const char *const *heading, int n_heading,
                                    const char *const *tokens, const float *weights, int n, int *w, int *h) {
    cairo_surface_t *probe = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 1, 1);
    cairo_t *cr = cairo_create(probe);
    int height = (int)ceil(layout(cr, heading, n_heading, tokens, weights, n, 0));
    cairo_destroy(cr);
    cairo_surface_destroy(probe);
    char path[4200], tmp[4300];
    mltc_status st = MLTC_OK;
    for (int png = 1; !st && png >= 0; png--) {
        snprintf(path, sizeof path, "%s.%s", base, png ? "png" : "svg");
        snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, plat_pid());
        cairo_surface_t *s = png ? cairo_image_surface_create(CAIRO_FORMAT_RGB24, SHADE_W, height)
                                 : cairo_svg_surface_create(tmp, SHADE_W, height);
        cr = cairo_create(s);
        cairo_set_source_rgb(cr, 1, 1, 1);
        cairo_paint(cr);
        layout(cr, heading, n_heading, tokens, weights, n, 1);
        cairo_destroy(cr);
        st = finish(e, s, tmp, path, png);
    }
    if (w) *w = SHADE_W;
    if (h) *h = height;
    return st;
}

#else

mltc_status report_draw_shaded_text(mltc_error *e, const char *base, const char *const *heading, int n_heading,
                                    const char *const *tokens, const float *weights, int n, int *w, int *h) {
    return err_set(e, MLTC_ERR_UNSUPPORTED, "%s", report_draw_missing());
}

#endif
