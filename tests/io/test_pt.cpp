// io::load_pt / save_pt: NeuralOperator's real files, torch-written golden files, the bytes
// save_pt writes (checked by torch.load(weights_only=True) when they were blessed), state_dicts,
// and hostile input: every truncation, byte flips, hand-made pickles.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <numeric>

#include "../helpers.hpp"
#include "io_test_util.hpp"
#include "neuralop/io/io.hpp"

using namespace neuralop;
using io::Opaque;
using io::Value;

namespace {

std::string data(const std::string& name) { return iotest::data_dir() + "/" + name; }
std::string golden(const std::string& name) { return std::string(NEURALOP_SOURCE_DIR) + "/tests/io/golden/" + name; }

// A .pt archive from a hand-written pickle and storages, to reach the reader's error paths.
std::string make_pt(const std::string& name, std::string_view pickle,
                    const std::vector<std::pair<std::string, std::string>>& storages = {}) {
  const std::string path = iotest::temp_path(name);
  io::ZipWriter z(path);
  z.add("archive/data.pkl", pickle);
  for (const auto& [k, v] : storages) z.add("archive/data/" + k, std::string_view(v));
  z.add("archive/version", std::string_view("3\n"));
  z.finish();
  return path;
}
// Pickle text for a float32 tensor over storage "0" of `numel` elements.
std::string tensor_pickle(const std::string& storage_type, int numel, int offset, const std::string& size_tuple,
                          const std::string& stride_tuple) {
  auto bin_int = [](int v) { return std::string("J") + std::string(reinterpret_cast<const char*>(&v), 4); };
  auto str = [](const std::string& s) {
    const auto n = static_cast<std::uint32_t>(s.size());
    return std::string("X") + std::string(reinterpret_cast<const char*>(&n), 4) + s;
  };
  return std::string("\x80\x02") + "ctorch._utils\n_rebuild_tensor_v2\n(" + "(" + str("storage") + "ctorch\n" +
         storage_type + "\n" + str("0") + str("cpu") + bin_int(numel) + "tQ" + bin_int(offset) + size_tuple +
         stride_tuple + "\x89" + "ccollections\nOrderedDict\n)R" + "tR.";
}

}  // namespace

TEST_CASE("darcy, burgers, mini_car: reference values and layouts from the spec" * doctest::skip(!iotest::have_sample_data())) {
  const auto d = io::load_pt(data("darcy_train_16.pt"));
  CHECK(d.keys() == std::vector<std::string>{"x", "y"});
  const auto& x = d.at("x").tensor();
  CHECK(x.dtype == io::DType::bool_);
  CHECK(x.shape == std::vector<index_t>{1000, 16, 16});
  CHECK(x.strides == std::vector<index_t>{1, 1000, 16000});  // sample index fastest
  const auto y = d.at("y").as<Tensor<float, 3>>();
  CHECK(y.at(0, 0, 0) == 1.1645014e-05f);
  CHECK(y.at(0, 0, 1) == 3.8865590e-04f);
  CHECK(y.at(0, 1, 0) == 3.8803089e-04f);
  CHECK(y.at(1, 0, 0) == 1.2979316e-05f);
  CHECK(y.at(0, 15, 15) == 0.22904147f);
  const auto xf = d.at("x").to<Tensor<float, 3>>().to_vector();
  CHECK(std::accumulate(xf.begin(), xf.end(), 0.0) == 127858.0);
  const auto yd = d.at("y").to<Tensor<double, 3>>().to_vector();
  double mean = std::accumulate(yd.begin(), yd.end(), 0.0) / double(yd.size()), ss = 0;
  for (double v : yd) ss += (v - mean) * (v - mean);
  CHECK(mean == doctest::Approx(0.386315613).epsilon(1e-9));
  CHECK(std::sqrt(ss / double(yd.size() - 1)) == doctest::Approx(0.339971596).epsilon(1e-9));

  CHECK(io::load_pt(data("darcy_test_16.pt")).at("y").as<Tensor<float, 3>>().at(0, 0, 0) == 1.7661466e-04f);
  CHECK(io::load_pt(data("darcy_test_32.pt")).at("y").as<Tensor<float, 3>>().at(0, 15, 15) == 0.5515368f);

  // Burgers: test tensors are views at offset 800 of the same 1200-sample storages.
  const auto b = io::load_pt(data("burgers_test_16.pt"));
  CHECK(b.at("x").tensor().offset == 800);
  CHECK(b.at("y").tensor().strides == std::vector<index_t>{1, 1200, 20400});
  CHECK(b.at("visc").as<Tensor<double, 2>>().at(0, 0) == 0.01);

  // mini_car: query_points of the three samples are one storage.
  const auto car = io::load_pt(data("mini_car.pt"));
  REQUIRE(car.size() == 3);
  const auto* q0 = car.at(std::size_t(0)).at("query_points").tensor().storage.data();
  CHECK(car.at(std::size_t(1)).at("query_points").tensor().storage.data() == q0);
  CHECK(car.at(std::size_t(2)).at("query_points").tensor().storage.data() == q0);
  CHECK(car.at(std::size_t(0)).at("vertices").tensor().storage.data() != q0);
}

TEST_CASE("typed access errors name the file, the path and what was found" * doctest::skip(!iotest::have_sample_data())) {
  const auto d = io::load_pt(data("darcy_test_16.pt"));
  auto msg = test::error_message<io_error>([&] { (void)d.at("x").as<Tensor<float, 3>>(); });
  CHECK(msg.find("darcy_test_16.pt['x']") != std::string::npos);
  CHECK(msg.find("expected a float32 tensor, found a bool tensor [50, 16, 16]") != std::string::npos);
  msg = test::error_message<io_error>([&] { (void)d.at("y").as<Tensor<float, 2>>(); });
  CHECK(msg.find("rank 2") != std::string::npos);
  msg = test::error_message<io_error>([&] { (void)d.at("z"); });
  CHECK(msg.find("no key 'z' (keys: 'x', 'y')") != std::string::npos);
  msg = test::error_message<io_error>([&] { (void)d.at("y").as<int>(); });
  CHECK(msg.find("expected an int, found float32 tensor") != std::string::npos);
  msg = test::error_message<io_error>([&] { (void)d.at(std::size_t(0)); });
  CHECK(msg.find("expected a list or tuple, found dict") != std::string::npos);
}

TEST_CASE("NeuralOperator's data files read as PyTorch reads them: keys, dtypes, shapes, strides, sharing, checksums" * doctest::skip(!iotest::have_sample_data())) {
  // tests/io/golden/data_files.txt: written by tools/reference/make_io_golden.py with torch.load.
  for (const char* f : {"darcy_train_16.pt", "darcy_test_16.pt", "darcy_test_32.pt", "burgers_train_16.pt",
                        "burgers_test_16.pt", "mini_car.pt"}) {
    CAPTURE(f);
    const auto expected = iotest::golden_lines(golden("data_files.txt"), f);
    REQUIRE(!expected.empty());
    CHECK(iotest::describe(io::load_pt(data(f)), f) == expected);
  }
}

TEST_CASE("torch-written golden files: every dtype, views, shared storages, containers, state_dicts") {
  for (const char* f : {"torch_types.pt", "torch_state_dict.pt", "torch_neuralop_state_dict.pt"}) {
    CAPTURE(f);
    const auto expected = iotest::golden_lines(golden("expected.txt"), f);
    REQUIRE(!expected.empty());
    CHECK(iotest::describe(io::load_pt(golden(f)), f) == expected);
  }
}

TEST_CASE("state_dicts: neuralop's _metadata globals are opaque, strict mode refuses them") {
  const auto path = golden("torch_neuralop_state_dict.pt");
  const auto v = io::load_pt(path);
  CHECK(v.is_ordered_dict());
  const auto meta = v.at("_metadata");
  CHECK(meta.at("non_linearity").is_opaque());
  CHECK(meta.at("non_linearity").opaque().name == "torch._C._nn.gelu");
  CHECK(meta.at("conv_module").opaque().name == "neuralop.layers.spectral_convolution.SpectralConv");
  const auto msg = test::error_message<io_error>([&] { (void)io::load_pt(path, {.strict = true}); });
  CHECK(msg.find("strict mode") != std::string::npos);
  CHECK(msg.find("torch._C._nn.gelu") != std::string::npos);

  const auto sd = io::load_state_dict(path);
  CHECK(sd.contains("fno_blocks.convs.0.weight.tensor"));
  CHECK(sd.at("fno_blocks.convs.0.weight.tensor").dtype == io::DType::complex64);
  CHECK(!sd.metadata.is_none());
  // Saved again: the opaque metadata cannot go into a .pt, the tensors all do.
  const auto out = iotest::temp_path("sd.pt");
  io::save_state_dict(out, sd);
  const auto back = io::load_state_dict(out);
  CHECK(back.names() == sd.names());
  CHECK(back.metadata.is_none());
  for (const auto& [k, t] : sd) CHECK(Value(back.at(k)).equals(Value(t)));
  auto m = test::error_message<io_error>([&] { (void)sd.at("nope"); });
  CHECK(m.find("no entry 'nope'") != std::string::npos);
}

TEST_CASE("the legacy format and non-archives are refused clearly") {
  auto msg = test::error_message<io_error>([&] { (void)io::load_pt(golden("torch_legacy.pt")); });
  CHECK(msg.find("torch_legacy.pt") != std::string::npos);
  CHECK(msg.find("legacy") != std::string::npos);
  msg = test::error_message<io_error>([&] { (void)io::load_pt(golden("numpy_float32.npy")); });
  CHECK(msg.find("not a PyTorch zip archive") != std::string::npos);
  msg = test::error_message<io_error>([&] { (void)io::load_pt(golden("numpy_arrays.npz")); });
  CHECK(msg.find("data.pkl") != std::string::npos);
  msg = test::error_message<io_error>([&] { (void)io::load_pt(iotest::temp_path("does_not_exist.pt")); });
  CHECK(msg.find("does_not_exist.pt: open failed") != std::string::npos);
}

TEST_CASE("round trips of NeuralOperator's data files keep values, dtypes, strides, offsets and shared storages" *
          doctest::skip(!iotest::have_sample_data())) {
  for (const char* f : {"darcy_test_16.pt", "burgers_test_16.pt", "mini_car.pt"}) {
    CAPTURE(f);
    const auto v = io::load_pt(data(f));
    const auto out = iotest::temp_path(std::string("rt_") + f);
    io::save_pt(out, v);
    const auto w = io::load_pt(out);
    CHECK(w.equals(v));
    CHECK(iotest::describe(w, "x") == iotest::describe(v, "x"));  // layout and sharing too
  }
}

TEST_CASE("round trips keep values, dtypes, strides, offsets and shared storages") {
  const auto v = io::load_pt(golden("torch_types.pt"));
  const auto out = iotest::temp_path("rt_types.pt");
  io::save_pt(out, v);
  CHECK(iotest::describe(io::load_pt(out), "x") == iotest::describe(v, "x"));
}

TEST_CASE("save_pt writes the bytes that torch.load(weights_only=True) was shown to read") {
  // tests/io/golden/cpp_written.pt was written by this test (NEURALOP_WRITE_GOLDEN=1) and checked
  // with tools/reference/make_io_golden.py --verify-pt against cpp_written.txt (see README there).
  const Value tree = iotest::writer_golden_tree();
  const auto out = iotest::temp_path("cpp_written.pt");
  io::save_pt(out, tree);
  const auto lines = iotest::describe(io::load_pt(out), "cpp_written.pt");
  if (std::getenv("NEURALOP_WRITE_GOLDEN")) {
    std::filesystem::copy_file(out, golden("cpp_written.pt"), std::filesystem::copy_options::overwrite_existing);
    std::ofstream(golden("cpp_written.txt")) << lines;
  }
  CHECK(iotest::read_text(out) == iotest::read_text(golden("cpp_written.pt")));
  CHECK(lines == iotest::read_text(golden("cpp_written.txt")));
}

TEST_CASE("every truncation and every single-byte corruption of a file is an io_error or a valid load") {
  const std::string bytes = iotest::read_text(golden("torch_state_dict.pt"));
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    const auto b = io::Bytes::copy_of(std::string_view(bytes).substr(0, n));
    try {
      (void)io::load_pt(b, "cut.pt");
      FAIL_CHECK("a file cut to " << n << " bytes loaded");
    } catch (const io_error& e) {
      CHECK_MESSAGE(std::string(e.what()).starts_with("cut.pt"), e.what());
    }
  }
  std::size_t loaded = 0;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    std::string c = bytes;
    c[i] = static_cast<char>(c[i] ^ 0x5a);
    try {
      iotest::walk(io::load_pt(io::Bytes::copy_of(c), "flip.pt"));
      ++loaded;  // bytes no field depends on (padding, names torch ignores)
    } catch (const io_error& e) {
      CHECK(std::string(e.what()).starts_with("flip.pt"));
    }
  }
  MESSAGE(loaded << " of " << bytes.size() << " single-byte corruptions still load");
}

TEST_CASE("hostile pickles: bounds, claims, cycles, depth, unknown opcodes") {
  const std::string f32(24, '\0');  // storage "0": 6 float32 zeros
  auto err = [&](const std::string& name, const std::string& pkl, const char* expect,
                 std::vector<std::pair<std::string, std::string>> st = {{"0", std::string(24, '\0')}}) {
    const auto path = make_pt(name, pkl, st);
    const auto msg = test::error_message<io_error>([&] { (void)io::load_pt(path); });
    CHECK_MESSAGE(msg.find(expect) != std::string::npos, msg);
    CHECK_MESSAGE(msg.find(name) != std::string::npos, msg);
  };
  // A valid one first, so the failures below are the intended ones.
  {
    const auto path = make_pt("ok.pt", tensor_pickle("FloatStorage", 6, 0, "(K\x02K\x03t", "(K\x03K\x01t"), {{"0", f32}});
    CHECK(io::load_pt(path).as<Tensor<float, 2>>().shape() == Shape<2>{2, 3});
  }
  err("beyond.pt", tensor_pickle("FloatStorage", 6, 1, "(K\x02K\x03t", "(K\x03K\x01t"), "reaches element 6 of a storage of 6");
  err("claim.pt", tensor_pickle("FloatStorage", 1000000, 0, "(K\x02K\x03t", "(K\x03K\x01t"), "claims 1000000 float32 elements");
  err("huge.pt", tensor_pickle("FloatStorage", 6, 0, "(J\xff\xff\xff\x7fJ\xff\xff\xff\x7fJ\xff\xff\xff\x7ft", "(K\x01K\x01K\x01t"), "is too large");
  err("negative.pt", tensor_pickle("FloatStorage", 6, 0, "(J\xfe\xff\xff\xffK\x03t", "(K\x03K\x01t"), "bad size -2");
  err("qint.pt", tensor_pickle("QInt8Storage", 6, 0, "(K\x02K\x03t", "(K\x03K\x01t"), "unsupported type");
  err("nomember.pt", tensor_pickle("FloatStorage", 6, 0, "(K\x02K\x03t", "(K\x03K\x01t"), "has no member archive/data/0", {});
  err("cycle.pt", std::string("\x80\x02]q\x00h\x00" "a.", 9), "reference cycle");
  err("deep.pt", "\x80\x02" + std::string(300, ']') + std::string(299, 'a') + ".", "nesting deeper than 256");
  err("opcode.pt", "\x80\x02\xff.", "unsupported opcode 0xff");
  err("memo.pt", "\x80\x02h\x07.", "memo key 7 read before it was written");
  err("stack.pt", "\x80\x02R.", "REDUCE on an empty stack");
  err("unterminated.pt", "\x80\x02]", "truncated");
  err("proto.pt", "\x80\x09N.", "unsupported pickle protocol 9");
  err("longstr.pt", std::string("\x80\x02X\xff\xff\xff\x7f", 7), "truncated");
}

TEST_CASE("Value trees: building, equality, typed conversions") {
  Value d = Value::dict();
  d.set("n", 3).set("pi", 3.25).set("name", "fno").set("flag", true).set("none", Value());
  d.set("t", Tensor<double, 2>::from_data({2, 2}, {1, 2, 3, 4}));
  d.set("l", Value::list({1, 2, Value::tuple({"a", 2.5})}));
  CHECK(d.at("n").as<int>() == 3);
  CHECK(d.at("n").to<double>() == 3.0);
  CHECK_THROWS_AS((void)d.at("n").as<double>(), io_error);
  CHECK(d.at("pi").as<float>() == 3.25f);
  CHECK(d.at("name").as<std::string>() == "fno");
  CHECK(d.at("t").as<Tensor<double, 2>>().at(1, 0) == 3.0);
  CHECK(d.at("t").to<Tensor<float, 2>>().at(1, 1) == 4.0f);
  CHECK(d.at("l").at(std::size_t(2)).at(std::size_t(0)).as<std::string>() == "a");
  CHECK(d.repr() == "{'n': 3, 'pi': 3.25, 'name': 'fno', 'flag': True, 'none': None, 't': float64 tensor [2, 2], "
                    "'l': [1, 2, ('a', 2.5)]}");
  const auto path = iotest::temp_path("tree.pt");
  io::save_pt(path, d);
  CHECK(io::load_pt(path).equals(d));
  auto msg = test::error_message<io_error>([&] { (void)d.at("l").at(std::size_t(5)); });
  CHECK(msg.find("index 5 is out of range") != std::string::npos);
  Value big = Value::dict();
  big.set("x", Value(Opaque{"torch.device", true, {}, {}}));
  msg = test::error_message<io_error>([&] { io::save_pt(iotest::temp_path("opaque.pt"), big); });
  CHECK(msg.find("cannot save the opaque Python object torch.device") != std::string::npos);
  // complex -> real is refused, real -> complex is exact
  const Value c = Tensor<std::complex<float>, 1>::from_data({1}, {std::complex<float>(1, 2)});
  CHECK_THROWS_AS((void)(c.to<Tensor<float, 1>>()), io_error);
  CHECK(Value(Tensor<float, 1>::from_data({1}, {2.f})).to<Tensor<std::complex<double>, 1>>().at(0) ==
        std::complex<double>(2, 0));
}
