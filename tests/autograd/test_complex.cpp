// Hand-derived complex gradients in PyTorch's convention: for real L and z = x + iy,
// z.grad = dL/dx + i dL/dy (= 2 dL/d(conj z)). Values below are worked out by hand and agree
// with torch (e.g. L = |z|^2 gives z.grad = 2z in torch).
#include "../helpers.hpp"

using namespace neuralop;
using C = std::complex<double>;

namespace {
Var<C, 1> zvar(std::initializer_list<C> v) {
  return Var<C, 1>(Tensor<C, 1>::from_data({static_cast<index_t>(v.size())}, v), true);
}
void check_close(const std::vector<C>& got, const std::vector<C>& want) {
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    INFO("element " << i << ": got " << got[i] << " want " << want[i]);
    CHECK(std::abs(got[i] - want[i]) < 1e-12);
  }
}
}  // namespace

TEST_CASE("L = sum |z|^2 gives 2z") {
  auto z = zvar({C(1, 2), C(-3, 0.5)});
  sum(abs2(z)).backward();
  check_close(z.grad().to_vector(), {C(2, 4), C(-6, 1)});
}

TEST_CASE("L = sum |z| gives z / |z|") {
  auto z = zvar({C(3, 4), C(0, -2)});
  sum(abs(z)).backward();
  check_close(z.grad().to_vector(), {C(0.6, 0.8), C(0, -1)});
}

TEST_CASE("L = Re(a z) gives conj(a); L = Im(a z) gives i conj(a)") {
  const C a(2, -3);
  auto z = zvar({C(1, 1)});
  sum(real(z * a)).backward();
  check_close(z.grad().to_vector(), {std::conj(a)});
  auto w = zvar({C(1, 1)});
  sum(imag(w * a)).backward();
  // Im(a z) = a_r y + a_i x: dL/dx = a_i = -3, dL/dy = a_r = 2 -> -3 + 2i = i conj(a)
  check_close(w.grad().to_vector(), {C(-3, 2)});
}

TEST_CASE("L = Re(sum z*w) with both complex: grads are conj of the other factor") {
  auto z = zvar({C(1, 2)});
  auto w = zvar({C(3, -1)});
  sum(real(z * w)).backward();
  check_close(z.grad().to_vector(), {C(3, 1)});
  check_close(w.grad().to_vector(), {C(1, -2)});
}

TEST_CASE("conj flips the gradient: L = Im(conj z) = -y gives -i") {
  auto z = zvar({C(0.5, 0.25)});
  sum(imag(conj(z))).backward();
  check_close(z.grad().to_vector(), {C(0, -1)});
}

TEST_CASE("complex seeds: backward(v) on w = z^2 gives conj(2z) v") {
  auto z = zvar({C(1, 2)});
  Var<C, 1> w = z * z;
  w.backward(Tensor<C, 1>::from_data({1}, {C(0, 1)}));
  check_close(z.grad().to_vector(), {std::conj(C(2, 4)) * C(0, 1)});
}

TEST_CASE("complex matmul gradient: L = Re sum(A B) gives A.grad = 1 B^H") {
  auto A = Var<C, 2>(Tensor<C, 2>::from_data({1, 2}, {C(1, 1), C(2, 0)}), true);
  auto Bm = Var<C, 2>(Tensor<C, 2>::from_data({2, 1}, {C(0, 1), C(3, -2)}), true);
  sum(real(matmul(A, Bm))).backward();
  check_close(A.grad().to_vector(), {C(0, -1), C(3, 2)});
  check_close(Bm.grad().to_vector(), {C(1, -1), C(2, 0)});
}
