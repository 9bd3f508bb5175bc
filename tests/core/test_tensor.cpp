// Tensor construction, views, in-place writes, aliasing, Eigen access, printing, bad input.
#include <sstream>

#include "../helpers.hpp"

using namespace neuralop;

TEST_CASE("construction: zeros, filled, from_data, shape and numel") {
  Tensor<float, 3> z({2, 3, 4});
  CHECK(z.numel() == 24);
  CHECK(z.shape() == Shape<3>{2, 3, 4});
  CHECK(z.size(-1) == 4);
  for (float v : z.to_vector()) CHECK(v == 0.f);
  Tensor<double, 2> f({2, 2}, 1.5);
  CHECK(f.at(1, 1) == 1.5);
  auto t = Tensor<float, 2>::from_data({2, 3}, {1, 2, 3, 4, 5, 6});
  CHECK(t.at(1, 0) == 4.f);
  CHECK(t.strides() == Strides<2>{3, 1});
  Tensor<double, 0> s({}, 3.0);
  CHECK(s.item() == 3.0);
  CHECK(Tensor<float, 1>().defined() == false);
}

TEST_CASE("bad shapes and counts throw errors naming the problem") {
  auto msg = test::error_message<value_error>([] { Tensor<float, 2> t({2, 0}); });
  CHECK(msg.find("size 0 at axis 1") != std::string::npos);
  CHECK(msg.find("[2, 0]") != std::string::npos);
  msg = test::error_message<value_error>([] { Tensor<float, 3>::empty({-3, 2, 2}); });
  CHECK(msg.find("-3") != std::string::npos);
  msg = test::error_message<shape_error>([] { Tensor<float, 2>::from_data({2, 2}, {1, 2, 3}); });
  CHECK(msg.find("3 values") != std::string::npos);
  CHECK(msg.find("[2, 2]") != std::string::npos);
  Tensor<float, 2> t({2, 3});
  msg = test::error_message<shape_error>([&] { (void)t.at(2, 0); });
  CHECK(msg.find("[2, 0]") != std::string::npos);
  CHECK_THROWS_AS((void)t.size(2), shape_error);
  CHECK_THROWS_AS((void)t.item(), shape_error);
  Tensor<float, 2> null;
  CHECK_THROWS_AS(null.fill(1.f), value_error);
  CHECK_THROWS_AS((void)(null + 1.f), value_error);
}

TEST_CASE("copies share storage; clone does not; operator= rebinds") {
  auto a = Tensor<float, 1>::from_data({3}, {1, 2, 3});
  Tensor<float, 1> b = a;
  b.fill(7.f);
  CHECK(a.at(0) == 7.f);
  auto c = a.clone();
  c.fill(1.f);
  CHECK(a.at(0) == 7.f);
  Tensor<float, 1> d = a;
  d = a + 1.f;  // a new result; a is untouched
  CHECK(a.at(0) == 7.f);
  CHECK(d.at(0) == 8.f);
  a += 1.f;  // in place, visible through b
  CHECK(b.at(2) == 8.f);
}

TEST_CASE("reshape and operator[] share storage") {
  auto t = Tensor<float, 3>::from_data({2, 3, 2}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  auto r = t.reshape(6, -1);
  CHECK(r.shape() == Shape<2>{6, 2});
  CHECK(r.at(5, 1) == 11.f);
  r.at(0, 0) = 100.f;
  CHECK(t.at(0, 0, 0) == 100.f);
  auto row = t[1];
  CHECK(row.shape() == Shape<2>{3, 2});
  CHECK(row.at(2, 1) == 11.f);
  CHECK_THROWS_AS((void)t[2], shape_error);
  CHECK_THROWS_AS((void)t.reshape(5, 2), shape_error);
}

TEST_CASE("slices are strided views: reading, writing, chaining, errors") {
  auto t = Tensor<float, 2>::from_data({3, 4}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  auto col = t.slice(1, 1, 3);  // columns 1..2
  CHECK(col.shape() == Shape<2>{3, 2});
  CHECK_FALSE(col.is_contiguous());
  Tensor<float, 2> copy = col;
  CHECK(copy.to_vector() == std::vector<float>{1, 2, 5, 6, 9, 10});
  col = col * 10.f;  // writes through
  CHECK(t.to_vector() == std::vector<float>{0, 10, 20, 3, 4, 50, 60, 7, 8, 90, 100, 11});
  t.slice(0, 2, 3).assign(-1.f);
  CHECK(t.at(2, 3) == -1.f);
  auto sub = t.slice(0, 0, 2).slice(1, 2, 4);
  CHECK(Tensor<float, 2>(sub).to_vector() == std::vector<float>{20, 3, 60, 7});
  auto msg = test::error_message<shape_error>([&] { (void)t.slice(1, 3, 3); });
  CHECK(msg.find("[3, 3)") != std::string::npos);
  CHECK_THROWS_AS((void)t.slice(1, 2, 5), shape_error);
  CHECK_THROWS_AS((void)t.slice(2, 0, 1), shape_error);
}

TEST_CASE("assign broadcasts into the destination and rejects shapes that do not fit") {
  Tensor<double, 3> t({2, 3, 4});
  auto bias = Tensor<double, 2>::from_data({3, 1}, {1, 2, 3});
  t.assign(bias);
  CHECK(t.at(1, 2, 3) == 3.0);
  CHECK(t.at(0, 0, 0) == 1.0);
  auto msg = test::error_message<shape_error>([&] { t.assign(Tensor<double, 1>({3})); });
  CHECK(msg.find("[2, 3, 4]") != std::string::npos);
}

TEST_CASE("overlapping reads and writes are evaluated through a temporary") {
  auto t = Tensor<float, 1>::from_data({6}, {0, 1, 2, 3, 4, 5});
  // shift right by one in place: a naive loop would smear t[0] everywhere
  t.slice(0, 1, 6).assign(t.slice(0, 0, 5) + 0.f);
  CHECK(t.to_vector() == std::vector<float>{0, 0, 1, 2, 3, 4});
  auto m = Tensor<float, 2>::from_data({2, 2}, {1, 2, 3, 4});
  // transposed self-read
  m.view().assign(TensorView<const float, 2>(m.storage(), m.data(), {2, 2}, {1, 2}));
  CHECK(m.to_vector() == std::vector<float>{1, 3, 2, 4});
}

TEST_CASE("in-place writes bump the storage version") {
  Tensor<float, 1> t({4});
  const auto v0 = t.version();
  t.fill(1.f);
  t += 1.f;
  t.slice(0, 0, 2).assign(3.f);
  CHECK(t.version() == v0 + 3);
}

TEST_CASE("Eigen TensorMap access is zero-copy and row-major") {
  auto t = Tensor<float, 2>::from_data({2, 3}, {1, 2, 3, 4, 5, 6});
  auto m = t.eigen();
  CHECK(m.data() == t.data());
  CHECK(m(1, 2) == 6.f);
  m(0, 1) = 20.f;
  CHECK(t.at(0, 1) == 20.f);
  // Eigen expressions run on our thread pool device.
  Tensor<float, 2> out({2, 3});
  out.eigen().device(cpu::eigen_device()) = t.eigen() * 2.f;
  CHECK(out.at(1, 0) == 8.f);
}

TEST_CASE("printing shows dtype, shape and values, summarising long axes") {
  std::ostringstream os;
  os << Tensor<float, 2>::from_data({2, 2}, {1, 2, 3, 4});
  CHECK(os.str() == "Tensor(float32, shape [2, 2], cpu)\n[[1, 2],\n [3, 4]]");
  std::ostringstream big;
  big << Tensor<double, 1>({2000}, 0.5);
  CHECK(big.str().find("...") != std::string::npos);
  CHECK(big.str().find("shape [2000]") != std::string::npos);
  std::ostringstream cz;
  cz << Tensor<std::complex<float>, 1>::from_data({1}, {{1.f, -2.f}});
  CHECK(cz.str().find("1-2j") != std::string::npos);
}

TEST_CASE("backend transfers and host copies") {
  auto t = Tensor<double, 2>::from_data({2, 2}, {1, 2, 3, 4});
  auto same = t.to<cpu>();
  CHECK(same.data() == t.data());
  CHECK(t.to_vector() == std::vector<double>{1, 2, 3, 4});
}
