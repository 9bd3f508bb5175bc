// cuFFT for the cuda backend: batched transforms of the middle axes of a contiguous
// [outer, n_1..n_k, inner] array, unnormalised (a plain sum) like the cpu backend's FFTW, with
// plans cached per layout (cuFFT planning is slow and allocates its work area).
//
// c2r: the cpu backend (FFTW) and torch compute a multi-dimensional c2r as complex inverses over
// the leading axes followed by a real inverse of the last axis that uses only the real parts of
// its bins 0 and n/2, i.e. x = Re(IFFT(X)) over the full Hermitian extension. cuFFT's result
// for an input that is not exactly Hermitian is not specified that way, so the input (which the
// contract lets us overwrite) is first made exactly Hermitian on the bins where the half
// spectrum has both k and -k: on the last axis' bins 0 and n/2, X[k] <- (X[k] + conj(X[-k])) / 2
// over the leading axes (the Hermitian part, whose inverse transform is Re of X's). Then every
// correct c2r algorithm gives the same, cpu-matching, result.
#pragma once

#include <complex>
#include <cstdint>
#include <map>
#include <mutex>
#include <span>
#include <tuple>
#include <type_traits>
#include <vector>

#include "neuralop/backend/cpu/fft.hpp"
#include "neuralop/backend/cuda/allocator.cuh"
#include "neuralop/backend/cuda/runtime.cuh"
#include "neuralop/core/error.hpp"

namespace neuralop::cuda_detail {

struct CufftKey {
  FftKind kind;
  bool dbl;
  std::vector<long long> n;
  long long batch, stride, idist, odist;
  auto operator<=>(const CufftKey&) const = default;
};

class CufftPlans {
 public:
  static CufftPlans& instance() {
    static auto* p = new CufftPlans();  // never destroyed: plans outlive static tensors at exit
    return *p;
  }
  std::mutex& mutex() { return mutex_; }

  // Caller holds mutex().
  cufftHandle get(const CufftKey& key) {
    if (auto it = plans_.find(key); it != plans_.end()) return it->second;
    std::vector<long long> n = key.n, half = key.n;
    half.back() = half.back() / 2 + 1;
    std::vector<long long> inembed = key.kind == FftKind::c2r ? half : n;
    std::vector<long long> onembed = key.kind == FftKind::r2c ? half : n;
    cufftType type;
    switch (key.kind) {
      case FftKind::r2c: type = key.dbl ? CUFFT_D2Z : CUFFT_R2C; break;
      case FftKind::c2r: type = key.dbl ? CUFFT_Z2D : CUFFT_C2R; break;
      default: type = key.dbl ? CUFFT_Z2Z : CUFFT_C2C; break;
    }
    cufftHandle plan = 0;
    auto make = [&] {
      check(cufftCreate(&plan), "cufftCreate");
      std::size_t work = 0;
      const cufftResult r = cufftMakePlanMany64(plan, int(n.size()), n.data(), inembed.data(), key.stride, key.idist,
                                                onembed.data(), key.stride, key.odist, type, key.batch, &work);
      if (r != CUFFT_SUCCESS) cufftDestroy(plan);
      return r;
    };
    cufftResult r = make();
    if (r == CUFFT_ALLOC_FAILED) {  // its work area did not fit beside our cached blocks: free them, retry
      device_allocator().empty_cache();
      r = make();
    }
    check(r, "cufftMakePlanMany64");
    check(cufftSetStream(plan, stream()), "cufftSetStream");
    plans_.emplace(key, plan);
    return plan;
  }
  std::size_t size() {
    std::lock_guard lock(mutex_);
    return plans_.size();
  }

 private:
  CufftPlans() = default;
  std::mutex mutex_;
  std::map<CufftKey, cufftHandle> plans_;
};

// The Hermitian part on the bins 0 and n_last/2 of the last axis (see above). x is
// [outer, lead..., nh, inner] complex; one thread per (outer, leading index, bin, inner).
template <std::size_t MaxLead>
struct HermitianArgs {
  long long lead[MaxLead];
  int n_lead;
  long long lead_total, outer, nh, inner;
  int n_bins;  // 1 (odd n_last: bin 0 only) or 2 (bins 0 and nh - 1)
};

template <class R, std::size_t MaxLead>
__global__ void hermitian_part_kernel(R* x, const HermitianArgs<MaxLead> a) {
  const long long total = a.outer * a.lead_total * a.n_bins * a.inner;
  const long long step = static_cast<long long>(gridDim.x) * blockDim.x;
  for (long long t = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x; t < total; t += step) {
    const long long in = t % a.inner;
    long long rest = t / a.inner;
    const int bin_sel = static_cast<int>(rest % a.n_bins);
    rest /= a.n_bins;
    const long long k = rest % a.lead_total, o = rest / a.lead_total;
    // -k mod n, axis by axis.
    long long neg = 0, rem = k, scale = 1;
    for (int d = a.n_lead - 1; d >= 0; --d) {
      const long long kd = rem % a.lead[d];
      rem /= a.lead[d];
      neg += ((a.lead[d] - kd) % a.lead[d]) * scale;
      scale *= a.lead[d];
    }
    if (k > neg) continue;  // the pair is handled by the thread of its smaller index
    const long long bin = bin_sel == 0 ? 0 : a.nh - 1;
    const long long pk = (((o * a.lead_total + k) * a.nh + bin) * a.inner + in) * 2;
    const long long pn = (((o * a.lead_total + neg) * a.nh + bin) * a.inner + in) * 2;
    if (k == neg) {
      x[pk + 1] = R(0);
    } else {
      const R re = (x[pk] + x[pn]) * R(0.5), im = (x[pk + 1] - x[pn + 1]) * R(0.5);
      x[pk] = re;
      x[pk + 1] = im;
      x[pn] = re;
      x[pn + 1] = -im;
    }
  }
}

template <class R>
void hermitian_part(void* data, index_t outer, std::span<const index_t> n, index_t inner) {
  constexpr std::size_t max_lead = 8;
  HermitianArgs<max_lead> a{};
  if (n.size() - 1 > max_lead) throw_error<value_error>("fft: c2r over ", n.size(), " axes, the cuda backend handles up to ", max_lead + 1);
  a.n_lead = static_cast<int>(n.size() - 1);
  a.lead_total = 1;
  for (int d = 0; d < a.n_lead; ++d) {
    a.lead[d] = n[std::size_t(d)];
    a.lead_total *= n[std::size_t(d)];
  }
  const index_t n_last = n.back();
  a.outer = outer;
  a.nh = n_last / 2 + 1;
  a.inner = inner;
  a.n_bins = (n_last % 2 == 0 && n_last > 1) ? 2 : 1;
  const long long total = a.outer * a.lead_total * a.n_bins * a.inner;
  if (total == 0) return;
  launch(hermitian_part_kernel<R, max_lead>, grid_blocks(total, 256), 256, 0, stream(), static_cast<R*>(data), a);
  check_launch("fft c2r Hermitian-part kernel");
}

template <class R>
void fft(FftKind kind, index_t outer, std::span<const index_t> sizes, index_t inner, const void* in, void* out) {
  static_assert(std::is_same_v<R, float> || std::is_same_v<R, double>, "cuda fft: float or double");
  if (sizes.empty()) throw_error<value_error>("fft: no axes to transform");
  std::vector<int> ni;
  for (index_t s : sizes) {
    if (s <= 0 || s > INT32_MAX) throw_error<value_error>("fft: transform size ", s, " out of range");
    ni.push_back(static_cast<int>(s));
  }
  if (outer <= 0 || inner <= 0) return;
  const auto [in_elems, out_elems] = cpu_detail::fft_element_counts(kind, ni);
  const std::size_t in_item = kind == FftKind::r2c ? sizeof(R) : 2 * sizeof(R);
  const std::size_t out_item = kind == FftKind::c2r ? sizeof(R) : 2 * sizeof(R);
  if (kind == FftKind::c2r) hermitian_part<R>(const_cast<void*>(in), outer, sizes, inner);

  CufftKey key{kind, std::is_same_v<R, double>, std::vector<long long>(sizes.begin(), sizes.end()), 0, 0, 0, 0};
  // inner == 1: one plan over all `outer` transforms. Otherwise `inner` interleaved transforms
  // (stride inner, distance 1) per outer index: cuFFT's layout has one batch dimension.
  index_t execs = 1;
  if (inner == 1) {
    key.batch = outer;
    key.stride = 1;
    key.idist = static_cast<long long>(in_elems);
    key.odist = static_cast<long long>(out_elems);
  } else {
    key.batch = inner;
    key.stride = inner;
    key.idist = key.odist = 1;
    execs = outer;
  }
  auto& plans = CufftPlans::instance();
  std::lock_guard lock(plans.mutex());
  const cufftHandle plan = plans.get(key);
  for (index_t e = 0; e < execs; ++e) {
    auto* src = static_cast<char*>(const_cast<void*>(in)) + std::size_t(e) * std::size_t(inner) * in_elems * in_item;
    auto* dst = static_cast<char*>(out) + std::size_t(e) * std::size_t(inner) * out_elems * out_item;
    if constexpr (std::is_same_v<R, float>) {
      switch (kind) {
        case FftKind::r2c: check(cufftExecR2C(plan, reinterpret_cast<cufftReal*>(src), reinterpret_cast<cufftComplex*>(dst)), "cufftExecR2C"); break;
        case FftKind::c2r: check(cufftExecC2R(plan, reinterpret_cast<cufftComplex*>(src), reinterpret_cast<cufftReal*>(dst)), "cufftExecC2R"); break;
        case FftKind::c2c_forward:
          check(cufftExecC2C(plan, reinterpret_cast<cufftComplex*>(src), reinterpret_cast<cufftComplex*>(dst), CUFFT_FORWARD), "cufftExecC2C");
          break;
        case FftKind::c2c_backward:
          check(cufftExecC2C(plan, reinterpret_cast<cufftComplex*>(src), reinterpret_cast<cufftComplex*>(dst), CUFFT_INVERSE), "cufftExecC2C");
          break;
      }
    } else {
      switch (kind) {
        case FftKind::r2c:
          check(cufftExecD2Z(plan, reinterpret_cast<cufftDoubleReal*>(src), reinterpret_cast<cufftDoubleComplex*>(dst)), "cufftExecD2Z");
          break;
        case FftKind::c2r:
          check(cufftExecZ2D(plan, reinterpret_cast<cufftDoubleComplex*>(src), reinterpret_cast<cufftDoubleReal*>(dst)), "cufftExecZ2D");
          break;
        case FftKind::c2c_forward:
          check(cufftExecZ2Z(plan, reinterpret_cast<cufftDoubleComplex*>(src), reinterpret_cast<cufftDoubleComplex*>(dst), CUFFT_FORWARD),
                "cufftExecZ2Z");
          break;
        case FftKind::c2c_backward:
          check(cufftExecZ2Z(plan, reinterpret_cast<cufftDoubleComplex*>(src), reinterpret_cast<cufftDoubleComplex*>(dst), CUFFT_INVERSE),
                "cufftExecZ2Z");
          break;
      }
    }
  }
}

}  // namespace neuralop::cuda_detail
