"""The helpers of asv's instruction counts (asv_bench/benchmarks/instructions.py, docs/asv.md):
reading callgrind's dumps, the valgrind client request outside valgrind, and which families
MINT_ASV_INSTRUCTIONS selects. Nothing here runs valgrind."""

import importlib
import pathlib
import platform
import sys

import pytest

ASV_BENCH = pathlib.Path(__file__).resolve().parent.parent / "asv_bench"


@pytest.fixture(scope="module")
def instructions():
    sys.path.insert(0, str(ASV_BENCH))
    try:
        yield importlib.import_module("benchmarks.instructions")
    finally:
        sys.path.remove(str(ASV_BENCH))


DUMP = """# callgrind format
version: 1
creator: callgrind-3.19.0
pid: 16852
cmd:  python -c ...
part: 3

desc: I1 cache:
desc: Timerange: Basic block 8666293435 - 8667962608
desc: Trigger: Client Request: Linear|loop|linear forward N=8 in=3136 out=128

positions: line
events: Ir
summary: 1159422

fl=(1)
fn=(1) 0x0000000004a8ca40
0 12
totals: 1159422
"""


def test_a_dump_gives_its_case_and_its_instructions(instructions):
    assert instructions.parse_dump(DUMP) == (
        "Linear|loop|linear forward N=8 in=3136 out=128", 1159422)


def test_a_dump_not_written_by_a_client_request_is_ignored(instructions):
    assert instructions.parse_dump(DUMP.replace("Client Request: ", "")
                                   .replace("Trigger:", "Trigger: Program termination")) is None
    assert instructions.parse_dump("") is None


@pytest.mark.skipif(sys.platform != "linux" or platform.machine() != "x86_64",
                    reason="the client request is x86-64 machine code")
def test_outside_valgrind_a_client_request_does_nothing_and_returns_zero(instructions):
    request = instructions.client_request()
    assert request(instructions.RUNNING_ON_VALGRIND) == 0
    assert request(instructions.ZERO_STATS) == 0


def test_the_variable_selects_the_families_to_count(instructions, monkeypatch):
    monkeypatch.delenv("MINT_ASV_INSTRUCTIONS", raising=False)
    assert instructions.selected() == list(instructions.CALLS)
    monkeypatch.setenv("MINT_ASV_INSTRUCTIONS", "Linear,Pooling,Nonsense")
    assert instructions.selected() == ["Linear", "Pooling"]
    monkeypatch.setenv("MINT_ASV_INSTRUCTIONS", "none")
    assert instructions.selected() == []
    assert "skip" in instructions.count()  # and nothing started


def test_every_family_has_a_class_with_its_calls(instructions):
    for family, calls in instructions.CALLS.items():
        cls = getattr(instructions, family)
        assert cls.params == [instructions.STRATEGIES, list(calls)]
        assert cls.track_instructions.unit == "instructions"


def test_the_training_steps_are_counted_on_the_small_batch_their_names_give(instructions):
    batch = instructions.COUNTED_BATCH
    assert list(instructions.CALLS["TrainStep"]) == [f"lenet step N={batch}",
                                                     f"resnet step N={batch}"]


def test_the_compiling_child_calls_each_case_as_often_as_the_counting_child_warms_it(
        instructions):
    """So that the native run compiles every kernel the warm-up under valgrind calls, and
    valgrind loads them all from Numba's cache."""
    compiling = instructions._child_command("compile")[-1]
    assert f"m.common.WARM_CALLS = {instructions.WARM_CALLS}; m.build_cases()" in compiling
    assert "m.count_in_this_process()" in instructions._child_command("count")[-1]
