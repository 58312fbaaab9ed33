"""Instructions executed by one call of each op family, counted under valgrind's callgrind: the
suite's deterministic, lower-is-better metric (unit "instructions"), beside the times.

On a shared 2-core machine the CPU time of a 0.5-5 ms call moves by up to 25% from one process
to the next when neighbours run (they push its data out of the caches), so a 15% or 30%
threshold on time both cries wolf and misses. The number of instructions a call executes does
not depend on the load: it is the same at every run of a commit, to within 0.4% (Python's
bookkeeping, in the smallest calls), so ``asv continuous --factor 1.1`` flags a change of the
work and nothing else (docs/asv.md).

How: ``setup_cache`` (shared by every class below, so once per commit) runs two child
processes of this interpreter on the suite's own cases (the builders of the time benchmarks, on
smaller batches): a native one that compiles and caches Numba's kernels, then one under
``valgrind --tool=callgrind --instr-atstart=no`` that loads them from the cache, warms each call,
switches instrumentation on, and around one call of each case zeroes callgrind's counters and
dumps them (valgrind client requests, issued from a few bytes of x86-64 machine code through
ctypes: no compiler, no symbols needed). Import, compilation and warm-up are not counted; the
dump holds the call's instructions in every thread.

Fixed for determinism and portability: 1 Numba thread, 1 BLAS thread, ``PYTHONHASHSEED=0``,
garbage collection off while counting, and Numba's target CPU set to Haswell (AVX2, which
valgrind executes; it does not execute AVX-512), so the count does not depend on the host's
CPU. valgrind's virtual CPU has no AVX-512 either, so NumPy and OpenBLAS take their AVX2 paths.

Blind spots (time's job, and ``mint bench``'s): memory-bound slowdowns (cache misses, page
faults, first touch of fresh memory), threading (lost parallelism, contention, spinning
threads), and the cost per instruction (a division for a multiplication). Where valgrind is
missing, or not on Linux x86-64, every benchmark here is skipped with the reason.
"""

import ctypes
import gc
import importlib
import mmap
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile

from . import common
from .common import STRATEGIES

# The training steps' batch. Two, not 8: the steps were 3/4 of a commit's counting time at 8
# (the resnet step, 664 million instructions vectorized, took 80 s of CPU to warm under valgrind
# and 27 s to count); at 2 a commit's count takes a third of the time, and a step is still every
# layer's forward and backward and the optimiser's update, on every sample of the batch.
COUNTED_BATCH = 2

# class (op family) -> {call: (module, builder, the builder's shape, index of the callable)}: the
# time benchmarks' builders, on a batch of 8 (64 for the losses; COUNTED_BATCH for the training
# steps) instead of 64: callgrind runs code about 50x slower than the CPU, and the count of a
# smaller batch moves the same way.
CALLS = {
    "Convolution": {
        "conv2d forward N=8 Cin=32 Cout=64 H=14 k=3 p=1":
            ("conv2d", "conv2d_calls", (8, 32, 64, 14, 3, 1, 1), 0),
        "conv2d forward_backward N=8 Cin=32 Cout=64 H=14 k=3 p=1":
            ("conv2d", "conv2d_calls", (8, 32, 64, 14, 3, 1, 1), 1),
    },
    "Pooling": {
        "max_pool2d forward N=8 C=32 H=28 k=2":
            ("max_pool2d", "max_pool2d_calls", (8, 32, 28, 2, 2), 0),
        "max_pool2d forward_backward N=8 C=32 H=28 k=2":
            ("max_pool2d", "max_pool2d_calls", (8, 32, 28, 2, 2), 1),
        "avg_pool2d forward N=8 C=32 H=28 k=2":
            ("avg_pool2d", "avg_pool2d_calls", (8, 32, 28, 2, 2), 0),
        "avg_pool2d forward_backward N=8 C=32 H=28 k=2":
            ("avg_pool2d", "avg_pool2d_calls", (8, 32, 28, 2, 2), 1),
    },
    "Linear": {
        "linear forward N=8 in=3136 out=128": ("linear", "linear_calls", (8, 3136, 128), 0),
        "linear forward_backward N=8 in=3136 out=128":
            ("linear", "linear_calls", (8, 3136, 128), 1),
    },
    "CrossEntropy": {
        "cross_entropy forward_backward N=64 C=10":
            ("cross_entropy", "cross_entropy_calls", (64, 10), 0),
        "cross_entropy forward_backward N=64 C=1000":
            ("cross_entropy", "cross_entropy_calls", (64, 1000), 0),
    },
    "BatchNorm": {
        "batch_norm forward N=8 C=32 H=28": ("batch_norm", "batch_norm_calls", (8, 32, 28), 0),
        "batch_norm forward_backward N=8 C=32 H=28":
            ("batch_norm", "batch_norm_calls", (8, 32, 28), 1),
    },
    "TrainStep": {
        f"lenet step N={COUNTED_BATCH}": ("train_step", "train_step_calls", "lenet", 0),
        f"resnet step N={COUNTED_BATCH}": ("train_step", "train_step_calls", "resnet", 0),
    },
}

# What the counting run fixes (the native compiling run too, so that both find the same entries
# in Numba's cache): one thread each, the hash seed, and the target CPU.
COUNTING_ENV = {
    "NUMBA_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "PYTHONHASHSEED": "0",
    "NUMBA_CPU_NAME": "haswell",
    "NUMBA_CPU_FEATURES": "+64bit,+aes,+avx,+avx2,+bmi,+bmi2,+cmov,+cx16,+cx8,+f16c,+fma,+fxsr,"
                          "+lzcnt,+mmx,+movbe,+pclmul,+popcnt,+sahf,+sse,+sse2,+sse3,+sse4.1,"
                          "+sse4.2,+ssse3,+xsave",
    "OPENBLAS_CORETYPE": "Haswell",
}
# Calls of each case before the counted one (the first loads the kernels and allocates what later
# ones keep), in both children. One: under valgrind a warm call costs about as much CPU as the
# counted one (two cost 24 of a commit's 90 s), and two runs of the same code after one warm
# call gave the same counts to the instruction. The counted call after one warm call is within
# 0.25% of the one after two, but for the smallest case (cross-entropy on 64 x 10 logits,
# vectorized, 1% lower): what asv compares is two commits counted the same way.
WARM_CALLS = 1
TIMEOUT = 2400  # seconds for each child process, on a busy 2-core machine

# valgrind client requests (valgrind.h, callgrind.h)
RUNNING_ON_VALGRIND = 0x1001
_CALLGRIND = 0x43540000  # VG_USERREQ_TOOL_BASE('C', 'T')
DUMP_STATS_AT = _CALLGRIND + 3
ZERO_STATS = _CALLGRIND + 1
START_INSTRUMENTATION = _CALLGRIND + 4

# uint64 request(uint64 *args, uint64 default): valgrind's "special instruction" sequence for
# amd64. Outside valgrind it does nothing and returns the default.
_REQUEST_CODE = bytes([
    0x48, 0x89, 0xF8,  # mov rax, rdi  (the request's arguments)
    0x48, 0x89, 0xF2,  # mov rdx, rsi  (the default result)
    0x48, 0xC1, 0xC7, 0x03, 0x48, 0xC1, 0xC7, 0x0D,  # rol rdi, 3; rol rdi, 13
    0x48, 0xC1, 0xC7, 0x3D, 0x48, 0xC1, 0xC7, 0x33,  # rol rdi, 61; rol rdi, 51
    0x48, 0x87, 0xDB,  # xchg rbx, rbx: the request
    0x48, 0x89, 0xD0,  # mov rax, rdx  (the result)
    0xC3,  # ret
])


def selected():
    """The families to count: all, or those MINT_ASV_INSTRUCTIONS names (comma-separated; CI
    counts one, to stay quick; "none" counts none)."""
    names = os.environ.get("MINT_ASV_INSTRUCTIONS")
    if names is None:
        return list(CALLS)
    return [name for name in names.split(",") if name in CALLS]


def _not_selected():
    return f"not counted: MINT_ASV_INSTRUCTIONS={os.environ.get('MINT_ASV_INSTRUCTIONS')}"


def unsupported():
    """Why instructions cannot be counted here, or None."""
    if sys.platform != "linux" or platform.machine() not in ("x86_64", "AMD64"):
        return ("instruction counts need Linux on x86-64, this is "
                f"{sys.platform} {platform.machine()}")
    if shutil.which("valgrind") is None:
        return "instruction counts need valgrind, which is not on PATH"
    return None


def client_request():
    """``request(code, *args) -> int``: issue a valgrind client request from this process."""
    code = mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    code.write(_REQUEST_CODE)
    address = ctypes.addressof(ctypes.c_char.from_buffer(code))
    call = ctypes.CFUNCTYPE(ctypes.c_uint64, ctypes.c_void_p, ctypes.c_uint64)(address)

    def request(request_code, *args):
        words = (ctypes.c_uint64 * 6)(request_code, *args)
        return call(ctypes.addressof(words), 0)

    request.code = code  # keep the page mapped
    return request


def build_cases():
    """``[(key, callable)]``: every call of CALLS, for every strategy, built and warmed by the
    time benchmarks' builders."""
    package = __name__.rpartition(".")[0]
    cases = []
    for family in selected():
        calls = CALLS[family]
        for strategy in STRATEGIES:
            for call, (module, builder, case, index) in calls.items():
                make = getattr(importlib.import_module(f"{package}.{module}"), builder)
                built = (make(strategy, case, COUNTED_BATCH) if module == "train_step"
                         else make(strategy, case))
                cases.append((f"{family}|{strategy}|{call}", built[index]))
    return cases


def count_in_this_process():
    """The child under callgrind: build and warm every case, then one counted call each,
    dumped under its key."""
    request = client_request()
    if not request(RUNNING_ON_VALGRIND):
        raise RuntimeError("not running under valgrind")
    common.WARM_CALLS = WARM_CALLS  # valgrind runs even uninstrumented code 5-20x slower
    cases = build_cases()
    gc.collect()
    gc.disable()
    request(START_INSTRUMENTATION)
    for key, fn in cases:
        label = ctypes.create_string_buffer(key.encode())
        request(ZERO_STATS)
        fn()
        request(DUMP_STATS_AT, ctypes.addressof(label))


_TRIGGER = re.compile(r"^desc: Trigger: Client Request: (.*)$", re.MULTILINE)
_TOTALS = re.compile(r"^(?:totals|summary): (\d+)", re.MULTILINE)


def parse_dump(text):
    """``(key, instructions)`` of one callgrind dump that DUMP_STATS_AT wrote, or None."""
    trigger, totals = _TRIGGER.search(text), _TOTALS.search(text)
    if trigger is None or totals is None:
        return None
    return trigger.group(1).strip(), int(totals.group(1))


def _child_command(mode):
    package = __name__.rpartition(".")[0]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    code = (f"import sys; sys.path[:0] = {[root, *sys.path]!r}; "
            f"import {package}.instructions as m, mint; print(mint.__file__); "
            + ("m.count_in_this_process()" if mode == "count"
               else f"m.common.WARM_CALLS = {WARM_CALLS}; m.build_cases()"))
    return [sys.executable, "-c", code]


def count():
    """``{"counts": {key: instructions}}``, or ``{"skip": reason}``; runs the two children."""
    reason = unsupported()
    if reason:
        return {"skip": reason}
    if not selected():
        return {"skip": _not_selected()}
    import mint

    env = {**os.environ, **COUNTING_ENV}
    with tempfile.TemporaryDirectory(prefix="mint-asv-callgrind-") as folder:
        compiled = subprocess.run(_child_command("compile"), env=env, capture_output=True,
                                  text=True, timeout=TIMEOUT, check=True)
        out = os.path.join(folder, "callgrind.out")
        counted = subprocess.run(
            [shutil.which("valgrind"), "--tool=callgrind", "--instr-atstart=no",
             "--dump-line=no", "--compress-strings=no", "--compress-pos=no",
             f"--callgrind-out-file={out}", *_child_command("count")],
            env=env, capture_output=True, text=True, timeout=TIMEOUT)
        if counted.returncode != 0:
            raise RuntimeError(f"the counting run failed:\n{counted.stderr[-3000:]}")
        for child in (compiled, counted):
            if child.stdout.split()[:1] != [mint.__file__]:
                raise RuntimeError(f"a child imported another mint: {child.stdout[:200]!r}")
        counts = {}
        for name in os.listdir(folder):
            with open(os.path.join(folder, name)) as dump:
                parsed = parse_dump(dump.read())
            if parsed:
                counts[parsed[0]] = parsed[1]
    return {"counts": counts}


class _Instructions:
    """Instructions of one call (see the module's docstring); one sample is the whole truth."""

    param_names = ["strategy", "call"]
    rounds = 1
    timeout = TIMEOUT + 60

    def setup_cache(self):
        return count()

    setup_cache.timeout = TIMEOUT + 60

    def setup(self, counted, strategy, call):
        if "skip" in counted:
            raise NotImplementedError(counted["skip"])
        if type(self).__name__ not in selected():
            raise NotImplementedError(_not_selected())

    def track_instructions(self, counted, strategy, call):
        return counted["counts"][f"{type(self).__name__}|{strategy}|{call}"]

    track_instructions.unit = "instructions"


class Convolution(_Instructions):
    params = [STRATEGIES, list(CALLS["Convolution"])]


class Pooling(_Instructions):
    params = [STRATEGIES, list(CALLS["Pooling"])]


class Linear(_Instructions):
    params = [STRATEGIES, list(CALLS["Linear"])]


class CrossEntropy(_Instructions):
    params = [STRATEGIES, list(CALLS["CrossEntropy"])]


class BatchNorm(_Instructions):
    params = [STRATEGIES, list(CALLS["BatchNorm"])]


class TrainStep(_Instructions):
    params = [STRATEGIES, list(CALLS["TrainStep"])]

