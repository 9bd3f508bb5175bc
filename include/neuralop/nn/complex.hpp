// Complex-valued helpers of NeuralOperator (neuralop.layers.complex) for complex_data=True:
// ComplexValued<M> (a real module applied to complex data as fr + i fi) and the split
// activations CGELU / ctanh (the real function on the real and imaginary parts separately).
#pragma once

#include <complex>
#include <utility>

#include "neuralop/nn/activation.hpp"
#include "neuralop/nn/module.hpp"

namespace neuralop::nn {

// x + i y from two real Vars (one fused node).
template <class Rl, std::size_t R, class B>
Var<std::complex<Rl>, R, B> make_complex(const Var<Rl, R, B>& re, const Var<Rl, R, B>& im) {
  using C = std::complex<Rl>;
  return Var<C, R, B>(cast<C>(re) + cast<C>(im) * C(0, 1));
}

// a(Re z) + i a(Im z) for a real activation a; NeuralOperator's CGELU (a = gelu), ctanh, cselu.
template <class Rl, std::size_t R, class B>
Var<std::complex<Rl>, R, B> complex_activate(Activation a, const Var<std::complex<Rl>, R, B>& z) {
  return make_complex(activate(a, Var<Rl, R, B>(real(z))), activate(a, Var<Rl, R, B>(imag(z))));
}
template <class Rl, std::size_t R, class B>
Var<std::complex<Rl>, R, B> cgelu(const Var<std::complex<Rl>, R, B>& z) {
  using C = std::complex<Rl>;
  return Var<C, R, B>(cast<C>(gelu(real(z))) + cast<C>(gelu(imag(z))) * C(0, 1));
}
template <class Rl, std::size_t R, class B>
Var<std::complex<Rl>, R, B> ctanh(const Var<std::complex<Rl>, R, B>& z) {
  using C = std::complex<Rl>;
  return Var<C, R, B>(cast<C>(tanh(real(z))) + cast<C>(tanh(imag(z))) * C(0, 1));
}

// ComplexValued(m): two copies fr, fi of a real module M with identical initial weights (torch
// deep-copies m), applied as apply_complex(fr, fi, z) = (fr(Re z) - fi(Im z)) + i (fr(Im z) +
// fi(Re z)). Biases and non-linearities inside M act in each branch, so for anything but a bias-
// free linear map this is not complex-linear -- as in NeuralOperator. state_dict keys are M's
// under "fr." and "fi.".
//
//   ComplexValued<ChannelMLP<1>> mlp(ChannelMLPOptions{...}, gen);
//   Var<std::complex<float>, 3> y = mlp(z);           // any extra arguments go to M::operator()
template <class M>
class ComplexValued : public Module {
 public:
  // M is built (twice) from the same arguments; fi then takes fr's values.
  template <class... Args>
  explicit ComplexValued(Args&&... args) : fr_(args...), fi_(std::forward<Args>(args)...) {
    fi_.load_state_dict(fr_.state_dict());
    register_module("fr", fr_);
    register_module("fi", fi_);
  }

  M& fr() { return fr_; }
  M& fi() { return fi_; }
  const M& fr() const { return fr_; }
  const M& fi() const { return fi_; }

  template <class Rl, std::size_t R, class B, class... Extra>
  auto operator()(const Var<std::complex<Rl>, R, B>& z, const Extra&... extra) const {
    const Var<Rl, R, B> re(real(z)), im(imag(z));
    const auto a = fr_(re, extra...);
    const auto b = fi_(im, extra...);
    const auto c = fr_(im, extra...);
    const auto d = fi_(re, extra...);
    using Out = std::remove_cvref_t<decltype(a)>;
    return make_complex(Out(a - b), Out(c + d));
  }

 private:
  M fr_, fi_;
};

}  // namespace neuralop::nn
