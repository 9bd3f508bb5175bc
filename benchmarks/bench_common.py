"""Timing helper shared by the PyTorch comparison scripts (same rule as bench_common.hpp)."""
import statistics
import time


def median_seconds(f, reps=7, warmup=2):
    """Median wall time in seconds of f() over `reps` runs after `warmup` runs."""
    for _ in range(warmup):
        f()
    t = []
    for _ in range(reps):
        t0 = time.perf_counter()
        f()
        t.append(time.perf_counter() - t0)
    return statistics.median(t)
