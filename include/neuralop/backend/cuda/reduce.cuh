// Sum and max along any set of axes of a contiguous device array (cuda::reduce), over the same
// collapsed layout as the cpu backend (kept / reduced runs of axes). Two kernels:
// - innermost axis reduced: one thread block per output (and per chunk of the reduced range),
//   its threads reading consecutive elements, combined by warp shuffles;
// - innermost axis kept: one thread per output (and chunk), neighbouring threads reading
//   neighbouring outputs' elements.
// When there are too few outputs to fill the device, the reduced range is split into chunks
// whose partial results a second pass combines. Summation order differs from the cpu's, so
// sums agree to rounding, not bitwise.
#pragma once

#include <cmath>
#include <complex>
#include <limits>

#include "neuralop/backend/cpu/reduce.hpp"
#include "neuralop/backend/cuda/allocator.cuh"
#include "neuralop/backend/cuda/runtime.cuh"
#include "neuralop/core/scalar.hpp"

namespace neuralop::cuda_detail {

inline constexpr int reduce_threads = 256;

struct ReduceArgs {
  int nk = 0, nr = 0;
  index_t ksize[cpu_detail::max_reduce_dims], kstride[cpu_detail::max_reduce_dims];
  index_t rsize[cpu_detail::max_reduce_dims], rstride[cpu_detail::max_reduce_dims];
  index_t n_out = 1, n_red = 1, chunk = 1, n_chunks = 1;

  __device__ index_t kept_offset(index_t o) const {
    index_t off = 0;
    for (int d = nk - 1; d >= 0; --d) {
      off += (o % ksize[d]) * kstride[d];
      o /= ksize[d];
    }
    return off;
  }
  __device__ index_t red_offset(index_t r) const {
    index_t off = 0;
    for (int d = nr - 1; d >= 0; --d) {
      off += (r % rsize[d]) * rstride[d];
      r /= rsize[d];
    }
    return off;
  }
};

template <class T, ReduceOp Op>
struct DeviceReducer {
  __device__ static T identity() {
    if constexpr (Op == ReduceOp::sum) return T(0);
    else return -std::numeric_limits<T>::infinity();
  }
  __device__ static T combine(T a, T b) {
    if constexpr (Op == ReduceOp::sum) return a + b;
    else return (b > a || b != b) ? b : a;  // NaN propagates, as torch.amax and the cpu backend
  }
};

template <class T>
__device__ T shfl_down(T v, int delta) {
  if constexpr (is_complex_v<T>)
    return T(__shfl_down_sync(0xffffffffu, v.real(), delta), __shfl_down_sync(0xffffffffu, v.imag(), delta));
  else return __shfl_down_sync(0xffffffffu, v, delta);
}

// Innermost reduced: block (o, c) combines reduced indices [c * chunk, (c + 1) * chunk) of output
// o into out[o * n_chunks + c].
template <class T, ReduceOp Op>
__global__ void __launch_bounds__(reduce_threads) reduce_rows_kernel(const T* in, T* out, const ReduceArgs a) {
  using Rd = DeviceReducer<T, Op>;
  // Raw shared storage: __shared__ variables cannot have constructors (std::complex has one).
  alignas(16) __shared__ unsigned char smem[sizeof(T) * (reduce_threads / 32)];
  T* warp_vals = reinterpret_cast<T*>(smem);
  for (index_t t = blockIdx.x; t < a.n_out * a.n_chunks; t += gridDim.x) {
    const index_t o = t / a.n_chunks, c = t % a.n_chunks;
    const index_t base = a.kept_offset(o);
    const index_t r0 = c * a.chunk, r1 = r0 + a.chunk < a.n_red ? r0 + a.chunk : a.n_red;
    T acc = Rd::identity();
    for (index_t r = r0 + threadIdx.x; r < r1; r += blockDim.x) acc = Rd::combine(acc, in[base + a.red_offset(r)]);
    for (int d = 16; d > 0; d /= 2) acc = Rd::combine(acc, shfl_down(acc, d));
    if (threadIdx.x % 32 == 0) warp_vals[threadIdx.x / 32] = acc;
    __syncthreads();
    if (threadIdx.x < 32) {
      acc = threadIdx.x < blockDim.x / 32 ? warp_vals[threadIdx.x] : Rd::identity();
      for (int d = 16; d > 0; d /= 2) acc = Rd::combine(acc, shfl_down(acc, d));
      if (threadIdx.x == 0) out[o * a.n_chunks + c] = acc;
    }
    __syncthreads();  // warp_vals is reused by the next output
  }
}

// Innermost kept: thread (c, o) combines reduced indices [c * chunk, (c + 1) * chunk) of output
// o into out[c * n_out + o].
template <class T, ReduceOp Op>
__global__ void __launch_bounds__(reduce_threads) reduce_cols_kernel(const T* in, T* out, const ReduceArgs a) {
  using Rd = DeviceReducer<T, Op>;
  const index_t total = a.n_out * a.n_chunks;
  const index_t stride = index_t(gridDim.x) * blockDim.x;
  for (index_t t = index_t(blockIdx.x) * blockDim.x + threadIdx.x; t < total; t += stride) {
    const index_t c = t / a.n_out, o = t % a.n_out;
    const index_t base = a.kept_offset(o);
    const index_t r0 = c * a.chunk, r1 = r0 + a.chunk < a.n_red ? r0 + a.chunk : a.n_red;
    T acc = Rd::identity();
    for (index_t r = r0; r < r1; ++r) acc = Rd::combine(acc, in[base + a.red_offset(r)]);
    out[t] = acc;
  }
}

template <class T, ReduceOp Op>
void reduce(const T* in, const index_t* shape, const bool* reduced, int ndim, T* out) {
  if (ndim > cpu_detail::max_reduce_dims)
    throw_error<shape_error>("reduce: ", ndim, " axes, the cuda backend reduces up to ", cpu_detail::max_reduce_dims);
  const cpu_detail::ReduceLayout L = cpu_detail::make_reduce_layout(shape, reduced, ndim);
  if (L.n_out == 0) return;
  if (L.nr == 0) {  // nothing reduced: a copy
    check(cudaMemcpyAsync(out, in, std::size_t(L.n_out) * sizeof(T), cudaMemcpyDeviceToDevice, stream()), "cudaMemcpyAsync (reduce)");
    return;
  }
  if (L.n_red == 0) {  // an empty reduced axis: the identity
    T id{};
    if constexpr (Op == ReduceOp::max) id = -std::numeric_limits<T>::infinity();
    launch(fill_kernel<T>, grid_blocks(L.n_out, 256), 256, 0, stream(), out, std::size_t(L.n_out), id);
    check_launch("reduce identity fill");
    return;
  }
  ReduceArgs a;
  a.nk = L.nk;
  a.nr = L.nr;
  for (int d = 0; d < cpu_detail::max_reduce_dims; ++d) {
    a.ksize[d] = L.ksize[d];
    a.kstride[d] = L.kstride[d];
    a.rsize[d] = L.rsize[d];
    a.rstride[d] = L.rstride[d];
  }
  a.n_out = L.n_out;
  a.n_red = L.n_red;
  const bool inner_reduced = L.red[L.nd - 1];
  const index_t sms = sm_count();
  // Chunks: enough parallel work for the device, never chunks shorter than a few hundred
  // elements (rows kernel) or 64 (one thread each, cols kernel).
  if (inner_reduced) {
    const index_t want_blocks = 4 * sms;
    a.n_chunks = std::max<index_t>(1, std::min((want_blocks + a.n_out - 1) / a.n_out, (a.n_red + 4095) / 4096));
  } else {
    const index_t want_threads = 64 * 1024;
    a.n_chunks = std::max<index_t>(1, std::min((want_threads + a.n_out - 1) / a.n_out, (a.n_red + 63) / 64));
  }
  a.chunk = (a.n_red + a.n_chunks - 1) / a.n_chunks;
  a.n_chunks = (a.n_red + a.chunk - 1) / a.chunk;
  T* dst = out;
  auto& alloc = device_allocator();
  const std::size_t partial_bytes = std::size_t(a.n_out * a.n_chunks) * sizeof(T);
  if (a.n_chunks > 1) dst = static_cast<T*>(alloc.allocate(partial_bytes));
  try {
    if (inner_reduced) {
      const index_t blocks = std::min<index_t>(a.n_out * a.n_chunks, index_t(sms) * 32);
      launch(reduce_rows_kernel<T, Op>, unsigned(blocks), reduce_threads, 0, stream(), in, dst, a);
    } else {
      launch(reduce_cols_kernel<T, Op>, grid_blocks(a.n_out * a.n_chunks, reduce_threads), reduce_threads, 0, stream(), in, dst, a);
    }
    check_launch("reduce kernel launch");
    if (a.n_chunks > 1) {  // combine the partial results: [n_out, chunks] or [chunks, n_out]
      const index_t shape2[2] = {inner_reduced ? a.n_out : a.n_chunks, inner_reduced ? a.n_chunks : a.n_out};
      const bool red2[2] = {!inner_reduced, inner_reduced};
      reduce<T, Op>(dst, shape2, red2, 2, out);
    }
  } catch (...) {
    if (dst != out) alloc.deallocate(dst, partial_bytes);
    throw;
  }
  if (dst != out) alloc.deallocate(dst, partial_bytes);  // stream-ordered: safe to reuse at once
}

}  // namespace neuralop::cuda_detail
