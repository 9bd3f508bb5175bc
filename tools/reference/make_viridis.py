#!/usr/bin/env python3
"""Prints matplotlib's viridis colormap (CC0, by van der Walt, Smith and Firing) as the 256 x 3
byte table in include/neuralop/io/colormap.hpp."""
import matplotlib
import numpy as np

v = (matplotlib.colormaps["viridis"](np.arange(256))[:, :3] * 255).round().astype(int)
print("inline constexpr std::uint8_t viridis_table[256][3] = {")
for i in range(0, 256, 4):
    print("    " + ", ".join("{" + ", ".join(f"{c:3d}" for c in v[j]) + "}" for j in range(i, i + 4)) + ",")
print("};")
