// Mistakes that must not compile, each with a readable diagnostic. run_compile_fail.sh compiles
// this file once per CASE and checks that the compiler refuses it with the EXPECT text.
// Ranks and dtypes are template parameters, so a rank mismatch is caught by the compiler, not at
// run time; a shape mismatch of the right rank is a runtime shape_error (tests/core).
#include <neuralop/base.hpp>

using namespace neuralop;

int main() {
  Tensor<float, 3> a({2, 3, 4});
  Var<float, 3> v(a, true);
#if CASE == 1  // EXPECT: expression rank differs from the tensor's
  Tensor<float, 2> t = a * 2.f;
#elif CASE == 2  // EXPECT: expression rank differs from the Var's
  Var<float, 2> w = v * 2.f;
#elif CASE == 3  // EXPECT: expression dtype differs from the tensor's
  Tensor<double, 3> t = a * 2.f;
#elif CASE == 4  // EXPECT: tensors have rank 8 at most
  Tensor<float, 9> t;
#elif CASE == 0  // the control: the same file compiles without a mistake
  Tensor<float, 3> t = a * 2.f;
  Var<float, 3> w = v * 2.f;
#endif
  return 0;
}
