// Training checkpoints in NeuralOperator's folder layout ({name}_state_dict.pt, optimizer.pt,
// scheduler.pt, regularizer.pt, manifest.pt), readable by torch.load(weights_only=True), written
// so that a checkpoint interrupted while it is written leaves the previous one loadable.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cmath>
#include <complex>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "neuralop/core/error.hpp"
#include "neuralop/io/io.hpp"
#include "neuralop/nn/module.hpp"
#include "neuralop/optim/optim.hpp"

namespace neuralop {
// Training cannot go on: a NaN or Inf training loss, or non-finite parameters at a checkpoint.
struct training_error : error {
  using error::error;
};
}  // namespace neuralop

namespace neuralop::training {

// The scheduler stepped once per epoch: an epoch scheduler (StepLR, CosineAnnealingLR: step()),
// a ReduceLROnPlateau (step(metric)) or none. Converts implicitly from either, or nullptr.
class SchedulerRef {
 public:
  SchedulerRef() = default;
  SchedulerRef(std::nullptr_t) {}                                                 // NOLINT(google-explicit-constructor)
  SchedulerRef(optim::LRScheduler& s) : s_(&s) {}                                 // NOLINT(google-explicit-constructor)
  SchedulerRef(optim::ReduceLROnPlateau& s) : s_(&s) {}                           // NOLINT(google-explicit-constructor)
  SchedulerRef(optim::LRScheduler* s) { if (s) s_ = s; }                          // NOLINT(google-explicit-constructor)
  SchedulerRef(optim::ReduceLROnPlateau* s) { if (s) s_ = s; }                    // NOLINT(google-explicit-constructor)

  bool has_value() const { return !std::holds_alternative<std::monostate>(s_); }
  explicit operator bool() const { return has_value(); }
  optim::LRScheduler* epoch_scheduler() const {
    auto* p = std::get_if<optim::LRScheduler*>(&s_);
    return p ? *p : nullptr;
  }
  optim::ReduceLROnPlateau* plateau() const {
    auto* p = std::get_if<optim::ReduceLROnPlateau*>(&s_);
    return p ? *p : nullptr;
  }
  io::Value state_dict() const {
    if (auto* s = epoch_scheduler()) return s->state_dict();
    if (auto* s = plateau()) return s->state_dict();
    return io::Value();
  }
  void load_state_dict(const io::Value& sd) const {
    if (auto* s = epoch_scheduler()) s->load_state_dict(sd);
    if (auto* s = plateau()) s->load_state_dict(sd);
  }

 private:
  std::variant<std::monostate, optim::LRScheduler*, optim::ReduceLROnPlateau*> s_;
};

// What a checkpoint keeps of a regularizer (NeuralOperator's regularizer.pt); the Trainer's
// Regularizer<T> derives from it.
class RegularizerBase {
 public:
  virtual ~RegularizerBase() = default;
  // Called before each training batch (NeuralOperator's regularizer.reset()).
  virtual void reset() {}
  virtual io::Value state_dict() const { return io::Value::dict(); }
  virtual void load_state_dict(const io::Value& /*sd*/) {}
};

// The first parameter or buffer of `model` holding a NaN or an Inf, by state_dict name.
inline std::optional<std::string> first_nonfinite(const nn::Module& model) {
  auto bad = [](const io::RawTensor& t) {
    auto check = [&](auto zero) {
      using T = decltype(zero);
      for (const T& v : t.to_vector<T>())
        if (!std::isfinite(std::real(v)) || !std::isfinite(std::imag(v))) return true;
      return false;
    };
    switch (t.dtype) {
      case io::DType::float32: return check(float{});
      case io::DType::float64: return check(double{});
      case io::DType::complex64: return check(std::complex<float>{});
      case io::DType::complex128: return check(std::complex<double>{});
      default: return false;
    }
  };
  for (const auto& [name, t] : model.state_dict())
    if (bad(t)) return name;
  return std::nullopt;
}

// What load_training_state found: NeuralOperator's manifest "epoch" (the epoch the checkpoint
// was taken after) and our own fields ("neuralop_cpp", None in NeuralOperator's checkpoints).
struct LoadedTrainingState {
  std::optional<std::int64_t> epoch;
  io::Value manifest;
  io::Value extra;
};

namespace detail {

inline std::string join_path(const std::string& dir, const std::string& name) {
  return (std::filesystem::path(dir) / name).string();
}

// fsync of a directory, so that the renames into it are durable (best effort: some file
// systems refuse it).
inline void sync_dir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  (void)::fsync(fd);
  ::close(fd);
}

inline io::Value file_record(const std::string& path) {
  const io::Bytes b = io::read_file(path);
  auto r = io::Value::dict();
  r.set("size", static_cast<std::int64_t>(b.size()));
  r.set("crc32", static_cast<std::int64_t>(io::detail::crc32_of(b.span())));
  return r;
}

// Reads `name` of a checkpoint folder; any failure is an io_error naming the file.
template <class F>
auto read_checkpoint_file(const std::string& dir, const std::string& name, F&& read) {
  const std::string path = join_path(dir, name);
  if (!std::filesystem::exists(path))
    throw_error<io_error>("checkpoint ", dir, ": ", name, " is missing (", path, ")");
  try {
    return read(path);
  } catch (const io_error& e) {
    throw_error<io_error>("checkpoint ", dir, ": cannot read ", name, ": ", e.what());
  }
}

}  // namespace detail

// Writes a training state as NeuralOperator's save_training_state does (file names, manifest
// keys model/optimizer/scheduler/regularizer/epoch, torch.save format), plus, in the manifest,
// `extra` with a "files" record (size and CRC-32 of each file) under the key "neuralop_cpp".
// Every file is first written in full beside its final name (NAME.next, fsynced), then all are
// renamed into place, the manifest last: a crash while writing leaves the previous checkpoint
// as it was; one between the renames leaves files that do not match the manifest's record,
// which load_training_state reports.
inline void save_training_state(const std::string& save_dir, const std::string& save_name, const nn::Module& model,
                                const optim::Optimizer* optimizer = nullptr, SchedulerRef scheduler = {},
                                const RegularizerBase* regularizer = nullptr,
                                std::optional<std::int64_t> epoch = std::nullopt, io::Value extra = io::Value::dict()) {
  std::error_code ec;
  std::filesystem::create_directories(save_dir, ec);
  if (ec) throw_error<io_error>("save_training_state: cannot create ", save_dir, ": ", ec.message());
  if (!extra.is_dict()) throw_error<value_error>("save_training_state: extra must be a dict, got ", extra.describe());

  std::vector<std::string> names;  // in NeuralOperator's manifest order
  auto staged = [&](const std::string& name) { return detail::join_path(save_dir, name + ".next"); };
  auto manifest = io::Value::dict();
  auto files = io::Value::dict();
  try {
    const std::string model_file = save_name + "_state_dict.pt";
    io::save_state_dict(staged(model_file), model.state_dict());
    names.push_back(model_file);
    manifest.set("model", model_file);
    if (optimizer) {
      io::save_pt(staged("optimizer.pt"), optimizer->state_dict());
      names.emplace_back("optimizer.pt");
      manifest.set("optimizer", "optimizer.pt");
    }
    if (scheduler) {
      io::save_pt(staged("scheduler.pt"), scheduler.state_dict());
      names.emplace_back("scheduler.pt");
      manifest.set("scheduler", "scheduler.pt");
    }
    if (regularizer) {
      io::save_pt(staged("regularizer.pt"), regularizer->state_dict());
      names.emplace_back("regularizer.pt");
      manifest.set("regularizer", "regularizer.pt");
    }
    if (epoch) manifest.set("epoch", *epoch);
    for (const auto& n : names) files.set(n, detail::file_record(staged(n)));
    extra.set("files", files);
    manifest.set("neuralop_cpp", extra);
    io::save_pt(staged("manifest.pt"), manifest);
  } catch (...) {
    for (const auto& n : names) std::filesystem::remove(staged(n), ec);
    std::filesystem::remove(staged("manifest.pt"), ec);
    throw;
  }
  names.emplace_back("manifest.pt");
  for (const auto& n : names) {
    std::filesystem::rename(staged(n), detail::join_path(save_dir, n), ec);
    if (ec) throw_error<io_error>("save_training_state: cannot rename ", staged(n), " to ", n, ": ", ec.message());
  }
  detail::sync_dir(save_dir);
}

// Loads what save_training_state (ours or NeuralOperator's) wrote in save_dir into the given
// objects (null: not loaded). Unlike NeuralOperator, which warns and goes on, a missing
// manifest.pt or a missing file for a requested object is an io_error naming the file, as is a
// file that cannot be read or (in our checkpoints) does not match the size and CRC-32 the
// manifest recorded. Every file is read and checked before anything is loaded.
inline LoadedTrainingState load_training_state(const std::string& save_dir, const std::string& save_name,
                                               nn::Module& model, optim::Optimizer* optimizer = nullptr,
                                               SchedulerRef scheduler = {}, RegularizerBase* regularizer = nullptr) {
  LoadedTrainingState st;
  st.manifest = detail::read_checkpoint_file(save_dir, "manifest.pt", [](const std::string& p) { return io::load_pt(p); });
  if (!st.manifest.is_dict())
    throw_error<io_error>("checkpoint ", save_dir, ": manifest.pt holds ", st.manifest.describe(), ", not a dict");
  if (const auto* e = st.manifest.find(std::string_view("epoch")); e && !e->is_none()) st.epoch = e->as<std::int64_t>();
  if (const auto* x = st.manifest.find(std::string_view("neuralop_cpp"))) st.extra = *x;

  const std::string model_file = save_name + "_state_dict.pt";
  std::vector<std::string> wanted{model_file};
  if (optimizer) wanted.emplace_back("optimizer.pt");
  if (scheduler) wanted.emplace_back("scheduler.pt");
  if (regularizer) wanted.emplace_back("regularizer.pt");
  if (st.extra.is_dict() && st.extra.contains("files")) {
    const io::Value files = st.extra.at("files");
    for (const auto& name : wanted) {
      const std::string path = detail::join_path(save_dir, name);
      if (!std::filesystem::exists(path))
        throw_error<io_error>("checkpoint ", save_dir, ": ", name, " is missing (", path, ")");
      const auto* rec = files.find(std::string_view(name));
      if (!rec) throw_error<io_error>("checkpoint ", save_dir, ": manifest.pt does not list ", name);
      const io::Value got = detail::read_checkpoint_file(save_dir, name, detail::file_record);
      const auto size = got.at("size").as<std::int64_t>(), want_size = rec->at("size").as<std::int64_t>();
      if (size != want_size)
        throw_error<io_error>("checkpoint ", save_dir, ": ", name, " has ", size, " bytes, manifest.pt recorded ", want_size,
                              " (truncated, or left by an interrupted checkpoint)");
      if (got.at("crc32").as<std::int64_t>() != rec->at("crc32").as<std::int64_t>())
        throw_error<io_error>("checkpoint ", save_dir, ": ", name,
                              " does not match the CRC-32 manifest.pt recorded (corrupt, or left by an interrupted checkpoint)");
    }
  }
  const io::StateDict sd =
      detail::read_checkpoint_file(save_dir, model_file, [](const std::string& p) { return io::load_state_dict(p); });
  auto read_pt = [&](const std::string& name) {
    return detail::read_checkpoint_file(save_dir, name, [](const std::string& p) { return io::load_pt(p); });
  };
  const io::Value opt_sd = optimizer ? read_pt("optimizer.pt") : io::Value();
  const io::Value sched_sd = scheduler ? read_pt("scheduler.pt") : io::Value();
  const io::Value reg_sd = regularizer ? read_pt("regularizer.pt") : io::Value();

  model.load_state_dict(sd);
  if (optimizer) optimizer->load_state_dict(opt_sd);
  if (scheduler) scheduler.load_state_dict(sched_sd);
  if (regularizer) regularizer->load_state_dict(reg_sd);
  return st;
}

}  // namespace neuralop::training
