// A program outside the project, built against the installed headers.
#include <neuralop/neuralop.hpp>

#include <iostream>

int main() {
  using namespace neuralop;
  Tensor<float, 2> a({2, 3}, 1.5f);
  Tensor<float, 2> b = a * a * 4.0f;  // 9 everywhere
  Var<double, 1> x(Tensor<double, 1>({3}, 2.0), true);
  sum(x * x).backward();              // d/dx = 2x = 4
  std::cout << "b(1,1) = " << b.at(1, 1) << ", grad = " << x.grad().at(0) << "\n";
  return b.at(1, 1) == 9.0f && x.grad().at(0) == 4.0 ? 0 : 1;
}
