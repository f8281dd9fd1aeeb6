// One LSTM step, fused: gates -> c, h forward; and the matching backward. Layout (gates*H, N):
// z holds the pre-activations of one step, rows [0,H) i, [H,2H) f, [2H,3H) g (cell), [3H,4H) o.
// One thread per (unit, sequence). With masked != 0, valid[n] is 0 at padded steps: the state is
// carried unchanged (without a mask, valid is a dummy and never read).
#include "common.cuh"

template <typename T>
__global__ void lstm_step_forward(const T* z, const T* c_prev, const T* h_prev, const T* valid,
                                  int masked, T* acts, T* c, T* tanh_c, T* h, int H, int N) {
    FOR_EACH(idx, (long long)H * N) {
        const int n = idx % N;
        const long long k = idx;  // row-block offset of unit idx / N within one gate block
        const T i = sigmoid_(z[k]);
        const T f = sigmoid_(z[k + (long long)H * N]);
        const T g = tanh_(z[k + 2LL * H * N]);
        const T o = sigmoid_(z[k + 3LL * H * N]);
        acts[k] = i;
        acts[k + (long long)H * N] = f;
        acts[k + 2LL * H * N] = g;
        acts[k + 3LL * H * N] = o;
        T ct = f * c_prev[k] + i * g;
        T tc = tanh_(ct);
        T ht = o * tc;
        if (masked && valid[n] == T(0)) { ct = c_prev[k]; ht = h_prev[k]; }
        c[k] = ct;
        tanh_c[k] = tc;
        h[k] = ht;
    }
}

// dh, dc: gradients w.r.t. this step's h_t and c_t (H, N).  Writes dz (4H, N) and dc_prev (H, N);
// the caller adds W_h @ dz to get dh_{t-1} (plus dh itself at padded steps, see carry_h).
template <typename T>
__global__ void lstm_step_backward(const T* dh, const T* dc, const T* acts, const T* c_prev,
                                   const T* tanh_c, const T* valid, int masked, T* dz, T* dc_prev, T* carry_h,
                                   int H, int N) {
    FOR_EACH(idx, (long long)H * N) {
        const int n = idx % N;
        const long long k = idx, HN = (long long)H * N;
        const bool live = !masked || valid[n] != T(0);
        const T i = acts[k], f = acts[k + HN], g = acts[k + 2 * HN], o = acts[k + 3 * HN];
        const T tc = tanh_c[k];
        const T dh_k = live ? dh[k] : T(0);
        const T dct = (live ? dc[k] : T(0)) + dh_k * o * (T(1) - tc * tc);
        dz[k] = dct * g * i * (T(1) - i);
        dz[k + HN] = dct * c_prev[k] * f * (T(1) - f);
        dz[k + 2 * HN] = dct * i * (T(1) - g * g);
        dz[k + 3 * HN] = dh_k * tc * o * (T(1) - o);
        dc_prev[k] = live ? dct * f : dc[k];
        carry_h[k] = live ? T(0) : dh[k];
    }
}
