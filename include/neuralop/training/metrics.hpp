// What a training epoch produced (NeuralOperator's epoch_metrics dict), and where it goes: the
// metrics log (CSV and JSON lines, one row per epoch) and the progress bar of a terminal.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "neuralop/core/error.hpp"
#include "neuralop/io/bytes.hpp"

namespace neuralop::training {

// Named values in insertion order (NeuralOperator's metric dicts: "16_h1", "16_l2", ...).
class Metrics {
 public:
  using value_type = std::pair<std::string, double>;
  void set(const std::string& name, double v) {
    for (auto& [n, x] : items_)
      if (n == name) {
        x = v;
        return;
      }
    items_.emplace_back(name, v);
  }
  bool contains(const std::string& name) const {
    return std::any_of(items_.begin(), items_.end(), [&](const value_type& p) { return p.first == name; });
  }
  double at(const std::string& name) const {
    for (const auto& [n, x] : items_)
      if (n == name) return x;
    std::string known;
    for (const auto& [n, x] : items_) known += (known.empty() ? "" : ", ") + n;
    throw_error<value_error>("Metrics: no metric '", name, "' (have: ", known.empty() ? "none" : known, ")");
  }
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& [n, x] : items_) out.push_back(n);
    return out;
  }
  std::size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  auto begin() const { return items_.begin(); }
  auto end() const { return items_.end(); }

 private:
  std::vector<value_type> items_;
};

// One epoch: train_err = sum of batch losses / number of batches, avg_loss = the same sum /
// number of samples, avg_lasso_loss the regularizer's sum / samples (none without one), the
// training time in seconds, the learning rate after the scheduler's step, and the evaluation
// metrics (empty on epochs that were not evaluated).
struct EpochMetrics {
  std::int64_t epoch = -1;  // -1: no epoch ran (a resumed run that was already finished)
  double train_err = 0;
  double avg_loss = 0;
  std::optional<double> avg_lasso_loss;
  double epoch_train_time = 0;
  double lr = 0;
  Metrics eval;
};

namespace detail {

inline std::string format_number(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof(buf), v);  // shortest round-trip form
  return std::string(buf, r.ptr);
}
inline std::string json_number(double v) { return std::isfinite(v) ? format_number(v) : "null"; }
inline std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// The epoch a log line is about: the first CSV field, or the value of the leading "epoch" key
// of a JSON line; nullopt for anything else (the header).
inline std::optional<std::int64_t> line_epoch(const std::string& line, bool json) {
  std::size_t p = 0;
  if (json) {
    const std::string key = "{\"epoch\": ";
    if (line.compare(0, key.size(), key) != 0) return std::nullopt;
    p = key.size();
  }
  std::int64_t e = 0;
  const auto r = std::from_chars(line.data() + p, line.data() + line.size(), e);
  if (r.ec != std::errc() || r.ptr == line.data() + p) return std::nullopt;
  return e;
}

}  // namespace detail

// metrics.csv and metrics.jsonl in a folder, one row per epoch, flushed as written:
//   epoch, time, train_err, avg_loss, [avg_lasso_loss,] lr, then the evaluation metrics
// (CSV: empty cells on epochs without evaluation; JSON lines: those keys left out; NaN/Inf are
// "nan"/"inf" in CSV and null in JSON). A fresh run starts new files; a resumed run keeps the
// rows of the epochs before the one it resumes at and drops the later ones (those epochs run
// again), so the log reads like an uninterrupted run's.
class MetricsLog {
 public:
  MetricsLog() = default;  // logs nothing
  MetricsLog(const std::string& dir, std::vector<std::string> eval_names, bool with_lasso,
             std::optional<std::int64_t> keep_before = std::nullopt)
      : eval_names_(std::move(eval_names)), with_lasso_(with_lasso) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) throw_error<io_error>("MetricsLog: cannot create ", dir, ": ", ec.message());
    csv_path_ = (std::filesystem::path(dir) / "metrics.csv").string();
    json_path_ = (std::filesystem::path(dir) / "metrics.jsonl").string();
    std::string header = "epoch,time,train_err,avg_loss";
    if (with_lasso_) header += ",avg_lasso_loss";
    header += ",lr";
    for (const auto& n : eval_names_) header += "," + n;
    start(csv_path_, header, keep_before, false);
    start(json_path_, "", keep_before, true);
    csv_.open(csv_path_, std::ios::app);
    json_.open(json_path_, std::ios::app);
    if (!csv_ || !json_) throw_error<io_error>("MetricsLog: cannot open ", csv_ ? json_path_ : csv_path_, " for appending");
  }
  bool enabled() const { return csv_.is_open(); }
  const std::string& csv_path() const { return csv_path_; }
  const std::string& json_path() const { return json_path_; }

  void write(const EpochMetrics& m) {
    if (!enabled()) return;
    using detail::format_number;
    using detail::json_number;
    std::string c = std::to_string(m.epoch) + "," + format_number(m.epoch_train_time) + "," + format_number(m.train_err) +
                    "," + format_number(m.avg_loss);
    std::string j = "{\"epoch\": " + std::to_string(m.epoch) + ", \"time\": " + json_number(m.epoch_train_time) +
                    ", \"train_err\": " + json_number(m.train_err) + ", \"avg_loss\": " + json_number(m.avg_loss);
    if (with_lasso_) {
      c += "," + (m.avg_lasso_loss ? format_number(*m.avg_lasso_loss) : std::string());
      j += ", \"avg_lasso_loss\": " + (m.avg_lasso_loss ? json_number(*m.avg_lasso_loss) : std::string("null"));
    }
    c += "," + format_number(m.lr);
    j += ", \"lr\": " + json_number(m.lr);
    for (const auto& n : eval_names_) {
      c += ",";
      if (m.eval.contains(n)) {
        c += format_number(m.eval.at(n));
        j += ", " + detail::json_string(n) + ": " + json_number(m.eval.at(n));
      }
    }
    csv_ << c << '\n' << std::flush;
    json_ << j << "}\n" << std::flush;
    if (!csv_ || !json_) throw_error<io_error>("MetricsLog: writing ", csv_ ? json_path_ : csv_path_, " failed");
  }

 private:
  // Rewrites path (atomically) with the header and the kept rows of the previous run.
  static void start(const std::string& path, const std::string& header, std::optional<std::int64_t> keep_before,
                    bool json) {
    std::string out;
    if (!header.empty()) out = header + "\n";
    if (keep_before && std::filesystem::exists(path)) {
      std::ifstream in(path);
      std::string line;
      bool first = true;
      while (std::getline(in, line)) {
        if (first && !json) {
          first = false;
          if (line != header) break;  // other columns: the old rows do not fit, start anew
          continue;
        }
        const auto e = detail::line_epoch(line, json);
        if (e && *e < *keep_before) out += line + "\n";
      }
    }
    io::AtomicFile f(path);
    f.write(out);
    f.commit();
  }

  std::vector<std::string> eval_names_;
  bool with_lasso_ = false;
  std::string csv_path_, json_path_;
  std::ofstream csv_, json_;
};

// A one-line progress bar on a terminal (stderr by default), redrawn at most 10 times a second:
//   [epoch 3/20] ##########--------------  12/40  loss 0.1234  1.2s
class ProgressBar {
 public:
  ProgressBar() = default;  // draws nothing
  explicit ProgressBar(std::FILE* f) : f_(f) {}
  // Whether f is a terminal (the Trainer's default: a bar on a terminal, lines otherwise).
  static bool is_terminal(std::FILE* f) { return f && ::isatty(::fileno(f)) == 1; }

  void start(std::int64_t epoch, std::int64_t n_epochs, std::int64_t n_batches) {
    epoch_ = epoch;
    n_epochs_ = n_epochs;
    n_batches_ = n_batches;
    t0_ = last_ = clock::now();
    draw(0, std::nullopt);
  }
  void update(std::int64_t done, double loss) {
    const auto now = clock::now();
    if (done < n_batches_ && now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    draw(done, loss);
  }
  // Erases the bar (the per-epoch lines follow it).
  void finish() {
    if (!f_) return;
    std::fputs("\r\033[K", f_);
    std::fflush(f_);
  }

 private:
  using clock = std::chrono::steady_clock;
  void draw(std::int64_t done, std::optional<double> loss) {
    if (!f_) return;
    constexpr int width = 24;
    const int filled = n_batches_ > 0 ? static_cast<int>(width * done / n_batches_) : 0;
    const double secs = std::chrono::duration<double>(clock::now() - t0_).count();
    std::string bar(static_cast<std::size_t>(filled), '#');
    bar.append(static_cast<std::size_t>(width - filled), '-');
    char loss_s[32] = "";
    if (loss) std::snprintf(loss_s, sizeof(loss_s), "  loss %.4g", *loss);
    std::fprintf(f_, "\r\033[K[epoch %lld/%lld] %s  %lld/%lld%s  %.1fs", static_cast<long long>(epoch_),
                 static_cast<long long>(n_epochs_), bar.c_str(), static_cast<long long>(done),
                 static_cast<long long>(n_batches_), loss_s, secs);
    std::fflush(f_);
  }

  std::FILE* f_ = nullptr;
  std::int64_t epoch_ = 0, n_epochs_ = 0, n_batches_ = 0;
  clock::time_point t0_, last_;
};

}  // namespace neuralop::training
