// `neuralop generate darcy|burgers|navier_stokes`: the built-in PDE data generators
// (neuralop/data/generators) writing .pt files in the layouts NeuralOperator's loaders read, or
// .npz; and the cache behind `data.generate = true` in a training config.
#pragma once

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

#include <neuralop/data/generators/generators.hpp>
#include <neuralop/io/io.hpp>

#include "config.hpp"

namespace neuralop::cli {

struct GenerateArgs {
  std::string pde;                 // darcy | burgers | navier_stokes
  index_t n = -1;                  // samples (required)
  std::vector<int> resolutions{};  // output resolutions (required)
  std::uint64_t seed = 0;
  index_t first_sample = 0;        // sample index of the first sample (disjoint sets from one seed)
  std::string out;                 // file; "{res}" in it is replaced by each resolution
  int solve_resolution = 0;        // 0: the generator's default
  std::string preset = "";         // darcy: "" (FNO paper: a in {12, 3}, f = 1) | neuralop_files
  std::string coefficient = "";    // darcy: threshold | lognormal ("" : the preset's)
  double visc = 0;                 // burgers / navier_stokes (0: default)
  double t_final = 0;              // burgers / navier_stokes (0: default)
  int n_time_out = 0;              // burgers: snapshots; navier_stokes: record steps (0: default)
  bool quiet = false;
};

constexpr const char* generate_usage = R"(usage:
  neuralop generate darcy|burgers|navier_stokes --n N --res R[,R...] --out FILE [options]

  --n N              number of samples
  --res R[,R...]     output resolution(s); every resolution comes from the same solves, so a
                     test set at 16 and 32 holds the same functions. With several, FILE must
                     contain {res}, e.g. --out data/darcy_test_{res}.pt
  --out FILE         .pt (torch.load reads it; NeuralOperator's loaders' keys) or .npz
  --seed S           seed (default 0); a sample depends only on (seed, its index)
  --first-sample K   index of the first sample (default 0): disjoint train/test sets, one seed
  --solve-res N      resolution of the solver's grid (default: the generator's)
  --preset P         darcy: fno_paper (default: a = 12 / 3, f = 1) | neuralop_files (calibrated
                     to NeuralOperator's darcy_*.pt solution scale; docs/generators.md)
  --coefficient C    darcy: threshold (two values, x is the 0/1 mask) | lognormal (x is a)
  --visc V           burgers (default 0.01), navier_stokes (default 1e-3)
  --t-final T        burgers (default 1), navier_stokes (default 50)
  --n-time-out K     burgers: snapshots from 0 to T (default 17); navier_stokes: stored steps
  --threads K        CPU threads (default: NEURALOP_NUM_THREADS or every core)
  --quiet            no progress bar
)";

namespace detail {

inline std::vector<int> parse_int_list(const std::string& flag, const std::string& s) {
  std::vector<int> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');) {
    std::size_t pos = 0;
    int v = 0;
    try {
      v = std::stoi(item, &pos);
    } catch (const std::exception&) {
      pos = 0;
    }
    if (item.empty() || pos != item.size()) throw_error<config_error>("generate: ", flag, " expects integers separated by commas, got '", s, "'");
    out.push_back(v);
  }
  if (out.empty()) throw_error<config_error>("generate: ", flag, " needs at least one value");
  return out;
}

template <class N>
N parse_number(const std::string& flag, const std::string& s) {
  std::size_t pos = 0;
  double v = 0;
  try {
    v = std::stod(s, &pos);
  } catch (const std::exception&) {
    pos = 0;
  }
  if (s.empty() || pos != s.size() || !std::isfinite(v)) throw_error<config_error>("generate: ", flag, " expects a number, got '", s, "'");
  if constexpr (std::is_integral_v<N>) {
    if (v != std::floor(v) || std::abs(v) > 9.0e15) throw_error<config_error>("generate: ", flag, " expects an integer, got '", s, "'");
  }
  return static_cast<N>(v);
}

inline std::string out_path(const std::string& pattern, int res, std::size_t n_res) {
  const auto at = pattern.find("{res}");
  if (at == std::string::npos) {
    if (n_res > 1) throw_error<config_error>("generate: --out '", pattern, "' must contain {res} when several resolutions are asked for");
    return pattern;
  }
  std::string p = pattern;
  p.replace(at, 5, std::to_string(res));
  return p;
}

// Samples done / total on a terminal (redrawn at most 10 times a second), else a line every 10%.
class GenerateProgress {
 public:
  GenerateProgress(std::string label, bool quiet) : label_(std::move(label)), quiet_(quiet), tty_(::isatty(::fileno(stderr)) == 1) {}
  void operator()(index_t done, index_t total) {
    if (quiet_ || total <= 0) return;
    std::lock_guard lock(m_);
    const auto now = clock::now();
    const double secs = std::chrono::duration<double>(now - t0_).count();
    if (tty_) {
      if (done < total && now - last_ < std::chrono::milliseconds(100)) return;
      last_ = now;
      constexpr int width = 30;
      const int filled = static_cast<int>(width * done / total);
      const double rate = secs > 0 ? static_cast<double>(done) / secs : 0.0;
      const double eta = rate > 0 ? static_cast<double>(total - done) / rate : 0.0;
      std::fprintf(stderr, "\r\033[K%s [%s%s] %lld/%lld  %.1f samples/s  ETA %.0fs", label_.c_str(), std::string(filled, '#').c_str(),
                   std::string(width - filled, '-').c_str(), static_cast<long long>(done), static_cast<long long>(total), rate, eta);
      if (done == total) std::fputs("\n", stderr);
      std::fflush(stderr);
    } else {
      const index_t step = std::max<index_t>(1, total / 10);
      if (done != total && done / step == last_printed_ / step) return;
      last_printed_ = done;
      std::fprintf(stderr, "%s %lld/%lld samples, %.1f s\n", label_.c_str(), static_cast<long long>(done), static_cast<long long>(total), secs);
    }
  }

 private:
  using clock = std::chrono::steady_clock;
  std::string label_;
  bool quiet_, tty_;
  std::mutex m_;
  clock::time_point t0_ = clock::now(), last_ = clock::now() - std::chrono::seconds(1);
  index_t last_printed_ = 0;
};

// A bool tensor (NeuralOperator's Darcy files store x as the 0/1 mask in bool).
inline io::Value bool_tensor(const Tensor<float, 3>& mask) {
  const auto n = static_cast<std::size_t>(mask.numel());
  std::unique_ptr<bool[]> b(new bool[n]);
  for (std::size_t i = 0; i < n; ++i) b[i] = mask.data()[i] != 0.f;
  const auto& s = mask.shape();
  return io::Value(io::RawTensor::from_vector<bool>({s[0], s[1], s[2]}, std::span<const bool>(b.get(), n)));
}

// Burgers' and Navier-Stokes' options from the arguments (0 keeps the generator's default);
// n_out: the option that --n-time-out sets.
template <class O>
O time_options(const GenerateArgs& a, int O::*n_out) {
  O o;
  o.resolution = a.resolutions[0];
  if (a.solve_resolution > 0) o.solve_resolution = a.solve_resolution;
  if (a.visc > 0) o.visc = a.visc;
  if (a.t_final > 0) o.t_final = a.t_final;
  if (a.n_time_out > 0) o.*n_out = a.n_time_out;
  return o;
}

inline void save_dict(const std::string& path, const io::Value& d) {
  if (path.ends_with(".npz")) return io::save_npz(path, d);
  if (!path.ends_with(".pt")) throw_error<config_error>("generate: --out '", path, "' must end in .pt or .npz");
  io::save_pt(path, d);
}

}  // namespace detail

// Runs one generation and writes its file(s). Returns the paths written.
inline std::vector<std::string> run_generation(const GenerateArgs& a) {
  namespace gen = data::generators;
  if (a.n <= 0) throw_error<config_error>("generate: --n must be a positive number of samples, got ", a.n);
  if (a.resolutions.empty()) throw_error<config_error>("generate: --res is required");
  for (int r : a.resolutions)
    if (r <= 0) throw_error<config_error>("generate: --res ", r, " must be positive");
  if (a.out.empty()) throw_error<config_error>("generate: --out FILE is required");
  std::vector<std::string> paths;
  for (int r : a.resolutions) {
    paths.push_back(detail::out_path(a.out, r, a.resolutions.size()));
    if (!paths.back().ends_with(".pt") && !paths.back().ends_with(".npz"))
      throw_error<config_error>("generate: --out '", paths.back(), "' must end in .pt or .npz");
    // Fail before hours of solving, not after: the folder must exist and be writable.
    const auto dir = std::filesystem::absolute(paths.back()).parent_path();
    if (!std::filesystem::is_directory(dir) || ::access(dir.c_str(), W_OK) != 0)
      throw_error<io_error>("generate: cannot write '", paths.back(), "': the folder ", dir.string(), " does not exist or is not writable");
  }
  std::ostringstream label;
  label << a.pde << ":";
  detail::GenerateProgress progress(label.str(), a.quiet);
  auto cb = [&](index_t done, index_t total) { progress(done, total); };

  if (a.pde == "darcy") {
    gen::DarcyGeneratorOptions o;
    if (a.preset == "neuralop_files") o = gen::DarcyGeneratorOptions::neuralop_files();
    else if (!a.preset.empty() && a.preset != "fno_paper")
      throw_error<config_error>("generate: unknown --preset '", a.preset, "' (fno_paper | neuralop_files)");
    o.resolutions = a.resolutions;
    if (a.solve_resolution > 0) o.solve_resolution = a.solve_resolution;
    if (!a.coefficient.empty()) o.coefficient = a.coefficient;
    const auto sets = gen::generate_darcy(a.n, o, a.seed, a.first_sample, cb);
    for (std::size_t i = 0; i < sets.size(); ++i) {
      io::Value d = io::Value::dict();
      d.set("x", o.coefficient == "threshold" ? detail::bool_tensor(sets[i].x) : io::Value(sets[i].x));
      d.set("y", io::Value(sets[i].y));
      detail::save_dict(paths[i], d);
    }
  } else if (a.pde == "burgers") {
    if (a.resolutions.size() != 1) throw_error<config_error>("generate: burgers takes one --res");
    const auto o = detail::time_options<gen::BurgersGeneratorOptions>(a, &gen::BurgersGeneratorOptions::n_time_out);
    const auto b = gen::generate_burgers(a.n, o, a.seed, a.first_sample, cb);
    io::Value d = io::Value::dict();
    d.set("x", io::Value(b.x));
    d.set("y", io::Value(b.y));
    d.set("visc", io::Value(Tensor<double, 2>({1, 1}, b.visc)));
    detail::save_dict(paths[0], d);
  } else if (a.pde == "navier_stokes") {
    if (a.resolutions.size() != 1) throw_error<config_error>("generate: navier_stokes takes one --res");
    const auto o = detail::time_options<gen::NavierStokesGeneratorOptions>(a, &gen::NavierStokesGeneratorOptions::record_steps);
    const auto s = gen::generate_navier_stokes(a.n, o, a.seed, a.first_sample, cb);
    io::Value d = io::Value::dict();
    d.set("x", io::Value(s.x));
    d.set("y", io::Value(s.y));
    d.set("u", io::Value(s.u));
    detail::save_dict(paths[0], d);
  } else {
    throw_error<config_error>("generate: unknown PDE '", a.pde, "' (darcy | burgers | navier_stokes)");
  }
  return paths;
}

inline GenerateArgs parse_generate_args(const std::vector<std::string>& args) {
  GenerateArgs a;
  std::vector<std::string> positional;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string flag = args[i], value;
    if (!flag.starts_with("--")) {
      positional.push_back(flag);
      continue;
    }
    if (flag == "--quiet") {
      a.quiet = true;
      continue;
    }
    if (const auto eq = flag.find('='); eq != std::string::npos) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
    } else {
      if (i + 1 >= args.size()) throw_error<config_error>("generate: ", flag, " needs a value");
      value = args[++i];
    }
    if (flag == "--n") a.n = detail::parse_number<index_t>(flag, value);
    else if (flag == "--res") a.resolutions = detail::parse_int_list(flag, value);
    else if (flag == "--seed") {
      const auto s = detail::parse_number<std::int64_t>(flag, value);
      if (s < 0) throw_error<config_error>("generate: --seed must be >= 0, got ", s);
      a.seed = static_cast<std::uint64_t>(s);
    } else if (flag == "--first-sample") a.first_sample = detail::parse_number<index_t>(flag, value);
    else if (flag == "--out") a.out = value;
    else if (flag == "--solve-res") a.solve_resolution = detail::parse_number<int>(flag, value);
    else if (flag == "--preset") a.preset = value;
    else if (flag == "--coefficient") a.coefficient = value;
    else if (flag == "--visc") a.visc = detail::parse_number<double>(flag, value);
    else if (flag == "--t-final") a.t_final = detail::parse_number<double>(flag, value);
    else if (flag == "--n-time-out") a.n_time_out = detail::parse_number<int>(flag, value);
    else if (flag == "--threads") {
      const int t = detail::parse_number<int>(flag, value);
      if (t < 1) throw_error<config_error>("generate: --threads must be >= 1, got ", t);
      cpu::set_num_threads(t);
    } else throw_error<config_error>("generate: unknown option ", flag, " (neuralop generate --help lists them)");
  }
  if (positional.size() != 1) throw_error<config_error>("generate: expected one PDE (darcy | burgers | navier_stokes), got ", positional.size());
  a.pde = positional[0];
  if (a.pde != "darcy" && a.pde != "burgers" && a.pde != "navier_stokes")
    throw_error<config_error>("generate: unknown PDE '", a.pde, "' (darcy | burgers | navier_stokes)");
  if (a.first_sample < 0) throw_error<config_error>("generate: --first-sample must be >= 0, got ", a.first_sample);
  return a;
}

// `data.generate = true`: the files a Darcy config reads, made in data.folder when missing or
// made with other settings (generated.txt there records what made each file). Training samples
// are indices [0, n_train) of the seed, test samples [1000000, ...): test sets do not change
// with n_train, and the same test functions are written at every test resolution.
inline void ensure_generated(const Config& c, bool quiet) {
  const auto& d = c.data;
  if (d.dataset != "darcy")
    throw_error<config_error>("config: data.generate is supported for data.dataset = \"darcy\" (got \"", d.dataset,
                              "\"); make other data with `neuralop generate`");
  namespace fs = std::filesystem;
  fs::create_directories(d.folder);
  const fs::path manifest = fs::path(d.folder) / "generated.txt";
  std::map<std::string, std::string> made;
  if (std::ifstream in(manifest); in)
    for (std::string line; std::getline(in, line);)
      if (const auto colon = line.find(": "); colon != std::string::npos) made[line.substr(0, colon)] = line.substr(colon + 2);
  const index_t n_test = *std::max_element(d.n_tests.begin(), d.n_tests.end());
  struct Job {
    GenerateArgs args;
    std::vector<std::string> files;
    std::string what;
  };
  auto settings = [&](const GenerateArgs& a) {
    std::ostringstream s;
    s << "darcy n=" << a.n << " seed=" << a.seed << " first_sample=" << a.first_sample << " preset=" << (a.preset.empty() ? "fno_paper" : a.preset)
      << " solve_res=" << a.solve_resolution << " res=";
    for (int r : a.resolutions) s << r << (r == a.resolutions.back() ? "" : ",");
    return s.str();
  };
  std::vector<Job> jobs;
  GenerateArgs base;
  base.pde = "darcy";
  base.seed = static_cast<std::uint64_t>(c.generate.seed);
  base.solve_resolution = c.generate.solve_resolution;
  base.preset = c.generate.preset;
  base.quiet = quiet;
  GenerateArgs train = base;
  train.n = d.n_train;
  train.resolutions = {d.train_resolution};
  train.out = (fs::path(d.folder) / ("darcy_train_" + std::to_string(d.train_resolution) + ".pt")).string();
  jobs.push_back({train, {train.out}, settings(train)});
  GenerateArgs test = base;
  test.n = n_test;
  test.first_sample = 1000000;
  test.resolutions = d.test_resolutions;
  test.out = (fs::path(d.folder) / "darcy_test_{res}.pt").string();
  std::vector<std::string> test_files;
  for (int r : d.test_resolutions) test_files.push_back(detail::out_path(test.out, r, d.test_resolutions.size()));
  jobs.push_back({test, test_files, settings(test)});

  for (const auto& j : jobs) {
    bool fresh = true;
    for (const auto& f : j.files)
      fresh = fresh && fs::exists(f) && made.contains(fs::path(f).filename().string()) && made[fs::path(f).filename().string()] == j.what;
    if (fresh) {
      if (!quiet) std::cout << "data: reusing " << j.files.size() << " generated file(s) in " << d.folder << " (" << j.what << ")\n";
      continue;
    }
    const auto t0 = std::chrono::steady_clock::now();
    run_generation(j.args);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!quiet) std::cout << "data: generated " << j.what << " in " << std::setprecision(3) << secs << " s\n";
    for (const auto& f : j.files) made[fs::path(f).filename().string()] = j.what;
    // The manifest is rewritten (atomically) after the files it describes exist.
    std::string text;
    for (const auto& [k, v] : made) text += k + ": " + v + "\n";
    io::AtomicFile mf(manifest.string());
    mf.write(text);
    mf.commit();
  }
}

}  // namespace neuralop::cli
