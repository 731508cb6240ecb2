/* The report's charts, drawn by PLplot through its cairo drivers (pngcairo, svgcairo). */
#include "report/report_draw.h"

#ifdef MLTC_HAVE_DRAWING

#include <math.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <plplot.h>

#include "core/platform.h"

/* PLplot ends the process on a fatal error unless its exit handler does not return: the handler
 * jumps back into the chart being drawn, which then reports the error. */
static jmp_buf plot_failed;
static char plot_error[256];

static int on_plot_exit(PLCHAR_VECTOR msg) {
    snprintf(plot_error, sizeof plot_error, "%s", msg ? msg : "");
    longjmp(plot_failed, 1);
    return 1;
}

const char *report_draw_missing(void) { return NULL; }

/* The palette (cmap0): 0 background, then the lines' colours. */
/* The co-occurrence chart holds two square heatmaps with label names: wider than the others, and
 * taller with many labels so that each keeps about 14 pixels for its name. */
static int cooc_h(int K) { return K * 14 + 200 > 800 ? K * 14 + 200 : 800; }
static int cooc_w(int K) { return cooc_h(K) * 15 / 8; }

enum { COL_BG, COL_FG, COL_BLUE, COL_ORANGE, COL_GREEN, COL_RED, COL_GREY, COL_PURPLE };

static void palette(void) {
    static const int rgb[][3] = {{255, 255, 255}, {30, 30, 30},   {31, 119, 180}, {255, 127, 14},
                                 {44, 160, 44},   {214, 39, 40},  {150, 150, 150}, {148, 103, 189}};
    for (int i = 0; i < (int)(sizeof rgb / sizeof *rgb); i++) plscol0(i, rgb[i][0], rgb[i][1], rgb[i][2]);
}

typedef void (*chart_fn)(const void *arg);

/* Draws one chart with one PLplot device into base.ext, through a temporary file renamed when
 * complete. Nothing this frame changes after setjmp is read after the jump. */
static mltc_status render_one(mltc_error *e, const char *device, const char *ext, const char *base, int w, int h,
                              chart_fn draw, const void *arg) {
    char path[4200], tmp[4300];
    snprintf(path, sizeof path, "%s.%s", base, ext);
    snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, plat_pid());
    plsexit(on_plot_exit);
    if (setjmp(plot_failed)) {
        plsexit(NULL);
        plat_remove_file(tmp);
        return err_set(e, MLTC_ERR_IO, "%s: PLplot failed: %s", path, plot_error);
    }
    plsdev(device);
    plsfnam(tmp);
    plspage(90, 90, w, h, 0, 0);
    palette();
    plinit();
    plfontld(1);
    draw(arg);
    plend1();
    plsexit(NULL);
    if (plat_replace(tmp, path) != 0) {
        plat_remove_file(tmp);
        return err_set(e, MLTC_ERR_IO, "%s: could not be written", path);
    }
    return MLTC_OK;
}

/* Draws one chart twice, as base.png (w x h pixels) and base.svg. */
static mltc_status render(mltc_error *e, const char *base, int w, int h, chart_fn draw, const void *arg) {
    mltc_status st = render_one(e, "pngcairo", "png", base, w, h, draw, arg);
    return st ? st : render_one(e, "svgcairo", "svg", base, w, h, draw, arg);
}

/* A legend of lines in the top right (bottom right when low) of the current plot. */
static void legend(int n, const char *const *text, const int *colors, const int *styles, int low) {
    PLINT opt[8], col[8], sty[8], zero[8];
    PLFLT widths[8], scales[8];
    for (int i = 0; i < n; i++) {
        opt[i] = PL_LEGEND_LINE;
        col[i] = colors[i];
        sty[i] = styles ? styles[i] : 1;
        zero[i] = 0;
        widths[i] = 2.0;
        scales[i] = 1.0;
    }
    PLFLT lw, lh;
    pllegend(&lw, &lh, PL_LEGEND_BACKGROUND | PL_LEGEND_BOUNDING_BOX,
             PL_POSITION_RIGHT | (low ? PL_POSITION_BOTTOM : PL_POSITION_TOP) | PL_POSITION_INSIDE, 0.02, 0.03, 0.08,
             COL_BG, COL_FG, 1, 0, 0, n, opt, 1.0, 0.9, 2.0, 1.0, col, text, NULL, NULL, NULL, NULL, col, sty, widths,
             NULL, scales, zero, NULL);
}

static void range(const double *v, int n, double *lo, double *hi) {
    *lo = INFINITY, *hi = -INFINITY;
    for (int i = 0; i < n; i++)
        if (isfinite(v[i])) *lo = fmin(*lo, v[i]), *hi = fmax(*hi, v[i]);
    if (!isfinite(*lo)) *lo = 0, *hi = 1;
    if (*hi - *lo < 1e-12) *lo -= 0.5 * fabs(*lo) + 1e-3, *hi += 0.5 * fabs(*hi) + 1e-3;
    double pad = 0.05 * (*hi - *lo);
    *lo -= pad, *hi += pad;
}

static void line(const double *x, const double *y, int n, int color, int style) {
    plcol0(color);
    pllsty(style);
    plwidth(2.0);
    /* NaN (an unlogged value) breaks the line. */
    for (int i = 0; i < n;) {
        while (i < n && !(isfinite(x[i]) && isfinite(y[i]))) i++;
        int j = i;
        while (j < n && isfinite(x[j]) && isfinite(y[j])) j++;
        if (j - i == 1) plpoin(1, (PLFLT *)x + i, (PLFLT *)y + i, 17);
        if (j - i > 1) plline(j - i, (PLFLT *)x + i, (PLFLT *)y + i);
        i = j;
    }
    pllsty(1);
    plwidth(1.0);
}

static void frame(double x0, double x1, double y0, double y1, int axis, const char *xl, const char *yl, const char *t) {
    plcol0(COL_FG);
    plschr(0, 0.9);
    plenv(x0, x1, y0, y1, 0, axis);
    pllab(xl, yl, t);
}

/* ---- training curves ---------------------------------------------------------------------- */

static void draw_curves(const void *arg) {
    const report_log *log = arg;
    int n = log->n_steps;
    double *x = malloc(sizeof *x * (size_t)(n + 1) * 6);
    if (!x) return;
    double *loss = x + n + 1, *bce = loss + n + 1, *mlm = bce + n + 1, *lr = mlm + n + 1, *gn = lr + n + 1;
    int have_mlm = 0;
    for (int i = 0; i < n; i++) {
        const report_step *s = &log->steps[i];
        x[i] = s->step, loss[i] = s->loss, bce[i] = s->bce, mlm[i] = s->mlm, lr[i] = s->lr, gn[i] = s->grad_norm;
        have_mlm |= isfinite(s->mlm);
    }
    double x0 = 0, x1 = 1, lo, hi;
    if (n > 0) range(x, n, &x0, &x1);
    plssub(2, 2);

    range(loss, n, &lo, &hi);
    double l2, h2;
    range(bce, n, &l2, &h2);
    lo = fmin(lo, l2), hi = fmax(hi, h2);
    if (have_mlm) range(mlm, n, &l2, &h2), lo = fmin(lo, l2), hi = fmax(hi, h2);
    frame(x0, x1, lo, hi, 2, "optimizer step", "loss", "training loss");
    line(x, loss, n, COL_FG, 1);
    line(x, bce, n, COL_BLUE, 2);
    if (have_mlm) line(x, mlm, n, COL_ORANGE, 1);
    const char *names[] = {"loss (total)", "BCE", "label MLM"};
    int cols[] = {COL_FG, COL_BLUE, COL_ORANGE}, stys[] = {1, 2, 1};
    legend(have_mlm ? 3 : 2, names, cols, stys, 0);

    range(lr, n, &lo, &hi);
    if (lo < 0) lo = 0;
    frame(x0, x1, lo, hi, 2, "optimizer step", "learning rate", "learning rate (encoder)");
    line(x, lr, n, COL_GREEN, 1);

    range(gn, n, &lo, &hi);
    if (lo < 0) lo = 0;
    frame(x0, x1, lo, hi, 2, "optimizer step", "gradient norm", "gradient norm before clipping");
    line(x, gn, n, COL_PURPLE, 1);

    int m = log->n_evals;
    if (m == 0) {
        frame(0, 1, 0, 1, -2, "", "", "dev F1 per epoch");
        plptex(0.5, 0.5, 1, 0, 0.5, "no dev evaluations in the log");
    } else {
        double *ep = malloc(sizeof *ep * (size_t)m * 3);
        if (ep) {
            double *mi = ep + m, *ma = mi + m;
            for (int i = 0; i < m; i++) ep[i] = log->evals[i].epoch, mi[i] = log->evals[i].micro_f1, ma[i] = log->evals[i].macro_f1;
            frame(ep[0] - 0.5, ep[m - 1] + 0.5, 0, 1, 2, "epoch", "F1", "dev micro-F1 and macro-F1");
            line(ep, mi, m, COL_BLUE, 1);
            line(ep, ma, m, COL_ORANGE, 1);
            plcol0(COL_BLUE);
            plpoin(m, ep, mi, 17);
            plcol0(COL_ORANGE);
            plpoin(m, ep, ma, 17);
            const char *nm[] = {"micro-F1", "macro-F1"};
            int c2[] = {COL_BLUE, COL_ORANGE};
            legend(2, nm, c2, NULL, 1);
            free(ep);
        }
    }
    plssub(1, 1);
    free(x);
}

mltc_status report_draw_curves(mltc_error *e, const char *base, const report_log *log) {
    return render(e, base, REPORT_CHART_W, REPORT_CHART_H, draw_curves, log);
}

/* ---- per-label F1 against training frequency -------------------------------------------- */

typedef struct label_args {
    const report_label_point *p;
    int K;
} label_args;

static void draw_label_f1(const void *arg) {
    const label_args *a = arg;
    double hi = 10;
    for (int k = 0; k < a->K; k++) hi = fmax(hi, a->p[k].train_count);
    frame(-0.1, log10(hi) + 0.3, -0.03, 1.05, 10 + 2, "training examples of the label (log scale)",
          "F1 on the data", "per-label F1 against the label's training frequency");
    plschr(0, 0.75);
    for (int k = 0; k < a->K; k++) {
        const report_label_point *q = &a->p[k];
        PLFLT x = log10(fmax(q->train_count, 1.0)), y = q->f1;
        plcol0(q->weak ? COL_RED : COL_BLUE);
        plpoin(1, &x, &y, q->weak ? 17 : 4);
        /* The weakest often share an F1 (0): their names stand in a staircase so none hides another. */
        if (q->weak) {
            PLFLT ty = y + 0.03 + 0.045 * (q->weak - 1), lx[2] = {x, x}, ly[2] = {y, ty - 0.005};
            plline(2, lx, ly);
            plptex(x + 0.01, ty, 1, 0, 0, q->name);
        }
    }
    plschr(0, 0.9);
}

mltc_status report_draw_label_f1(mltc_error *e, const char *base, const report_label_point *p, int K) {
    label_args a = {p, K};
    return render(e, base, REPORT_CHART_W, REPORT_CHART_H, draw_label_f1, &a);
}

/* ---- scores against the threshold -------------------------------------------------------- */

typedef struct sweep_args {
    const report_sweep_point *s;
    int n;
    double t;
} sweep_args;

static void draw_threshold(const void *arg) {
    const sweep_args *a = arg;
    double x[REPORT_SWEEP], p[REPORT_SWEEP], r[REPORT_SWEEP], f[REPORT_SWEEP];
    int n = a->n < REPORT_SWEEP ? a->n : REPORT_SWEEP, at = 0;
    for (int i = 0; i < n; i++) {
        x[i] = a->s[i].threshold, p[i] = a->s[i].precision, r[i] = a->s[i].recall, f[i] = a->s[i].f1;
        if (fabs(x[i] - a->t) < fabs(x[at] - a->t)) at = i;
    }
    frame(0, 1, 0, 1.05, 2, "decision threshold (every label)", "score",
          "micro precision, recall and F1 against the threshold");
    line(x, p, n, COL_BLUE, 1);
    line(x, r, n, COL_ORANGE, 1);
    line(x, f, n, COL_FG, 1);
    PLFLT vx[2] = {a->t, a->t}, vy[2] = {0, 1.05};
    plcol0(COL_RED);
    pllsty(2);
    plline(2, vx, vy);
    pllsty(1);
    char note[96];
    snprintf(note, sizeof note, "model's threshold %.2f: F1 %.3f", a->t, n ? f[at] : 0.0);
    plptex(a->t + (a->t < 0.6 ? 0.02 : -0.02), 0.08, 1, 0, a->t < 0.6 ? 0 : 1, note);
    const char *nm[] = {"precision", "recall", "F1"};
    int cols[] = {COL_BLUE, COL_ORANGE, COL_FG};
    legend(3, nm, cols, NULL, 0);
}

mltc_status report_draw_threshold(mltc_error *e, const char *base, const report_sweep_point *s, int n,
                                  double model_threshold) {
    sweep_args a = {s, n, model_threshold};
    return render(e, base, REPORT_CHART_W, REPORT_CHART_H, draw_threshold, &a);
}

/* ---- label co-occurrence ----------------------------------------------------------------- */

typedef struct cooc_args {
    const double *m[2];
    const int *order;
    char *const *names;
    int K;
} cooc_args;

static void draw_cooccurrence(const void *arg) {
    const cooc_args *a = arg;
    int K = a->K;
    pladv(0);
    /* A diverging map: blue -1, white 0, red +1. */
    PLFLT pos[3] = {0, 0.5, 1}, rr[3] = {0.13, 1, 0.84}, gg[3] = {0.40, 1, 0.15}, bb[3] = {0.67, 1, 0.16};
    plscmap1n(256);
    plscmap1l(1, 3, pos, rr, gg, bb, NULL);
    const char *title[2] = {"gold labels", "predicted labels"};
    int W = cooc_w(K), H = cooc_h(K);
    double name_room = 0.1;
    /* PLplot's characters are about 25 pixels apart at scale 1 on a 90 dpi page. */
    double cell = 0.8 * H / K, names_chr = fmin(0.8, 0.85 * cell / 25.0);
    for (int s = 0; s < 2; s++) {
        double x0 = s == 0 ? name_room + 0.02 : 0.5 + name_room + 0.01, w = 0.5 - name_room - 0.04;
        /* A square panel: the page is wider than high. */
        double hfrac = w * W / H;
        if (hfrac > 0.8) hfrac = 0.8, w = hfrac * H / W;
        plvpor(x0, x0 + w, 0.92 - hfrac, 0.92);
        plwind(0, K, 0, K);
        /* Row i of the picture (top to bottom) is label order[i]; PLplot's y grows upward. One
         * filled cell per pair, its colour from cmap1 at (v + 1) / 2. */
        for (int i = 0; i < K; i++)
            for (int j = 0; j < K; j++) {
                double v = a->m[s][(size_t)a->order[i] * K + a->order[j]];
                PLFLT cx[4] = {j, j + 1, j + 1, j}, cy[4] = {K - 1 - i, K - 1 - i, K - i, K - i};
                plcol1(((isfinite(v) ? v : 0.0) + 1.0) / 2.0);
                plfill(4, cx, cy);
            }
        plcol0(COL_FG);
        plbox("bc", 0, 0, "bc", 0, 0);
        plschr(0, 0.9);
        plmtex("t", 1.0, 0.5, 0.5, title[s]);
        plschr(0, names_chr);
        for (int i = 0; i < K; i++) {
            const char *name = a->names[a->order[i]];
            plmtex("lv", 0.3, 1.0 - (i + 0.5) / K, 1.0, name);
            plmtex("bv", 0.3, (i + 0.5) / K, 1.0, name);
        }
    }
    plvpor(0, 1, 0, 1);
    plwind(0, 1, 0, 1);
    plschr(0, 0.8);
    plcol0(COL_FG);
    plptex(0.5, 0.975, 1, 0, 0.5, "Pearson correlation of label pairs over the data: blue -1, white 0, red +1 "
                                  "(a label with no variation: 0)");
}

mltc_status report_draw_cooccurrence(mltc_error *e, const char *base, const double *gold, const double *pred,
                                     const int *order, char *const *names, int K) {
    cooc_args a = {{gold, pred}, order, names, K};
    return render(e, base, cooc_w(K), cooc_h(K), draw_cooccurrence, &a);
}

#else /* no drawing libraries */

const char *report_draw_missing(void) {
    return "built without PLplot and cairo (Debian: libplplot-dev plplot-driver-cairo libcairo2-dev; then "
           "reconfigure): no pictures, the numbers only";
}

static mltc_status none(mltc_error *e) { return err_set(e, MLTC_ERR_UNSUPPORTED, "%s", report_draw_missing()); }
mltc_status report_draw_curves(mltc_error *e, const char *base, const report_log *log) { return none(e); }
mltc_status report_draw_label_f1(mltc_error *e, const char *base, const report_label_point *p, int K) { return none(e); }
mltc_status report_draw_threshold(mltc_error *e, const char *base, const report_sweep_point *s, int n, double t) {
    return none(e);
}
mltc_status report_draw_cooccurrence(mltc_error *e, const char *base, const double *gold, const double *pred,
                                     const int *order, char *const *names, int K) {
    return none(e);
}

#endif
