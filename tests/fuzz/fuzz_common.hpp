// Shared body of the libFuzzer targets: a reader either returns a tree, every part of which can
// be walked and (within a size bound) materialised, or throws neuralop::error. Anything else
// (a crash, a sanitizer report, another exception type, a leak, a hang) is a bug.
#pragma once

#include "../io/io_test_util.hpp"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace fuzz {

template <class Load>
int run(const std::uint8_t* data, std::size_t size, Load load) {
  const auto bytes = neuralop::io::Bytes::copy_of(
      std::span<const std::byte>(reinterpret_cast<const std::byte*>(data), size));
  try {
    iotest::walk(load(bytes));
  } catch (const neuralop::error&) {
  }
  return 0;
}

}  // namespace fuzz
