// Max pooling over NCHW images (contiguous). Forward: one thread per output element; it keeps the
// position of the maximum (the first one on ties, in row-major window order) as h * W + w.
// Backward is a GATHER: one thread per input element sums the gradients of the windows whose
// maximum it was, so no two threads write the same place and no atomics are needed.
#include "common.cuh"

template <typename T>
__global__ void max_pool_forward(const T* x, T* y, int* argmax, int C, int H, int W, int Ho, int Wo,
                                 int kh, int kw, int sh, int sw, int ph, int pw, long long n) {
    FOR_EACH(idx, n) {
        const int ox = idx % Wo;
        const int oy = (idx / Wo) % Ho;
        const long long plane = idx / ((long long)Wo * Ho);  // n * C + c
        const T* xp = x + plane * H * W;
        T best = T(0);
        int best_at = -1;
        for (int i = 0; i < kh; ++i) {
            const int h = oy * sh - ph + i;
            if (h < 0 || h >= H) continue;
            for (int j = 0; j < kw; ++j) {
                const int w = ox * sw - pw + j;
                if (w < 0 || w >= W) continue;
                const T v = xp[h * W + w];
                if (best_at < 0 || v > best) { best = v; best_at = h * W + w; }
            }
        }
        y[idx] = best;
        argmax[idx] = best_at;
    }
}

template <typename T>
__global__ void max_pool_backward(const T* g, const int* argmax, T* dx, int C, int H, int W, int Ho,
                                  int Wo, int kh, int kw, int sh, int sw, int ph, int pw, long long n) {
    FOR_EACH(idx, n) {
        const int w = idx % W;
        const int h = (idx / W) % H;
        const long long plane = idx / ((long long)W * H);
        const int here = h * W + w;
        // output rows/cols whose window covers (h, w): oy*sh - ph <= h <= oy*sh - ph + kh - 1
        const int oy0 = max(0, (h + ph - kh + sh) / sh), oy1 = min(Ho - 1, (h + ph) / sh);
        const int ox0 = max(0, (w + pw - kw + sw) / sw), ox1 = min(Wo - 1, (w + pw) / sw);
        T acc = T(0);
        for (int oy = oy0; oy <= oy1; ++oy)
            for (int ox = ox0; ox <= ox1; ++ox) {
                const long long o = plane * Ho * Wo + (long long)oy * Wo + ox;
                if (argmax[o] == here) acc += g[o];
            }
        dx[idx] = acc;
    }
}
