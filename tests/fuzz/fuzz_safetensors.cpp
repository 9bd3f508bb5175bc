// libFuzzer target: io::load_safetensors on arbitrary bytes.
#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return fuzz::run(data, size,
                   [](const neuralop::io::Bytes& b) { return neuralop::io::load_safetensors(b, "fuzz.safetensors"); });
}
