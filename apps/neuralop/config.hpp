// The `neuralop` CLI's configuration: a typed schema whose keys are NeuralOperator's config names
// (config/darcy_config.py: data.*, model.*, opt.*), read from a TOML file (toml++) and from
// command-line overrides (--opt.n_epochs=30). Unknown keys and wrong types are errors that name
// the key, the file and the line.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <toml++/toml.h>

#include "neuralop/core/error.hpp"

namespace neuralop::cli {

struct config_error : value_error {
  using value_error::value_error;
};

// Defaults: NeuralOperator's plot_FNO_darcy recipe (FNO (8, 8), hidden 24, AdamW 1e-2,
// CosineAnnealingLR T_max 30, 15 epochs, batch 64, H1 training loss), on the shipped Darcy files.
struct Config {
  std::int64_t seed = 0;
  int threads = 0;        // 0: NEURALOP_NUM_THREADS or every core
  bool verbose = true;

  struct Data {
    std::string dataset = "darcy";  // darcy | burgers | navier_stokes
    std::string folder = "";        // required: where {dataset}_train_{res}.pt etc. are
    int n_train = 1000;
    std::vector<int> n_tests = {100, 50};
    int batch_size = 64;
    std::vector<int> test_batch_sizes = {32, 32};
    int train_resolution = 16;
    std::vector<int> test_resolutions = {16, 32};
    bool encode_input = false;
    bool encode_output = true;
    std::string encoding = "channel-wise";  // channel-wise | pixel-wise
    bool shuffle = false;                   // NeuralOperator's Darcy loader does not shuffle
    bool generate = false;                  // make missing files with the built-in generator
  } data;

  // The built-in generator behind data.generate (Darcy; `neuralop generate` for the others).
  struct Generate {
    std::int64_t seed = 0;
    int solve_resolution = 0;  // 0: the generator's default
    std::string preset = "fno_paper";  // fno_paper | neuralop_files
  } generate;

  struct Model {
    std::string model_arch = "fno";  // fno | tfno
    std::vector<int> n_modes = {8, 8};
    int data_channels = 1;  // in_channels
    int out_channels = 1;
    int hidden_channels = 24;
    int n_layers = 4;
    double lifting_channel_ratio = 2;
    double projection_channel_ratio = 2;
    std::vector<double> domain_padding = {};
    std::string norm = "none";
    std::string fno_skip = "linear";
    std::string channel_mlp_skip = "soft-gating";
    bool use_channel_mlp = true;
    double channel_mlp_expansion = 0.5;
    double channel_mlp_dropout = 0;
    std::string factorization = "none";
    double rank = 1.0;
    std::string implementation = "factorized";
    bool separable = false;
    std::string stabilizer = "none";
    bool preactivation = false;
    std::string positional_embedding = "grid";
  } model;

  struct Opt {
    int n_epochs = 15;
    double learning_rate = 1e-2;
    double weight_decay = 1e-4;
    std::string training_loss = "h1";  // h1 | l2
    std::string scheduler = "CosineAnnealingLR";  // CosineAnnealingLR | StepLR | ReduceLROnPlateau
    int scheduler_T_max = 30;
    int step_size = 60;
    double gamma = 0.5;
    int scheduler_patience = 50;
    int eval_interval = 1;
    bool activation_checkpointing = false;  // recompute the lifting and Fourier layers in backward (less memory)
  } opt;

  struct Checkpoint {
    std::string save_dir = "";         // "" : no checkpoints
    int save_every = 0;                // 0: never (NeuralOperator's None)
    std::string save_best = "";        // a metric such as "16_l2"; disables save_every
    std::string resume_from_dir = "";  // "" : start from scratch
  } checkpoint;

  struct Log {
    std::string dir = "";  // metrics.csv and metrics.jsonl there ("" : none)
  } log;

  struct Plot {
    std::string dir = "";  // PNG pictures of test samples and loss curves there ("" : none)
    int n_samples = 3;     // test samples per picture
  } plot;
};

// NeuralOperator writes None; TOML has no null, so "none" / "None" / "" stand for it.
inline bool is_none(const std::string& s) { return s.empty() || s == "none" || s == "None"; }

using FieldRef = std::variant<std::int64_t*, int*, double*, bool*, std::string*, std::vector<int>*, std::vector<double>*>;

struct Field {
  std::string key;
  FieldRef ref;
  std::string help;
};

inline std::vector<Field> schema(Config& c) {
  auto& d = c.data;
  auto& m = c.model;
  auto& o = c.opt;
  auto& k = c.checkpoint;
  return {
      {"seed", &c.seed, "seed of the model initialisation and the shuffle"},
      {"threads", &c.threads, "CPU threads (0: NEURALOP_NUM_THREADS or every core)"},
      {"verbose", &c.verbose, "per-epoch lines"},
      {"data.dataset", &d.dataset, "darcy | burgers | navier_stokes"},
      {"data.folder", &d.folder, "folder of the .pt files (required)"},
      {"data.n_train", &d.n_train, "training samples"},
      {"data.n_tests", &d.n_tests, "test samples per test resolution"},
      {"data.batch_size", &d.batch_size, "training batch size"},
      {"data.test_batch_sizes", &d.test_batch_sizes, "batch size per test resolution"},
      {"data.train_resolution", &d.train_resolution, "resolution of the training file"},
      {"data.test_resolutions", &d.test_resolutions, "resolutions of the test files"},
      {"data.encode_input", &d.encode_input, "normalise x (UnitGaussianNormalizer)"},
      {"data.encode_output", &d.encode_output, "normalise y in training, de-normalise outputs in evaluation"},
      {"data.encoding", &d.encoding, "channel-wise | pixel-wise"},
      {"data.shuffle", &d.shuffle, "shuffle the training loader (seeded)"},
      {"data.generate", &d.generate, "make missing (or differently made) files in data.folder with the built-in generator (darcy)"},
      {"generate.seed", &c.generate.seed, "generator seed (test samples: indices from 1000000 on)"},
      {"generate.solve_resolution", &c.generate.solve_resolution, "solver grid (0: the generator's default)"},
      {"generate.preset", &c.generate.preset, "fno_paper (a = 12 / 3, f = 1) | neuralop_files (NeuralOperator's solution scale)"},
      {"model.model_arch", &m.model_arch, "fno | tfno"},
      {"model.n_modes", &m.n_modes, "Fourier modes per axis"},
      {"model.data_channels", &m.data_channels, "input channels"},
      {"model.out_channels", &m.out_channels, "output channels"},
      {"model.hidden_channels", &m.hidden_channels, "width"},
      {"model.n_layers", &m.n_layers, "Fourier layers"},
      {"model.lifting_channel_ratio", &m.lifting_channel_ratio, "lifting width / hidden_channels"},
      {"model.projection_channel_ratio", &m.projection_channel_ratio, "projection width / hidden_channels"},
      {"model.domain_padding", &m.domain_padding, "fraction padded per axis ([] : none)"},
      {"model.norm", &m.norm, "none | instance_norm | group_norm | batch_norm"},
      {"model.fno_skip", &m.fno_skip, "linear | identity | soft-gating"},
      {"model.channel_mlp_skip", &m.channel_mlp_skip, "soft-gating | linear | identity"},
      {"model.use_channel_mlp", &m.use_channel_mlp, "a channel MLP in each block"},
      {"model.channel_mlp_expansion", &m.channel_mlp_expansion, "channel MLP width / hidden_channels"},
      {"model.channel_mlp_dropout", &m.channel_mlp_dropout, "dropout in the channel MLPs"},
      {"model.factorization", &m.factorization, "none | tucker | cp | tt (spectral weights)"},
      {"model.rank", &m.rank, "factorization rank (fraction)"},
      {"model.implementation", &m.implementation, "factorized | reconstructed"},
      {"model.separable", &m.separable, "separable spectral weights"},
      {"model.stabilizer", &m.stabilizer, "none | tanh"},
      {"model.preactivation", &m.preactivation, "activation before the convolutions"},
      {"model.positional_embedding", &m.positional_embedding, "grid | none"},
      {"opt.n_epochs", &o.n_epochs, "epochs"},
      {"opt.learning_rate", &o.learning_rate, "AdamW learning rate"},
      {"opt.weight_decay", &o.weight_decay, "AdamW weight decay"},
      {"opt.training_loss", &o.training_loss, "h1 | l2"},
      {"opt.scheduler", &o.scheduler, "CosineAnnealingLR | StepLR | ReduceLROnPlateau"},
      {"opt.scheduler_T_max", &o.scheduler_T_max, "CosineAnnealingLR T_max"},
      {"opt.step_size", &o.step_size, "StepLR step_size"},
      {"opt.gamma", &o.gamma, "StepLR gamma, ReduceLROnPlateau factor"},
      {"opt.scheduler_patience", &o.scheduler_patience, "ReduceLROnPlateau patience"},
      {"opt.eval_interval", &o.eval_interval, "evaluate every this many epochs"},
      {"opt.activation_checkpointing", &o.activation_checkpointing, "recompute the lifting and the Fourier layers in backward instead of keeping their activations (less memory, slower)"},
      {"checkpoint.save_dir", &k.save_dir, "checkpoint folder (\"\" : none)"},
      {"checkpoint.save_every", &k.save_every, "checkpoint every this many epochs (0: never)"},
      {"checkpoint.save_best", &k.save_best, "keep the best model by this metric, e.g. \"16_l2\""},
      {"checkpoint.resume_from_dir", &k.resume_from_dir, "resume from this checkpoint folder"},
      {"log.dir", &c.log.dir, "write metrics.csv and metrics.jsonl here"},
      {"plot.dir", &c.plot.dir, "write PNG pictures (test samples, loss curves) here (\"\" : none)"},
      {"plot.n_samples", &c.plot.n_samples, "test samples per picture"},
  };
}

namespace detail {

inline std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

inline std::string type_name(const FieldRef& r) {
  return std::visit(
      [](auto* p) -> std::string {
        using F = std::remove_pointer_t<decltype(p)>;
        if constexpr (std::is_same_v<F, bool>) return "a boolean (true or false)";
        else if constexpr (std::is_integral_v<F>) return "an integer";
        else if constexpr (std::is_same_v<F, double>) return "a number";
        else if constexpr (std::is_same_v<F, std::string>) return "a string";
        else if constexpr (std::is_same_v<F, std::vector<int>>) return "an array of integers";
        else return "an array of numbers";
      },
      r);
}

inline std::string describe(const toml::node& n) {
  std::ostringstream s;
  switch (n.type()) {
    case toml::node_type::string: s << "a string (\"" << *n.value<std::string>() << "\")"; break;
    case toml::node_type::integer: s << "an integer (" << *n.value<std::int64_t>() << ")"; break;
    case toml::node_type::floating_point: s << "a number (" << *n.value<double>() << ")"; break;
    case toml::node_type::boolean: s << "a boolean (" << (*n.value<bool>() ? "true" : "false") << ")"; break;
    case toml::node_type::array: s << "an array"; break;
    case toml::node_type::table: s << "a table"; break;
    default: s << "a date or time"; break;
  }
  return s.str();
}

inline std::int64_t int_of(const toml::node& n, bool& ok) {
  ok = n.is_integer();
  return ok ? *n.value<std::int64_t>() : 0;
}
inline double number_of(const toml::node& n, bool& ok) {
  ok = n.is_integer() || n.is_floating_point();
  return ok ? *n.value<double>() : 0;
}

inline int narrow_int(std::int64_t v, const std::string& key, const std::string& where) {
  if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max())
    throw_error<config_error>("config key '", key, "'", where, ": ", v, " does not fit in an int");
  return static_cast<int>(v);
}

// Assigns node n to the field; throws config_error naming key and place on a type mismatch.
inline void assign(const Field& f, const toml::node& n, const std::string& where) {
  auto fail = [&]() {
    throw_error<config_error>("config key '", f.key, "'", where, " must be ", type_name(f.ref), ", got ", describe(n));
  };
  std::visit(
      [&](auto* p) {
        using F = std::remove_pointer_t<decltype(p)>;
        bool ok = false;
        if constexpr (std::is_same_v<F, bool>) {
          if (!n.is_boolean()) fail();
          *p = *n.value<bool>();
        } else if constexpr (std::is_same_v<F, std::int64_t>) {
          *p = int_of(n, ok);
          if (!ok) fail();
        } else if constexpr (std::is_same_v<F, int>) {
          const auto v = int_of(n, ok);
          if (!ok) fail();
          *p = narrow_int(v, f.key, where);
        } else if constexpr (std::is_same_v<F, double>) {
          *p = number_of(n, ok);
          if (!ok) fail();
        } else if constexpr (std::is_same_v<F, std::string>) {
          if (!n.is_string()) fail();
          *p = *n.value<std::string>();
        } else {
          const toml::array* a = n.as_array();
          if (!a) fail();
          F out;
          for (const toml::node& e : *a) {
            if constexpr (std::is_same_v<F, std::vector<int>>) {
              const auto v = int_of(e, ok);
              if (!ok) fail();
              out.push_back(narrow_int(v, f.key, where));
            } else {
              out.push_back(number_of(e, ok));
              if (!ok) fail();
            }
          }
          *p = std::move(out);
        }
      },
      f.ref);
}

}  // namespace detail

class ConfigReader {
 public:
  explicit ConfigReader(Config& c) : fields_(schema(c)) {}

  // Every key of a TOML document (nested tables give dotted keys).
  void apply_toml(const toml::table& t, const std::string& source) { walk(t, "", source); }

  void apply_file(const std::string& path) {
    toml::table t;
    try {
      t = toml::parse_file(path);
    } catch (const toml::parse_error& e) {
      throw_error<config_error>("config file ", path, " line ", e.source().begin.line, ", column ", e.source().begin.column,
                                ": ", e.description());
    }
    apply_toml(t, path);
  }
  void apply_string(std::string_view text, const std::string& source) {
    toml::table t;
    try {
      t = toml::parse(text, source);
    } catch (const toml::parse_error& e) {
      throw_error<config_error>("config ", source, " line ", e.source().begin.line, ": ", e.description());
    }
    apply_toml(t, source);
  }

  // "--opt.n_epochs=30" or {"--opt.n_epochs", "30"}: the value is read as a TOML value (30, 1e-3,
  // true, [8, 8], "text"); a bare word that is not one is taken as a string (--data.dataset=burgers).
  void apply_override(const std::string& key, const std::string& value) {
    const Field& f = find(key, " (command line)");
    const std::string where = " (command line --" + key + ")";
    toml::table t;
    try {
      t = toml::parse("v = " + value);
    } catch (const toml::parse_error&) {
      t = toml::table{{"v", value}};
    }
    detail::assign(f, *t.get("v"), where);
  }

  // Parses "--key=value" / "--key value" pairs; returns the arguments that are not overrides.
  std::vector<std::string> apply_arguments(const std::vector<std::string>& args) {
    std::vector<std::string> rest;
    for (std::size_t i = 0; i < args.size(); ++i) {
      const std::string& a = args[i];
      if (a.rfind("--", 0) != 0 || a.size() < 3) {
        rest.push_back(a);
        continue;
      }
      const auto eq = a.find('=');
      if (eq != std::string::npos) {
        apply_override(a.substr(2, eq - 2), a.substr(eq + 1));
      } else {
        if (i + 1 >= args.size()) throw_error<config_error>("command line: ", a, " needs a value (", a, "=VALUE)");
        apply_override(a.substr(2), args[++i]);
      }
    }
    return rest;
  }

  const std::vector<Field>& fields() const { return fields_; }

 private:
  const Field& find(const std::string& key, const std::string& where) const {
    for (const Field& f : fields_)
      if (f.key == key) return f;
    // The closest known key, when it is close enough to be a typo.
    const Field* best = nullptr;
    std::size_t best_d = 1000;
    for (const Field& f : fields_) {
      const std::size_t d = detail::edit_distance(key, f.key);
      if (d < best_d) best_d = d, best = &f;
    }
    std::string hint;
    if (best && best_d <= std::max<std::size_t>(3, key.size() / 4)) hint = "; did you mean '" + best->key + "'?";
    throw_error<config_error>("config key '", key, "'", where, " does not exist", hint,
                              " (`neuralop help-config` lists the keys)");
  }

  void walk(const toml::table& t, const std::string& prefix, const std::string& source) {
    for (auto&& [k, node] : t) {
      const std::string key = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
      const std::string where = " (" + source + " line " + std::to_string(node.source().begin.line) + ")";
      if (const toml::table* sub = node.as_table()) {
        // A table is a section unless a field has exactly its key (then assign() names the type).
        bool is_field = false;
        for (const Field& f : fields_)
          if (f.key == key) is_field = true;
        if (!is_field) {
          walk(*sub, key, source);
          continue;
        }
      }
      detail::assign(find(key, where), node, where);
    }
  }

  std::vector<Field> fields_;
};

// Checks of values the types do not catch; each error names the key.
inline void validate(const Config& c) {
  auto bad = [](const std::string& key, auto&&... msg) { throw_error<config_error>("config key '", key, "': ", msg...); };
  auto one_of = [&](const std::string& key, const std::string& v, std::initializer_list<const char*> allowed) {
    std::string list;
    for (const char* a : allowed) {
      if (v == a) return;
      list += std::string(list.empty() ? "" : ", ") + a;
    }
    bad(key, "\"", v, "\" is not one of ", list);
  };
  if (c.threads < 0) bad("threads", "must be >= 0, got ", c.threads);
  one_of("data.dataset", c.data.dataset, {"darcy", "burgers", "navier_stokes"});
  one_of("generate.preset", c.generate.preset, {"fno_paper", "neuralop_files"});
  if (c.data.generate && c.data.dataset != "darcy")
    bad("data.generate", "is supported for data.dataset = \"darcy\" (make other data with `neuralop generate`)");
  if (c.generate.seed < 0) bad("generate.seed", "must be >= 0, got ", c.generate.seed);
  if (c.generate.solve_resolution < 0) bad("generate.solve_resolution", "must be >= 0, got ", c.generate.solve_resolution);
  if (c.plot.n_samples < 1) bad("plot.n_samples", "must be >= 1, got ", c.plot.n_samples);
  if (c.data.folder.empty()) bad("data.folder", "is required (the folder holding the dataset's .pt files)");
  if (c.data.n_train <= 0) bad("data.n_train", "must be positive, got ", c.data.n_train);
  if (c.data.batch_size <= 0) bad("data.batch_size", "must be positive, got ", c.data.batch_size);
  if (c.data.test_resolutions.empty()) bad("data.test_resolutions", "needs at least one resolution");
  if (c.data.n_tests.size() != c.data.test_resolutions.size())
    bad("data.n_tests", "has ", c.data.n_tests.size(), " entries but data.test_resolutions has ", c.data.test_resolutions.size());
  if (c.data.test_batch_sizes.size() != c.data.test_resolutions.size())
    bad("data.test_batch_sizes", "has ", c.data.test_batch_sizes.size(), " entries but data.test_resolutions has ",
        c.data.test_resolutions.size());
  for (int b : c.data.test_batch_sizes)
    if (b <= 0) bad("data.test_batch_sizes", "must be positive, got ", b);
  one_of("data.encoding", c.data.encoding, {"channel-wise", "pixel-wise"});
  one_of("model.model_arch", c.model.model_arch, {"fno", "tfno"});
  if (c.model.n_modes.size() != 2) bad("model.n_modes", "needs 2 entries (the CLI trains 2-D FNOs), got ", c.model.n_modes.size());
  if (c.model.hidden_channels <= 0) bad("model.hidden_channels", "must be positive, got ", c.model.hidden_channels);
  if (c.opt.n_epochs <= 0) bad("opt.n_epochs", "must be positive, got ", c.opt.n_epochs);
  if (!(c.opt.learning_rate > 0)) bad("opt.learning_rate", "must be positive, got ", c.opt.learning_rate);
  one_of("opt.training_loss", c.opt.training_loss, {"h1", "l2"});
  one_of("opt.scheduler", c.opt.scheduler, {"CosineAnnealingLR", "StepLR", "ReduceLROnPlateau"});
  if (c.opt.eval_interval <= 0) bad("opt.eval_interval", "must be positive, got ", c.opt.eval_interval);
  if (c.checkpoint.save_every < 0) bad("checkpoint.save_every", "must be >= 0, got ", c.checkpoint.save_every);
  if ((c.checkpoint.save_every > 0 || !c.checkpoint.save_best.empty()) && c.checkpoint.save_dir.empty())
    bad("checkpoint.save_dir", "is required with save_every or save_best");
}

// The keys, their types, defaults and help (for `neuralop help-config`).
inline std::string describe_schema() {
  Config c;
  std::ostringstream s;
  for (const Field& f : schema(c)) {
    s << "  " << f.key << " = ";
    std::visit(
        [&](auto* p) {
          using F = std::remove_pointer_t<decltype(p)>;
          if constexpr (std::is_same_v<F, bool>) s << (*p ? "true" : "false");
          else if constexpr (std::is_same_v<F, std::string>) s << '"' << *p << '"';
          else if constexpr (std::is_arithmetic_v<F>) s << *p;
          else {
            s << '[';
            for (std::size_t i = 0; i < p->size(); ++i) s << (i ? ", " : "") << (*p)[i];
            s << ']';
          }
        },
        f.ref);
    s << "    # " << f.help << "\n";
  }
  return s.str();
}

}  // namespace neuralop::cli
