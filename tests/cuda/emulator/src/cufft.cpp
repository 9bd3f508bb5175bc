// The CUDA emulator's cuFFT: plans made with cufftMakePlanMany(64) / cufftPlanMany, executed by
// FFTW's advanced interface, which describes a batch the same way (element i of transform b at
// b * dist + (i_0 * embed_1 ... + i_{r-1}) * stride, embed[0] unused). From the cuFFT
// documentation: inembed or onembed NULL is the basic layout (contiguous, the strides and
// distances ignored; in place, the real side of r2c/c2r padded to 2 (n/2 + 1) on the last axis);
// CUFFT_FORWARD = -1 and CUFFT_INVERSE = +1 exponent signs, unnormalised; the complex-to-real
// transforms may overwrite their input, which this emulation always does (with NaN) when out of
// place, so that code relying on the input surviving fails here too.
//
// Not emulated: cuFFT's result for a c2r input that is not Hermitian on the bins where the half
// spectrum holds both k and -k (refused, see check_hermitian), its rounding, and its work-area sizes (a work area of the transform's size is taken from device
// memory, so that cudaMemGetInfo and allocation failures see one).
#include <fftw3.h>

#include <algorithm>
#include <complex>
#include <cstring>
#include <cstdio>
#include <map>
#include <vector>

#include "cufft.h"
#include "internal.hpp"

namespace emu = neuralop_cuda_emulator::detail;

namespace {

struct Plan {
  bool configured = false;
  cufftType type{};
  std::vector<int> n;
  bool basic = true;
  std::vector<int> inembed, onembed;
  long long istride = 1, idist = 0, ostride = 1, odist = 0;
  int batch = 0;
  cudaStream_t stream = nullptr;
  void* work = nullptr;
  std::size_t work_bytes = 0;
  std::map<std::pair<bool, int>, void*> fftw;  // (in place?, FFTW sign) -> fftw_plan or fftwf_plan
};

std::map<cufftHandle, Plan*>& plans() {
  static auto* m = new std::map<cufftHandle, Plan*>();
  return *m;
}
cufftHandle next_handle = 1;

Plan* plan_of(cufftHandle h) {
  auto it = plans().find(h);
  return it == plans().end() ? nullptr : it->second;
}

bool is_double(cufftType t) { return t == CUFFT_D2Z || t == CUFFT_Z2D || t == CUFFT_Z2Z; }
bool real_input(cufftType t) { return t == CUFFT_R2C || t == CUFFT_D2Z; }
bool real_output(cufftType t) { return t == CUFFT_C2R || t == CUFFT_Z2D; }
std::size_t real_bytes(cufftType t) { return is_double(t) ? sizeof(double) : sizeof(float); }
std::size_t in_item(cufftType t) { return real_input(t) ? real_bytes(t) : 2 * real_bytes(t); }
std::size_t out_item(cufftType t) { return real_output(t) ? real_bytes(t) : 2 * real_bytes(t); }

// The layout of one execution: embeds, strides and distances in elements of each side.
struct Layout {
  std::vector<int> inembed, onembed;
  long long istride, idist, ostride, odist;
};
Layout layout(const Plan& p, bool in_place) {
  Layout L;
  if (!p.basic) {
    L = {p.inembed, p.onembed, p.istride, p.idist, p.ostride, p.odist};
    return L;
  }
  std::vector<int> full = p.n, half = p.n, padded = p.n;
  half.back() = p.n.back() / 2 + 1;
  padded.back() = 2 * (p.n.back() / 2 + 1);
  const auto prod = [](const std::vector<int>& v) {
    long long s = 1;
    for (int x : v) s *= x;
    return s;
  };
  if (real_input(p.type)) {
    L.inembed = in_place ? padded : full;
    L.onembed = half;
  } else if (real_output(p.type)) {
    L.inembed = half;
    L.onembed = in_place ? padded : full;
  } else {
    L.inembed = L.onembed = full;
  }
  L.istride = L.ostride = 1;
  L.idist = prod(L.inembed);
  L.odist = prod(L.onembed);
  return L;
}

// Elements [0, extent) that a side of the batch touches.
long long extent(const std::vector<int>& logical, const std::vector<int>& embed, long long stride, long long dist, int batch) {
  long long last = 0, scale = 1;
  for (std::size_t d = logical.size(); d-- > 0;) {
    last += (logical[d] - 1) * scale;
    scale *= embed[d];
  }
  return (batch - 1) * dist + last * stride + 1;
}

// cuFFT does not say what a c2r transform makes of a half spectrum that is not Hermitian where
// it holds both k and -k (the last axis' bins 0 and n/2, over the leading axes); FFTW's answer
// is not cuFFT's there. Such input is refused: a program must make it Hermitian first.
template <class R>
void check_hermitian(const Plan& p, const Layout& L, const void* in) {
  const auto* x = static_cast<const std::complex<R>*>(in);
  const int rank = int(p.n.size());
  const int nh = p.n.back() / 2 + 1;
  std::vector<int> bins{0};
  if (p.n.back() % 2 == 0 && p.n.back() > 1) bins.push_back(nh - 1);
  long long lead = 1;
  for (int d = 0; d + 1 < rank; ++d) lead *= p.n[std::size_t(d)];
  const auto offset = [&](long long k, int bin) {  // element of leading index k, last-axis bin
    long long off = bin, scale = L.inembed.back();
    for (int d = rank - 2; d >= 0; --d) {
      off += (k % p.n[std::size_t(d)]) * scale;
      k /= p.n[std::size_t(d)];
      scale *= L.inembed[std::size_t(d)];
    }
    return off * L.istride;
  };
  for (int b = 0; b < p.batch; ++b)
    for (long long k = 0; k < lead; ++k) {
      long long neg = 0, rem = k, scale = 1;  // -k mod n, axis by axis
      for (int d = rank - 2; d >= 0; --d) {
        const long long nd = p.n[std::size_t(d)], kd = rem % nd;
        rem /= nd;
        neg += ((nd - kd) % nd) * scale;
        scale *= nd;
      }
      for (int bin : bins) {
        const std::complex<R> a = x[b * L.idist + offset(k, bin)], c = x[b * L.idist + offset(neg, bin)];
        if (!(a == std::conj(c)))
          emu::fatal("cufftExecC2R/Z2D: the input is not Hermitian on the last axis' bin %d (transform %d, leading index %lld: "
                     "(%g, %g) against the conjugate of (%g, %g) at index %lld); cuFFT's result is then not FFTW's (make it "
                     "Hermitian first)",
                     bin, b, k, double(a.real()), double(a.imag()), double(c.real()), double(c.imag()), neg);
      }
    }
}

std::vector<int> logical_in(const Plan& p) {
  std::vector<int> v = p.n;
  if (real_output(p.type)) v.back() = p.n.back() / 2 + 1;
  return v;
}
std::vector<int> logical_out(const Plan& p) {
  std::vector<int> v = p.n;
  if (real_input(p.type)) v.back() = p.n.back() / 2 + 1;
  return v;
}

void* make_fftw(const Plan& p, bool in_place, void* in, void* out, int direction) {
  static bool thread_safe = [] {
    fftw_make_planner_thread_safe();  // the cpu backend plans FFTW from its own threads too
    fftwf_make_planner_thread_safe();
    return true;
  }();
  (void)thread_safe;
  const Layout L = layout(p, in_place);
  const int rank = int(p.n.size());
  const unsigned flags = FFTW_ESTIMATE | FFTW_UNALIGNED | (real_output(p.type) ? FFTW_DESTROY_INPUT : 0u);
  const int is = int(L.istride), id = int(L.idist), os = int(L.ostride), od = int(L.odist);
  void* plan = nullptr;
  switch (p.type) {
    case CUFFT_C2C:
      plan = fftwf_plan_many_dft(rank, p.n.data(), p.batch, static_cast<fftwf_complex*>(in), L.inembed.data(), is, id,
                                 static_cast<fftwf_complex*>(out), L.onembed.data(), os, od, direction, flags);
      break;
    case CUFFT_R2C:
      plan = fftwf_plan_many_dft_r2c(rank, p.n.data(), p.batch, static_cast<float*>(in), L.inembed.data(), is, id,
                                     static_cast<fftwf_complex*>(out), L.onembed.data(), os, od, flags);
      break;
    case CUFFT_C2R:
      plan = fftwf_plan_many_dft_c2r(rank, p.n.data(), p.batch, static_cast<fftwf_complex*>(in), L.inembed.data(), is, id,
                                     static_cast<float*>(out), L.onembed.data(), os, od, flags);
      break;
    case CUFFT_Z2Z:
      plan = fftw_plan_many_dft(rank, p.n.data(), p.batch, static_cast<fftw_complex*>(in), L.inembed.data(), is, id,
                                static_cast<fftw_complex*>(out), L.onembed.data(), os, od, direction, flags);
      break;
    case CUFFT_D2Z:
      plan = fftw_plan_many_dft_r2c(rank, p.n.data(), p.batch, static_cast<double*>(in), L.inembed.data(), is, id,
                                    static_cast<fftw_complex*>(out), L.onembed.data(), os, od, flags);
      break;
    case CUFFT_Z2D:
      plan = fftw_plan_many_dft_c2r(rank, p.n.data(), p.batch, static_cast<fftw_complex*>(in), L.inembed.data(), is, id,
                                    static_cast<double*>(out), L.onembed.data(), os, od, flags);
      break;
  }
  if (!plan) emu::fatal("cuFFT emulation: FFTW could not plan a transform of rank %d x %d", rank, p.batch);
  return plan;
}

void destroy_fftw(const Plan& p) {
  for (auto& [k, f] : p.fftw) {
    if (is_double(p.type)) fftw_destroy_plan(static_cast<fftw_plan>(f));
    else fftwf_destroy_plan(static_cast<fftwf_plan>(f));
  }
}

cufftResult make_plan(cufftHandle h, int rank, const long long* n, const long long* inembed, long long istride, long long idist,
                      const long long* onembed, long long ostride, long long odist, cufftType type, long long batch,
                      std::size_t* work_size) {
  std::lock_guard g(emu::lock());
  Plan* p = plan_of(h);
  if (!p) return CUFFT_INVALID_PLAN;
  if (type != CUFFT_R2C && type != CUFFT_C2R && type != CUFFT_C2C && type != CUFFT_D2Z && type != CUFFT_Z2D && type != CUFFT_Z2Z)
    return CUFFT_INVALID_TYPE;
  if (rank < 1 || rank > 3 || !n) return CUFFT_INVALID_VALUE;
  if (batch < 1) return CUFFT_INVALID_SIZE;
  constexpr long long int_max = 0x7fffffff;
  Plan q;
  q.type = type;
  for (int d = 0; d < rank; ++d) {
    if (n[d] < 1) return CUFFT_INVALID_SIZE;
    if (n[d] > int_max) return CUFFT_NOT_SUPPORTED;  // FFTW's advanced interface takes ints (an emulator limit)
    q.n.push_back(int(n[d]));
  }
  q.basic = !inembed || !onembed;
  if (!q.basic) {
    for (int d = 0; d < rank; ++d) {
      if (inembed[d] < 1 || onembed[d] < 1 || inembed[d] > int_max || onembed[d] > int_max) return CUFFT_INVALID_VALUE;
      q.inembed.push_back(int(inembed[d]));
      q.onembed.push_back(int(onembed[d]));
    }
    // The embeds hold the logical sizes (beyond axis 0, which only the distance bounds).
    const std::vector<int> li = logical_in(q), lo = logical_out(q);
    for (int d = 1; d < rank; ++d)
      if (q.inembed[std::size_t(d)] < li[std::size_t(d)] || q.onembed[std::size_t(d)] < lo[std::size_t(d)]) return CUFFT_INVALID_VALUE;
    if (istride < 1 || ostride < 1 || idist < 0 || odist < 0 || istride > int_max || ostride > int_max || idist > int_max ||
        odist > int_max)
      return CUFFT_INVALID_VALUE;
    q.istride = istride;
    q.idist = idist;
    q.ostride = ostride;
    q.odist = odist;
  }
  if (batch > int_max) return CUFFT_NOT_SUPPORTED;
  q.batch = int(batch);
  // A work area the size of the transform's complex data.
  long long elems = batch;
  for (int x : q.n) elems *= x;
  q.work_bytes = std::size_t(elems) * 2 * real_bytes(type);
  if (p->configured) {
    emu::synchronize_all();
    destroy_fftw(*p);
    if (p->work) emu::device_deallocate(p->work);
  }
  q.work = emu::device_allocate(q.work_bytes);
  if (!q.work) {
    *p = Plan{};
    return CUFFT_ALLOC_FAILED;
  }
  q.stream = p->stream;
  q.configured = true;
  *p = std::move(q);
  if (work_size) *work_size = p->work_bytes;
  return CUFFT_SUCCESS;
}

cufftResult exec(const char* fn, cufftHandle h, cufftType expected, void* in, void* out, int direction) {
  std::lock_guard g(emu::lock());
  Plan* p = plan_of(h);
  if (!p || !p->configured) return CUFFT_INVALID_PLAN;
  if (p->type != expected) return CUFFT_INVALID_VALUE;
  if (direction != CUFFT_FORWARD && direction != CUFFT_INVERSE) return CUFFT_INVALID_VALUE;
  if (!in || !out) return CUFFT_INVALID_VALUE;
  emu::Stream* s = emu::stream_of(p->stream);
  if (!s) emu::fatal("%s: the plan's stream was destroyed", fn);
  const bool in_place = in == out;
  const Layout L = layout(*p, in_place);
  const long long in_elems = extent(logical_in(*p), L.inembed, L.istride, L.idist, p->batch);
  const long long out_elems = extent(logical_out(*p), L.onembed, L.ostride, L.odist, p->batch);
  const std::size_t in_bytes = std::size_t(in_elems) * in_item(p->type), out_bytes = std::size_t(out_elems) * out_item(p->type);
  if (!emu::device_range(in, in_bytes))
    emu::fatal("%s: the input (%zu bytes from %s) is not inside one device allocation (an illegal address on a GPU)", fn, in_bytes,
               emu::describe(in).c_str());
  if (!emu::device_range(out, out_bytes))
    emu::fatal("%s: the output (%zu bytes from %s) is not inside one device allocation (an illegal address on a GPU)", fn, out_bytes,
               emu::describe(out).c_str());
  if (!in_place) {
    const char *a = static_cast<char*>(in), *b = static_cast<char*>(out);
    if (a < b + out_bytes && b < a + in_bytes)
      emu::fatal("%s: the input and output overlap without being the same array (in %p, %zu bytes; out %p, %zu bytes)", fn, in,
                 in_bytes, out, out_bytes);
  }
  emu::enqueue(s, fn, [p, in, out, in_place, in_bytes, direction] {
    // FFTW's sign is the exponent's sign, as cuFFT's direction.
    const int dir = direction == CUFFT_FORWARD ? FFTW_FORWARD : FFTW_BACKWARD;
    if (p->type == CUFFT_C2R) check_hermitian<float>(*p, layout(*p, in_place), in);
    if (p->type == CUFFT_Z2D) check_hermitian<double>(*p, layout(*p, in_place), in);
    void*& f = p->fftw[{in_place, dir}];
    if (!f) f = make_fftw(*p, in_place, in, out, dir);
    switch (p->type) {
      case CUFFT_C2C:
        fftwf_execute_dft(static_cast<fftwf_plan>(f), static_cast<fftwf_complex*>(in), static_cast<fftwf_complex*>(out));
        break;
      case CUFFT_R2C: fftwf_execute_dft_r2c(static_cast<fftwf_plan>(f), static_cast<float*>(in), static_cast<fftwf_complex*>(out)); break;
      case CUFFT_C2R: fftwf_execute_dft_c2r(static_cast<fftwf_plan>(f), static_cast<fftwf_complex*>(in), static_cast<float*>(out)); break;
      case CUFFT_Z2Z:
        fftw_execute_dft(static_cast<fftw_plan>(f), static_cast<fftw_complex*>(in), static_cast<fftw_complex*>(out));
        break;
      case CUFFT_D2Z: fftw_execute_dft_r2c(static_cast<fftw_plan>(f), static_cast<double*>(in), static_cast<fftw_complex*>(out)); break;
      case CUFFT_Z2D: fftw_execute_dft_c2r(static_cast<fftw_plan>(f), static_cast<fftw_complex*>(in), static_cast<double*>(out)); break;
    }
    if (real_output(p->type) && !in_place) std::memset(in, 0xFF, in_bytes);  // "may overwrite its input"
  });
  return CUFFT_SUCCESS;
}

}  // namespace

cufftResult cufftCreate(cufftHandle* plan) {
  if (!plan) return CUFFT_INVALID_VALUE;
  std::lock_guard g(emu::lock());
  const cufftHandle h = next_handle++;
  plans().emplace(h, new Plan());
  *plan = h;
  return CUFFT_SUCCESS;
}
cufftResult cufftDestroy(cufftHandle plan) {
  std::lock_guard g(emu::lock());
  Plan* p = plan_of(plan);
  if (!p) return CUFFT_INVALID_PLAN;
  emu::synchronize_all();
  destroy_fftw(*p);
  if (p->work) emu::device_deallocate(p->work);
  plans().erase(plan);
  delete p;
  return CUFFT_SUCCESS;
}
cufftResult cufftSetStream(cufftHandle plan, cudaStream_t stream) {
  std::lock_guard g(emu::lock());
  Plan* p = plan_of(plan);
  if (!p) return CUFFT_INVALID_PLAN;
  if (!emu::stream_of(stream)) return CUFFT_INVALID_VALUE;
  p->stream = stream;
  return CUFFT_SUCCESS;
}
cufftResult cufftMakePlanMany64(cufftHandle plan, int rank, long long int* n, long long int* inembed, long long int istride,
                                long long int idist, long long int* onembed, long long int ostride, long long int odist, cufftType type,
                                long long int batch, std::size_t* workSize) {
  return make_plan(plan, rank, n, inembed, istride, idist, onembed, ostride, odist, type, batch, workSize);
}
cufftResult cufftMakePlanMany(cufftHandle plan, int rank, int* n, int* inembed, int istride, int idist, int* onembed, int ostride,
                              int odist, cufftType type, int batch, std::size_t* workSize) {
  if (rank < 1 || rank > 3 || !n) return CUFFT_INVALID_VALUE;
  long long n64[3], i64[3], o64[3];
  for (int d = 0; d < rank; ++d) {
    n64[d] = n[d];
    if (inembed) i64[d] = inembed[d];
    if (onembed) o64[d] = onembed[d];
  }
  return make_plan(plan, rank, n64, inembed ? i64 : nullptr, istride, idist, onembed ? o64 : nullptr, ostride, odist, type, batch,
                   workSize);
}
cufftResult cufftPlanMany(cufftHandle* plan, int rank, int* n, int* inembed, int istride, int idist, int* onembed, int ostride, int odist,
                          cufftType type, int batch) {
  cufftResult r = cufftCreate(plan);
  if (r != CUFFT_SUCCESS) return r;
  r = cufftMakePlanMany(*plan, rank, n, inembed, istride, idist, onembed, ostride, odist, type, batch, nullptr);
  if (r != CUFFT_SUCCESS) cufftDestroy(*plan);
  return r;
}
cufftResult cufftPlan1d(cufftHandle* plan, int nx, cufftType type, int batch) {
  return cufftPlanMany(plan, 1, &nx, nullptr, 1, 0, nullptr, 1, 0, type, batch);
}
cufftResult cufftGetSize(cufftHandle plan, std::size_t* workSize) {
  std::lock_guard g(emu::lock());
  Plan* p = plan_of(plan);
  if (!p) return CUFFT_INVALID_PLAN;
  if (!workSize) return CUFFT_INVALID_VALUE;
  *workSize = p->work_bytes;
  return CUFFT_SUCCESS;
}

cufftResult cufftExecC2C(cufftHandle plan, cufftComplex* idata, cufftComplex* odata, int direction) {
  return exec("cufftExecC2C", plan, CUFFT_C2C, idata, odata, direction);
}
cufftResult cufftExecR2C(cufftHandle plan, cufftReal* idata, cufftComplex* odata) {
  return exec("cufftExecR2C", plan, CUFFT_R2C, idata, odata, CUFFT_FORWARD);
}
cufftResult cufftExecC2R(cufftHandle plan, cufftComplex* idata, cufftReal* odata) {
  return exec("cufftExecC2R", plan, CUFFT_C2R, idata, odata, CUFFT_INVERSE);
}
cufftResult cufftExecZ2Z(cufftHandle plan, cufftDoubleComplex* idata, cufftDoubleComplex* odata, int direction) {
  return exec("cufftExecZ2Z", plan, CUFFT_Z2Z, idata, odata, direction);
}
cufftResult cufftExecD2Z(cufftHandle plan, cufftDoubleReal* idata, cufftDoubleComplex* odata) {
  return exec("cufftExecD2Z", plan, CUFFT_D2Z, idata, odata, CUFFT_FORWARD);
}
cufftResult cufftExecZ2D(cufftHandle plan, cufftDoubleComplex* idata, cufftDoubleReal* odata) {
  return exec("cufftExecZ2D", plan, CUFFT_Z2D, idata, odata, CUFFT_INVERSE);
}
