// Small helpers shared by the kernels: float/double overloads and block reductions.
#ifndef DLLAB_COMMON_CUH
#define DLLAB_COMMON_CUH

__device__ __forceinline__ float tanh_(float x) { return tanhf(x); }
__device__ __forceinline__ double tanh_(double x) { return tanh(x); }
__device__ __forceinline__ float exp_(float x) { return expf(x); }
__device__ __forceinline__ double exp_(double x) { return exp(x); }
__device__ __forceinline__ float log_(float x) { return logf(x); }
__device__ __forceinline__ double log_(double x) { return log(x); }

// sigmoid(x) = tanh(x/2)/2 + 1/2: the same value, and it never overflows
template <typename T>
__device__ __forceinline__ T sigmoid_(T x) { return tanh_(x * T(0.5)) * T(0.5) + T(0.5); }

// Sum / max over the threads of a block (blockDim.x a power of two, shared has blockDim.x slots).
template <typename T>
__device__ T block_sum(T v, T* shared) {
    const int tid = threadIdx.x;
    shared[tid] = v;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
        if (tid < s) shared[tid] += shared[tid + s];
        __syncthreads();
    }
    T result = shared[0];
    __syncthreads();  // shared is reused by the next reduction
    return result;
}

template <typename T>
__device__ T block_max(T v, T* shared) {
    const int tid = threadIdx.x;
    shared[tid] = v;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
        if (tid < s) shared[tid] = shared[tid] > shared[tid + s] ? shared[tid] : shared[tid + s];
        __syncthreads();
    }
    T result = shared[0];
    __syncthreads();
    return result;
}

// grid-stride loop over n elements
#define FOR_EACH(i, n) \
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (n); \
         i += (long long)blockDim.x * gridDim.x)

#endif  // DLLAB_COMMON_CUH
