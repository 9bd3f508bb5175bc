// neuralop::data against neuraloperator 2.0.0 (tools/reference/make_data_golden.py): normalizer
// statistics (fit, partial_fit, from_dataset, dict), DefaultDataProcessor and
// Burgers1dTimeDataProcessor outputs in train and eval mode, the Darcy / Burgers loaders' batches;
// plus DataLoader behaviour, Navier-Stokes files written here, and the errors of bad input.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "../golden_helpers.hpp"
#include "../helpers.hpp"
#include "../io/io_test_util.hpp"
#include "neuralop/data/data.hpp"

using namespace neuralop;

namespace {

const io::Value& golden() {
  static const io::Value g = io::load_pt(std::string(NEURALOP_SOURCE_DIR) + "/tests/data/golden/data.pt");
  return g;
}
std::string data_root() { return iotest::data_dir(); }

std::vector<index_t> shape_of(const io::Value& v) { return v.tensor().shape; }
template <class T, std::size_t R>
std::vector<index_t> shape_of(const Tensor<T, R>& t) {
  return {t.shape().begin(), t.shape().end()};
}

// |a - g| <= atol + rtol |g| elementwise (NaN matches NaN), shapes equal.
template <class T, std::size_t R>
void check_close(const Tensor<T, R>& a, const io::Value& g, double rtol, double atol = 0.0) {
  INFO("golden " << g.where());
  REQUIRE(shape_of(a) == shape_of(g));
  const auto av = a.to_vector();
  const auto gv = g.tensor().to_vector<double>();
  double worst = 0;
  std::size_t bad = 0;
  for (std::size_t i = 0; i < gv.size(); ++i) {
    const double x = double(av[i]), y = gv[i];
    if (std::isnan(y) || std::isnan(x)) {
      bad += std::isnan(x) != std::isnan(y);
      continue;
    }
    const double e = std::abs(x - y);
    if (e > atol + rtol * std::abs(y)) ++bad;
    worst = std::max(worst, e / std::max(std::abs(y), 1e-30));
  }
  INFO("worst relative error " << worst);
  CHECK(bad == 0);
}
template <class T, std::size_t R>
void check_equal(const Tensor<T, R>& a, const io::Value& g) {
  check_close(a, g, 0.0, 0.0);
}
std::vector<std::string> strings(const io::Value& v) { return test::list_of<std::string>(v); }
std::optional<std::vector<int>> dims(const io::Value& v) {
  if (v.is_none()) return std::nullopt;
  return test::ints(v);
}

data::DarcyOptions darcy_options() {
  return {.data_root = data_root(), .n_train = 1000, .n_tests = {100, 50}, .batch_size = 4, .test_batch_sizes = {2, 2}};
}

// A torch.save'd {"x": x, "y": y} file.
template <class TX, std::size_t RX, class TY, std::size_t RY>
void write_xy(const std::string& path, const Tensor<TX, RX>& x, const Tensor<TY, RY>& y) {
  io::Value d = io::Value::dict();
  d.set("x", x).set("y", y);
  io::save_pt(path, d);
}

// A folder of nsforcing_{train,test}_128.pt files (train 6 samples, test 3), float32 [n, 128, 128].
std::string ns_folder() {
  static const std::string dir = [] {
    const auto d = iotest::temp_path("ns");
    std::filesystem::create_directories(d);
    Generator g(7);
    write_xy(d + "/nsforcing_train_128.pt", Tensor<float, 3>::normal({6, 128, 128}, 0, 1, g),
             Tensor<float, 3>::normal({6, 128, 128}, 2, 3, g));
    write_xy(d + "/nsforcing_test_128.pt", Tensor<float, 3>::normal({3, 128, 128}, 0, 1, g),
             Tensor<float, 3>::normal({3, 128, 128}, 2, 3, g));
    return d;
  }();
  return dir;
}

}  // namespace

// ------------------------------------------------------------------ normalizers

TEST_CASE("UnitGaussianNormalizer fitted on the Darcy train set matches NeuralOperator (channel-wise and pixel-wise)" * doctest::skip(!iotest::have_sample_data())) {
  const auto& g = golden().at("darcy");
  for (const char* enc : {"channel-wise", "pixel-wise"}) {
    INFO("encoding " << enc);
    auto o = darcy_options();
    o.encode_input = true;
    o.encoding = enc;
    const data::DarcyDataset<float> ds(o);
    const auto& p = ds.data_processor();
    REQUIRE(p.in_normalizer());
    REQUIRE(p.out_normalizer());
    const auto& e = g.at(std::string(enc) == "channel-wise" ? "channel_wise" : "pixel_wise");
    check_close(p.in_normalizer()->mean(), e.at("x").at("mean"), 1e-6, 1e-7);
    check_close(p.in_normalizer()->std(), e.at("x").at("std"), 1e-6, 1e-7);
    check_close(p.out_normalizer()->mean(), e.at("y").at("mean"), 1e-6, 1e-7);
    check_close(p.out_normalizer()->std(), e.at("y").at("std"), 1e-6, 1e-7);
    if (std::string(enc) == "channel-wise") {  // the spec's reference numbers
      CHECK(p.in_normalizer()->mean().item() == doctest::Approx(0.4994453192).epsilon(1e-7));
      CHECK(p.in_normalizer()->std().item() == doctest::Approx(0.5000006557).epsilon(1e-7));
      CHECK(p.out_normalizer()->mean().item() == doctest::Approx(0.3863156140).epsilon(1e-7));
      CHECK(p.out_normalizer()->std().item() == doctest::Approx(0.3399716020).epsilon(1e-7));
      CHECK(shape_of(p.out_normalizer()->mean()) == std::vector<index_t>{1, 1, 1, 1});
    } else {
      CHECK(shape_of(p.out_normalizer()->mean()) == std::vector<index_t>{1, 1, 16, 16});
    }
  }
}

TEST_CASE("UnitGaussianNormalizer fit and partial_fit (n/(n-1) quirk) match NeuralOperator, with transforms") {
  const auto& g = golden().at("partial_fit");
  const auto x = g.at("data").as<Tensor<float, 3>>();
  const auto probe = g.at("probe").as<Tensor<float, 3>>();
  int n_cases = 0;
  for (const auto& [k, c] : g.at("cases").items()) {
    const std::string name = k.as<std::string>();
    INFO("case " << name);
    data::UnitGaussianNormalizer<float, 3> n(dims(c.at("dim")));
    const index_t bs = c.at("batch_size").as<index_t>();
    if (bs == 0) n.fit(x);
    else n.partial_fit(x, bs);
    CHECK(n.n_elements() == c.at("n_elements").as<index_t>());
    check_close(n.mean(), c.at("mean"), 2e-6, 1e-6);
    check_close(n.std(), c.at("std"), 2e-6, 1e-6);
    check_close(n.squared_mean(), c.at("squared_mean"), 2e-6, 1e-6);
    check_close(n.transform(probe), c.at("transform"), 2e-6, 1e-6);
    check_close(n.inverse_transform(probe), c.at("inverse_transform"), 2e-6, 1e-6);
    ++n_cases;
  }
  CHECK(n_cases == 16);
}

TEST_CASE("UnitGaussianNormalizer on Vars: transform and inverse_transform are differentiable") {
  const auto x = Tensor<double, 3>::normal({5, 2, 4});
  data::UnitGaussianNormalizer<double, 3> n(std::vector<int>{0, 2});
  n.fit(x);
  Var<double, 3> v(Tensor<double, 3>::normal({3, 2, 4}), true);
  const auto y = n.inverse_transform(v);
  check_close(y.value(), io::Value(n.inverse_transform(v.value())), 0.0);
  sum(y).backward();
  const auto s = n.std().to_vector();
  const auto gv = v.grad().to_vector();
  for (std::size_t i = 0; i < gv.size(); ++i) CHECK(gv[i] == doctest::Approx(s[(i / 4) % 2] + 1e-7).epsilon(1e-14));
  Var<double, 3> w(Tensor<double, 3>::normal({3, 2, 4}), true);
  sum(n.transform(w)).backward();
  const auto gw = w.grad().to_vector();
  for (std::size_t i = 0; i < gw.size(); ++i) CHECK(gw[i] == doctest::Approx(1.0 / (s[(i / 4) % 2] + 1e-7)).epsilon(1e-12));
  // Higher-rank data broadcast against the statistics (the Burgers input normalizer).
  // Statistics [1, 2, 1] seen right-aligned as [1, 1, 2, 1].
  const Tensor<double, 4> x4 = Tensor<double, 4>::normal({2, 5, 2, 4});
  const auto t4 = n.transform(x4);
  CHECK(t4.at(1, 3, 1, 3) == doctest::Approx((x4.at(1, 3, 1, 3) - n.mean().at(0, 1, 0)) / (n.std().at(0, 1, 0) + 1e-7)));
  CHECK(test::error_message<shape_error>([&] { (void)n.transform(Tensor<double, 4>::zeros({2, 2, 3, 4})); }).find("[1, 2, 1]") !=
        std::string::npos);
}

TEST_CASE("UnitGaussianNormalizer state_dict: buffers mean and std, absent until fitted, loadable") {
  data::UnitGaussianNormalizer<float, 4> n(std::vector<int>{0, 2, 3});
  CHECK(n.state_dict().size() == 0);
  CHECK_FALSE(n.fitted());
  CHECK(test::error_message<value_error>([&] { (void)n.transform(Tensor<float, 4>::zeros({1, 2, 3, 3})); }).find("fit") !=
        std::string::npos);
  n.fit(Tensor<float, 4>::normal({4, 2, 3, 3}));
  const auto sd = n.state_dict();
  CHECK(sd.names() == std::vector<std::string>{"mean", "std"});
  CHECK(sd.at("mean").shape == std::vector<index_t>{1, 2, 1, 1});
  const auto path = iotest::temp_path("normalizer.pt");
  io::save_state_dict(n, path);
  data::UnitGaussianNormalizer<float, 4> m;
  io::load_state_dict(m, path);
  check_equal(m.mean(), io::Value(n.mean()));
  check_equal(m.std(), io::Value(n.std()));
  // The buffers' backend-memory copies (host memory on cpu), as NCCL data-parallel training
  // moves a model's buffers.
  {
    const auto nb = n.named_buffers(), mb = m.named_buffers();
    REQUIRE(nb.size() == 2);
    REQUIRE(mb.size() == 2);
    CHECK(std::string(nb[0].second->backend_name()) == "cpu");
    std::vector<float> v(nb[0].second->host_nbytes() / sizeof(float)), w(v.size());
    REQUIRE(v.size() == 2);
    nb[0].second->value_to_backend(v.data());
    nb[0].second->value_to_host(w.data());
    CHECK(v == w);
    v = {7.f, -7.f};
    mb[0].second->value_from_backend(v.data());
    CHECK(m.mean().to_vector() == v);
  }
  io::StateDict bad;
  bad.set("mean", Tensor<float, 4>::zeros({1, 2, 1, 1}));
  CHECK(test::error_message<value_error>([&] { m.load_state_dict(bad); }).find("'std'") != std::string::npos);
  bad.set("std", Tensor<float, 4>::zeros({1, 3, 1, 1}));
  CHECK(test::error_message<shape_error>([&] { m.load_state_dict(bad); }).find("[1, 3, 1, 1]") != std::string::npos);
  // dim checks
  CHECK(test::error_message<value_error>([] { data::UnitGaussianNormalizer<float, 3> b(std::vector<int>{0, 3}); }).find("dim 3") !=
        std::string::npos);
  CHECK(test::error_message<value_error>([] { data::UnitGaussianNormalizer<float, 3> b(std::vector<int>{0, -3}); })
            .find("more than once") != std::string::npos);
}

TEST_CASE("unit_gaussian_normalizers_from_dataset: partial_fit per sample as NeuralOperator's from_dataset" * doctest::skip(!iotest::have_sample_data())) {
  const auto& g = golden().at("from_dataset");
  auto o = darcy_options();
  o.n_train = 20;
  o.n_tests = {5};
  o.test_batch_sizes = {4};
  o.test_resolutions = {16};
  const data::DarcyDataset<float> ds(o);
  const auto n = data::unit_gaussian_normalizers_from_dataset(ds.train_db(), std::vector<int>{0, 2, 3});
  for (const char* k : {"x", "y"}) {
    INFO("field " << k);
    const auto& nn = std::string(k) == "x" ? *n.x : *n.y;
    check_close(nn.mean(), g.at(k).at("mean"), 1e-5, 1e-6);
    check_close(nn.std(), g.at(k).at("std"), 1e-5, 1e-6);
    CHECK(nn.n_elements() == g.at(k).at("n_elements").as<index_t>());
  }
}

TEST_CASE("DictUnitGaussianNormalizer: per-field channel ranges, uncovered channels zero, Vars") {
  const auto& g = golden().at("dict");
  const auto x = g.at("data").as<Tensor<float, 3>>();
  const auto probe = g.at("probe").as<Tensor<float, 3>>();
  auto na = std::make_shared<data::UnitGaussianNormalizer<float, 3>>(std::vector<int>{0, 2});
  na->fit(slice(x, 1, 0, 2));
  auto nb = std::make_shared<data::UnitGaussianNormalizer<float, 3>>();
  nb->fit(slice(x, 1, 3, 4));
  check_close(na->mean(), g.at("a").at("mean"), 1e-6, 1e-7);
  check_close(nb->std(), g.at("b").at("std"), 1e-6, 1e-7);
  const data::DictUnitGaussianNormalizer<float, 3> d({{"a", na, {0, 2}, data::ChannelRange{0, 2}}, {"b", nb, {3, 4}, data::ChannelRange{0, 1}}});
  check_close(d.transform(probe), g.at("transform"), 1e-6, 1e-6);
  check_close(d.inverse_transform(probe), g.at("inverse_transform"), 1e-6, 1e-6);
  Var<float, 3> v(probe, true);
  const Var<float, 3> y = d.inverse_transform(v);
  check_close(y.value(), g.at("inverse_transform"), 1e-6, 1e-6);
  sum(y).backward();
  CHECK(v.grad().at(1, 2, 1) == 0.0f);  // channel 2 belongs to no field
  CHECK(v.grad().at(1, 3, 1) == doctest::Approx(nb->std().item() + 1e-7f));
  CHECK(test::error_message<shape_error>([&] { (void)d.transform(Tensor<float, 3>::zeros({1, 3, 2})); }).find("'b'") !=
        std::string::npos);
  CHECK(test::error_message<value_error>([&] { data::DictUnitGaussianNormalizer<float, 3> e({{"a", na, {0, 2}, data::ChannelRange{0, 1}}}); })
            .find("return mapping") != std::string::npos);
}

// ------------------------------------------------------------------ processors

TEST_CASE("DefaultDataProcessor: y normalised in training only, output de-normalised in evaluation only" * doctest::skip(!iotest::have_sample_data())) {
  const auto& g = golden().at("darcy");
  for (const char* which : {"processor", "processor_in_out"}) {
    INFO(which);
    auto o = darcy_options();
    o.encode_input = std::string(which) == "processor_in_out";
    auto loaded = data::load_darcy_flow_small<float>(o);
    auto& p = loaded.processor;
    const auto b0 = *loaded.train.begin();
    const Var<float, 4> out(g.at("model_out").as<Tensor<float, 4>>());
    for (const char* mode : {"train", "eval"}) {
      INFO("mode " << mode);
      if (std::string(mode) == "train") p.train();
      else p.eval();
      CHECK(p.training() == (std::string(mode) == "train"));
      auto m = p.preprocess(b0);
      const auto& e = g.at(which).at(mode);
      check_close(m.x, e.at("x"), 1e-6, 1e-6);
      check_close(m.y, e.at("y"), 1e-6, 1e-6);
      check_close(p.postprocess(out, m).value(), e.at("out"), 1e-6, 1e-6);
    }
    const auto keys = strings(g.at(std::string(which) + "_keys"));
    CHECK(p.state_dict().names() == keys);
  }
}

TEST_CASE("DefaultDataProcessor: state_dict round trip, backend copy, positional encoding, identity processor" * doctest::skip(!iotest::have_sample_data())) {
  auto loaded = data::load_darcy_pt<float>(darcy_options());
  auto& p = loaded.processor;
  CHECK(p.in_normalizer() == nullptr);
  const auto sd = p.state_dict();
  auto fresh = std::make_shared<data::UnitGaussianNormalizer<float, 4>>();
  data::DefaultDataProcessor<float, 4, 4> q(nullptr, fresh);
  q.load_state_dict(sd);
  check_equal(fresh->std(), io::Value(p.out_normalizer()->std()));
  io::StateDict extra = sd;
  extra.set("in_normalizer.mean", Tensor<float, 4>::zeros({1, 1, 1, 1}));
  CHECK(test::error_message<value_error>([&] { q.load_state_dict(extra); }).find("in_normalizer.mean") != std::string::npos);
  const auto c = p.to<cpu>();
  CHECK(c.out_normalizer() != p.out_normalizer());
  check_equal(c.out_normalizer()->mean(), io::Value(p.out_normalizer()->mean()));

  // Grid channels: cell-left coordinates i/N after the data channels, after normalisation.
  data::DefaultDataProcessor<float, 4, 4> pe(nullptr, nullptr, data::GridPositionalEncoding{});
  data::Batch<float, 4> b{Tensor<float, 4>::ones({2, 1, 4, 8}), Tensor<float, 4>::ones({2, 1, 4, 8})};
  const auto m = pe.preprocess(b);
  CHECK(shape_of(m.x) == std::vector<index_t>{2, 3, 4, 8});
  CHECK(m.x.at(1, 0, 3, 7) == 1.0f);
  CHECK(m.x.at(1, 1, 3, 0) == 0.75f);
  CHECK(m.x.at(0, 2, 0, 5) == 0.625f);
  CHECK(m.x.at(0, 1, 0, 5) == 0.0f);

  data::IdentityProcessor<data::Batch<float, 4>> id;
  const auto mb = id.preprocess(b);
  CHECK(mb.x.data() == b.x.data());
  id.eval();
  CHECK_FALSE(id.training());
  static_assert(data::DataProcessor<data::DefaultDataProcessor<float, 4, 4>>);
  static_assert(data::DataProcessor<data::Burgers1dTimeDataProcessor<float>>);
  static_assert(data::DataProcessor<data::IdentityProcessor<data::Batch<float, 4>>>);
}

// ------------------------------------------------------------------ Darcy loaders

TEST_CASE("load_darcy_flow_small: the batches, counts and sample values of NeuralOperator's loaders" * doctest::skip(!iotest::have_sample_data())) {
  const auto& g = golden().at("darcy");
  const auto d = data::load_darcy_flow_small<float>(darcy_options());
  CHECK(d.train.size() == g.at("n_train_batches").as<index_t>());
  CHECK(d.train.n_samples() == 1000);
  CHECK_FALSE(d.train.options().shuffle);
  REQUIRE(d.tests.size() == 2);
  CHECK(d.tests.at(16).n_samples() == g.at("n_test16").as<index_t>());  // 100 asked, the file holds 50
  CHECK(d.tests.at(32).n_samples() == g.at("n_test32").as<index_t>());
  const auto order = d.train.order(0);
  const auto b0 = d.train.batch(order, 0);
  check_equal(b0.x, g.at("train_batch0").at("x"));
  check_equal(b0.y, g.at("train_batch0").at("y"));
  for (int r : {16, 32}) {
    const auto& l = d.tests.at(r);
    const auto t0 = l.batch(l.order(0), 0);
    check_equal(t0.x, g.at("test" + std::to_string(r) + "_batch0").at("x"));
    check_equal(t0.y, g.at("test" + std::to_string(r) + "_batch0").at("y"));
  }
  // The spec's sample values (Fortran-ordered storage read through its strides).
  const auto& y = d.train.dataset().y();
  CHECK(y.at(0, 0, 0, 0) == 1.1645014e-05f);
  CHECK(y.at(0, 0, 0, 1) == 3.8865590e-04f);
  CHECK(y.at(0, 0, 1, 0) == 3.8803089e-04f);
  CHECK(y.at(1, 0, 0, 0) == 1.2979316e-05f);
  CHECK(y.at(0, 0, 15, 15) == 0.22904147f);
  CHECK(d.tests.at(16).dataset().y().at(0, 0, 0, 0) == 1.7661466e-04f);
  CHECK(d.tests.at(32).dataset().y().at(0, 0, 15, 15) == 0.5515368f);
  const auto xv = d.train.dataset().x().to_vector();
  CHECK(std::count(xv.begin(), xv.end(), 1.0f) == 127858);
  CHECK(std::count(xv.begin(), xv.end(), 0.0f) == 256000 - 127858);
}

TEST_CASE("DarcyDataset subsampling: only the first data axis is stepped, as PTDataset's rank arithmetic does" * doctest::skip(!iotest::have_sample_data())) {
  const auto& g = golden().at("darcy_sub");
  const data::DarcyDataset<float> ds({.data_root = data_root(), .n_train = 10, .n_tests = {5}, .batch_size = 4, .test_batch_sizes = {4},
                                      .test_resolutions = {16}, .subsampling_rate = index_t{2}});
  CHECK(shape_of(ds.train_db().x()) == std::vector<index_t>(test::list_of<index_t>(g.at("x_shape"))));
  CHECK(shape_of(ds.train_db().y()) == std::vector<index_t>(test::list_of<index_t>(g.at("y_shape"))));
  CHECK(shape_of(ds.test_dbs().at(16).x()) == std::vector<index_t>(test::list_of<index_t>(g.at("test_x_shape"))));
  check_equal(ds.train_db().x()[0], g.at("x0"));
  check_equal(ds.train_db().y()[0], g.at("y0"));
  check_close(ds.data_processor().out_normalizer()->mean(), g.at("y_mean"), 1e-6, 1e-7);
  check_close(ds.data_processor().out_normalizer()->std(), g.at("y_std"), 1e-6, 1e-7);
  // A per-axis list needs one entry per "data axis" (stored rank 3 - 2 = 1).
  CHECK(test::error_message<value_error>([] {
          data::DarcyDataset<float> b({.data_root = data_root(), .n_train = 10, .n_tests = {5}, .test_batch_sizes = {4},
                                       .test_resolutions = {16}, .subsampling_rate = std::vector<index_t>{2, 2}});
        }).find("1 data axes") != std::string::npos);
}

TEST_CASE("load_darcy_pt in double: x 0/1, y converted, statistics in double" * doctest::skip(!iotest::have_sample_data())) {
  auto o = darcy_options();
  o.n_train = 100;
  o.n_tests = {10};
  o.test_batch_sizes = {10};
  o.test_resolutions = {32};
  const auto d = data::load_darcy_pt<double>(o);
  CHECK(d.train.dataset().y().at(0, 0, 0, 1) == double(3.8865590e-04f));
  CHECK(d.tests.at(32).n_samples() == 10);
  CHECK(d.processor.out_normalizer()->mean().item() > 0.3);
}

// ------------------------------------------------------------------ Burgers

TEST_CASE("Burgers1dTimeDataset and its processor match NeuralOperator (x repeated along time, float and double)" * doctest::skip(!iotest::have_sample_data())) {
  const auto& g = golden().at("burgers");
  auto run = [&]<class T>(T, double rtol) {
    const data::Burgers1dTimeDataset<T> ds({.root_dir = data_root(), .n_train = 10, .n_tests = {10}, .batch_size = 2, .test_batch_sizes = {2},
                                            .temporal_subsample = 1, .spatial_subsample = 1});
    auto l = ds.loaders(2, {2}, false);
    auto p = l.processor;
    check_close(p.in_normalizer()->mean(), g.at("in").at("mean"), rtol, 1e-7);
    check_close(p.in_normalizer()->std(), g.at("in").at("std"), rtol, 1e-7);
    check_close(p.out_normalizer()->mean(), g.at("out").at("mean"), rtol, 1e-7);
    check_close(p.out_normalizer()->std(), g.at("out").at("std"), rtol, 1e-7);
    CHECK(l.train.n_samples() == g.at("n_train").as<index_t>());
    CHECK(l.tests.at(16).n_samples() == g.at("n_test").as<index_t>());
    const auto b0 = l.train.batch(l.train.order(0), 0);
    check_close(b0.x, g.at("train_batch0").at("x"), 0.0);  // x is float32 in NeuralOperator
    check_close(b0.y, g.at("train_batch0").at("y"), std::is_same_v<T, float> ? 6e-8 : 0.0);
    const auto t0 = l.tests.at(16).batch(l.tests.at(16).order(0), 0);
    check_close(t0.y, g.at("test_batch0").at("y"), std::is_same_v<T, float> ? 6e-8 : 0.0);
    const Var<T, 4> out(g.at("model_out").template to<Tensor<T, 4>>());
    for (const char* mode : {"train", "eval"}) {
      INFO("mode " << mode);
      if (std::string(mode) == "train") p.train();
      else p.eval();
      auto m = p.preprocess(b0);
      const auto& e = g.at("processor").at(mode);
      CHECK(shape_of(m.x) == std::vector<index_t>{2, 1, 17, 16});
      check_close(m.x, e.at("x"), rtol, 1e-6);
      check_close(m.y, e.at("y"), rtol, 1e-6);
      check_close(p.postprocess(out, m).value(), e.at("out"), rtol, 1e-6);
    }
  };
  SUBCASE("float") { run(float{}, 2e-6); }
  SUBCASE("double") { run(double{}, 1e-6); }
}

TEST_CASE("load_mini_burgers_1dtime: shuffled train loader, a permutation per epoch, fixed by the seed" * doctest::skip(!iotest::have_sample_data())) {
  const auto l = data::load_mini_burgers_1dtime<float>(
      {.data_path = data_root(), .n_train = 40, .n_test = 8, .batch_size = 8, .test_batch_size = 4, .seed = 5});
  CHECK(l.train.options().shuffle);
  CHECK_FALSE(l.tests.at(16).options().shuffle);
  CHECK(shape_of(l.train.dataset().x()) == std::vector<index_t>{40, 1, 16});
  CHECK(shape_of(l.train.dataset().y()) == std::vector<index_t>{40, 1, 17, 16});
  const auto o0 = l.train.order(0), o1 = l.train.order(1);
  CHECK(o0 != o1);
  CHECK(std::set<index_t>(o0.begin(), o0.end()).size() == 40);
  const auto again = data::load_mini_burgers_1dtime<float>(
      {.data_path = data_root(), .n_train = 40, .n_test = 8, .batch_size = 8, .test_batch_size = 4, .seed = 5});
  CHECK(again.train.order(1) == o1);
  // The sample batch k holds is sample order[k * 8 + i] of the dataset.
  const auto b = l.train.batch(o1, 2);
  CHECK(b.y.at(3, 0, 5, 7) == l.train.dataset().y().at(o1[19], 0, 5, 7));
  // temporal_subsample has no effect with these files (PTDataset's rank arithmetic).
  const auto s = data::load_mini_burgers_1dtime<float>(
      {.data_path = data_root(), .n_train = 4, .n_test = 4, .batch_size = 2, .test_batch_size = 2, .temporal_subsample = 2, .spatial_subsample = 2});
  CHECK(shape_of(s.train.dataset().y()) == std::vector<index_t>{4, 1, 17, 16});
  CHECK(shape_of(s.train.dataset().x()) == std::vector<index_t>{4, 1, 16});
}

// ------------------------------------------------------------------ Navier-Stokes (files made here)

TEST_CASE("load_navier_stokes_pt reads nsforcing_{train,test}_{res}.pt") {
  const auto d = data::load_navier_stokes_pt<float>(
      {.data_root = ns_folder(), .n_train = 5, .n_tests = {10}, .batch_size = 2, .test_batch_sizes = {2}, .encode_input = true});
  CHECK(shape_of(d.train.dataset().x()) == std::vector<index_t>{5, 1, 128, 128});
  CHECK(d.tests.at(128).n_samples() == 3);
  CHECK(d.train.size() == 3);
  CHECK(d.processor.out_normalizer()->mean().item() == doctest::Approx(2.0).epsilon(0.01));
  CHECK(d.processor.out_normalizer()->std().item() == doctest::Approx(3.0).epsilon(0.01));
  CHECK(test::error_message<value_error>([] {
          (void)data::load_navier_stokes_pt<float>({.data_root = ns_folder(), .n_train = 5, .n_tests = {1}, .batch_size = 2,
                                                    .test_batch_sizes = {2}, .test_resolutions = {64}});
        }).find("resolution 64") != std::string::npos);
}

// ------------------------------------------------------------------ bad input

TEST_CASE("data loaders: bad input gives clear errors" * doctest::skip(!iotest::have_sample_data())) {
  auto o = darcy_options();
  SUBCASE("missing file names the path") {
    o.test_resolutions = {16, 64};
    const auto m = test::error_message<io_error>([&] { (void)data::load_darcy_pt<float>(o); });
    CHECK(m.find("darcy_test_64.pt") != std::string::npos);
    CHECK(m.find(data_root()) != std::string::npos);
    o.test_resolutions = {16, 32};
    o.data_root = iotest::temp_path("nowhere");
    CHECK(test::error_message<io_error>([&] { (void)data::load_darcy_flow_small<float>(o); }).find("nowhere/darcy_train_16.pt") !=
          std::string::npos);
  }
  SUBCASE("data_root is required") {
    o.data_root = "";
    CHECK(test::error_message<value_error>([&] { (void)data::load_darcy_pt<float>(o); }).find("required") != std::string::npos);
  }
  SUBCASE("n_train beyond the file says how many there are") {
    o.n_train = 1001;
    const auto m = test::error_message<value_error>([&] { (void)data::load_darcy_pt<float>(o); });
    CHECK(m.find("1001") != std::string::npos);
    CHECK(m.find("holds only 1000") != std::string::npos);
    o.n_train = 0;
    CHECK(test::error_message<value_error>([&] { (void)data::load_darcy_pt<float>(o); }).find("n_train") != std::string::npos);
  }
  SUBCASE("unknown encoding") {
    o.encoding = "channelwise";
    CHECK(test::error_message<value_error>([&] { (void)data::load_darcy_pt<float>(o); }).find("'channelwise'") != std::string::npos);
  }
  SUBCASE("batch size zero") {
    o.batch_size = 0;
    CHECK(test::error_message<value_error>([&] { (void)data::load_darcy_pt<float>(o); }).find("batch_size") != std::string::npos);
    o.batch_size = 4;
    o.test_batch_sizes = {2, 0};
    CHECK(test::error_message<value_error>([&] { (void)data::load_darcy_pt<float>(o); }).find("batch_size") != std::string::npos);
  }
  SUBCASE("list lengths and resolutions") {
    o.n_tests = {100};
    CHECK(test::error_message<value_error>([&] { (void)data::load_darcy_pt<float>(o); }).find("n_tests") != std::string::npos);
    o.n_tests = {100, 50};
    o.test_batch_sizes = {4};
    CHECK(test::error_message<value_error>([&] { (void)data::load_darcy_pt<float>(o); }).find("test_batch_sizes") != std::string::npos);
    o.test_batch_sizes = {2, 2};
    o.train_resolution = 32;
    CHECK(test::error_message<value_error>([&] { (void)data::load_darcy_flow_small<float>(o); }).find("16") != std::string::npos);
    o.train_resolution = 20;
    CHECK(test::error_message<value_error>([&] { (void)data::load_darcy_pt<float>(o); }).find("resolution 20") != std::string::npos);
  }
  SUBCASE("missing key, wrong rank, complex dtype, x/y counts differ") {
    const auto dir = iotest::temp_path("bad_ns");
    std::filesystem::create_directories(dir);
    auto ns = [&](index_t n_train) {
      return data::NavierStokesOptions{.data_root = dir, .n_train = n_train, .n_tests = {}, .batch_size = 1, .test_batch_sizes = {},
                                       .test_resolutions = {}};
    };
    {
      io::Value d = io::Value::dict();
      d.set("x", Tensor<float, 3>::zeros({2, 128, 128})).set("u", Tensor<float, 3>::zeros({2, 128, 128}));
      io::save_pt(dir + "/nsforcing_train_128.pt", d);
      const auto m = test::error_message<io_error>([&] { (void)data::load_navier_stokes_pt<float>(ns(1)); });
      CHECK(m.find("no key 'y'") != std::string::npos);
      CHECK(m.find("nsforcing_train_128.pt") != std::string::npos);
      CHECK(m.find("'u'") != std::string::npos);
    }
    {
      write_xy(dir + "/nsforcing_train_128.pt", Tensor<float, 2>::zeros({2, 128}), Tensor<float, 3>::zeros({2, 128, 128}));
      CHECK(test::error_message<io_error>([&] { (void)data::load_navier_stokes_pt<float>(ns(1)); }).find("rank-3") != std::string::npos);
    }
    {
      write_xy(dir + "/nsforcing_train_128.pt", Tensor<std::complex<float>, 3>::zeros({2, 128, 128}), Tensor<float, 3>::zeros({2, 128, 128}));
      CHECK(test::error_message<io_error>([&] { (void)data::load_navier_stokes_pt<float>(ns(1)); }).find("complex64") != std::string::npos);
    }
    {
      write_xy(dir + "/nsforcing_train_128.pt", Tensor<float, 3>::zeros({2, 128, 128}), Tensor<float, 3>::zeros({3, 128, 128}));
      CHECK(test::error_message<io_error>([&] { (void)data::load_navier_stokes_pt<float>(ns(1)); }).find("2 x samples but 3 y") !=
            std::string::npos);
    }
    CHECK(test::error_message<shape_error>([] {
            data::TensorDataset<float, 2> t(Tensor<float, 2>::zeros({2, 3}), Tensor<float, 2>::zeros({3, 3}));
          }).find("samples") != std::string::npos);
  }
}

// ------------------------------------------------------------------ DataLoader

TEST_CASE("DataLoader: distributed shards (torch's DistributedSampler): same shuffle, padded equal shards or every sample once") {
  using L = data::DataLoader<data::TensorDataset<float, 2>>;
  std::vector<float> xs(10);
  for (int i = 0; i < 10; ++i) xs[std::size_t(i)] = float(i);
  const data::TensorDataset<float, 2> ds(Tensor<float, 2>::from_data({10, 1}, std::span<const float>(xs)),
                                         Tensor<float, 2>::from_data({10, 1}, std::span<const float>(xs)));
  const L whole(ds, {.batch_size = 6, .shuffle = true, .seed = 7});
  for (const index_t w : {2, 3, 4}) {
    CAPTURE(w);
    std::vector<index_t> seen;
    for (index_t r = 0; r < w; ++r) {
      const L shard(ds, {.batch_size = 2, .shuffle = true, .seed = 7, .num_replicas = w, .rank = r});
      CHECK(shard.shard_samples() == (10 + w - 1) / w);  // padded: equal sizes
      CHECK(shard.size() == ((10 + w - 1) / w + 1) / 2);
      const auto o = shard.order(1);
      for (std::size_t i = 0; i < o.size(); ++i)  // order[r], order[r + w], ..., wrapping around
        CHECK(o[i] == whole.order(1)[(std::size_t(r) + i * std::size_t(w)) % 10]);
      seen.insert(seen.end(), o.begin(), o.end());
      const L exact(ds, {.batch_size = 2, .num_replicas = w, .rank = r, .even_shards = false});
      CHECK(exact.shard_samples() == (10 - r + w - 1) / w);
    }
    std::sort(seen.begin(), seen.end());
    CHECK(std::unique(seen.begin(), seen.end()) - seen.begin() == 10);  // every sample, the pad repeats
  }
  // With batch b on each of 2 ranks, batch k of the ranks together is batch k of size 2b.
  const L r0(ds, {.batch_size = 3, .shuffle = true, .seed = 7, .num_replicas = 2, .rank = 0});
  const L r1(ds, {.batch_size = 3, .shuffle = true, .seed = 7, .num_replicas = 2, .rank = 1});
  for (index_t k = 0; k < 1; ++k) {
    std::vector<float> a = whole.batch(whole.order(0), k).x.to_vector(), b = r0.batch(r0.order(0), k).x.to_vector();
    const auto c = r1.batch(r1.order(0), k).x.to_vector();
    b.insert(b.end(), c.begin(), c.end());
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    CHECK(a == b);
  }
  // More ranks than samples: evaluation shards may be empty.
  const data::TensorDataset<float, 2> small(Tensor<float, 2>::from_data({2, 1}, {1.f, 2.f}), Tensor<float, 2>::from_data({2, 1}, {1.f, 2.f}));
  CHECK(L(small, {.num_replicas = 3, .rank = 2, .even_shards = false}).size() == 0);
  CHECK_THROWS_WITH_AS(L(ds, {.num_replicas = 2, .rank = 2}), doctest::Contains("rank 2 is out of range for num_replicas 2"), value_error);
  CHECK_THROWS_AS(L(ds, {.num_replicas = 0}), value_error);
}

TEST_CASE("DataLoader: order, batches, drop_last, shuffle determinism per (seed, epoch)") {
  std::vector<float> xs(10), ys(10);
  for (int i = 0; i < 10; ++i) xs[std::size_t(i)] = float(i), ys[std::size_t(i)] = float(10 * i);
  const data::TensorDataset<float, 2> ds(Tensor<float, 2>::from_data({10, 1}, std::span<const float>(xs)),
                                         Tensor<float, 2>::from_data({10, 1}, std::span<const float>(ys)));
  SUBCASE("in order, last batch partial") {
    data::DataLoader<data::TensorDataset<float, 2>> l(ds, {.batch_size = 4});
    CHECK(l.size() == 3);
    CHECK(l.n_samples() == 10);
    std::vector<float> seen;
    std::vector<index_t> sizes;
    for (const auto& b : l) {
      sizes.push_back(b.size());
      for (float v : b.x.to_vector()) seen.push_back(v);
      CHECK(b.y.at(0, 0) == 10 * b.x.at(0, 0));
    }
    CHECK(sizes == std::vector<index_t>{4, 4, 2});
    CHECK(seen == xs);
  }
  SUBCASE("drop_last") {
    data::DataLoader<data::TensorDataset<float, 2>> l(ds, {.batch_size = 4, .drop_last = true});
    CHECK(l.size() == 2);
    CHECK(l.n_samples() == 8);
    index_t n = 0;
    for (const auto& b : l) n += b.size();
    CHECK(n == 8);
    CHECK_THROWS_AS((data::DataLoader<data::TensorDataset<float, 2>>(ds, {.batch_size = 11, .drop_last = true})), value_error);
  }
  SUBCASE("shuffle: every sample once per epoch, a pure function of (seed, epoch)") {
    data::DataLoader<data::TensorDataset<float, 2>> a(ds, {.batch_size = 3, .shuffle = true, .seed = 42});
    data::DataLoader<data::TensorDataset<float, 2>> b(ds, {.batch_size = 3, .shuffle = true, .seed = 42});
    data::DataLoader<data::TensorDataset<float, 2>> c(ds, {.batch_size = 3, .shuffle = true, .seed = 43});
    std::vector<std::vector<index_t>> orders;
    for (int e = 0; e < 4; ++e) {
      const auto o = a.order(e);
      CHECK(o == b.order(e));
      std::vector<index_t> s = o;
      std::sort(s.begin(), s.end());
      for (index_t i = 0; i < 10; ++i) CHECK(s[std::size_t(i)] == i);
      orders.push_back(o);
    }
    CHECK(orders[0] != orders[1]);
    CHECK(a.order(0) != c.order(0));
    // Iteration uses the current epoch and advances it; set_epoch replays an epoch.
    std::vector<float> first_pass, replay;
    for (const auto& bt : a)
      for (float v : bt.x.to_vector()) first_pass.push_back(v);
    CHECK(a.epoch() == 1);
    a.set_epoch(0);
    for (const auto& bt : a)
      for (float v : bt.x.to_vector()) replay.push_back(v);
    CHECK(first_pass == replay);
    std::vector<float> expect;
    for (index_t i : orders[0]) expect.push_back(float(i));
    CHECK(first_pass == expect);
  }
  SUBCASE("batch_size zero or negative throws") {
    CHECK(test::error_message<value_error>([&] { data::DataLoader<data::TensorDataset<float, 2>> l(ds, {.batch_size = 0}); })
              .find("batch_size") != std::string::npos);
    CHECK_THROWS_AS((data::DataLoader<data::TensorDataset<float, 2>>(ds, {.batch_size = -1})), value_error);
  }
}

// ------------------------------------------------------------------ nonlinear Poisson (plain pickle)

TEST_CASE("io::load_pickle decodes NumPy arrays and scalars of protocols 2, 4 and 5 without running code") {
  const std::string dir = std::string(NEURALOP_SOURCE_DIR) + "/tests/data/golden/";
  const auto p4 = io::load_pickle(dir + "poisson_tiny_p4.obj");
  REQUIRE(p4.is_list());
  CHECK(p4.size() == 4);
  for (const char* f : {"poisson_tiny_p2.obj", "poisson_tiny_p5.obj"}) {
    INFO(f);
    const auto p = io::load_pickle(dir + f);
    CHECK(p.equals(p4));
  }
  const auto q = p4.at(std::size_t(0)).at("val_points_domain").tensor();  // Fortran-ordered [8, 2]
  CHECK(q.shape == std::vector<index_t>{8, 2});
  CHECK(q.strides == std::vector<index_t>{1, 8});
  const auto c1 = p4.at(std::size_t(3)).at("coefs").at("c1").tensor();
  CHECK(c1.shape.empty());
  CHECK(c1.to_vector<double>()[0] == doctest::Approx(0.3));
  CHECK(p4.at(std::size_t(0)).at("coefs").at("mu_2").tensor().dtype == io::DType::float32);
}

TEST_CASE("NonlinearPoissonDataset builds NeuralOperator's samples (instance shuffle off)") {
  const auto& g = golden().at("poisson");
  const std::string dir = std::string(NEURALOP_SOURCE_DIR) + "/tests/data/golden/";
  data::NonlinearPoissonOptions o{.data_path = dir + "poisson_tiny_p4.obj", .n_train = 2, .n_test = 1, .n_in = 4, .n_out = 5,
                                  .n_bound = 3, .n_eval = 6, .latent_query_res = 4, .domain_padding = 1, .shuffle = false};
  const data::NonlinearPoissonDataset<float> ds(o);
  REQUIRE(ds.train_db().size() == 2);
  REQUIRE(ds.test_db().size() == 1);
  auto check_sample = [](const data::PoissonSample<float>& s, const io::Value& e) {
    check_close(s.x, e.at("x"), 0.0);
    check_close(s.input_geom, e.at("input_geom"), 0.0);
    check_close(s.latent_queries, e.at("latent_queries"), 0.0, 1e-7);
    check_close(s.output_queries_domain, e.at("output_queries_domain"), 0.0);
    check_close(s.output_source_terms_domain, e.at("output_source_terms_domain"), 0.0);
    check_close(s.y_domain, e.at("y_domain"), 0.0);
    CHECK(s.has_boundary() == e.contains("y_bound"));
    if (s.has_boundary()) {
      check_close(s.y_bound, e.at("y_bound"), 0.0);
      check_close(s.output_queries_bound, e.at("output_queries_bound"), 0.0);
      check_close(s.output_source_terms_bound, e.at("output_source_terms_bound"), 0.0);
    }
    CHECK(s.num_boundary == e.at("num_boundary").as<index_t>());
    CHECK(s.out_sub_level == e.at("out_sub_level").to<double>());
  };
  for (std::size_t i = 0; i < 2; ++i) check_sample(ds.train_db()[i], g.at("train").at(i));
  check_sample(ds.test_db()[0], g.at("test").at(std::size_t(0)));
  CHECK(ds.train_db()[1].coefs.at("beta") == std::vector<double>{1.0, 2.0, 0.5});

  const auto l = data::load_nonlinear_poisson_pt<float>(o);
  CHECK(l.train.size() == 2);
  CHECK(l.test.size() == 1);
  const auto b = l.train.batch(l.train.order(0), 0);
  CHECK(shape_of(b.x) == std::vector<index_t>{8, 3});
  auto same = o;
  same.val_on_same_instance = true;
  CHECK(data::load_nonlinear_poisson_pt<float>(same).train.size() == 1);
  auto shuffled = o;
  shuffled.shuffle = true;
  CHECK(data::NonlinearPoissonDataset<float>(shuffled).train_db().size() == 2);

  auto big = o;
  big.n_train = 5;
  CHECK(test::error_message<value_error>([&] { data::NonlinearPoissonDataset<float> d(big); }).find("holds only 4") != std::string::npos);
  auto wide = o;
  wide.n_in = 7;  // 6 boundary points < n_in: NeuralOperator's zero distances no longer line up
  CHECK(test::error_message<io_error>([&] { data::NonlinearPoissonDataset<float> d(wide); }).find("n_in zeros") != std::string::npos);
  auto missing = o;
  missing.data_path = dir + "nonlinear_poisson.obj";
  CHECK(test::error_message<io_error>([&] { data::NonlinearPoissonDataset<float> d(missing); }).find("nonlinear_poisson.obj") !=
        std::string::npos);
  CHECK_THROWS_AS((data::DataLoader<data::PoissonDataset<float>>(data::PoissonDataset<float>(ds.train_db()), {.batch_size = 2})
                       .batch(std::vector<index_t>{0, 1}, 0)),
                  value_error);
}

TEST_CASE("DictDataset: samples updated with the constant dict, stacked per field; {x, y} view for loaders") {
  using DD = data::DictDataset<float, 2>;
  std::vector<DD::Sample> list;
  for (int i = 0; i < 5; ++i)
    list.push_back({{"x", Tensor<float, 2>::full({1, 3}, float(i))}, {"y", Tensor<float, 2>::full({1, 3}, float(10 * i))}});
  DD ds(list, {{"query_points", Tensor<float, 2>::full({1, 3}, -1.f)}});
  CHECK(ds.size() == 5);
  CHECK(ds.keys() == std::vector<std::string>{"query_points", "x", "y"});
  const std::vector<index_t> idx{4, 1};
  const auto b = ds.get(idx);
  CHECK(b.size() == 2);
  CHECK(b.at("x").shape() == Shape<3>{2, 1, 3});
  CHECK(b.at("x").at(0, 0, 2) == 4.f);
  CHECK(b.at("y").at(1, 0, 0) == 10.f);
  CHECK(b.at("query_points").at(1, 0, 1) == -1.f);
  CHECK_THROWS_WITH_AS(b.at("z"), doctest::Contains("no field 'z' (fields: query_points, x, y)"), value_error);

  data::DataLoader<data::DictFieldsDataset<float, 2>> loader(data::DictFieldsDataset<float, 2>(ds), {.batch_size = 2});
  CHECK(loader.size() == 3);
  index_t seen = 0;
  for (const auto& batch : loader) {
    for (index_t i = 0; i < batch.size(); ++i) CHECK(batch.y.at(i, 0, 0) == 10.f * batch.x.at(i, 0, 0));
    seen += batch.size();
  }
  CHECK(seen == 5);

  // Samples that cannot stack, a missing field, an empty list.
  auto bad = list;
  bad[3]["x"] = Tensor<float, 2>::full({1, 4}, 0.f);
  CHECK_THROWS_WITH_AS((void)DD(bad), doctest::Contains("field 'x' of sample 3 has shape [1, 4] but sample 0's has [1, 3]"), shape_error);
  auto missing = list;
  missing[2].erase("y");
  CHECK_THROWS_WITH_AS((void)DD(missing), doctest::Contains("sample 2 has 1 fields, sample 0 has 2"), value_error);
  CHECK_THROWS_WITH_AS((void)DD(std::vector<DD::Sample>{}), doctest::Contains("data_list is empty"), value_error);
  using DF = data::DictFieldsDataset<float, 2>;
  CHECK_THROWS_WITH_AS((void)DF(ds, "x", "u"), doctest::Contains("no field 'u'"), value_error);
}
