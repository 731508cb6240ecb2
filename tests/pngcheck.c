/* png_inspect (pngcheck.h): libpng's simplified reading API. */
#include "pngcheck.h"

#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int png_inspect(const char *path, int *w, int *h, double *ink) {
    png_image im;
    memset(&im, 0, sizeof im);
    im.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&im, path)) {
        printf("FAIL %s: does not decode as PNG: %s\n", path, im.message);
        return -1;
    }
    im.format = PNG_FORMAT_RGBA;
    png_bytep px = malloc(PNG_IMAGE_SIZE(im));
    if (!px || !png_image_finish_read(&im, NULL, px, 0, NULL)) {
        printf("FAIL %s: PNG pixels do not decode: %s\n", path, im.message);
        free(px);
        png_image_free(&im);
        return -1;
    }
    size_t n = (size_t)im.width * im.height, differ = 0;
    for (size_t i = 0; i < n; i++) differ += memcmp(px + 4 * i, px, 4) != 0;
    *w = (int)im.width, *h = (int)im.height;
    *ink = n ? (double)differ / (double)n : 0;
    free(px);
    return 0;
}
