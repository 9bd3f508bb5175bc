// The CLI's config reader: TOML files and overrides into the typed schema, errors naming the key.
#include <doctest/doctest.h>

#include <string>

#include "../../apps/neuralop/config.hpp"

using neuralop::cli::Config;
using neuralop::cli::ConfigReader;
using neuralop::cli::config_error;

namespace {
std::string error_of(auto&& f) {
  try {
    f();
  } catch (const config_error& e) {
    return e.what();
  }
  return "(no error)";
}
}  // namespace

TEST_CASE("config: defaults are the plot_FNO_darcy recipe") {
  Config c;
  CHECK(c.model.n_modes == std::vector<int>{8, 8});
  CHECK(c.model.hidden_channels == 24);
  CHECK(c.opt.learning_rate == 1e-2);
  CHECK(c.opt.n_epochs == 15);
  CHECK(c.data.batch_size == 64);
  CHECK(c.opt.scheduler == "CosineAnnealingLR");
  CHECK_FALSE(c.opt.activation_checkpointing);
}

TEST_CASE("config: a TOML file sets typed values; integers are accepted for numbers") {
  Config c;
  ConfigReader r(c);
  r.apply_string(R"(
seed = 7
[data]
folder = "/data"
test_resolutions = [16, 32, 64]
[model]
n_modes = [12, 12]
rank = 1
domain_padding = [0.25, 0.125]
[opt]
learning_rate = 5e-3
n_epochs = 3
)", "test.toml");
  CHECK(c.seed == 7);
  CHECK(c.data.folder == "/data");
  CHECK(c.data.test_resolutions == std::vector<int>{16, 32, 64});
  CHECK(c.model.n_modes == std::vector<int>{12, 12});
  CHECK(c.model.rank == 1.0);
  CHECK(c.model.domain_padding == std::vector<double>{0.25, 0.125});
  CHECK(c.opt.learning_rate == 5e-3);
  CHECK(c.opt.n_epochs == 3);
}

TEST_CASE("config: dotted keys in the file work like tables") {
  Config c;
  ConfigReader(c).apply_string("opt.n_epochs = 4\ndata.batch_size = 8\n", "d.toml");
  CHECK(c.opt.n_epochs == 4);
  CHECK(c.data.batch_size == 8);
}

TEST_CASE("config: an unknown key names itself, the file and line, and the closest key") {
  Config c;
  const auto m = error_of([&] { ConfigReader(c).apply_string("[opt]\nn_epoch = 3\n", "run.toml"); });
  CHECK(m.find("'opt.n_epoch'") != std::string::npos);
  CHECK(m.find("run.toml line 2") != std::string::npos);
  CHECK(m.find("did you mean 'opt.n_epochs'") != std::string::npos);
  const auto m2 = error_of([&] { ConfigReader(c).apply_string("[nonsense]\nx = 1\n", "run.toml"); });
  CHECK(m2.find("'nonsense.x' (run.toml line 2) does not exist") != std::string::npos);
}

TEST_CASE("config: a wrong type names the key, the expected type and what was given") {
  Config c;
  const auto m = error_of([&] { ConfigReader(c).apply_string("[opt]\nn_epochs = \"ten\"\n", "run.toml"); });
  CHECK(m.find("'opt.n_epochs' (run.toml line 2) must be an integer, got a string (\"ten\")") != std::string::npos);
  CHECK(error_of([&] { ConfigReader(c).apply_string("opt.n_epochs = 1.5\n", "r"); }).find("must be an integer") != std::string::npos);
  CHECK(error_of([&] { ConfigReader(c).apply_string("model.n_modes = [8, \"a\"]\n", "r"); }).find("array of integers") != std::string::npos);
  CHECK(error_of([&] { ConfigReader(c).apply_string("verbose = 1\n", "r"); }).find("must be a boolean") != std::string::npos);
  CHECK(error_of([&] { ConfigReader(c).apply_string("opt = 3\n", "r"); }).find("'opt'") != std::string::npos);
  CHECK(error_of([&] { ConfigReader(c).apply_string("data.n_train = 99999999999\n", "r"); }).find("does not fit") != std::string::npos);
}

TEST_CASE("config: a malformed file gives the parser's message with the line") {
  Config c;
  const auto m = error_of([&] { ConfigReader(c).apply_string("[opt\nn_epochs = 3\n", "bad.toml"); });
  CHECK(m.find("bad.toml line 1") != std::string::npos);
  const auto m2 = error_of([&] { ConfigReader(c).apply_file("/nonexistent/run.toml"); });
  CHECK(m2.find("/nonexistent/run.toml") != std::string::npos);
}

TEST_CASE("config: command-line overrides, typed like TOML values") {
  Config c;
  ConfigReader r(c);
  const auto rest = r.apply_arguments({"train", "--opt.n_epochs=30", "--model.n_modes", "[4, 4]", "--data.dataset=burgers",
                                       "--opt.learning_rate=1e-3", "--verbose=false", "--opt.activation_checkpointing=true",
                                       "run.toml"});
  CHECK(rest == std::vector<std::string>{"train", "run.toml"});
  CHECK(c.opt.n_epochs == 30);
  CHECK(c.model.n_modes == std::vector<int>{4, 4});
  CHECK(c.data.dataset == "burgers");
  CHECK(c.opt.learning_rate == 1e-3);
  CHECK(!c.verbose);
  CHECK(c.opt.activation_checkpointing);
  CHECK(error_of([&] { r.apply_arguments({"--opt.n_epochs=many"}); }).find("'opt.n_epochs' (command line --opt.n_epochs) must be an integer") != std::string::npos);
  CHECK(error_of([&] { r.apply_arguments({"--opt.lr=1"}); }).find("'opt.lr' (command line) does not exist") != std::string::npos);
  CHECK(error_of([&] { r.apply_arguments({"--opt.n_epochs"}); }).find("needs a value") != std::string::npos);
}

TEST_CASE("config: validation names the key") {
  auto check = [](auto set, const char* expect) {
    Config c;
    c.data.folder = "/data";
    set(c);
    const auto m = error_of([&] { neuralop::cli::validate(c); });
    CHECK_MESSAGE(m.find(expect) != std::string::npos, m);
  };
  check([](Config&) {}, "(no error)");
  check([](Config& c) { c.data.folder = ""; }, "'data.folder': is required");
  check([](Config& c) { c.data.batch_size = 0; }, "'data.batch_size': must be positive, got 0");
  check([](Config& c) { c.data.dataset = "darcyy"; }, "'data.dataset': \"darcyy\" is not one of darcy, burgers, navier_stokes");
  check([](Config& c) { c.data.n_tests = {100}; }, "'data.n_tests': has 1 entries but data.test_resolutions has 2");
  check([](Config& c) { c.model.n_modes = {8, 8, 8}; }, "'model.n_modes'");
  check([](Config& c) { c.opt.scheduler = "cosine"; }, "'opt.scheduler'");
  check([](Config& c) { c.checkpoint.save_every = 1; }, "'checkpoint.save_dir': is required");
}

TEST_CASE("config: the schema listing shows every key with its default") {
  const auto s = neuralop::cli::describe_schema();
  CHECK(s.find("opt.learning_rate = 0.01") != std::string::npos);
  CHECK(s.find("model.n_modes = [8, 8]") != std::string::npos);
  CHECK(s.find("data.dataset = \"darcy\"") != std::string::npos);
  CHECK(s.find("opt.activation_checkpointing = false") != std::string::npos);
}
