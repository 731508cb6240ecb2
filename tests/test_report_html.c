/* The report's page in a real browser: headless Chromium opens index.html of a short run's
 * report, and every figure must have loaded (each <img> marks itself data-state="loaded" with its
 * decoded size, read back from the DOM Chromium dumps) at the size of its PNG. The same page with
 * one picture broken must show that one as failed, so the check can fail; a screenshot of the
 * page decodes and is not blank. mltc_explain, the public call behind `mltc predict --explain`,
 * gives weights that sum to 1 and a picture that decodes. Skipped where Chromium is not installed (tools/setup.sh installs
 * Debian's chromium). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "pngcheck.h"
#include "report/report.h"
#include "report/report_draw.h"
#include "run/train.h"
#include "testutil.h"

static const char *const LABELS[] = {"earn", "acq", "crude", "grain", "money-fx", "trade"};
static char tmp[256];

static const char *chromium(void) {
    static const char *const paths[] = {"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"};
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++)
        if (access(paths[i], X_OK) == 0) return paths[i];
    return NULL;
}

/* Runs Chromium headless on page with extra arguments; 0 on success. */
static int run_browser(const char *browser, const char *page, const char *args, const char *stdout_path) {
    char cmd[2000];
    snprintf(cmd, sizeof cmd,
             "'%s' --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --hide-scrollbars "
             "--user-data-dir='%s/profile' --virtual-time-budget=10000 %s 'file://%s' >'%s' 2>'%s/browser.log'",
             browser, tmp, args, page, stdout_path, tmp);
    int rc = system(cmd);
    if (rc != 0) printf("NOTE: %s exited with %d (see %s/browser.log)\n", browser, rc, tmp);
    return rc;
}

/* Counts the <img> elements of a dumped DOM and those whose data-state is loaded with a size
 * equal to their PNG's (dir/data-file). */
static void count_images(const char *dom, const char *dir, int *imgs, int *ok) {
    *imgs = *ok = 0;
    for (const char *p = dom; (p = strstr(p, "<img ")); p++) {
        const char *end = strchr(p, '>');
        if (!end) break;
        (*imgs)++;
        char tag[512];
        /* the attributes Chromium writes before the long src, and data-* after it */
        const char *state = strstr(p, "data-state=\""), *size = strstr(p, "data-size=\""), *file = strstr(p, "data-file=\"");
        if (!state || state > end || !size || size > end || !file || file > end) continue;
        char fname[128] = "";
        sscanf(file, "data-file=\"%127[^\"]", fname);
        int w = 0, h = 0, pw = 0, ph = 0;
        double ink = 0;
        snprintf(tag, sizeof tag, "%s/%s", dir, fname);
        if (strncmp(state, "data-state=\"loaded\"", 19) || sscanf(size, "data-size=\"%dx%d", &w, &h) != 2 ||
            png_inspect(tag, &pw, &ph, &ink))
            continue;
        if (w == pw && h == ph) (*ok)++;
        else printf("NOTE: %s shown at %d x %d, the PNG is %d x %d\n", fname, w, h, pw, ph);
    }
}

/* The public explanation of one text by the run's checkpoint, with its picture. */
static void check_public_explain(const char *ckpt) {
    mltc_ctx *ctx = NULL;
    mltc_device *dev = NULL;
    mltc_model *model = NULL;
    char *json = NULL, base[400], png[420];
    snprintf(base, sizeof base, "%s/explained", tmp);
    snprintf(png, sizeof png, "%s.png", base);
    tu_must(mltc_ctx_create(&ctx), NULL, "context");
    if (mltc_device_open(ctx, "cpu", &dev) || mltc_model_load(ctx, dev, ckpt, &model) ||
        mltc_explain(ctx, model, "Oil prices rose after OPEC cut output", base, &json)) {
        tu_check(0, "mltc_explain: %s", mltc_last_error(ctx));
    } else {
        cJSON *o = cJSON_Parse(json);
        const cJSON *w = cJSON_GetObjectItemCaseSensitive(o, "weights"), *t = cJSON_GetObjectItemCaseSensitive(o, "tokens"), *v;
        double sum = 0;
        cJSON_ArrayForEach(v, w) sum += v->valuedouble;
        tu_check(cJSON_GetArraySize(w) == cJSON_GetArraySize(t) && cJSON_GetArraySize(t) > 3 && fabs(sum - 1) < 1e-4,
                 "mltc_explain: %d weights for %d tokens, summing to %g", cJSON_GetArraySize(w),
                 cJSON_GetArraySize(t), sum);
        int pw = 0, ph = 0;
        double ink = 0;
        tu_check(png_inspect(png, &pw, &ph, &ink) == 0 && pw == 1000 && ink > 0.01,
                 "mltc_explain's picture decodes (%d x %d, %.1f%% ink)", pw, ph, 100 * ink);
        cJSON_Delete(o);
    }
    mltc_free(json);
    mltc_model_free(model);
    mltc_device_close(dev);
    mltc_ctx_destroy(ctx);
}

int main(void) {
    const char *browser = chromium();
    if (!browser) {
        printf("SKIP: Chromium is not installed (Debian: chromium)\n");
        return TU_SKIP;
    }
    if (report_draw_missing()) {
        printf("SKIP: %s\n", report_draw_missing());
        return TU_SKIP;
    }
    mltc_error err = {0};
    dev_ctx *dev = NULL;
    int rc = tu_open("cpu", &err, &dev);
    if (rc) return rc;
    snprintf(tmp, sizeof tmp, "/tmp/mltc_test_report_html_XXXXXX");
    if (!tu_mkdtemp(tmp, sizeof tmp)) return 1;
    char model_dir[300], train_path[300], labels_path[300], out[300], dir[320], page[400], dom_path[400];
    snprintf(model_dir, sizeof model_dir, "%s/bert", tmp);
    snprintf(train_path, sizeof train_path, "%s/train.jsonl", tmp);
    snprintf(labels_path, sizeof labels_path, "%s/labels.txt", tmp);
    snprintf(out, sizeof out, "%s/out", tmp);
    snprintf(dir, sizeof dir, "%s/report", out);
    if (tu_write_tiny_bert(model_dir, 3) || tu_write_reuters_slice(train_path, labels_path, 0, 24, LABELS, 6) != 24)
        return 1;
    train_request q = {.model_dir = model_dir, .train_path = train_path, .dev_path = train_path,
                       .labels_path = labels_path, .out_dir = out, .log_every = 1};
    train_settings_default(&q.settings);
    q.settings.epochs = 2, q.settings.batch = 8, q.settings.max_len = 24;
    train_summary sum;
    tu_must(train_run(dev, &q, &sum), dev->err, "training");
    report_request rq = {.run_dir = out, .data_path = train_path, .examples = 2};
    tu_must(report_build(dev, &rq, NULL), dev->err, "report");

    snprintf(page, sizeof page, "%s/index.html", dir);
    snprintf(dom_path, sizeof dom_path, "%s/dom.html", tmp);
    int imgs = 0, ok = 0;
    if (tu_check(run_browser(browser, page, "--dump-dom", dom_path) == 0, "Chromium dumps the page's DOM")) {
        char *dom = tu_read_file(dom_path);
        if (dom) count_images(dom, dir, &imgs, &ok);
        tu_check(imgs == 6 && ok == imgs, "Chromium shows %d of %d images at their PNG's size (6 expected)", ok, imgs);
        free(dom);
    }

    /* One picture broken: its bytes no longer a PNG. The check must see it. */
    char *html = tu_read_file(page);
    char *first = html ? strstr(html, "base64,iVBOR") : NULL;
    if (tu_check(first != NULL, "index.html embeds a PNG")) {
        memcpy(first + 7, "AAAAA", 5);
        char broken[400];
        snprintf(broken, sizeof broken, "%s/broken.html", dir);
        if (!tu_write_file(broken, html) && run_browser(browser, broken, "--dump-dom", dom_path) == 0) {
            char *dom = tu_read_file(dom_path);
            int bi = 0, bok = 0;
            if (dom) count_images(dom, dir, &bi, &bok);
            tu_check(bi == 6 && bok == 5, "with one picture broken Chromium shows %d of %d (5 expected)", bok, bi);
            free(dom);
        }
    }
    free(html);

    char shot[400], args[500];
    snprintf(shot, sizeof shot, "%s/page.png", tmp);
    snprintf(args, sizeof args, "--window-size=1280,3000 --screenshot='%s'", shot);
    int w = 0, h = 0;
    double ink = 0;
    if (tu_check(run_browser(browser, page, args, "/dev/null") == 0, "Chromium takes a screenshot"))
        tu_check(png_inspect(shot, &w, &h, &ink) == 0 && w == 1280 && ink > 0.05,
                 "the screenshot decodes (%d x %d) and shows the page (%.1f%% not background)", w, h, 100 * ink);
    char ckpt[400];
    snprintf(ckpt, sizeof ckpt, "%s/best", out);
    check_public_explain(ckpt);
    dev_close(dev);
    tu_remove_tree(tmp);
    return tu_finish();
}
