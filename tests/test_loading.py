"""The shell's readers: safe YAML with a budget, scenario files, rate files and target files."""

from __future__ import annotations

import ast
import sys
import tracemalloc
from pathlib import Path

import pytest

from pipecast.errors import InputError, RateSetError, TargetError
from pipecast.loading.options import parse_group_rho
from pipecast.loading.rates import bundled_rate_set, load_rate_set, resolve_rate_set
from pipecast.loading.scenarios import load_scenario
from pipecast.loading.targets import load_target
from pipecast.loading.yaml_safe import load_yaml
from pipecast.targets import Target

SRC = Path(__file__).resolve().parents[1] / "src" / "pipecast"


def billion_laughs(levels: int = 9) -> str:
    """Each level is a list of nine aliases of the one before: 9^levels strings from ~1 kB of text."""
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for k in range(1, levels):
        lines.append(f"a{k}: &a{k} [" + ", ".join([f"*a{k - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def test_alias_bomb_is_refused_with_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(billion_laughs() + "levers:\n  discontinue: *a8\n", encoding="utf-8")
    tracemalloc.start()
    try:
        with pytest.raises(InputError) as info:
            load_scenario(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    message = str(info.value)
    assert "bomb.yaml" in message
    assert "aliases" in message
    assert "line " in message
    assert "\n" not in message
    assert peak < 20e6  # 9^9 = 387 million nodes were never built


def test_alias_budget_counts_expansion_not_text() -> None:
    small = billion_laughs(3)  # 9^3 = 729 strings: fine under the default budget
    assert len(load_yaml(small, what="a mapping")["a2"]) == 9
    with pytest.raises(InputError, match="more than 500 YAML nodes"):
        load_yaml(small, what="a mapping", max_nodes=500)
    plain = "items: [" + ", ".join(str(i) for i in range(2000)) + "]"
    with pytest.raises(InputError, match="more than 1,000 YAML nodes"):
        load_yaml(plain, what="a list", max_nodes=1000)


def test_yaml_size_budget(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("a: " + "x" * 5000 + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="more than 4,000") as info:
        load_yaml(path, what="a mapping", max_bytes=4000)
    assert "big.yaml" in str(info.value)


@pytest.mark.parametrize(
    ("text", "where", "problem"),
    [
        ("levers: [unclosed\n", "line 2, column 1", "expected ',' or ']'"),
        ("a: b: c\n", "line 1, column 5", "mapping values are not allowed"),
        ("name: x\n\tlevers: {}\n", "line 2, column 1", "cannot start any token"),
        ("a: *nowhere\n", "line 1, column 4", "undefined alias"),
    ],
)
def test_malformed_yaml_is_one_line_with_position(tmp_path: Path, text: str, where: str, problem: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_scenario(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: {where}: not valid YAML")
    assert problem in message
    assert "expected a YAML scenario mapping" in message


def test_yaml_refuses_python_objects_and_deep_nesting() -> None:
    with pytest.raises(InputError, match="not valid YAML"):
        load_yaml("x: !!python/object/apply:os.system ['true']\n", what="a mapping")
    with pytest.raises(InputError, match=r"nested too deeply|more than"):
        load_yaml("[" * 50_000 + "]" * 50_000, what="a list", max_bytes=200_000, max_nodes=10**6)


def test_yaml_errors_for_missing_and_binary_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        load_yaml(tmp_path / "missing.yaml", what="a mapping")
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(InputError, match="not UTF-8"):
        load_yaml(binary, what="a mapping")


def test_scenario_rates_are_loaded_relative_to_the_file(tmp_path: Path) -> None:
    rates = bundled_rate_set("global")
    lines = ["phase,p_success,median_months,p90_months"]
    lines += [f"{r.phase.value},{r.p_success / 2},{r.duration.median_months},{r.duration.p90_months}"
              for r in rates.rows if not r.therapeutic_area and not r.modality]
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "half.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    path = tmp_path / "scenario.yaml"
    path.write_text("rates: sub/half.csv\n", encoding="utf-8")
    scenario = load_scenario(path)
    assert scenario.rate_set is not None
    assert scenario.rate_set.name == "half"
    assert scenario.rate_set.row(rates.rows[0].phase).p_success == pytest.approx(rates.rows[0].p_success / 2)
    named = tmp_path / "named.yaml"
    named.write_text("rates: china\n", encoding="utf-8")
    assert load_scenario(named).rate_set == bundled_rate_set("china")


def test_rate_files_errors_name_file_row_and_column(tmp_path: Path) -> None:
    path = tmp_path / "rates.csv"
    path.write_text("phase,p_success,median_months,p90_months\nphase1,1.5,10,20\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_rate_set(path)
    assert str(path) in str(info.value)
    assert "row 2" in str(info.value)
    assert "p_success" in str(info.value)
    with pytest.raises(RateSetError, match="unknown bundled rate set"):
        bundled_rate_set("mars")
    assert resolve_rate_set("global") == bundled_rate_set("global")


def test_target_files(tmp_path: Path) -> None:
    path = tmp_path / "goal.txt"
    path.write_text("# our plan\ntarget: '2027-2030:1-3'\n", encoding="utf-8")
    assert load_target(str(path)) == Target(2027, 2030, 1, 3, "2027-2030:1-3")
    assert load_target("2027:2+") == Target(2027, 2027, 2, None, "2027:2+")
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing\n", encoding="utf-8")
    with pytest.raises(TargetError, match="no target in file"):
        load_target(str(empty))


def test_group_rho_from_the_command_line() -> None:
    assert parse_group_rho(["sponsor=0.2", " all = 0.1"]) == {"sponsor": 0.2, "all": 0.1}
    assert parse_group_rho({"modality": 0.3}) == {"modality": 0.3}
    for bad in (["sponsor"], ["sponsor=high"]):
        with pytest.raises(InputError, match="--rho"):
            parse_group_rho(bad)


CORE_NO_FILES = ("rates/rateset.py", "scenarios/levers.py", "scenarios/compare.py", "scenarios/solve.py",
                 "targets.py")


@pytest.mark.parametrize("module", CORE_NO_FILES)
def test_core_modules_read_no_files(module: str) -> None:
    """The pure core neither imports the shell's readers nor opens files itself."""
    tree = ast.parse((SRC / module).read_text(encoding="utf-8"))
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not any(m.startswith(("pipecast.tabular", "pipecast.loading", "yaml", "importlib")) for m in imported)
    calls = {n.func.attr for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)}
    assert not calls & {"read_text", "read_bytes", "open", "exists", "is_file"}


def test_engines_import_scipy_lazily() -> None:
    import subprocess

    code = "import pipecast.engines.montecarlo, pipecast.scenarios, pipecast.loading.scenarios, sys; " \
           "print('scipy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
