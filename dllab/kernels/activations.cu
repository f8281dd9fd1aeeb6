// Fused activations and their gradients, one thread per element.
// The backward kernels use the forward OUTPUT y (relu: y > 0 <=> x > 0), so only y is kept.
#include "common.cuh"

template <typename T>
__global__ void relu_forward(const T* x, T* y, long long n) {
    FOR_EACH(i, n) { y[i] = x[i] > T(0) ? x[i] : T(0); }
}

template <typename T>
__global__ void relu_backward(const T* g, const T* y, T* dx, long long n) {
    FOR_EACH(i, n) { dx[i] = y[i] > T(0) ? g[i] : T(0); }
}

template <typename T>
__global__ void sigmoid_forward(const T* x, T* y, long long n) {
    FOR_EACH(i, n) { y[i] = sigmoid_(x[i]); }
}

template <typename T>
__global__ void sigmoid_backward(const T* g, const T* y, T* dx, long long n) {
    FOR_EACH(i, n) { dx[i] = g[i] * y[i] * (T(1) - y[i]); }
}

template <typename T>
__global__ void tanh_forward(const T* x, T* y, long long n) {
    FOR_EACH(i, n) { y[i] = tanh_(x[i]); }
}

template <typename T>
__global__ void tanh_backward(const T* g, const T* y, T* dx, long long n) {
    FOR_EACH(i, n) { dx[i] = g[i] * (T(1) - y[i] * y[i]); }
}

// Inverted dropout: u ~ U[0, 1) from cuRAND (cupy.random); mask = (u < keep) / keep; y = x * mask.
template <typename T>
__global__ void dropout_forward(const T* x, const T* u, T* y, T* mask, T keep, long long n) {
    const T scale = T(1) / keep;
    FOR_EACH(i, n) {
        const T m = u[i] < keep ? scale : T(0);
        mask[i] = m;
        y[i] = x[i] * m;
    }
}
