// `neuralop`: train and evaluate 2-D FNOs from a TOML config, as NeuralOperator's
// scripts/train_darcy.py does from its config (same key names; see apps/neuralop/config.hpp).
//
//   neuralop train CONFIG.toml [--key=value ...]
//   neuralop eval CONFIG.toml --checkpoint DIR [--key=value ...]
//   neuralop generate darcy|burgers|navier_stokes --n N --res R --out FILE [...]
//   neuralop help-config
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <neuralop/data/data.hpp>
#include <neuralop/losses/losses.hpp>
#include <neuralop/models/fno.hpp>
#include <neuralop/neuralop.hpp>
#include <neuralop/optim/optim.hpp>
#include <neuralop/training/training.hpp>

#include "config.hpp"
#include "generate.hpp"
#include "parallel.hpp"
#include "pictures.hpp"

namespace no = neuralop;
using no::cli::Config;

namespace {

constexpr const char* usage = R"(usage:
  neuralop train CONFIG.toml [--key=value ...]   train, print per-epoch metrics and a final table
  neuralop eval CONFIG.toml --checkpoint DIR [--key=value ...]
                                                 evaluate a checkpoint (DIR holds model_state_dict.pt
                                                 or best_model_state_dict.pt, as `train` writes them)
  neuralop generate darcy|burgers|navier_stokes --n N --res R --out FILE [options]
                                                 make a dataset with the built-in PDE solvers
                                                 (neuralop generate --help lists the options)
  neuralop help-config                           every config key with its default

Keys are NeuralOperator's config names (data.*, model.*, opt.*, checkpoint.*); for example
  neuralop train configs/darcy.toml --data.folder=../shared/reference/neuralop-data --opt.n_epochs=30
)";

std::string none_to_empty(const std::string& s) { return no::cli::is_none(s) ? std::string() : s; }

no::FNOOptions fno_options(const Config& c) {
  const auto& m = c.model;
  no::FNOOptions o;
  o.n_modes = m.n_modes;
  o.in_channels = m.data_channels;
  o.out_channels = m.out_channels;
  o.hidden_channels = m.hidden_channels;
  o.n_layers = m.n_layers;
  o.lifting_channel_ratio = m.lifting_channel_ratio;
  o.projection_channel_ratio = m.projection_channel_ratio;
  o.positional_embedding = m.positional_embedding;
  o.norm = none_to_empty(m.norm);
  o.use_channel_mlp = m.use_channel_mlp;
  o.channel_mlp_dropout = m.channel_mlp_dropout;
  o.channel_mlp_expansion = m.channel_mlp_expansion;
  o.channel_mlp_skip = m.channel_mlp_skip;
  o.fno_skip = m.fno_skip;
  o.domain_padding = m.domain_padding;
  o.stabilizer = none_to_empty(m.stabilizer);
  o.implementation = m.implementation;
  o.separable = m.separable;
  o.preactivation = m.preactivation;
  if (m.model_arch == "tfno") {
    o.factorization = no::cli::is_none(m.factorization) ? "tucker" : m.factorization;
    o.rank = m.rank == 1.0 ? 0.1 : m.rank;  // TFNO's defaults unless the config says otherwise
  } else {
    o.factorization = none_to_empty(m.factorization);
    o.rank = m.rank;
  }
  return o;
}

// Darcy's and Navier-Stokes' loader options (the same fields) from a config.
template <class O>
O grid_options(const Config& c) {
  const auto& d = c.data;
  O o;
  o.data_root = d.folder;
  o.n_train = d.n_train;
  o.n_tests.assign(d.n_tests.begin(), d.n_tests.end());
  o.batch_size = d.batch_size;
  o.test_batch_sizes.assign(d.test_batch_sizes.begin(), d.test_batch_sizes.end());
  o.train_resolution = d.train_resolution;
  o.test_resolutions = d.test_resolutions;
  o.encode_input = d.encode_input;
  o.encode_output = d.encode_output;
  o.encoding = d.encoding;
  return o;
}

// The data of a config, as NeuralOperator's loaders return it: (train, tests, processor).
template <class F>
auto with_data(const Config& c, F&& f) {
  const auto& d = c.data;
  if (d.dataset == "darcy") {
    auto data = no::data::load_darcy_pt<float>(grid_options<no::data::DarcyOptions>(c));
    return f(data);
  }
  if (d.dataset == "burgers") {
    if (d.test_resolutions != std::vector<int>{16} || d.train_resolution != 16)
      no::throw_error<no::cli::config_error>("config: the mini Burgers data exist at resolution 16 only (data.train_resolution = 16, data.test_resolutions = [16])");
    auto data = no::data::load_mini_burgers_1dtime<float>({.data_path = d.folder,
                                                           .n_train = d.n_train,
                                                           .n_test = d.n_tests.at(0),
                                                           .batch_size = d.batch_size,
                                                           .test_batch_size = d.test_batch_sizes.at(0),
                                                           .seed = static_cast<std::uint64_t>(c.seed)});
    return f(data);
  }
  auto data = no::data::load_navier_stokes_pt<float>(grid_options<no::data::NavierStokesOptions>(c));
  return f(data);
}

void print_table(const std::vector<std::pair<std::string, no::training::Metrics>>& rows) {
  std::vector<std::string> cols;
  for (const auto& [name, m] : rows)
    for (const auto& [k, v] : m) {
      const std::string col = k.substr(k.find('_') + 1);
      if (std::find(cols.begin(), cols.end(), col) == cols.end()) cols.push_back(col);
    }
  std::cout << "\n" << std::left << std::setw(12) << "resolution";
  for (const auto& c : cols) std::cout << std::right << std::setw(12) << c;
  std::cout << "\n" << std::string(12 + 12 * cols.size(), '-') << "\n";
  for (const auto& [name, m] : rows) {
    std::cout << std::left << std::setw(12) << name;
    for (const auto& c : cols) {
      const std::string key = name + "_" + c;
      if (m.contains(key)) std::cout << std::right << std::setw(12) << std::setprecision(5) << std::fixed << m.at(key);
      else std::cout << std::right << std::setw(12) << "-";
    }
    std::cout << "\n";
  }
  std::cout.unsetf(std::ios::floatfield);
}

int run(const std::string& command, const Config& c, const std::string& checkpoint, no::cli::Parallel& par) {
  if (const int threads = par.threads(c.threads); threads > 0) no::cpu::set_num_threads(threads);
  no::manual_seed(static_cast<std::uint64_t>(c.seed));
  if (c.data.generate) {
    if (par.root()) no::cli::ensure_generated(c, !c.verbose);
    par.barrier();  // the other ranks read what rank 0 wrote
  }

  return with_data(c, [&](auto& data) {
    // Data-parallel: this rank's shards (the normalizers were fitted on all the training data).
    par.shard(data, c.data.batch_size, command == "train");
    using Data = std::remove_cvref_t<decltype(data)>;
    using Proc = decltype(Data::processor);
    // The model is built after the data so that a data error comes before any work.
    no::FNO<2> model(fno_options(c));
    if (par.root()) std::cout << "neuralop " << command << ": " << c.data.dataset << ", " << (c.model.model_arch == "tfno" ? "TFNO" : "FNO")
              << " n_modes [" << c.model.n_modes[0] << ", " << c.model.n_modes[1] << "], hidden " << c.model.hidden_channels
              << ", " << model.count_model_params() << " parameters; " << data.train.dataset().size() << " training samples, "
              << no::cpu::num_threads() << " threads" << (par.enabled() ? " per process" : "") << "\n";
    if (par.enabled() && par.root())
      std::cout << "data-parallel: " << par.size() << " processes, global batch " << c.data.batch_size << " ("
                << c.data.batch_size / par.size() << " per process)\n";

    no::losses::H1Loss<2> h1;
    no::losses::LpLoss<2> l2;
    using Trainer = no::training::Trainer<no::FNO<2>, Proc>;
    using Loader = decltype(data.train);
    typename Trainer::template loss_fn<Loader> h1_fn = [&](const auto& p, const auto& y) { return h1(p, y); };
    typename Trainer::template loss_fn<Loader> l2_fn = [&](const auto& p, const auto& y) { return l2(p, y); };
    typename Trainer::template eval_losses_type<Loader> eval_losses = {{"h1", h1_fn}, {"l2", l2_fn}};

    no::cli::CurveRecorder curves;
    Trainer trainer(model,
                    {.n_epochs = c.opt.n_epochs, .eval_interval = c.opt.eval_interval, .verbose = c.verbose, .log_dir = c.log.dir,
                     .activation_checkpointing = c.opt.activation_checkpointing, .callbacks = {&curves}, .data_parallel = par.attach(model)},
                    data.processor);
    std::vector<std::pair<std::string, no::training::Metrics>> rows;

    if (command == "eval") {
      namespace fs = std::filesystem;
      const std::string name = fs::exists(fs::path(checkpoint) / "best_model_state_dict.pt") ? "best_model" : "model";
      no::training::load_training_state(checkpoint, name, model);
      if (par.root()) std::cout << "loaded " << (fs::path(checkpoint) / (name + "_state_dict.pt")).string() << "\n";
    } else {
      no::optim::AdamW opt(model.parameters(), {.lr = c.opt.learning_rate, .weight_decay = c.opt.weight_decay});
      std::unique_ptr<no::optim::LRScheduler> epoch_sched;
      std::unique_ptr<no::optim::ReduceLROnPlateau> plateau;
      no::training::SchedulerRef sched;
      if (c.opt.scheduler == "CosineAnnealingLR") {
        epoch_sched = std::make_unique<no::optim::CosineAnnealingLR>(opt, no::optim::CosineAnnealingLROptions{.T_max = c.opt.scheduler_T_max});
        sched = *epoch_sched;
      } else if (c.opt.scheduler == "StepLR") {
        epoch_sched = std::make_unique<no::optim::StepLR>(opt, no::optim::StepLROptions{.step_size = c.opt.step_size, .gamma = c.opt.gamma});
        sched = *epoch_sched;
      } else {
        plateau = std::make_unique<no::optim::ReduceLROnPlateau>(
            opt, no::optim::ReduceLROnPlateauOptions{.factor = c.opt.gamma, .patience = c.opt.scheduler_patience});
        sched = *plateau;
      }
      typename Trainer::template train_options<Loader> to;
      to.save_dir = c.checkpoint.save_dir.empty() ? "./ckpt" : c.checkpoint.save_dir;
      if (c.checkpoint.save_every > 0) to.save_every = c.checkpoint.save_every;
      if (!c.checkpoint.save_best.empty()) to.save_best = c.checkpoint.save_best;
      if (!c.checkpoint.resume_from_dir.empty()) to.resume_from_dir = c.checkpoint.resume_from_dir;
      const auto t0 = std::chrono::steady_clock::now();
      trainer.train(data.train, data.tests, opt, sched, c.opt.training_loss == "h1" ? h1_fn : l2_fn, eval_losses, to);
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (par.root())
        std::cout << "trained " << c.opt.n_epochs << " epochs in " << std::setprecision(4) << secs << " s\n"
                  << par.sync_report(secs);
    }
    // The final table: every test loader, every eval loss, per sample (physical units when the
    // output is normalised: the processor de-normalises in evaluation).
    for (auto& [res, loader] : data.tests) rows.emplace_back(std::to_string(res), trainer.evaluate(eval_losses, loader, std::to_string(res)));
    if (!par.root()) return 0;
    print_table(rows);
    if (!c.plot.dir.empty()) {
      namespace fs = std::filesystem;
      fs::create_directories(c.plot.dir);
      std::vector<std::string> written;
      for (auto& [res, shard] : data.tests) {
        // The pictures show the first samples of the whole test set, not of rank 0's shard.
        auto whole = shard.options();
        whole.num_replicas = 1;
        whole.rank = 0;
        std::remove_cvref_t<decltype(shard)> loader(shard.dataset(), whole);
        const std::string title = c.data.dataset + " " + std::to_string(res) + "x" + std::to_string(res) + ": test samples (trained at " +
                                  std::to_string(c.data.train_resolution) + ")";
        written.push_back((fs::path(c.plot.dir) / (c.data.dataset + "_test_" + std::to_string(res) + ".png")).string());
        no::cli::write_sample_pictures(model, data.processor, loader, c.plot.n_samples, title, written.back());
      }
      if (!curves.epochs.empty()) {
        written.push_back((fs::path(c.plot.dir) / "loss_curves.png").string());
        no::training::Metrics final;
        for (const auto& row : rows)
          for (const auto& kv : row.second) final.set(kv.first, kv.second);
        no::cli::write_loss_curves(curves, c.opt.training_loss, final, written.back());
      }
      std::cout << "\npictures:";
      for (const auto& w : written) std::cout << " " << w;
      std::cout << "\n";
    }
    return 0;
  });
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
    std::cout << usage;
    return args.empty() ? 2 : 0;
  }
  if (args[0] == "help-config") {
    std::cout << "config keys (TOML; tables [data], [model], [opt], [checkpoint], [log]) and defaults:\n"
              << no::cli::describe_schema();
    return 0;
  }
  const std::string command = args[0];
  if (command == "generate") {
    const std::vector<std::string> rest(args.begin() + 1, args.end());
    if (rest.empty() || rest[0] == "--help" || rest[0] == "-h") {
      std::cout << no::cli::generate_usage;
      return rest.empty() ? 2 : 0;
    }
    try {
      const auto a = no::cli::parse_generate_args(rest);
      const auto t0 = std::chrono::steady_clock::now();
      const auto paths = no::cli::run_generation(a);
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      for (const auto& p : paths) std::cout << "wrote " << p << "\n";
      std::cout << a.n << " " << a.pde << " samples in " << std::setprecision(3) << secs << " s\n";
      return 0;
    } catch (const std::exception& e) {
      std::cerr << "neuralop generate: error: " << e.what() << "\n";
      return 1;
    }
  }
  if (command != "train" && command != "eval") {
    std::cerr << "neuralop: unknown command '" << command << "'\n\n" << usage;
    return 2;
  }
  try {
    // --checkpoint is eval's own argument, not a config key.
    std::string checkpoint;
    std::vector<std::string> rest_args;
    for (std::size_t i = 1; i < args.size(); ++i) {
      if (args[i] == "--checkpoint" && i + 1 < args.size()) checkpoint = args[++i];
      else if (args[i].rfind("--checkpoint=", 0) == 0) checkpoint = args[i].substr(13);
      else rest_args.push_back(args[i]);
    }
    Config c;
    no::cli::ConfigReader reader(c);
    // The file first, then the overrides, whatever their order on the command line.
    std::vector<std::string> files, overrides;
    for (std::size_t i = 0; i < rest_args.size(); ++i) {
      if (rest_args[i].rfind("--", 0) == 0) {
        overrides.push_back(rest_args[i]);
        if (rest_args[i].find('=') == std::string::npos && i + 1 < rest_args.size()) overrides.push_back(rest_args[++i]);
      } else {
        files.push_back(rest_args[i]);
      }
    }
    if (files.size() != 1) {
      std::cerr << "neuralop " << command << ": expected one config file, got " << files.size() << "\n\n" << usage;
      return 2;
    }
    reader.apply_file(files[0]);
    reader.apply_arguments(overrides);
    no::cli::validate(c);
    if (command == "eval" && checkpoint.empty()) {
      std::cerr << "neuralop eval: --checkpoint DIR is required\n";
      return 2;
    }
    no::cli::Parallel par;
    par.start(&argc, &argv);
    return par.run([&] { return run(command, c, checkpoint, par); });
  } catch (const std::exception& e) {
    std::cerr << "neuralop " << command << ": error: " << e.what() << "\n";
    return 1;
  }
}
