// Reading a golden FNO case of tools/reference/make_fno_golden.py: the options and shapes it was
// made with. Shared by the cpu parity test (models/test_fno.cpp) and the cuda one.
#pragma once

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "../golden_helpers.hpp"
#include "neuralop/io/io.hpp"
#include "neuralop/models/fno.hpp"

namespace test {

using namespace neuralop;

template <class Options = FNOOptions>
Options fno_options(const io::Value& o) {
  Options f;
  f.n_modes = ints(o.at("n_modes"));
  f.in_channels = o.at("in_channels").as<int>();
  f.out_channels = o.at("out_channels").as<int>();
  f.hidden_channels = o.at("hidden_channels").as<int>();
  if (o.contains("n_layers")) f.n_layers = o.at("n_layers").as<int>();
  if (o.contains("fno_skip")) f.fno_skip = o.at("fno_skip").as<std::string>();
  if (o.contains("channel_mlp_skip")) f.channel_mlp_skip = o.at("channel_mlp_skip").as<std::string>();
  if (o.contains("use_channel_mlp")) f.use_channel_mlp = o.at("use_channel_mlp").as<bool>();
  if (o.contains("positional_embedding")) f.positional_embedding = o.at("positional_embedding").as<std::string>();
  if (o.contains("lifting_channel_ratio")) f.lifting_channel_ratio = o.at("lifting_channel_ratio").to<double>();
  if (o.contains("projection_channel_ratio")) f.projection_channel_ratio = o.at("projection_channel_ratio").to<double>();
  if (o.contains("max_n_modes")) f.max_n_modes = ints(o.at("max_n_modes"));
  if (o.contains("domain_padding")) {
    const auto v = o.at("domain_padding");
    if (v.is_list())
      for (const auto& e : v.elements()) f.domain_padding.push_back(e.to<double>());
    else
      f.domain_padding = {v.to<double>()};
  }
  if (o.contains("norm")) f.norm = o.at("norm").as<std::string>();
  if (o.contains("preactivation")) f.preactivation = o.at("preactivation").as<bool>();
  if (o.contains("stabilizer")) f.stabilizer = o.at("stabilizer").as<std::string>();
  if (o.contains("resolution_scaling_factor")) {
    const auto v = o.at("resolution_scaling_factor");
    if (!v.is_list()) {
      f.resolution_scaling_factor = v.to<double>();
    } else if (v.elements().at(0).is_list()) {
      std::vector<std::vector<double>> n;
      for (const auto& l : v.elements()) {
        n.emplace_back();
        for (const auto& e : l.elements()) n.back().push_back(e.to<double>());
      }
      f.resolution_scaling_factor = n;
    } else {
      std::vector<double> l;
      for (const auto& e : v.elements()) l.push_back(e.to<double>());
      f.resolution_scaling_factor = l;
    }
  }
  if (o.contains("factorization")) f.factorization = o.at("factorization").as<std::string>();
  if (o.contains("rank")) f.rank = o.at("rank").to<double>();
  if (o.contains("implementation")) f.implementation = o.at("implementation").as<std::string>();
  return f;
}

template <std::size_t D>
Shape<D> shape_of(const io::Value& v) {
  Shape<D> s{};
  const auto e = v.elements();
  REQUIRE(e.size() == D);
  for (std::size_t i = 0; i < D; ++i) s[i] = e[i].as<int>();
  return s;
}

}  // namespace test
