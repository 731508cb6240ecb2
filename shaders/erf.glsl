// erf for float: GLSL has none. Abramowitz & Stegun 7.1.26 has 1.5e-7 absolute error,
// near float rounding for the GELU values it feeds; small |x| uses the Taylor series so
// that erf(x)/x stays accurate where the product x*erf(x) is tiny.
#ifndef MLTC_ERF_GLSL
#define MLTC_ERF_GLSL

float erf_approx(float x) {
    float a = abs(x);
    if (a < 0.25) {
        float x2 = x * x; // 2/sqrt(pi) * (x - x^3/3 + x^5/10 - x^7/42)
        return 1.1283791670955126 * x * (1.0 + x2 * (-1.0 / 3.0 + x2 * (0.1 + x2 * (-1.0 / 42.0))));
    }
    float t = 1.0 / (1.0 + 0.3275911 * a);
    float poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
    float r = 1.0 - poly * exp(-a * a);
    return x < 0.0 ? -r : r;
}

#endif
