/* Decoding a PNG with libpng for the report tests: its size and whether it shows anything. */
#ifndef MLTC_TEST_PNGCHECK_H
#define MLTC_TEST_PNGCHECK_H

/* Decodes path as RGBA. Returns 0 and sets *w, *h and *ink (the share of pixels that differ from
 * the top-left pixel, i.e. the background), or -1 after printing why it does not decode. */
int png_inspect(const char *path, int *w, int *h, double *ink);

#endif
