// im2col and col2im for the convolution, on images stored (C, H, W, N): batch innermost, like the
// NumPy path, so consecutive threads touch consecutive images (coalesced memory access).
//   cols (C*kh*kw, Ho*Wo*N): row (c, i, j), column (oy, ox, n)  - exactly the NumPy twin's layout
// col2im is a GATHER: one thread per image element adds up the columns that read it. No atomics.
#include "common.cuh"

template <typename T>
__global__ void im2col_chwn(const T* x, T* cols, int C, int H, int W, int N, int Ho, int Wo, int kh,
                            int kw, int sh, int sw, int ph, int pw, int dh, int dw, long long total) {
    FOR_EACH(idx, total) {
        const long long width = (long long)Ho * Wo * N;
        const long long q = idx % width;
        const long long r = idx / width;
        const int n = q % N;
        const int ox = (q / N) % Wo;
        const int oy = q / ((long long)N * Wo);
        const int j = r % kw;
        const int i = (r / kw) % kh;
        const int c = r / ((long long)kw * kh);
        const int h = oy * sh - ph + i * dh;
        const int w = ox * sw - pw + j * dw;
        cols[idx] = (h >= 0 && h < H && w >= 0 && w < W) ? x[(((long long)c * H + h) * W + w) * N + n] : T(0);
    }
}

template <typename T>
__global__ void col2im_chwn(const T* cols, T* x, int C, int H, int W, int N, int Ho, int Wo, int kh,
                            int kw, int sh, int sw, int ph, int pw, int dh, int dw, long long total) {
    FOR_EACH(idx, total) {
        const int n = idx % N;
        const int w = (idx / N) % W;
        const int h = (idx / ((long long)N * W)) % H;
        const int c = idx / ((long long)N * W * H);
        const long long width = (long long)Ho * Wo * N;
        T acc = T(0);
        for (int i = 0; i < kh; ++i) {
            const int hh = h + ph - i * dh;  // = oy * sh for the output row that reads (h, w)
            if (hh < 0 || hh % sh) continue;
            const int oy = hh / sh;
            if (oy >= Ho) continue;
            for (int j = 0; j < kw; ++j) {
                const int ww = w + pw - j * dw;
                if (ww < 0 || ww % sw) continue;
                const int ox = ww / sw;
                if (ox >= Wo) continue;
                acc += cols[(((long long)c * kh + i) * kw + j) * width + ((long long)oy * Wo + ox) * N + n];
            }
        }
        x[idx] = acc;
    }
}
