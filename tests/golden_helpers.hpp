// Reading golden files made by tools/reference/*.py: lists of numbers from the io::Value tree.
#pragma once

#include <vector>

#include "neuralop/io/io.hpp"

namespace test {

template <class T>
std::vector<T> list_of(const neuralop::io::Value& v) {
  std::vector<T> out;
  for (const auto& x : v.elements()) out.push_back(x.as<T>());
  return out;
}
inline std::vector<int> ints(const neuralop::io::Value& v) { return list_of<int>(v); }

}  // namespace test
