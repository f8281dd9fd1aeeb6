// Softmax cross-entropy with integer labels, fused and numerically stable.
// Forward: ONE BLOCK PER ROW. The block finds the row max, sums exp(x - max), writes the
// probabilities and the row's loss  log(sum) - (x[label] - max).
// Backward: one thread per element, d logits = (p - onehot(label)) * scale, scale = g / N.
#include "common.cuh"

template <typename T>
__global__ void softmax_xent_forward(const T* logits, const long long* labels, T* probs, T* row_loss,
                                     int classes) {
    extern __shared__ unsigned char shared_bytes[];
    T* shared = reinterpret_cast<T*>(shared_bytes);
    const long long row = blockIdx.x;
    const T* x = logits + row * classes;
    T* p = probs + row * classes;

    T m = x[0];
    for (int c = threadIdx.x; c < classes; c += blockDim.x) m = x[c] > m ? x[c] : m;
    m = block_max(m, shared);

    T s = T(0);
    for (int c = threadIdx.x; c < classes; c += blockDim.x) {
        const T e = exp_(x[c] - m);
        p[c] = e;
        s += e;
    }
    s = block_sum(s, shared);

    const T inv = T(1) / s;
    for (int c = threadIdx.x; c < classes; c += blockDim.x) p[c] *= inv;
    if (threadIdx.x == 0) row_loss[row] = log_(s) - (x[labels[row]] - m);
}

template <typename T>
__global__ void softmax_xent_backward(const T* probs, const long long* labels, T* grad, T scale,
                                      int classes, long long n) {
    FOR_EACH(i, n) {
        const long long row = i / classes;
        const int c = (int)(i % classes);
        grad[i] = (probs[i] - (labels[row] == c ? T(1) : T(0))) * scale;
    }
}
