// Nonlinear Poisson point-cloud data (NeuralOperator's NonlinearPoissonDataset and
// load_nonlinear_poisson_pt for GINO): nonlinear_poisson.obj, a plain pickle of a list of
// instance dicts of NumPy arrays, read without running Python code (io::load_pickle).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "neuralop/data/data_loader.hpp"
#include "neuralop/io/numpy_pickle.hpp"
#include "neuralop/tensor/tensor.hpp"

namespace neuralop::data {

struct NonlinearPoissonOptions {
  std::string data_path{};  // required: the nonlinear_poisson.obj file (never downloaded)
  index_t n_train = 1;
  index_t n_test = 1;
  index_t n_in = 6000;     // input points per set (boundary and interior)
  index_t n_out = 6000;    // output interior points of training instances
  index_t n_bound = 1024;  // output boundary points of training instances
  index_t n_eval = 6000;   // output interior points of test instances
  index_t latent_query_res = 48;
  index_t domain_padding = 0;
  std::optional<double> output_subsample_level{};  // stored as out_sub_level (default 1)
  bool val_on_same_instance = false;  // load_nonlinear_poisson_pt: train = test = instances [1, n_train)
  // NeuralOperator shuffles the instances with Python's unseeded random.shuffle; here a seeded
  // permutation (or none).
  bool shuffle = true;
  std::uint64_t seed = 0;
};

// One instance, as NeuralOperator's data_dict (without the batch axis of its DataLoader).
template <TensorScalar T = float>
struct PoissonSample {
  Tensor<T, 2> x;                           // [nb + ni, 3]: source f, boundary value g, distance (0 on the boundary)
  Tensor<T, 2> input_geom;                  // [nb + ni, 2]: the boundary points first
  Tensor<T, 3> latent_queries;              // [q, q, 2]: (x_j, y_i) at [i, j] on [-1.4, 1.4]^2
  Tensor<T, 2> output_queries_domain;       // [m, 2]
  Tensor<T, 1> output_source_terms_domain;  // [m]
  Tensor<T, 1> y_domain;                    // [m]
  // Training instances only (undefined for test instances):
  Tensor<T, 2> output_queries_bound;        // [n_bound, 2]
  Tensor<T, 1> output_source_terms_bound;   // [n_bound]
  Tensor<T, 1> y_bound;                     // [n_bound]
  std::map<std::string, std::vector<double>> coefs;  // c1, c2, beta, mu_1, mu_2 (flattened)
  index_t num_boundary = 0;
  double out_sub_level = 1.0;

  bool has_boundary() const { return y_bound.defined(); }
};

namespace detail {

// A numeric array from a tensor or (nested) list of numbers: row-major values and shape.
struct HostArray {
  std::vector<index_t> shape;
  std::vector<double> values;
};
inline void flatten_numbers(const io::Value& v, std::size_t depth, HostArray& a, const std::string& where) {
  if (v.is_tensor()) {
    const auto& t = v.tensor();
    if (io::is_complex_dtype(t.dtype)) throw_error<io_error>(where, ": complex values are not supported");
    if (depth == a.shape.size()) a.shape.insert(a.shape.end(), t.shape.begin(), t.shape.end());
    const auto vals = t.to_vector<double>(where);
    a.values.insert(a.values.end(), vals.begin(), vals.end());
    return;
  }
  if (v.is_list() || v.is_tuple()) {
    if (depth == a.shape.size()) a.shape.push_back(index_t(v.size()));
    for (const auto& x : v.elements()) flatten_numbers(x, depth + 1, a, where);
    return;
  }
  if (v.kind() == io::Value::Kind::real || v.kind() == io::Value::Kind::integer || v.kind() == io::Value::Kind::boolean) {
    a.values.push_back(v.to<double>());
    return;
  }
  throw_error<io_error>(where, ": expected numbers (a NumPy array or a list), found ", v.describe(),
                        v.is_opaque() ? " (a Python object this reader cannot interpret without running Python code)" : "");
}
inline HostArray host_array(const io::Value& v, const std::string& where) {
  HostArray a;
  flatten_numbers(v, 0, a, where);
  index_t n = 1;
  for (index_t s : a.shape) n *= s;
  if (n != index_t(a.values.size())) throw_error<io_error>(where, ": a ragged nested list");
  return a;
}

// instance[key][:n] as Tensor<T, R> (R = the stored rank).
template <TensorScalar T, std::size_t R>
Tensor<T, R> poisson_field(const io::Value& inst, const char* key, index_t n) {
  if (!inst.contains(key)) inst.fail("no key '", key, "' in a Poisson instance");
  const io::Value v = inst.at(key);
  HostArray a = host_array(v, v.where());
  if (a.shape.size() != R) v.fail("expected an array of rank ", R, ", found shape ", format_shape(a.shape));
  const index_t keep = std::min(n, a.shape[0]);
  if (keep <= 0) v.fail("no points");
  const index_t row = a.shape[0] > 0 ? index_t(a.values.size()) / a.shape[0] : 0;
  Shape<R> s{};
  for (std::size_t i = 0; i < R; ++i) s[i] = a.shape[i];
  s[0] = keep;
  std::vector<T> vals(static_cast<std::size_t>(keep * row));
  for (std::size_t i = 0; i < vals.size(); ++i) vals[i] = T(a.values[i]);
  return Tensor<T, R>::from_data(s, std::span<const T>(vals));
}

// np.linspace(lo, hi, n) in double (NumPy's arange * step + start, endpoint exact).
inline std::vector<double> np_linspace(double lo, double hi, index_t n) {
  std::vector<double> v(static_cast<std::size_t>(n));
  if (n == 1) return {lo};
  const double step = (hi - lo) / double(n - 1);
  for (index_t i = 0; i < n; ++i) v[std::size_t(i)] = double(i) * step + lo;
  if (n > 1) v.back() = hi;
  return v;
}

// generate_latent_queries(query_res, pad, [[-1.4, 1.4], [-1.4, 1.4]]): [q, q, 2] float32.
template <TensorScalar T>
Tensor<T, 3> latent_queries(index_t res, index_t pad) {
  std::vector<double> m = np_linspace(-1.4, 1.4, res);
  if (pad > 0) {  // NumPy's padded mesh repeats the end points
    auto start = np_linspace(-1.4 - double(pad) / double(res), -1.4, pad + 1);
    auto stop = np_linspace(1.4, 1.4 + double(pad) / double(res), pad + 1);
    start.insert(start.end(), m.begin(), m.end());
    start.insert(start.end(), stop.begin(), stop.end());
    m = std::move(start);
  }
  const auto q = index_t(m.size());
  std::vector<T> g(static_cast<std::size_t>(q * q * 2));
  for (index_t i = 0; i < q; ++i)
    for (index_t j = 0; j < q; ++j) {
      g[std::size_t((i * q + j) * 2)] = T(float(m[std::size_t(j)]));
      g[std::size_t((i * q + j) * 2 + 1)] = T(float(m[std::size_t(i)]));
    }
  return Tensor<T, 3>::from_data({q, q, 2}, std::span<const T>(g));
}

template <TensorScalar T, std::size_t R>
Tensor<T, R> cat0(const Tensor<T, R>& a, const Tensor<T, R>& b) {
  Shape<R> s = a.shape();
  s[0] += b.shape()[0];
  auto va = a.to_vector();
  const auto vb = b.to_vector();
  va.insert(va.end(), vb.begin(), vb.end());
  return Tensor<T, R>::from_data(s, std::span<const T>(va));
}

}  // namespace detail

// Instances of the pickled list; training instances (index < n_train) carry boundary outputs.
template <TensorScalar T = float>
class NonlinearPoissonDataset {
 public:
  using batch_type = PoissonSample<T>;

  explicit NonlinearPoissonDataset(const NonlinearPoissonOptions& o) : opt_(o) {
    const char* who = "NonlinearPoissonDataset";
    if (o.data_path.empty()) throw_error<value_error>(who, ": data_path is required");
    std::error_code ec;
    if (!std::filesystem::is_regular_file(o.data_path, ec))
      throw_error<io_error>(who, ": data file '", o.data_path, "' does not exist (NeuralOperator downloads nonlinear_poisson.obj",
                            " from Zenodo record 15001788; this library never downloads)");
    if (o.n_train < 0 || o.n_test < 0 || o.n_in <= 0 || o.n_out <= 0 || o.n_bound <= 0 || o.n_eval <= 0 || o.latent_query_res <= 0 ||
        o.domain_padding < 0)
      throw_error<value_error>(who, ": counts must be positive (n_train, n_test >= 0)");
    const io::Value data = io::load_pickle(o.data_path);
    if (!data.is_list()) data.fail(who, ": expected a list of instance dicts, found ", data.describe());
    const auto n = index_t(data.size());
    if (o.n_train > n) throw_error<value_error>(who, ": n_train = ", o.n_train, " but '", o.data_path, "' holds only ", n, " instances");
    std::vector<index_t> order(static_cast<std::size_t>(n));
    if (o.shuffle) order = seeded_permutation(n, o.seed, 0);
    else
      for (index_t i = 0; i < n; ++i) order[std::size_t(i)] = i;
    const index_t train_end = index_t(0.7 * double(n));
    const index_t n_test = std::min(o.n_test, n - train_end);
    latent_ = detail::latent_queries<T>(o.latent_query_res, o.domain_padding);
    for (index_t i = 0; i < o.n_train; ++i) train_.push_back(instance(data.at(std::size_t(order[std::size_t(i)])), i));
    for (index_t i = train_end; i < train_end + n_test; ++i) test_.push_back(instance(data.at(std::size_t(order[std::size_t(i)])), i));
  }

  const std::vector<PoissonSample<T>>& train_db() const { return train_; }
  const std::vector<PoissonSample<T>>& test_db() const { return test_; }

 private:
  NonlinearPoissonOptions opt_;
  Tensor<T, 3> latent_;
  std::vector<PoissonSample<T>> train_, test_;

  // The data_dict of instance `idx` (of the shuffled list) as NeuralOperator builds it.
  PoissonSample<T> instance(const io::Value& inst, index_t idx) const {
    if (!inst.is_dict()) inst.fail("expected an instance dict, found ", inst.describe());
    using detail::poisson_field;
    PoissonSample<T> s;
    const index_t n_in = opt_.n_in;
    auto f_f = poisson_field<T, 1>(inst, "train_source_terms_domain", n_in);
    auto f_g = poisson_field<T, 1>(inst, "train_bc_domain", n_in);
    auto f_dist = poisson_field<T, 1>(inst, "train_distances_domain", n_in);
    auto geom = poisson_field<T, 2>(inst, "train_points_domain", n_in);
    if (idx < opt_.n_train) {
      s.output_queries_domain = poisson_field<T, 2>(inst, "val_points_domain", opt_.n_out);
      s.output_source_terms_domain = poisson_field<T, 1>(inst, "val_source_terms_domain", opt_.n_out);
      s.y_domain = poisson_field<T, 1>(inst, "val_values_domain", opt_.n_out);
      s.output_queries_bound = poisson_field<T, 2>(inst, "val_points_boundary", opt_.n_bound);
      s.output_source_terms_bound = poisson_field<T, 1>(inst, "val_source_terms_boundary", opt_.n_bound);
      s.y_bound = poisson_field<T, 1>(inst, "val_values_boundary", opt_.n_bound);
    } else {
      s.output_queries_domain = poisson_field<T, 2>(inst, "val_points_domain", opt_.n_eval);
      s.output_source_terms_domain = poisson_field<T, 1>(inst, "val_source_terms_domain", opt_.n_eval);
      s.y_domain = poisson_field<T, 1>(inst, "val_values_domain", opt_.n_eval);
    }
    s.input_geom = detail::cat0(poisson_field<T, 2>(inst, "train_points_boundary", n_in), geom);
    const auto b_f = poisson_field<T, 1>(inst, "train_source_terms_boundary", n_in);
    const auto b_g = poisson_field<T, 1>(inst, "train_bc_boundary", n_in);
    // NeuralOperator prepends n_in zero distances (not one per boundary point): the three
    // columns only line up when the file has at least n_in boundary points.
    f_f = detail::cat0(b_f, f_f);
    f_g = detail::cat0(b_g, f_g);
    f_dist = detail::cat0(Tensor<T, 1>::zeros({n_in}), f_dist);
    if (f_dist.shape()[0] != f_f.shape()[0] || f_g.shape()[0] != f_f.shape()[0] || s.input_geom.shape()[0] != f_f.shape()[0])
      inst.fail("the input columns differ in length (sources ", f_f.shape()[0], ", boundary values ", f_g.shape()[0],
                ", distances ", f_dist.shape()[0], ", points ", s.input_geom.shape()[0],
                "): NeuralOperator pads the distances with n_in zeros, so the instance needs n_in = ", n_in,
                " boundary points; torch.cat fails the same way");
    const index_t m = f_f.shape()[0];
    std::vector<T> x(static_cast<std::size_t>(m * 3));
    const auto a = f_f.to_vector(), b = f_g.to_vector(), c = f_dist.to_vector();
    for (index_t i = 0; i < m; ++i) {
      x[std::size_t(3 * i)] = a[std::size_t(i)];
      x[std::size_t(3 * i + 1)] = b[std::size_t(i)];
      x[std::size_t(3 * i + 2)] = c[std::size_t(i)];
    }
    s.x = Tensor<T, 2>::from_data({m, 3}, std::span<const T>(x));
    s.latent_queries = latent_;
    if (!inst.contains("coefs")) inst.fail("no key 'coefs' in a Poisson instance");
    const io::Value coefs = inst.at("coefs");
    if (!coefs.is_dict()) coefs.fail("expected a dict of coefficients, found ", coefs.describe());
    for (const auto& [k, v] : coefs.items())
      if (k.kind() == io::Value::Kind::string) s.coefs[k.template as<std::string>()] = detail::host_array(v, v.where()).values;
    s.num_boundary = opt_.n_bound;
    s.out_sub_level = opt_.output_subsample_level.value_or(1.0);
    if (s.out_sub_level == 0.0) s.out_sub_level = 1.0;  // Python: `if output_subsample_level else 1`
    return s;
  }
};

// Instances one at a time (NeuralOperator's DataLoader(DictDataset(...)), batch size 1).
template <TensorScalar T = float>
class PoissonDataset {
 public:
  using batch_type = PoissonSample<T>;
  PoissonDataset() = default;
  explicit PoissonDataset(std::vector<PoissonSample<T>> samples) : s_(std::move(samples)) {}
  index_t size() const { return index_t(s_.size()); }
  batch_type get(std::span<const index_t> idx) const {
    if (idx.size() != 1)
      throw_error<value_error>("PoissonDataset: instances have their own point counts; batch_size must be 1, got ", idx.size());
    if (idx[0] < 0 || idx[0] >= size()) throw_error<value_error>("PoissonDataset: instance ", idx[0], " of ", size());
    return s_[std::size_t(idx[0])];
  }
  batch_type get(index_t i) const {
    const index_t k[1] = {i};
    return get(std::span<const index_t>(k, 1));
  }

 private:
  std::vector<PoissonSample<T>> s_;
};

template <TensorScalar T = float>
struct PoissonData {
  DataLoader<PoissonDataset<T>> train;
  DataLoader<PoissonDataset<T>> test;
};

// Train and test loaders of batch size 1, unshuffled (with val_on_same_instance both hold the
// training instances from the second on, as NeuralOperator's train_db[1:]). The
// PoissonGINODataProcessor (random point subsampling for GINO) is not provided.
template <TensorScalar T = float>
PoissonData<T> load_nonlinear_poisson_pt(const NonlinearPoissonOptions& o) {
  const NonlinearPoissonDataset<T> ds(o);
  if (o.val_on_same_instance) {
    std::vector<PoissonSample<T>> rest = ds.train_db();
    if (!rest.empty()) rest.erase(rest.begin());
    return {DataLoader<PoissonDataset<T>>(PoissonDataset<T>(rest), {.batch_size = 1}),
            DataLoader<PoissonDataset<T>>(PoissonDataset<T>(rest), {.batch_size = 1})};
  }
  return {DataLoader<PoissonDataset<T>>(PoissonDataset<T>(ds.train_db()), {.batch_size = 1}),
          DataLoader<PoissonDataset<T>>(PoissonDataset<T>(ds.test_db()), {.batch_size = 1})};
}

}  // namespace neuralop::data
