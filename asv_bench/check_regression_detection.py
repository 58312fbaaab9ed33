"""Proof that asv flags a 30% slowdown of each op family, on that family's benchmarks only, and
stays quiet on a commit that changes nothing, while another process keeps the CPUs busy.

    python asv_bench/check_regression_detection.py [--tries 5] [--families all]
        [--factor 1.1] [--bench track_instructions] [--neighbours 1]

In a scratch clone of this repository's committed HEAD (your checkout, its branches and its asv
results are never touched, nothing is pushed), it commits, each on top of HEAD (the base):

  slowed    for each family, the family's functions (``mint.functional``) also do the work of
            the first 30% of the batch again, both strategies, forward and backward; for the
            training step, a ``Sequential`` called from outside any module (``nn/containers.py``)
            runs its forward pass twice in training mode
  no-op     a comment added to ``nn/module.py``, nothing else

Then, ``--tries`` times: asv measures the base and every commit once, and for each slowed
commit ``asv compare --factor`` against the base must flag (``+``) every benchmark of the
family's instruction counts and nothing outside the family, except the composite benchmarks
(training steps, inference, ResNet-18), which contain every op and may be flagged; the no-op
against the base must flag nothing at all. ``--neighbours`` CPU-bound processes (a Python busy
loop each) run throughout.

Each commit is measured with ``asv run --environment existing --set-commit-hash`` after checking
it out in the scratch clone, with the clone's ``src`` first on the path (``ASV_PYTHONPATH``), and
the pair is compared with ``asv compare``: what ``asv continuous`` does (it runs both commits,
then compares), without building each commit into a virtualenv, where Numba would compile every
kernel again each time (minutes per commit); a checkout rewrites only the files that changed, so
Numba's cache stays valid. Needs git, valgrind, and asv and Mint's dependencies in the Python
that runs it. A try (8 commits counted) costs 10-12 minutes of CPU. It prints the load, each
flagged benchmark with its ratio, and a verdict per comparison; it exits 1 if any went wrong;
the full asv output stays in the scratch folder it names.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

FAMILIES = ("Convolution", "Pooling", "Linear", "CrossEntropy", "BatchNorm", "TrainStep")

# Benchmarks (asv names) of each family, instruction counts and times; and the composite ones.
FAMILY_BENCHMARKS = {
    "Convolution":
        r"^(instructions\.Convolution|conv2d\.|conv_variants\.|resnet18\.ResNet18Conv2d)",
    "Pooling": r"^(instructions\.Pooling|max_pool2d\.|avg_pool2d\.)",
    "Linear": r"^(instructions\.Linear|linear\.)",
    "CrossEntropy": r"^(instructions\.CrossEntropy|cross_entropy\.)",
    "BatchNorm": r"^(instructions\.BatchNorm|batch_norm\.)",
    "TrainStep": r"^(instructions\.TrainStep|train_step\.TrainStep\.time_)",
}
COMPOSITE = r"^(instructions\.TrainStep|train_step\.|inference\.|resnet18\.ResNet18\.)"

# The slowdowns, appended to a file of the scratch clone. _slowed(fn, arrays, shape) wraps fn so
# that it first calls fn on the first 30% of the batch: the positional arguments at the indices
# `arrays` are cut to it, and the one at `shape` (an input shape) says so.
_SLOWED = '''

# Deliberately slowed by asv_bench/check_regression_detection.py (scratch branch): these
# functions also do the work of the first 30% of the batch again.
def _slowed(fn, arrays, shape=None):
    def slowed(*args, **kwargs):
        part = max(1, 3 * len(args[0]) // 10)
        again = list(args)
        for index in arrays:
            again[index] = again[index][:part]
        if shape is not None:
            again[shape] = (part, *again[shape][1:])
        fn(*again, **kwargs)
        return fn(*args, **kwargs)

    return slowed


'''
SLOWDOWNS = {
    "Convolution": ("src/mint/functional/convolution.py", _SLOWED + (
        "conv2d = _slowed(conv2d, [0])\n"
        "conv2d_backward = _slowed(conv2d_backward, [0, 1])\n")),
    "Pooling": ("src/mint/functional/pooling.py", _SLOWED + (
        "max_pool2d = _slowed(max_pool2d, [0])\n"
        "max_pool2d_backward = _slowed(max_pool2d_backward, [0, 1], 2)\n"
        "avg_pool2d = _slowed(avg_pool2d, [0])\n"
        "avg_pool2d_backward = _slowed(avg_pool2d_backward, [0], 1)\n")),
    "Linear": ("src/mint/functional/dense.py", _SLOWED + (
        "linear = _slowed(linear, [0])\n"
        "linear_backward = _slowed(linear_backward, [0, 1])\n")),
    "CrossEntropy": ("src/mint/functional/loss.py", _SLOWED + (
        "cross_entropy = _slowed(cross_entropy, [0, 1])\n"
        "cross_entropy_backward = _slowed(cross_entropy_backward, [0, 1])\n")),
    "BatchNorm": ("src/mint/functional/normalization.py", _SLOWED + (
        "batch_norm = _slowed(batch_norm, [0])\n"
        "batch_norm_backward = _slowed(batch_norm_backward, [0, 1])\n")),
    "TrainStep": ("src/mint/nn/containers.py", '''

# Deliberately slowed by asv_bench/check_regression_detection.py (scratch branch): in training
# mode a Sequential called from outside any module runs its forward pass twice (about a third
# more work per training step); the layers' own calls are not repeated.
from mint.nn.module import _forward_pass  # noqa: E402

_call_at_full_speed = Module.__call__


def _call_twice(self, *args):
    if (self.training and isinstance(self, Sequential)
            and getattr(_forward_pass, "depth", 0) == 0):
        _call_at_full_speed(self, *args)
    return _call_at_full_speed(self, *args)


Module.__call__ = _call_twice
'''),
}
NO_OP = ("src/mint/nn/module.py",
         "\n# A comment added by the asv regression proof, nothing else.\n")
NEIGHBOUR = "while True: pass"


def run(command, **kwargs):
    return subprocess.run(command, check=True, text=True, capture_output=True, **kwargs).stdout


def load():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def commit(clone, path, text, message):
    with open(os.path.join(clone, path), "a") as f:
        f.write(text)
    run(["git", "commit", "--quiet", "-am", message], cwd=clone)
    return run(["git", "rev-parse", "HEAD"], cwd=clone).strip()


def rows(table):
    """``[(mark, ratio, name)]`` of asv compare's table."""
    found = []
    for line in table.splitlines():
        cells = [cell.strip() for cell in line.split("|")]
        if (len(cells) >= 7 and line.startswith("|") and cells[4] != "Ratio"
                and not set(cells[4]) <= {"-"}):
            found.append((cells[1], cells[4], cells[5]))
    return found


class Proof:
    """The scratch clone (the base commit's checkout, whose Numba cache every worktree shares)
    and a worktree per other commit."""

    def __init__(self, args, scratch, clone):
        self.args, self.scratch, self.clone = args, scratch, clone
        self.worktrees = {}

    def worktree(self, commit_hash):
        """A checkout of the commit whose ``src/mint/kernels`` (the Numba kernels, the same in
        every commit of the proof) is the clone's, so that Numba's cache is shared."""
        if commit_hash not in self.worktrees:
            path = os.path.join(self.scratch, f"wt-{commit_hash[:8]}")
            run(["git", "worktree", "add", "--quiet", "--detach", path, commit_hash],
                cwd=self.clone)
            kernels = os.path.join("src", "mint", "kernels")
            run(["git", "diff", "--quiet", "HEAD", commit_hash, "--", kernels], cwd=self.clone)
            run(["rm", "-rf", os.path.join(path, kernels)])
            os.symlink(os.path.join(self.clone, kernels), os.path.join(path, kernels))
            self.worktrees[commit_hash] = path
        return self.worktrees[commit_hash]

    def start(self, commit_hash, label):
        """Start asv run of one commit in its checkout, into that checkout's results."""
        path = self.clone if commit_hash == self.base else self.worktree(commit_hash)
        bench = os.path.join(path, "asv_bench")
        run(["rm", "-rf", os.path.join(bench, "results")])
        log = open(os.path.join(self.scratch, f"{label}.log"), "w")
        env = {**os.environ, "ASV_PYTHONPATH": os.path.join(path, "src")}
        return subprocess.Popen(
            [sys.executable, "-m", "asv", "run", "--environment", "existing",
             "--set-commit-hash", commit_hash, "--bench", self.args.bench, "--show-stderr"],
            cwd=bench, env=env, stdout=log, stderr=subprocess.STDOUT)

    def measure(self, commits, attempt):
        """asv run of every commit, --jobs at a time, then all results into the clone's."""
        start, waiting, running = time.time(), list(commits), []
        print(f"  measuring {len(commits)} commits, {self.args.jobs} at a time; "
              f"load before {load()}", flush=True)
        while waiting or running:
            while waiting and len(running) < self.args.jobs:
                name, commit_hash = waiting.pop(0)
                running.append(self.start(commit_hash, f"{name}-{attempt}".replace(" ", "-")))
            time.sleep(2)
            running = [process for process in running if process.poll() is None]
        results = os.path.join(self.clone, "asv_bench", "results")
        for path in self.worktrees.values():
            run(["cp", "-r", os.path.join(path, "asv_bench", "results"), self.scratch + "/r"])
            run(["cp", "-rn", *[os.path.join(self.scratch, "r", entry)
                                for entry in os.listdir(os.path.join(self.scratch, "r"))],
                 results])
            run(["rm", "-rf", os.path.join(self.scratch, "r")])
        print(f"  measured in {time.time() - start:.0f} s; load after {load()}", flush=True)

    def compare(self, name, before, after):
        """asv compare's rows for the pair; the table goes to NAME.table."""
        table = subprocess.run(
            [sys.executable, "-m", "asv", "compare", "--factor", str(self.args.factor),
             before, after], cwd=os.path.join(self.clone, "asv_bench"),
            capture_output=True, text=True).stdout
        with open(os.path.join(self.scratch, f"{name}.table"), "w") as f:
            f.write(table)
        return rows(table)


def verdict(found, family):
    """(right, lines): did asv flag what it must and nothing else?"""
    lines, right = [], bool(found)
    if not found:
        lines.append("no benchmark results (see the run logs)")
    for mark, ratio, name in found:
        own = family is not None and re.search(FAMILY_BENCHMARKS[family], name)
        composite = re.search(COMPOSITE, name)
        required = own and name.startswith("instructions.")
        if mark in ("+", "-"):
            ok = (own or composite) and mark == "+"
            lines.append(f"{mark} {ratio:>6}  {name}{'' if ok else '   <- WRONG'}")
            right &= bool(ok)
        elif required:
            lines.append(f"{mark or ' '} {ratio:>6}  {name}   <- NOT FLAGGED")
            right = False
        elif mark in ("!", "x"):
            lines.append(f"{mark} {ratio:>6}  {name}   <- failed or not comparable")
            right = False
    return right, lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tries", type=int, default=5)
    parser.add_argument("--families", default="all",
                        help=f"comma-separated, of {', '.join(FAMILIES)}; or none (no-op only)")
    parser.add_argument("--factor", type=float, default=1.1)
    parser.add_argument("--bench", default="track_instructions",
                        help="asv --bench regex of what is measured (default: the instruction "
                             "counts, the whole suite of them); '.' for everything")
    parser.add_argument("--neighbours", type=int, default=1,
                        help="CPU-bound busy-loop processes to run during the proof")
    parser.add_argument("--jobs", type=int, default=3,
                        help="commits measured at the same time (instruction counts do not "
                             "depend on the load; times do: use 1 with --bench time_)")
    args = parser.parse_args()
    families = {"all": list(FAMILIES), "none": []}.get(args.families,
                                                         args.families.split(","))
    unknown = set(families) - set(FAMILIES)
    if unknown:
        parser.error(f"unknown families {sorted(unknown)}")

    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    scratch = tempfile.mkdtemp(prefix="mint-asv-proof.")
    print(f"scratch folder: {scratch}")
    clone = os.path.join(scratch, "mint")
    run(["git", "clone", "--quiet", repo, clone])
    run(["git", "checkout", "--quiet", "-B", "main"], cwd=clone)  # the branch asv.conf names
    run(["git", "config", "user.name", "asv regression proof"], cwd=clone)
    run(["git", "config", "user.email", "asv-proof@localhost"], cwd=clone)
    base = run(["git", "rev-parse", "HEAD"], cwd=clone).strip()
    commits, pairs = [("base", base)], []  # pairs: (name, family or None, commit)
    for family, (path, text), message in [
            *((family, SLOWDOWNS[family], f"{family} does 30% more work") for family in families),
            (None, NO_OP, "a comment only")]:
        name = f"slowed {family}" if family else "no-op"
        commit_hash = commit(clone, path, text, f"scratch: {message}")
        run(["git", "reset", "--quiet", "--hard", base], cwd=clone)
        commits.append((name, commit_hash))
        pairs.append((name, family, commit_hash))
    run([sys.executable, "-m", "asv", "machine", "--yes"], cwd=os.path.join(clone, "asv_bench"))

    neighbours = [subprocess.Popen([sys.executable, "-c", NEIGHBOUR])
                  for _ in range(args.neighbours)]
    proof, wrong, tally = Proof(args, scratch, clone), 0, {}
    proof.base = base
    print(f"{args.neighbours} busy-loop neighbour(s); factor {args.factor}; benchmarks "
          f"{args.bench!r}; each commit against its parent (the base commit)", flush=True)
    try:
        for attempt in range(1, args.tries + 1):
            print(f"try {attempt}", flush=True)
            if attempt == 1:  # alone first: Numba compiles the kernels into the shared cache
                proof.measure(commits[:1], attempt)
                proof.measure(commits[1:], attempt)
            else:
                proof.measure(commits, attempt)
            for name, family, commit_hash in pairs:
                found = proof.compare(f"{name}-{attempt}".replace(" ", "-"), base, commit_hash)
                right, lines = verdict(found, family)
                expected = "flagged on its family only" if family else "quiet"
                print(f"    {name}: {'right' if right else 'WRONG'} ({expected}; "
                      f"{len(found)} benchmarks compared)")
                for line in lines:
                    print(f"      {line}")
                tally.setdefault(name, []).append(right)
                wrong += not right
            sys.stdout.flush()
    finally:
        for neighbour in neighbours:
            neighbour.kill()
    for name, results in tally.items():
        print(f"{name}: {sum(results)}/{len(results)} right")
    print(f"factor {args.factor}, {wrong} wrong; logs in {scratch}")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
