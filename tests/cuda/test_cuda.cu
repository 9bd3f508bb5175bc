// The cuda backend's primitives against the cpu backend: memory, copies, fills, elementwise
// expressions (broadcast, strided, complex) and their fused backward, reductions, GEMM in every
// op combination, FFTs of every kind, and the random fills (bitwise).
#include "cuda_helpers.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

using namespace neuralop;
using ct::dev;
using ct::rand_cpu;
using ct::rel;

TEST_CASE("cuda allocator: a freed block is reused without cudaMalloc; stats, peak and empty_cache") {
  cuda::empty_cache();
  const auto s0 = cuda::memory_stats();
  float* p = cuda::allocate<float>(1 << 20);
  const auto s1 = cuda::memory_stats();
  CHECK(s1.in_use >= s0.in_use + (4u << 20));
  CHECK(s1.device_allocs == s0.device_allocs + 1);
  cuda::deallocate(p, 1 << 20);
  float* q = cuda::allocate<float>((1 << 20) - 7);  // same size class
  CHECK(q == p);
  CHECK(cuda::memory_stats().device_allocs == s1.device_allocs);
  cuda::deallocate(q, (1 << 20) - 7);
  CHECK(cuda::memory_stats().cached >= (4u << 20));
  cuda::reset_peak_memory();
  CHECK(cuda::memory_stats().peak_in_use == cuda::memory_stats().in_use);
  cuda::empty_cache();
  CHECK(cuda::memory_stats().cached == 0);
  // Pinned host buffers round-trip through the device.
  double* h = cuda::allocate_pinned<double>(1000);
  for (int i = 0; i < 1000; ++i) h[i] = i * 0.5;
  double* d = cuda::allocate<double>(1000);
  cuda::copy_from_host(d, h, 1000);
  for (int i = 0; i < 1000; ++i) h[i] = 0;
  cuda::copy_to_host(h, d, 1000);
  CHECK(h[999] == 499.5);
  cuda::deallocate(d, 1000);
  cuda::deallocate_pinned(h, 1000);
}

TEST_CASE("cuda copies and fills") {
  const auto a = rand_cpu<float, 3>({3, 5, 7}, 1);
  auto d = dev(a);
  CHECK(ct::bitwise_equal(d, a));
  CHECK(ct::bitwise_equal(d.clone(), a));
  auto f = Tensor<double, 2, cuda>::full({17, 33}, -2.5);
  for (double v : f.to_vector()) REQUIRE(v == -2.5);
  f.fill(0.0);
  for (double v : f.to_vector()) REQUIRE(v == 0.0);
  f.fill(-0.0);
  for (double v : f.to_vector()) REQUIRE(std::signbit(v));
  auto c = Tensor<std::complex<float>, 1, cuda>::full({100}, {1.f, -2.f});
  for (auto v : c.to_vector()) REQUIRE(v == std::complex<float>(1.f, -2.f));
  CHECK(Tensor<float, 0, cuda>::full({}, 3.f).item() == 3.f);
}

TEST_CASE("cuda random fills are bitwise the cpu's for the same seed and offset") {
  for (index_t n : {1, 3, 4, 5, 1000, 100003}) {
    CAPTURE(n);
    Generator g1(42), g2(42);
    g1.reserve(7);
    g2.reserve(7);
    CHECK(ct::bitwise_equal(Tensor<float, 1, cuda>::uniform({n}, -0.3f, 0.7f, g1), Tensor<float, 1>::uniform({n}, -0.3f, 0.7f, g2)));
    CHECK(ct::bitwise_equal(Tensor<double, 1, cuda>::uniform({n}, -2, 5, g1), Tensor<double, 1>::uniform({n}, -2, 5, g2)));
    CHECK(ct::bitwise_equal(Tensor<float, 1, cuda>::normal({n}, 0.1f, 2.f, g1), Tensor<float, 1>::normal({n}, 0.1f, 2.f, g2)));
    CHECK(ct::bitwise_equal(Tensor<double, 1, cuda>::normal({n}, 0, 1, g1), Tensor<double, 1>::normal({n}, 0, 1, g2)));
    CHECK(ct::bitwise_equal(Tensor<std::complex<float>, 1, cuda>::normal({n}, 0, 1, g1),
                            Tensor<std::complex<float>, 1>::normal({n}, 0, 1, g2)));
    CHECK(g1.state() == g2.state());
  }
}

TEST_CASE("cuda elementwise expressions: broadcasting, strided views, complex, match the cpu") {
  const auto x = rand_cpu<float, 4>({3, 4, 9, 11}, 2);
  const auto w = rand_cpu<float, 3>({4, 1, 1}, 3);
  const auto b = rand_cpu<float, 1>({11}, 4);
  const auto xd = dev(x);
  const auto wd = dev(w);
  const auto bd = dev(b);
  CHECK(rel(Tensor<float, 4, cuda>(gelu(xd * wd + bd)), Tensor<float, 4>(gelu(x * w + b))) < 1e-6);
  CHECK(rel(Tensor<float, 4, cuda>(exp(tanh(xd)) / (abs(xd) + 1.f) - sigmoid(xd) * silu(wd)),
            Tensor<float, 4>(exp(tanh(x)) / (abs(x) + 1.f) - sigmoid(x) * silu(w))) < 1e-6);
  CHECK(rel(Tensor<float, 4, cuda>(relu(xd) + pow(abs(xd) + 0.5f, 1.5f) + softplus(xd)),
            Tensor<float, 4>(relu(x) + pow(abs(x) + 0.5f, 1.5f) + softplus(x))) < 1e-6);
  // A strided destination and source: write a slice of a larger tensor.
  auto big = Tensor<float, 4>::zeros({3, 4, 9, 20});
  auto bigd = dev(big);
  big.slice(3, 5, 16).assign(x * 2.f + b);
  bigd.slice(3, 5, 16).assign(xd * 2.f + bd);
  CHECK(rel(bigd, big) < 1e-7);
  // Complex.
  const auto z = rand_cpu<std::complex<double>, 2>({33, 65}, 5);
  const auto v = rand_cpu<std::complex<double>, 1>({65}, 6);
  const auto zd = dev(z);
  const auto vd = dev(v);
  CHECK(rel(Tensor<std::complex<double>, 2, cuda>(zd * conj(vd) + zd / (vd + 2.0)),
            Tensor<std::complex<double>, 2>(z * conj(v) + z / (v + 2.0))) < 1e-13);
  CHECK(rel(Tensor<double, 2, cuda>(abs2(zd) + real(zd * vd) + abs(zd)), Tensor<double, 2>(abs2(z) + real(z * v) + abs(z))) < 1e-13);
  CHECK(rel(Tensor<std::complex<double>, 2, cuda>(exp(zd) + sqrt(zd) * log(vd + 3.0)),
            Tensor<std::complex<double>, 2>(exp(z) + sqrt(z) * log(v + 3.0))) < 1e-13);
  // More than 2^31 elements would take the 64-bit path; the 32-bit one is what runs here.
  const auto big1 = rand_cpu<float, 1>({(1 << 22) + 3}, 7);
  CHECK(rel(Tensor<float, 1, cuda>(dev(big1) * 3.f - 1.f), Tensor<float, 1>(big1 * 3.f - 1.f)) < 1e-7);
}

namespace {
// L = sum(r * f(x, w, b)) on one backend; returns the gradients of x, w and b.
template <class B, class T>
std::array<Tensor<T, 4>, 3> grads_of(const Tensor<T, 4>& x0, const Tensor<T, 4>& w0, const Tensor<T, 4>& b0, const Tensor<T, 4>& r0) {
  Var<T, 4, B> x(x0.template to<B>(), true), w(w0.template to<B>(), true), b(b0.template to<B>(), true);
  const auto r = r0.template to<B>();
  // gelu of an affine map with broadcast w and b, x used twice, a broadcast product with b.
  Var<T, 4, B> y = gelu(x * w + b) * r + x * x * b - tanh(w);
  sum(y).backward();
  return {x.grad().template to<cpu>(), w.grad().template to<cpu>(), b.grad().template to<cpu>()};
}
// The reference is the cpu backend in double: its float gradient of a scalar broadcast over
// 2^17 elements is a sum of per-block partial sums (2^15 elements each, added in order), which
// is only good to about 2e-5 relative, while the GPU's reduction is good to 1e-7.
void check_grads(const Shape<4>& xs, const Shape<4>& ws, const Shape<4>& bs) {
  CAPTURE(format_shape(xs));
  const auto x = rand_cpu<float, 4>(xs, 11), w = rand_cpu<float, 4>(ws, 12), b = rand_cpu<float, 4>(bs, 13);
  Shape<4> os = xs;
  const auto r = rand_cpu<float, 4>(os, 14);
  const auto to_double = [](const Tensor<float, 4>& t) { return Tensor<double, 4>(cast<double>(t)); };
  const auto gc = grads_of<cpu>(to_double(x), to_double(w), to_double(b), to_double(r));
  const auto gd = grads_of<cuda>(x, w, b, r);
  for (int i = 0; i < 3; ++i) {
    CAPTURE(i);
    CHECK(test::rel_l2(gd[std::size_t(i)].to_vector(), gc[std::size_t(i)].to_vector()) < 1e-5);
  }
}
}  // namespace

TEST_CASE("cuda fused elementwise backward with broadcast operands matches the cpu") {
  // Small: broadcast gradients go to per-block partial sums; large: to an output-sized buffer
  // summed down by a reduction.
  check_grads({2, 3, 4, 5}, {1, 3, 1, 1}, {1, 1, 1, 5});
  check_grads({4, 8, 64, 64}, {1, 8, 1, 1}, {1, 1, 64, 1});
  check_grads({4, 8, 64, 64}, {1, 1, 1, 1}, {4, 8, 64, 64});
}

TEST_CASE("cuda fused backward of complex expressions (conjugate Wirtinger gradients) matches the cpu") {
  const auto z0 = rand_cpu<std::complex<float>, 3>({4, 5, 33}, 15), w0 = rand_cpu<std::complex<float>, 3>({1, 5, 1}, 16);
  const auto r0 = rand_cpu<float, 3>({4, 5, 33}, 17);
  auto run = [&](auto tag) {
    using B = decltype(tag);
    Var<std::complex<float>, 3, B> z(z0.template to<B>(), true), w(w0.template to<B>(), true);
    Var<float, 3, B> y = real(z * conj(w)) * r0.template to<B>() + abs(z) + abs2(z * w);
    sum(y).backward();
    return std::pair{z.grad().template to<cpu>(), w.grad().template to<cpu>()};
  };
  const auto [gzc, gwc] = run(cpu{});
  const auto [gzd, gwd] = run(cuda{});
  CHECK(test::rel_l2(gzd.to_vector(), gzc.to_vector()) < 1e-5);
  CHECK(test::rel_l2(gwd.to_vector(), gwc.to_vector()) < 1e-5);
}

TEST_CASE("cuda reductions: sum, mean and max over any axes match the cpu; max propagates NaN") {
  const auto x = rand_cpu<float, 4>({5, 6, 70, 90}, 20);
  const auto xd = dev(x);
  CHECK(rel(Tensor<float, 0, cuda>(sum(xd)), Tensor<float, 0>(sum(x))) < 1e-5);
  CHECK(rel(sum(xd, {0}), sum(x, {0})) < 1e-6);
  CHECK(rel(sum(xd, {3}), sum(x, {3})) < 1e-6);
  CHECK(rel(sum(xd, {0, 2}), sum(x, {0, 2})) < 1e-6);
  CHECK(rel(sum(xd, {1, 3}), sum(x, {1, 3})) < 1e-6);
  CHECK(rel(mean(xd, {0, 2, 3}, keepdim), mean(x, {0, 2, 3}, keepdim)) < 1e-6);
  CHECK(rel(max(xd, {2}), max(x, {2})) == 0);
  CHECK(rel(max(xd, {0, 1}), max(x, {0, 1})) == 0);
  CHECK(rel(Tensor<float, 0, cuda>(max(xd)), Tensor<float, 0>(max(x))) == 0);
  // One big sum (chunked, then combined) and one output per element of the inner axis.
  const auto big = rand_cpu<double, 2>({3000, 1500}, 21);
  CHECK(rel(Tensor<double, 0, cuda>(sum(dev(big))), Tensor<double, 0>(sum(big))) < 1e-12);
  CHECK(rel(sum(dev(big), {0}), sum(big, {0})) < 1e-12);
  CHECK(rel(sum(dev(big), {1}), sum(big, {1})) < 1e-12);
  const auto z = rand_cpu<std::complex<float>, 3>({7, 300, 33}, 22);
  CHECK(rel(sum(dev(z), {1}), sum(z, {1})) < 1e-5);
  auto n = Tensor<float, 2>::from_data({2, 3}, {1.f, std::numeric_limits<float>::quiet_NaN(), 3.f, 4.f, 5.f, 6.f});
  const auto m = max(dev(n), {1}).to_vector();
  CHECK(std::isnan(m[0]));
  CHECK(m[1] == 6.f);
}

namespace {
template <class T, Trans ta, Trans tb>
void check_gemm(index_t batch, index_t m, index_t n, index_t k, bool shared_b, T beta) {
  CAPTURE(batch);
  CAPTURE(m);
  CAPTURE(n);
  CAPTURE(k);
  CAPTURE(int(ta));
  CAPTURE(int(tb));
  const index_t ra = ta == Trans::N ? m : k, ca = ta == Trans::N ? k : m;
  const index_t rb = tb == Trans::N ? k : n, cb = tb == Trans::N ? n : k;
  // k = 0: A and B hold no element, but a tensor cannot have a zero size; one each, never read.
  const auto A = rand_cpu<T, 3>({batch, std::max<index_t>(ra, 1), std::max<index_t>(ca, 1)}, 30);
  const auto B = rand_cpu<T, 3>({shared_b ? 1 : batch, std::max<index_t>(rb, 1), std::max<index_t>(cb, 1)}, 31);
  auto C = rand_cpu<T, 3>({batch, m, n}, 32);
  auto Cd = dev(C);
  const auto Ad = dev(A), Bd = dev(B);
  GemmShape s = packed_gemm_shape<ta, tb>(batch, m, n, k, ra * ca, shared_b ? 0 : rb * cb, m * n);
  const T alpha = T(0.75);
  cpu::gemm<T, ta, tb>(s, alpha, A.data(), B.data(), beta, C.data());
  cuda::gemm<T, ta, tb>(s, alpha, Ad.data(), Bd.data(), beta, Cd.data());
  CHECK(rel(Cd, C) < (sizeof(real_t<T>) == 4 ? 1e-5 : 1e-12));
}
template <class T, Trans ta, Trans tb>
void gemm_shapes() {
  check_gemm<T, ta, tb>(1, 7, 5, 3, false, T(0));
  check_gemm<T, ta, tb>(4, 33, 17, 65, false, T(0.5));
  check_gemm<T, ta, tb>(3, 64, 48, 32, true, T(0));
  check_gemm<T, ta, tb>(2, 5, 6, 0, false, T(0.5));  // k = 0: C = beta C
}
}  // namespace

TEST_CASE("cuda gemm: every op pair, batches, a shared operand, beta, k = 0, four types") {
  gemm_shapes<float, Trans::N, Trans::N>();
  gemm_shapes<float, Trans::N, Trans::T>();
  gemm_shapes<float, Trans::T, Trans::N>();
  gemm_shapes<float, Trans::T, Trans::T>();
  gemm_shapes<double, Trans::N, Trans::N>();
  gemm_shapes<double, Trans::T, Trans::T>();
  gemm_shapes<std::complex<float>, Trans::N, Trans::N>();
  gemm_shapes<std::complex<float>, Trans::N, Trans::C>();
  gemm_shapes<std::complex<float>, Trans::C, Trans::N>();
  gemm_shapes<std::complex<float>, Trans::C, Trans::T>();
  gemm_shapes<std::complex<double>, Trans::N, Trans::C>();
  gemm_shapes<std::complex<double>, Trans::C, Trans::C>();
}

TEST_CASE("cuda matmul and channel contraction with gradients match the cpu") {
  const auto a = rand_cpu<float, 3>({4, 12, 20}, 40), b = rand_cpu<float, 3>({4, 20, 9}, 41);
  CHECK(rel(matmul(dev(a), dev(b)), matmul(a, b)) < 1e-6);
  const auto x = rand_cpu<std::complex<float>, 4>({2, 6, 8, 5}, 42);
  const auto w = rand_cpu<std::complex<float>, 2>({3, 6}, 43);
  CHECK(rel(channel_contract(dev(x), dev(w)), channel_contract(x, w)) < 1e-6);
}

namespace {
// B::fft of one kind on both backends (unnormalised), from the same input.
template <class R, std::size_t K>
void check_fft(FftKind kind, index_t outer, std::array<index_t, K> n, index_t inner) {
  CAPTURE(int(kind));
  CAPTURE(outer);
  CAPTURE(inner);
  CAPTURE(n[K - 1]);
  using C = std::complex<R>;
  index_t full = 1, half = 1;
  for (std::size_t i = 0; i < K; ++i) {
    full *= n[i];
    half *= i + 1 == K ? n[i] / 2 + 1 : n[i];
  }
  const index_t in_n = outer * inner * (kind == FftKind::c2r ? half : full);
  const index_t out_n = outer * inner * (kind == FftKind::r2c ? half : full);
  const std::span<const index_t> ns(n.data(), K);
  if (kind == FftKind::r2c) {
    const auto x = rand_cpu<R, 1>({in_n}, 50);
    auto yc = Tensor<C, 1>::empty({out_n});
    auto yd = Tensor<C, 1, cuda>::empty({out_n});
    const auto xd = dev(x);
    cpu::fft<R>(kind, outer, ns, inner, x.data(), yc.data());
    cuda::fft<R>(kind, outer, ns, inner, xd.data(), yd.data());
    CHECK(rel(yd, yc) < (sizeof(R) == 4 ? 1e-5 : 1e-12));
  } else if (kind == FftKind::c2r) {
    // An arbitrary (not Hermitian) half spectrum: both must read it the same way.
    const auto x = rand_cpu<C, 1>({in_n}, 51);
    auto xc = x.clone();
    auto xd = dev(x);
    auto yc = Tensor<R, 1>::empty({out_n});
    auto yd = Tensor<R, 1, cuda>::empty({out_n});
    cpu::fft<R>(kind, outer, ns, inner, xc.data(), yc.data());
    cuda::fft<R>(kind, outer, ns, inner, xd.data(), yd.data());
    CHECK(rel(yd, yc) < (sizeof(R) == 4 ? 1e-5 : 1e-12));
  } else {
    const auto x = rand_cpu<C, 1>({in_n}, 52);
    auto yc = Tensor<C, 1>::empty({out_n});
    auto yd = Tensor<C, 1, cuda>::empty({out_n});
    const auto xd = dev(x);
    cpu::fft<R>(kind, outer, ns, inner, x.data(), yc.data());
    cuda::fft<R>(kind, outer, ns, inner, xd.data(), yd.data());
    CHECK(rel(yd, yc) < (sizeof(R) == 4 ? 1e-5 : 1e-12));
  }
}
template <class R>
void fft_cases() {
  for (FftKind kind : {FftKind::r2c, FftKind::c2r, FftKind::c2c_forward, FftKind::c2c_backward}) {
    check_fft<R, 1>(kind, 6, {16}, 1);
    check_fft<R, 1>(kind, 5, {15}, 1);
    check_fft<R, 1>(kind, 3, {12}, 4);
    check_fft<R, 2>(kind, 4, {8, 10}, 1);
    check_fft<R, 2>(kind, 3, {9, 7}, 1);
    check_fft<R, 2>(kind, 2, {6, 8}, 3);
    check_fft<R, 3>(kind, 2, {4, 6, 8}, 1);
    check_fft<R, 3>(kind, 1, {5, 4, 7}, 2);
  }
}
}  // namespace

TEST_CASE("cuda fft: r2c, c2r (non-Hermitian input too), c2c both ways, 1-3 axes, interleaved batches match the cpu") {
  fft_cases<float>();
  fft_cases<double>();
}

TEST_CASE("cuda rfftn / irfftn / fftn with norms and their gradients match the cpu") {
  const auto x = rand_cpu<float, 4>({2, 3, 16, 12}, 60);
  for (FftNorm norm : {FftNorm::backward, FftNorm::forward, FftNorm::ortho}) {
    CAPTURE(name(norm));
    CHECK(rel(rfftn<2>(dev(x), norm), rfftn<2>(x, norm)) < 1e-6);
    const auto X = rfftn<2>(x, norm);
    CHECK(rel(irfftn<2>(dev(X), {16, 12}, norm), irfftn<2>(X, {16, 12}, norm)) < 1e-6);
    const auto z = rand_cpu<std::complex<float>, 3>({3, 10, 6}, 61);
    CHECK(rel(fftn<2>(dev(z), norm), fftn<2>(z, norm)) < 1e-6);
    CHECK(rel(ifftn<1>(dev(z), norm, 1), ifftn<1>(z, norm, 1)) < 1e-6);
  }
  // d/dx of sum(r * irfft(w * rfft(x))).
  auto run = [&](auto tag) {
    using B = decltype(tag);
    const auto w = rand_cpu<std::complex<float>, 4>({1, 3, 16, 7}, 62);
    const auto r = rand_cpu<float, 4>({2, 3, 16, 12}, 63);
    Var<float, 4, B> xv(x.template to<B>(), true);
    Var<std::complex<float>, 4, B> X = rfftn<2>(xv, FftNorm::forward);
    Var<std::complex<float>, 4, B> Y = X * w.template to<B>();
    Var<float, 4, B> y = irfftn<2>(Y, {16, 12}, FftNorm::forward);
    sum(Var<float, 4, B>(y * r.template to<B>())).backward();
    return xv.grad().template to<cpu>();
  };
  CHECK(test::rel_l2(run(cuda{}).to_vector(), run(cpu{}).to_vector()) < 1e-5);
}
