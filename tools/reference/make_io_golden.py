#!/usr/bin/env python3
"""Golden reference data for neuralop's C++ file readers/writers (.pt, .npy/.npz, .safetensors).

What it makes (all under tests/io/golden/, about 70 KB in total):

  data_files.txt          one line per node of the object tree of each sample data file in
                          shared/reference/neuralop-data/ (darcy_*.pt, burgers_*.pt, mini_car.pt),
                          as torch.load(weights_only=True) reads them.  The data files themselves
                          are never copied into the repository.
  expected.txt            the same kind of lines for every small golden file below.
  torch_types.pt          torch.save of a dict with one tensor per dtype, a 0-dim tensor, an empty
                          tensor, a transposed (non-contiguous) tensor, slices with a storage offset
                          sharing storage with their base, one tensor object stored under two keys,
                          and nested OrderedDict/list/tuple/dict containers of Python scalars.
  torch_state_dict.pt     state_dict() of a tiny torch.nn.Sequential (an OrderedDict whose
                          `_metadata` attribute is pickled via BUILD).
  torch_neuralop_state_dict.pt
                          state_dict() of a tiny neuralop.models.FNO (only if `neuralop` imports);
                          its "_metadata" entry pickles Python globals (a builtin function and a
                          class), so it can NOT be read with torch.load(weights_only=True).
  torch_legacy.pt         a tensor saved with _use_new_zipfile_serialization=False (pre-1.6 format);
                          readers are expected to reject it with a clear error.
  numpy_*.npy             np.save of one array each (all common dtypes, Fortran order, big endian,
                          0-d, 1-d).
  numpy_arrays.npz        np.savez of several arrays; numpy_arrays_compressed.npz: np.savez_compressed.
  safetensors_basic.safetensors
                          safetensors.torch.save_file of F32 F64 F16 BF16 I64 I32 I16 I8 U8 BOOL
                          tensors (plus a 0-d and an empty one) with __metadata__ {"format": "pt"};
                          written by hand following the format if `safetensors` is not installed.

How to run (from the repository root; needs python3 with torch and numpy, optionally
safetensors and neuralop):

  python3 tools/reference/make_io_golden.py                 # (re)generate tests/io/golden/
  python3 tools/reference/make_io_golden.py --data-dir DIR  # sample data elsewhere
  python3 tools/reference/make_io_golden.py --describe pt FILE      # print lines for any file
  python3 tools/reference/make_io_golden.py --verify-pt FILE EXPECTED_LINES_FILE
  python3 tools/reference/make_io_golden.py --verify-npy FILE EXPECTED_LINES_FILE
  python3 tools/reference/make_io_golden.py --verify-npz FILE EXPECTED_LINES_FILE
  python3 tools/reference/make_io_golden.py --verify-safetensors FILE EXPECTED_LINES_FILE
  (options: --name NAME, --rtol X, --strict, --unsafe-pickle for pt files holding Python globals)

The verify modes load FILE with the real library (torch.load(FILE, weights_only=True),
np.load(FILE, allow_pickle=False), safetensors) and check every line of EXPECTED_LINES_FILE whose
<file> column equals FILE's base name (or --name NAME) against what the library reads.  They print
a report and exit with 1 on any mismatch (2 on usage/load errors).  A field written as `*` in the
expected lines matches anything; checksums are compared exactly (nan equals nan) unless --rtol is
given.  Lines the library produces but EXPECTED does not list are reported, and fail only with
--strict.

Determinism: all values come from fixed seeds / literals.  torch.save writes a random
`.data/serialization_id` record (and legacy saves and np.savez embed pointers / timestamps), so
the binary bytes differ from run to run; to avoid churn a golden binary file that already exists is
only replaced when the lines describing its contents change (or with --force).

Generated with: Python 3.11.7, torch 2.15.0+cu132, numpy 2.4.6, safetensors 0.8.0, neuralop 2.0.0
(the exact versions of a run are also written into the header of data_files.txt / expected.txt).
"""

import argparse
import collections
import json
import math
import os
import pickle
import pickletools
import shutil
import struct
import sys
import tempfile
import types
import zipfile

import numpy as np

try:
    import torch
except ImportError:  # pragma: no cover - torch is required for everything but npy/npz
    torch = None

LINE_FORMAT = """\
Line format (one line per node of an object tree, fields separated by single spaces):
  <file> <path> <kind> <fields...>
<file> is the file's base name; <path> is `.` for the root, `.KEY` appended for a dict
entry (the key verbatim, even if it contains dots; non-str keys are written with str()),
`[I]` appended for a list/tuple element (a list root's children are `[0]`, `[1]`, nested
paths look like `[0].vertices`), and `@ATTR` appended for a Python attribute restored by
pickle BUILD (e.g. `.@_metadata` of a state_dict OrderedDict; readers that drop such
attributes may skip lines whose path contains `@`).  Kinds:
  <file> <path> dict <n> <k1>,<k2>,...   keys in file order (`-` when n is 0)
  <file> <path> odict <n> <k1>,<k2>,...  same for a collections.OrderedDict
  <file> <path> list <n>
  <file> <path> tuple <n>
  <file> <path> tensor <dtype> <shape> <strides> <storage_offset> <storage_group> <numel> <sum> <abs_sum> <weighted_sum>
  <file> <path> int <v>
  <file> <path> float <v>                 %.17g (inf, -inf, nan as Python prints them)
  <file> <path> str <v>                   `""` for the empty string
  <file> <path> bool true|false
  <file> <path> none
  <file> <path> global <module>.<name>    a pickled Python global (class, function)
Tensor fields: dtype is the torch name without "torch." (float32 float64 float16 bfloat16
int8 int16 int32 int64 uint8 uint16 bool complex64 complex128); shape and strides are
comma-separated integers in elements (`-` for a 0-dim tensor); storage_group numbers the
distinct underlying storages of one file in order of first appearance from 0 (tensors that
share a storage share the number).  numel counts elements (a complex element counts once).
Checksums are float64, over the elements in C (row-major) order of the logical tensor,
accumulated sequentially from 0.0 (plain loop, no pairwise summation): sum += v,
abs_sum += |v|, weighted_sum += v * ((i % 1009) + 1) / 1009 evaluated left to right, with i
the C-order linear index.  Every element is first converted to float64 (bool -> 0/1,
integers rounded to nearest); a complex tensor is summed as its real view (shape + [2],
interleaved re,im, i running over the 2*numel reals).  Printed with %.17g.
.npy/.npz arrays: strides are those of np.load's result (so a Fortran-ordered file has
column-major strides), storage_offset is 0 and storage_group is the array's index in the file.
.safetensors: root `dict` lists the tensor names in header order (without __metadata__),
strides are contiguous, storage_offset 0, storage_group the index in header order; the
metadata is described by a pseudo-entry `.__metadata__ dict ...` followed by `str` lines.
Keys and str values containing whitespace, ',' or '\\' have those characters written as \\xHH
(none of the files here do).  Lines starting with `#` are comments."""

DATA_FILES = [
    "darcy_train_16.pt",
    "darcy_test_16.pt",
    "darcy_test_32.pt",
    "burgers_train_16.pt",
    "burgers_test_16.pt",
    "mini_car.pt",
]

WEIGHT_MOD = 1009


# --------------------------------------------------------------------------------------------
# Formatting helpers
# --------------------------------------------------------------------------------------------

def fmt_float(x):
    return "%.17g" % x


def escape(s):
    out = []
    for ch in str(s):
        if ch.isspace() or ch in ",\\":
            out.append("".join("\\x%02X" % b for b in ch.encode("utf-8")))
        else:
            out.append(ch)
    return "".join(out)


def fmt_ints(values):
    values = list(values)
    return ",".join(str(int(v)) for v in values) if values else "-"


def checksums(values):
    """Sequential float64 sums over a flat list of Python floats (C order)."""
    s = 0.0
    a = 0.0
    w = 0.0
    for i, v in enumerate(values):
        s += v
        a += abs(v)
        w += v * ((i % WEIGHT_MOD) + 1) / WEIGHT_MOD
    return s, a, w


def child_path(parent, key=None, index=None, attr=None):
    base = "" if parent == "." else parent
    if attr is not None:
        return base + "@" + escape(attr) if base else ".@" + escape(attr)
    if index is not None:
        return base + "[%d]" % index
    return base + "." + escape(key)


NUMPY_TO_TORCH_NAME = {
    "f2": "float16", "f4": "float32", "f8": "float64",
    "i1": "int8", "i2": "int16", "i4": "int32", "i8": "int64",
    "u1": "uint8", "u2": "uint16", "u4": "uint32", "u8": "uint64",
    "b1": "bool", "c8": "complex64", "c16": "complex128",
}


def numpy_dtype_name(dt):
    key = dt.kind + str(dt.itemsize)
    if key not in NUMPY_TO_TORCH_NAME:
        raise ValueError("unsupported numpy dtype %r" % (dt,))
    return NUMPY_TO_TORCH_NAME[key]


# --------------------------------------------------------------------------------------------
# Tree walker: the one function that produces lines for data_files.txt, expected.txt and the
# verification modes.
# --------------------------------------------------------------------------------------------

class Describer:
    """Produces description lines for one file.

    storage_mode "torch": storage groups from real torch storage identity (pt files);
    storage_mode "per_array": every array is its own group numbered in order of appearance,
    storage_offset 0 (npy/npz/safetensors).
    """

    def __init__(self, fname, storage_mode="torch", force_contiguous_strides=False):
        self.fname = fname
        self.storage_mode = storage_mode
        self.force_contiguous = force_contiguous_strides
        self.groups = {}
        self.n_arrays = 0
        self.lines = []

    def emit(self, path, kind, *fields):
        self.lines.append(" ".join([self.fname, path, kind] + [str(f) for f in fields]))

    # -- tensors ---------------------------------------------------------------------------
    def _group(self, key):
        if key not in self.groups:
            self.groups[key] = len(self.groups)
        return self.groups[key]

    def tensor(self, path, t):
        t = t.detach()
        dtype = str(t.dtype).replace("torch.", "")
        shape = list(t.shape)
        if self.force_contiguous:
            strides = _contiguous_strides(shape)
        else:
            strides = list(t.stride())
        if self.storage_mode == "torch":
            st = t.untyped_storage()
            key = getattr(st, "_cdata", None) or ("ptr", st.data_ptr(), st.nbytes())
            group = self._group(key)
            offset = t.storage_offset()
        else:
            group = self.n_arrays
            offset = 0
        self.n_arrays += 1
        c = t.cpu().contiguous()
        if c.is_complex():
            c = torch.view_as_real(c)
        values = c.reshape(-1).to(torch.float64).tolist()
        self._tensor_line(path, dtype, shape, strides, offset, group, t.numel(), values)

    def ndarray(self, path, a):
        dtype = numpy_dtype_name(a.dtype)
        shape = list(a.shape)
        if self.force_contiguous:
            strides = _contiguous_strides(shape)
        else:
            for s in a.strides:
                if s % a.itemsize:
                    raise ValueError("stride not a multiple of the item size")
            strides = [s // a.itemsize for s in a.strides]
        group = self.n_arrays
        self.n_arrays += 1
        flat = np.ascontiguousarray(a).reshape(-1)
        if a.dtype.kind == "c":
            flat = np.stack([flat.real, flat.imag], axis=1).reshape(-1)
        values = flat.astype(np.float64).tolist()
        self._tensor_line(path, dtype, shape, strides, 0, group, a.size, values)

    def _tensor_line(self, path, dtype, shape, strides, offset, group, numel, values):
        s, a, w = checksums(values)
        self.emit(path, "tensor", dtype, fmt_ints(shape), fmt_ints(strides), offset, group,
                  numel, fmt_float(s), fmt_float(a), fmt_float(w))

    # -- generic objects -------------------------------------------------------------------
    def walk(self, obj, path="."):
        if torch is not None and isinstance(obj, torch.Tensor):
            self.tensor(path, obj)
        elif isinstance(obj, np.ndarray):
            self.ndarray(path, obj)
        elif isinstance(obj, dict):
            kind = "odict" if isinstance(obj, collections.OrderedDict) else "dict"
            keys = list(obj.keys())
            self.emit(path, kind, len(keys), ",".join(escape(k) for k in keys) if keys else "-")
            for k, v in obj.items():
                self.walk(v, child_path(path, key=k))
            self._attrs(obj, path)
        elif isinstance(obj, (list, tuple)) and not _is_global(obj):
            self.emit(path, "list" if isinstance(obj, list) else "tuple", len(obj))
            for i, v in enumerate(obj):
                self.walk(v, child_path(path, index=i))
            if isinstance(obj, list):
                self._attrs(obj, path)
        elif obj is None:
            self.emit(path, "none")
        elif isinstance(obj, bool):
            self.emit(path, "bool", "true" if obj else "false")
        elif isinstance(obj, int):
            self.emit(path, "int", int(obj))
        elif isinstance(obj, float):
            self.emit(path, "float", fmt_float(obj))
        elif isinstance(obj, str):
            self.emit(path, "str", escape(obj) if obj else '""')
        elif _is_global(obj):
            self.emit(path, "global", _global_name(obj))
        else:
            raise TypeError("cannot describe %s at %s in %s" % (type(obj), path, self.fname))

    def _attrs(self, obj, path):
        d = getattr(obj, "__dict__", None)
        if d:
            for k, v in d.items():
                self.walk(v, child_path(path, attr=k))


def _contiguous_strides(shape):
    strides = []
    acc = 1
    for n in reversed(shape):
        strides.append(acc)
        acc *= n
    return list(reversed(strides))


def _is_global(obj):
    if isinstance(obj, (type, types.FunctionType, types.BuiltinFunctionType, types.ModuleType)):
        return True
    if torch is not None and isinstance(obj, torch.dtype):
        return True
    return False


def _global_name(obj):
    if torch is not None and isinstance(obj, torch.dtype):
        return str(obj)  # "torch.float32", pickled as GLOBAL 'torch float32'
    name = getattr(obj, "__qualname__", None) or obj.__name__
    module = pickle.whichmodule(obj, name)
    return "%s.%s" % (module, name)


def describe_object(fname, obj, **kw):
    d = Describer(fname, **kw)
    d.walk(obj)
    return d.lines


# --------------------------------------------------------------------------------------------
# Loaders (the real libraries) -> lines
# --------------------------------------------------------------------------------------------

def load_pt(path, weights_only=True):
    return torch.load(path, map_location="cpu", weights_only=weights_only)


def describe_pt(path, name=None, weights_only=True):
    return describe_object(name or os.path.basename(path), load_pt(path, weights_only))


def describe_npy(path, name=None):
    a = np.load(path, allow_pickle=False)
    return describe_object(name or os.path.basename(path), a, storage_mode="per_array")


def describe_npz(path, name=None):
    with np.load(path, allow_pickle=False) as z:
        arrays = collections.OrderedDict()  # np.load keeps the archive order
        for k in z.files:
            arrays[k] = z[k]
    d = Describer(name or os.path.basename(path), storage_mode="per_array")
    keys = list(arrays)
    d.emit(".", "dict", len(keys), ",".join(escape(k) for k in keys) if keys else "-")
    for k, v in arrays.items():
        d.walk(v, child_path(".", key=k))
    return d.lines


def _safetensors_header(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n).decode("utf-8"), object_pairs_hook=collections.OrderedDict)
    return header, 8 + n


ST_DTYPES = {
    "F64": "float64", "F32": "float32", "F16": "float16", "BF16": "bfloat16",
    "I64": "int64", "I32": "int32", "I16": "int16", "I8": "int8",
    "U8": "uint8", "BOOL": "bool",
}


def _load_safetensors(path):
    """Returns (OrderedDict name -> torch tensor in header order, metadata dict)."""
    header, data_start = _safetensors_header(path)
    metadata = header.pop("__metadata__", None)
    try:
        from safetensors import safe_open
    except ImportError:
        safe_open = None
    tensors = collections.OrderedDict()
    if safe_open is not None:
        with safe_open(path, framework="pt") as f:
            lib_meta = f.metadata()
            for k in header:
                tensors[k] = f.get_tensor(k)
        if (lib_meta or None) != (dict(metadata) if metadata else None):
            raise RuntimeError("safetensors metadata mismatch: %r vs %r" % (lib_meta, metadata))
    else:  # hand-written reader, only used when the package is missing
        with open(path, "rb") as f:
            blob = f.read()
        for k, info in header.items():
            dt = getattr(torch, ST_DTYPES[info["dtype"]])
            b, e = info["data_offsets"]
            raw = bytearray(blob[data_start + b:data_start + e])
            t = torch.frombuffer(raw, dtype=dt) if raw else torch.empty(0, dtype=dt)
            tensors[k] = t.reshape(info["shape"]).clone()
    return tensors, metadata


def describe_safetensors(path, name=None):
    tensors, metadata = _load_safetensors(path)
    d = Describer(name or os.path.basename(path), storage_mode="per_array",
                  force_contiguous_strides=True)
    keys = list(tensors)
    d.emit(".", "dict", len(keys), ",".join(escape(k) for k in keys) if keys else "-")
    for k, v in tensors.items():
        d.walk(v, child_path(".", key=k))
    if metadata is not None:
        d.walk(dict(metadata), ".__metadata__")
    return d.lines


def pickle_globals_of_pt(path):
    """(module, name) pairs of GLOBAL / STACK_GLOBAL opcodes in a zip .pt's data.pkl."""
    with zipfile.ZipFile(path) as z:
        pkl_name = [n for n in z.namelist() if n.endswith("/data.pkl") or n == "data.pkl"][0]
        data = z.read(pkl_name)
    found = []
    strings = []
    for op, arg, _pos in pickletools.genops(data):
        if op.name == "GLOBAL":
            mod, name = arg.split(" ", 1)
            found.append((mod, name))
        elif op.name == "STACK_GLOBAL":
            found.append((strings[-2], strings[-1]))
        if isinstance(arg, str):
            strings.append(arg)
    uniq = []
    for g in found:
        if g not in uniq:
            uniq.append(g)
    return uniq


def zip_summary(path):
    """A short comment describing a zip .pt file's layout (records, pickle protocol)."""
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        prefix = names[0].split("/")[0]
        pkl = z.read(prefix + "/data.pkl")
        proto = pkl[1] if pkl[:1] == b"\x80" else 0
        records = [n[len(prefix) + 1:] for n in names]
        n_data = sum(1 for r in records if r.startswith("data/"))
        others = [r for r in records if not r.startswith("data/")]
    return "archive dir '%s', pickle protocol %d, %d storage records data/*, other records: %s" % (
        prefix, proto, n_data, " ".join(others))


# --------------------------------------------------------------------------------------------
# Golden file generation
# --------------------------------------------------------------------------------------------

def make_torch_types():
    f32, f64 = torch.float32, torch.float64
    d = collections.OrderedDict()  # saved as a plain dict below (insertion order kept)
    d["float32"] = torch.tensor([[1.5, -2.25, 0.1], [3.0e-8, -1.0e10, 7.0]], dtype=f32)
    d["float64"] = torch.tensor([[math.pi, -math.e, 1e-300], [1e300, -0.0, 0.3]], dtype=f64)
    d["float16"] = torch.tensor([[1.0, -2.5, 0.1], [65504.0, -6.103515625e-05, 3.14]],
                                dtype=torch.float16)
    d["bfloat16"] = torch.tensor([[1.0, -2.5, 0.1], [3.0e38, -1.0e-3, 7.5]], dtype=torch.bfloat16)
    d["int8"] = torch.tensor([[-128, 127, 0], [1, -1, 42]], dtype=torch.int8)
    d["int16"] = torch.tensor([[-32768, 32767, 0], [300, -300, 12345]], dtype=torch.int16)
    d["int32"] = torch.tensor([[-2**31, 2**31 - 1, 0], [100000, -7, 123456789]], dtype=torch.int32)
    d["int64"] = torch.tensor([[2**40 + 3, -(2**40 + 5), 0], [2**62 + 7, -2**63, 2**63 - 1]],
                              dtype=torch.int64)
    d["uint8"] = torch.tensor([[0, 255, 1], [128, 7, 200]], dtype=torch.uint8)
    d["bool"] = torch.tensor([[True, False, True], [False, False, True]])
    d["complex64"] = torch.tensor([[1 + 2j, -0.5 - 0.25j, 0j], [3j, -1 + 0j, 1e-3 + 1e3j]],
                                  dtype=torch.complex64)
    d["complex128"] = torch.tensor([[1 / 3 + 2j, -0.5 - math.pi * 1j, 0j], [3j, -1 + 0j, 1e-3 + 1e3j]],
                                   dtype=torch.complex128)
    d["float32_special"] = torch.tensor(
        [math.inf, -math.inf, math.nan, -0.0, 1e-45, 3.4028234663852886e38], dtype=f32)
    d["scalar0d"] = torch.tensor(3.25, dtype=f64)
    d["int0d"] = torch.tensor(-7, dtype=torch.int64)
    d["empty"] = torch.zeros(0, 3, dtype=f32)
    d["transposed"] = (torch.arange(12, dtype=f32).reshape(3, 4) * 0.5 - 2.0).t()
    base = torch.arange(10, dtype=f64) * 0.25 - 1.0
    d["base"] = base
    d["slice"] = base[2:5]
    d["strided_slice"] = base[1:9:3]
    shared = torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=f32) * 0.75
    d["shared_a"] = shared
    d["shared_b"] = shared  # same object: the second one is a pickle memo reference (BINGET)
    nested = collections.OrderedDict()
    nested["int_small"] = 7
    nested["int_255"] = 255
    nested["int_300"] = 300
    nested["int_neg"] = -123456
    nested["int_big"] = 2**40 + 1
    nested["int_u32"] = 3000000000
    nested["int_neg_big"] = -(2**50)
    nested["float"] = 0.1
    nested["float_neg"] = -2.5e-300
    nested["float_inf"] = math.inf
    nested["float_nan"] = math.nan
    nested["str"] = "hello"
    nested["str_utf8"] = "\u00b5m"  # "µm"
    nested["str_empty"] = ""
    nested["bool_t"] = True
    nested["bool_f"] = False
    nested["none"] = None
    nested["list"] = [1, "two", 3.0, [4, (5, None)]]
    nested["list1"] = [42]
    nested["tuple1"] = (5,)
    nested["tuple2"] = (1, 2.5)
    nested["tuple3"] = (1, 2.5, "x")
    nested["tuple4"] = (1, 2, 3, 4)
    nested["empty_list"] = []
    nested["empty_tuple"] = ()
    nested["empty_dict"] = {}
    nested["int_keys"] = {0: "a", 1: "b"}  # like an optimizer state_dict
    nested["tensors"] = [torch.tensor([1, 2, 3], dtype=torch.int32), (shared,)]
    d["nested"] = nested
    return dict(d)


def make_state_dict():
    torch.manual_seed(0)
    m = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Conv1d(4, 2, 1), torch.nn.BatchNorm1d(2))
    m.train()
    # one training step of BatchNorm so running stats / num_batches_tracked are non-trivial
    lin, conv, bn = m[0], m[1], m[2]
    x = torch.randn(5, 3)
    with torch.no_grad():
        h = lin(x).unsqueeze(-1)  # (5, 4, 1)
        bn(conv(h))
    return m.state_dict()


def make_neuralop_state_dict():
    try:
        import neuralop  # noqa: F401
        from neuralop.models import FNO
    except Exception as e:  # pragma: no cover
        print("neuralop not importable (%s): skipping torch_neuralop_state_dict.pt" % e)
        return None
    torch.manual_seed(0)
    m = FNO(n_modes=(4, 4), hidden_channels=4, in_channels=1, out_channels=1, n_layers=1)
    return m.state_dict()


def numpy_arrays():
    """name -> array, in file order, for the .npy files."""
    a = collections.OrderedDict()
    a["float32"] = np.array([[1.5, -2.25, 0.1], [3.0e-8, -1.0e10, 7.0]], dtype="<f4")
    a["float64"] = np.array([[math.pi, -math.e, 1e-300], [1e300, -0.0, 0.3]], dtype="<f8")
    a["float16"] = np.array([[1.0, -2.5, 0.1], [65504.0, -6.103515625e-05, 3.14]], dtype="<f2")
    a["int8"] = np.array([[-128, 127, 0], [1, -1, 42]], dtype="<i1")
    a["int16"] = np.array([[-32768, 32767, 0], [300, -300, 12345]], dtype="<i2")
    a["int32"] = np.array([[-2**31, 2**31 - 1, 0], [100000, -7, 123456789]], dtype="<i4")
    a["int64"] = np.array([[2**40 + 3, -(2**40 + 5), 0], [2**62 + 7, -2**63, 2**63 - 1]], dtype="<i8")
    a["uint8"] = np.array([[0, 255, 1], [128, 7, 200]], dtype="<u1")
    a["uint16"] = np.array([[0, 65535, 1], [32768, 7, 40000]], dtype="<u2")
    a["bool"] = np.array([[True, False, True], [False, False, True]], dtype="|b1")
    a["complex64"] = np.array([[1 + 2j, -0.5 - 0.25j, 0j], [3j, -1 + 0j, 1e-3 + 1e3j]], dtype="<c8")
    a["complex128"] = np.array([[1 / 3 + 2j, -0.5 - math.pi * 1j, 0j], [3j, -1 + 0j, 1e-3 + 1e3j]],
                               dtype="<c16")
    a["fortran"] = np.asfortranarray(np.arange(12, dtype="<f8").reshape(3, 4) * 0.5 - 2.0)
    a["fortran3d"] = np.asfortranarray(np.arange(24, dtype="<f4").reshape(2, 3, 4) - 11.5)
    a["bigendian"] = np.array([[1.5, -2.25, 0.1], [3.0e-8, -1.0e10, 7.0]], dtype=">f4")
    a["0d"] = np.array(2.5, dtype="<f8")
    a["1d"] = np.arange(7, dtype="<i8") * 3 - 5
    return a


def npz_arrays():
    a = collections.OrderedDict()
    a["x"] = np.array([[1.5, -2.25, 0.1], [3.0e-8, -1.0e10, 7.0]], dtype="<f4")
    a["indices"] = np.arange(10, dtype="<i8") - 3
    a["mask"] = np.array([True, False, True, True])
    a["fortran"] = np.asfortranarray(np.arange(12, dtype="<f8").reshape(3, 4) * 0.5 - 2.0)
    a["scalar"] = np.array(-1.25, dtype="<f8")
    a["z"] = np.array([1 + 2j, -3j], dtype="<c16")
    return a


def safetensors_tensors():
    t = collections.OrderedDict()
    t["weight_f32"] = torch.tensor([[1.5, -2.25, 0.1], [3.0e-8, -1.0e10, 7.0]], dtype=torch.float32)
    t["weight_f64"] = torch.tensor([[math.pi, -math.e, 1e-300], [1e300, -0.0, 0.3]], dtype=torch.float64)
    t["half"] = torch.tensor([1.0, -2.5, 0.1, 65504.0], dtype=torch.float16)
    t["bf16"] = torch.tensor([[1.0, -2.5], [0.1, 3.0e38]], dtype=torch.bfloat16)
    t["ids_i64"] = torch.tensor([2**40 + 3, -(2**40 + 5), 0, -1], dtype=torch.int64)
    t["ids_i32"] = torch.tensor([[-2**31, 2**31 - 1], [5, -7]], dtype=torch.int32)
    t["small_i16"] = torch.tensor([-32768, 32767, 300], dtype=torch.int16)
    t["small_i8"] = torch.tensor([-128, 127, 0, 1, -1], dtype=torch.int8)
    t["bytes_u8"] = torch.tensor([0, 255, 1, 128, 7], dtype=torch.uint8)
    t["mask"] = torch.tensor([[True, False, True], [False, False, True]])
    t["a_scalar"] = torch.tensor(3.25, dtype=torch.float32)
    t["z_empty"] = torch.zeros(0, 3, dtype=torch.float32)
    t["3d.weight"] = (torch.arange(24, dtype=torch.float32).reshape(2, 3, 4) - 11.5) / 8
    return t


ST_DTYPE_OF = {v: k for k, v in ST_DTYPES.items()}
# relative order of these dtypes in safetensors' Rust `Dtype` enum
ST_DTYPE_RANK = {"BOOL": 0, "U8": 1, "I8": 2, "I16": 3, "F16": 4, "BF16": 5, "I32": 6, "F32": 7,
                 "F64": 8, "I64": 9}


def write_safetensors_by_hand(tensors, metadata, path):
    header = collections.OrderedDict()
    if metadata:
        header["__metadata__"] = dict(metadata)
    chunks = []
    offset = 0
    # same data (and header) order as the safetensors library: by dtype, descending in the
    # order of its Rust `Dtype` enum, then by name
    order = sorted(tensors, key=lambda k: (-ST_DTYPE_RANK[ST_DTYPE_OF[
        str(tensors[k].dtype).replace("torch.", "")]], k))
    for k in order:
        t = tensors[k].contiguous()
        raw = t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b""
        header[k] = {"dtype": ST_DTYPE_OF[str(t.dtype).replace("torch.", "")],
                     "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    hj = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hj += b" " * ((8 - len(hj) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hj)))
        f.write(hj)
        for c in chunks:
            f.write(c)


def write_if_changed(out_dir, name, writer, describer, force):
    """Write golden file `name` via writer(path) into a temp dir, describe it, and move it into
    out_dir unless an existing file there is described by identical lines."""
    final = os.path.join(out_dir, name)
    tmpdir = tempfile.mkdtemp(prefix="golden_")
    try:
        tmp = os.path.join(tmpdir, name)  # same base name: torch uses it as the archive dir
        writer(tmp)
        new_lines = describer(tmp, name)
        keep = False
        if os.path.exists(final) and not force:
            try:
                keep = describer(final, name) == new_lines
            except Exception:
                keep = False
        if keep:
            os.chmod(final, 0o644)
            print("  %-36s unchanged (kept existing bytes)" % name)
            return describer(final, name)
        shutil.move(tmp, final)
        os.chmod(final, 0o644)  # safetensors creates its files with mode 0600
        print("  %-36s written (%d bytes)" % (name, os.path.getsize(final)))
        return new_lines
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


def versions_comment():
    parts = ["python %s" % sys.version.split()[0], "torch %s" % torch.__version__,
             "numpy %s" % np.__version__]
    try:
        import safetensors
        parts.append("safetensors %s" % safetensors.__version__)
    except ImportError:
        parts.append("safetensors (not installed: written/read by hand)")
    try:
        import neuralop
        parts.append("neuralop %s" % getattr(neuralop, "__version__", "?"))
    except Exception:
        parts.append("neuralop (not installed)")
    return ", ".join(parts)


def header_text(title):
    lines = ["# " + title,
             "# Generated by tools/reference/make_io_golden.py with " + versions_comment() + "."]
    lines += ["# " + l if l else "#" for l in LINE_FORMAT.splitlines()]
    return "\n".join(lines) + "\n"


def find_data_dir(arg):
    if arg:
        return arg
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.dirname(os.path.dirname(here))
    for cand in (os.path.join(repo, "shared", "reference", "neuralop-data"),
                 os.path.join(os.path.dirname(repo), "shared", "reference", "neuralop-data")):
        if os.path.isdir(cand):
            return cand
    return None


def generate(out_dir, data_dir, force):
    os.makedirs(out_dir, exist_ok=True)

    # 1. data_files.txt --------------------------------------------------------------------
    if data_dir is None:
        print("sample data directory not found: data_files.txt not (re)generated")
    else:
        out = [header_text("Object trees of the sample data files in shared/reference/neuralop-data/ "
                           "as torch.load(weights_only=True) reads them.")]
        for name in DATA_FILES:
            path = os.path.join(data_dir, name)
            if not os.path.exists(path):
                print("  missing data file %s: skipped" % path)
                continue
            out.append("# %s: %d bytes, %s\n" % (name, os.path.getsize(path), zip_summary(path)))
            out.append("\n".join(describe_pt(path)) + "\n")
        with open(os.path.join(out_dir, "data_files.txt"), "w", encoding="utf-8") as f:
            f.write("".join(out))
        print("  %-36s written" % "data_files.txt")

    # 2. golden files + expected.txt -------------------------------------------------------
    exp = [header_text("Expected contents of the golden files in this directory "
                       "(made by the real libraries).")]

    def section(comment, lines):
        exp.append("\n".join("# " + c for c in comment.splitlines()) + "\n")
        if lines:
            exp.append("\n".join(lines) + "\n")

    types_obj = make_torch_types()
    lines = write_if_changed(out_dir, "torch_types.pt", lambda p: torch.save(types_obj, p),
                             lambda p, n: describe_pt(p, n), force)
    section("torch_types.pt: torch.save of a dict. %s.\n"
            "Note: .shared_a and .shared_b are one tensor object (pickle memo); .base, .slice, "
            ".strided_slice share one storage;\n.float32_special holds inf,-inf,nan,-0,1e-45,FLT_MAX "
            "so its checksums are nan." % zip_summary(os.path.join(out_dir, "torch_types.pt")), lines)

    sd = make_state_dict()
    lines = write_if_changed(out_dir, "torch_state_dict.pt", lambda p: torch.save(sd, p),
                             lambda p, n: describe_pt(p, n), force)
    section("torch_state_dict.pt: state_dict() of nn.Sequential(Linear(3,4), Conv1d(4,2,1), "
            "BatchNorm1d(2)), torch.manual_seed(0).\nThe OrderedDict's _metadata attribute is "
            "pickled via BUILD (lines with '@').", lines)

    fno_sd = make_neuralop_state_dict()
    if fno_sd is not None:
        lines = write_if_changed(out_dir, "torch_neuralop_state_dict.pt",
                                 lambda p: torch.save(fno_sd, p),
                                 lambda p, n: describe_pt(p, n, weights_only=False), force)
        globs = pickle_globals_of_pt(os.path.join(out_dir, "torch_neuralop_state_dict.pt"))
        section("torch_neuralop_state_dict.pt: state_dict() of neuralop.models.FNO(n_modes=(4,4), "
                "hidden_channels=4, in_channels=1,\nout_channels=1, n_layers=1), torch.manual_seed(0). "
                "Its '_metadata' ENTRY holds Python globals, so torch.load(weights_only=True)\n"
                "rejects this file; lines below were made with weights_only=False. The '@_metadata' "
                "lines are the OrderedDict attribute.\npickle globals in data.pkl (GLOBAL opcodes, "
                "module name): " + ", ".join("%s %s" % g for g in globs), lines)

    legacy = torch.arange(3, dtype=torch.float32) * 1.5
    legacy_lines = write_if_changed(
        out_dir, "torch_legacy.pt",
        lambda p: torch.save(legacy, p, _use_new_zipfile_serialization=False),
        lambda p, n: describe_pt(p, n), force)
    section("torch_legacy.pt: torch.save(torch.arange(3, dtype=float32) * 1.5, f, "
            "_use_new_zipfile_serialization=False):\nthe legacy non-zip format (starts with a "
            "pickled magic number 0x1950a86a20f9469cfc6c). Readers must reject it with a clear "
            "error.\nFor information only, torch reads it as: " + " | ".join(legacy_lines), [])

    for key, arr in numpy_arrays().items():
        name = "numpy_%s.npy" % key
        lines = write_if_changed(out_dir, name, lambda p, a=arr: np.save(p, a),
                                 lambda p, n: describe_npy(p, n), force)
        note = "np.save of dtype %r shape %s%s" % (arr.dtype.str, tuple(arr.shape),
                                                   ", fortran_order True" if key.startswith("fortran")
                                                   else "")
        section("%s: %s" % (name, note), lines)

    npz = npz_arrays()
    lines = write_if_changed(out_dir, "numpy_arrays.npz", lambda p: np.savez(p, **npz),
                             lambda p, n: describe_npz(p, n), force)
    section("numpy_arrays.npz: np.savez (stored, uncompressed zip members NAME.npy)", lines)
    lines = write_if_changed(out_dir, "numpy_arrays_compressed.npz",
                             lambda p: np.savez_compressed(p, **npz),
                             lambda p, n: describe_npz(p, n), force)
    section("numpy_arrays_compressed.npz: np.savez_compressed (deflated zip members)", lines)

    st = safetensors_tensors()

    def write_st(p):
        try:
            from safetensors.torch import save_file
        except ImportError:
            write_safetensors_by_hand(st, {"format": "pt"}, p)
        else:
            save_file(st, p, metadata={"format": "pt"})

    lines = write_if_changed(out_dir, "safetensors_basic.safetensors", write_st,
                             lambda p, n: describe_safetensors(p, n), force)
    hdr, _ = _safetensors_header(os.path.join(out_dir, "safetensors_basic.safetensors"))
    section("safetensors_basic.safetensors: header JSON (%d bytes incl. padding): %s"
            % (_ - 8, json.dumps(hdr, separators=(",", ":"))), lines)

    with open(os.path.join(out_dir, "expected.txt"), "w", encoding="utf-8") as f:
        f.write("".join(exp))
    print("  %-36s written" % "expected.txt")

    # 3. self-check: every golden file verifies against expected.txt ------------------------
    exp_path = os.path.join(out_dir, "expected.txt")
    ok = True
    checks = [("pt", "torch_types.pt"), ("pt", "torch_state_dict.pt")]
    checks += [("npy", "numpy_%s.npy" % k) for k in numpy_arrays()]
    checks += [("npz", "numpy_arrays.npz"), ("npz", "numpy_arrays_compressed.npz"),
               ("safetensors", "safetensors_basic.safetensors")]
    for kind, name in checks:
        rc = verify(kind, os.path.join(out_dir, name), exp_path, quiet=True)
        ok = ok and rc == 0
    total = sum(os.path.getsize(os.path.join(out_dir, n)) for n in os.listdir(out_dir))
    print("self-check %s; %s holds %d bytes" % ("passed" if ok else "FAILED", out_dir, total))
    return 0 if ok else 1


# --------------------------------------------------------------------------------------------
# Verification
# --------------------------------------------------------------------------------------------

def _num_equal(a, b, rtol):
    if a == "*" or b == "*":
        return True
    try:
        x, y = float(a), float(b)
    except ValueError:
        return a == b
    if math.isnan(x) or math.isnan(y):
        return math.isnan(x) and math.isnan(y)
    if x == y:
        return True
    if rtol and not (math.isinf(x) or math.isinf(y)):
        return abs(x - y) <= rtol * max(abs(x), abs(y))
    return False


def compare_line(expected, actual, rtol=0.0):
    """Returns None if the two lines (token lists, file column dropped) agree, else a reason."""
    if expected[1] == "*":
        return None
    if len(expected) != len(actual):
        if expected[1] != actual[1]:
            return "kind %s != %s" % (expected[1], actual[1])
        return "field count %d != %d" % (len(expected), len(actual))
    kind = actual[1]
    bad = []
    for i, (e, a) in enumerate(zip(expected, actual)):
        if e == "*" or e == a:
            continue
        numeric = (kind == "tensor" and i >= 7) or kind == "float"
        if numeric and _num_equal(e, a, rtol):
            continue
        bad.append("field %d: expected %s, got %s" % (i + 1, e, a))
    return "; ".join(bad) or None


def read_expected(path, name):
    out = collections.OrderedDict()
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            tok = line.split()
            if tok[0] != name:
                continue
            if len(tok) < 3:
                raise ValueError("%s:%d: malformed line" % (path, lineno))
            out[tok[1]] = (lineno, tok[1:])
    return out


DESCRIBERS = {"pt": describe_pt, "npy": describe_npy, "npz": describe_npz,
              "safetensors": describe_safetensors}


def verify(kind, file_path, expected_path, name=None, rtol=0.0, strict=False, quiet=False,
           unsafe_pickle=False):
    name = name or os.path.basename(file_path)
    try:
        expected = read_expected(expected_path, name)
    except (OSError, ValueError) as e:
        print("ERROR reading %s: %s" % (expected_path, e))
        return 2
    if not expected:
        print("ERROR: no lines for file '%s' in %s" % (name, expected_path))
        return 2
    try:
        if kind == "pt" and unsafe_pickle:
            actual_lines = describe_pt(file_path, name, weights_only=False)
        else:
            actual_lines = DESCRIBERS[kind](file_path, name)
    except Exception as e:
        print("FAIL %s: the library could not load it: %s: %s" % (file_path, type(e).__name__, e))
        return 1
    actual = collections.OrderedDict()
    for line in actual_lines:
        tok = line.split()
        actual[tok[1]] = tok[1:]
    failures = []
    for path, (lineno, etok) in expected.items():
        if path not in actual:
            failures.append("line %d %s: missing (library sees no such path)" % (lineno, path))
            continue
        why = compare_line(etok, actual[path], rtol)
        if why:
            failures.append("line %d %s: %s\n      expected: %s\n      actual:   %s"
                            % (lineno, path, why, " ".join(etok), " ".join(actual[path])))
    extra = [p for p in actual if p not in expected]
    if failures or extra or not quiet:
        print("verify %s %s against %s (%d expected lines, %d actual):"
              % (kind, file_path, expected_path, len(expected), len(actual)))
        for f in failures:
            print("  MISMATCH " + f)
        for p in extra:
            print("  %s %s %s" % ("EXTRA" if strict else "note: not in expected:", name,
                                   " ".join(actual[p])))
    failed = bool(failures) or (strict and bool(extra))
    if not quiet or failed:
        print("  => %s" % ("FAILED" if failed else "OK: all %d lines match" % len(expected)))
    return 1 if failed else 0


def main(argv=None):
    here = os.path.dirname(os.path.abspath(__file__))
    default_out = os.path.join(os.path.dirname(os.path.dirname(here)), "tests", "io", "golden")
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=LINE_FORMAT)
    p.add_argument("--out-dir", default=default_out)
    p.add_argument("--data-dir", default=None, help="directory with the sample .pt data files")
    p.add_argument("--force", action="store_true", help="rewrite golden binaries even if unchanged")
    for k in ("pt", "npy", "npz", "safetensors"):
        p.add_argument("--verify-" + k, nargs=2, metavar=("FILE", "EXPECTED_LINES_FILE"))
    p.add_argument("--describe", nargs=2, metavar=("KIND", "FILE"),
                   help="print the lines for FILE (KIND: pt, pt-unsafe, npy, npz, safetensors)")
    p.add_argument("--name", help="value of the <file> column to use instead of FILE's base name")
    p.add_argument("--rtol", type=float, default=0.0, help="relative tolerance for checksums")
    p.add_argument("--strict", action="store_true", help="fail on lines not listed in EXPECTED")
    p.add_argument("--unsafe-pickle", action="store_true",
                   help="--verify-pt with torch.load(weights_only=False), for files holding Python "
                        "globals such as torch_neuralop_state_dict.pt (only for trusted files)")
    args = p.parse_args(argv)

    for k in ("pt", "npy", "npz", "safetensors"):
        v = getattr(args, "verify_" + k)
        if v:
            return verify(k, v[0], v[1], name=args.name, rtol=args.rtol, strict=args.strict,
                          unsafe_pickle=args.unsafe_pickle)
    if args.describe:
        kind, path = args.describe
        if kind == "pt-unsafe":
            lines = describe_pt(path, args.name, weights_only=False)
        else:
            lines = DESCRIBERS[kind](path, args.name)
        print("\n".join(lines))
        return 0
    return generate(args.out_dir, find_data_dir(args.data_dir), args.force)


if __name__ == "__main__":
    sys.exit(main())
