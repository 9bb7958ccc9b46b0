"""Every user mistake, through the real entry point (`pipecast.cli:main`), is one line `error: ...`, exit 2.

The batch runs `main()` in-process with sys.argv set (the function the `pipecast` script calls); a few cases
also run the installed `pipecast` script in a subprocess, to cover the process boundary.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pipecast.cli import main

RATES = """phase,p_success,median_months,p90_months
preclinical,0.69,12,24
phase1,0.52,24,48
phase2,0.289,36,66
phase3,0.578,36,60
filed,0.906,13,24
"""
ASSETS = """id,name,sponsor,modality,therapeutic_area,phase,phase_start,count
a1,Alpha,Acme,mAb,Oncology,NDA,2025-03-01,1
a2,Beta,Acme,small molecule,Oncology,Phase III,2023-06-15,1
a3,Gamma,Beta Bio,bispecific,Immunology,Ph 2,2024-01-10,
"""
BOX = ("╭", "│", "╰", "┃", "─")
ALIAS_BOMB = "".join(
    f"{chr(97 + i)}: &{chr(97 + i)} [" + ",".join([f"*{chr(96 + i)}" if i else '"x"'] * 9) + "]\n" for i in range(8)
)


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    monkeypatch.setenv("PIPECAST_DATA_DIR", str(tmp_path / "data-dir"))  # never the user's own store
    monkeypatch.setenv("PIPECAST_TODAY", "2025-11-01")
    monkeypatch.setenv("COLUMNS", "80")
    for name in ("PIPECAST_DB", "PIPECAST_METHOD", "PIPECAST_PATHS", "PIPECAST_RATES"):
        monkeypatch.delenv(name, raising=False)
    out = {"rates": tmp_path / "RATES.csv", "assets": tmp_path / "ASSETS.csv", "bad_yaml": tmp_path / "bad.yaml",
           "bomb": tmp_path / "bomb.yaml", "base": tmp_path / "base.yaml", "not_db": tmp_path / "not-a-db.sqlite",
           "tmp": tmp_path}
    out["rates"].write_text(RATES, encoding="utf-8")
    out["assets"].write_text(ASSETS, encoding="utf-8")
    out["bad_yaml"].write_text("name: [unclosed\n  levers: {\n", encoding="utf-8")
    out["bomb"].write_text(ALIAS_BOMB, encoding="utf-8")
    out["base"].write_text("name: base\n", encoding="utf-8")
    out["not_db"].write_bytes(b"this is not a SQLite file at all" * 100)
    return out


def run_main(
    argv: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["pipecast", *argv])
    with pytest.raises(SystemExit) as stop:
        main()
    captured = capsys.readouterr()
    code = stop.value.code
    return (code if isinstance(code, int) else 1), captured.out, captured.err


def assert_one_line_error(code: int, out: str, err: str) -> str:
    assert code == 2, (code, out, err)
    assert out == ""
    assert "Traceback" not in err
    assert not any(ch in err for ch in BOX), err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    return lines[0]


def F(name: str) -> str:
    return "{" + name + "}"


#: (command line, text the one line must contain). {name} is replaced by the fixture file's path.
BAD = [
    (["forecast", "--paths", "0"], "error: --paths: expected a positive integer, got 0"),
    (["forecast", "--paths", "many"], "error: --paths: expected a positive integer, got 'many'"),
    (["forecast", "--seed", "-1"], "--seed: expected a whole number >= 0, got -1"),
    (["forecast", "--sponsor-stop", "1.5"], "--sponsor-stop: expected a probability between 0 and 1, got 1.5"),
    (["forecast", "--bogus"], "--bogus: no such option"),
    (["forecast", "--targ", "2027:1"], "did you mean --target"),
    (["forecast", "--target"], "--target: needs a value"),
    (["nosuch"], "No such command 'nosuch'"),
    (["scenarios", "compare"], "BASE: missing"),
    (["forecast", "--assets", F("assets"), "--rates", F("rates"), "--rho", "sponsor=0.2"],
     "error: --rho needs --method montecarlo"),
    (["forecast", "--assets", F("assets"), "--rates", F("rates"), "--paths", "500"],
     "--paths needs --method montecarlo"),
    (["forecast", "--assets", F("assets"), "--rates", F("rates"), "--seed", "3"],
     "--seed needs --method montecarlo"),
    (["forecast", "--assets", F("assets"), "--rates", F("rates"), "--engine", "jax"],
     "--engine needs --method montecarlo"),
    (["forecast", "--assets", F("assets"), "--rates", F("rates"), "--review-sigma", "0.2"],
     "--review-sigma needs --method montecarlo"),
    (["forecast", "--assets", F("assets"), "--rates", F("rates"), "--sponsor-stop", "0.1"],
     "--sponsor-stop needs --method montecarlo"),
    (["forecast", "--assets", F("assets"), "--rates", F("rates"), "--method", "montecarlo", "--scheduler", "tcp://x:1"],
     "--scheduler needs --engine dask"),
    (["forecast", "--assets", F("assets"), "--method", "guess"], "exact or montecarlo"),
    (["forecast", "--assets", F("assets"), "--as-of", "9999-12-31"], "--as-of: 9999-12-31 is too far ahead"),
    (["forecast", "--assets", F("assets"), "--years", "9998-9999"], "--years: years 9998-9999 are out of range"),
    (["forecast", "--assets", F("assets"), "--as-of", "2030-01-01", "--years", "2025-2028"],
     "is after every forecast year"),
    (["forecast", "--assets", F("assets"), "--as-of", "2025-13-01"], "--as-of: cannot read date"),
    (["forecast", "--assets", F("tmp") + "/missing.csv"], "missing.csv"),
    (["forecast", "--assets", F("assets"), "--target", "2027-2030:three"], "2027-2030:1-3"),
    (["report", "--assets", F("assets"), "--lang", "xx", "--out", F("tmp") + "/r.html"], "--lang: unknown language"),
    (["--db", F("not_db"), "assets", "list"], "not-a-db.sqlite"),
    (["assets", "list", "--db", F("not_db")], "not-a-db.sqlite"),
    (["assets", "list", "--db"], "--db: needs a value"),
    (["scenarios", "compare", F("bad_yaml"), F("base"), "--target", "2027-2030:1-3", "--assets", F("assets")],
     "not valid YAML"),
    (["scenarios", "compare", F("bomb"), F("base"), "--target", "2027-2030:1-3", "--assets", F("assets")],
     "aliases"),
]


@pytest.mark.parametrize(("argv", "expected"), BAD, ids=[" ".join(a)[:60] for a, _ in BAD])
def test_bad_input_is_one_line_and_exit_2(
    argv: list[str], expected: str, files: dict[str, Path], capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    args = [a.format(**{k: str(v) for k, v in files.items()}) for a in argv]
    line = assert_one_line_error(*run_main(args, capsys, monkeypatch))
    assert expected in line, line


def test_bad_setting_variable_is_one_line(files: dict[str, Path], capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIPECAST_PATHS", "0")
    line = assert_one_line_error(*run_main(
        ["forecast", "--assets", str(files["assets"]), "--rates", str(files["rates"]), "--method", "montecarlo"],
        capsys, monkeypatch))
    assert "PIPECAST_PATHS" in line
    monkeypatch.setenv("PIPECAST_TODAY", "yesterday")
    line = assert_one_line_error(*run_main(["forecast", "--assets", str(files["assets"])], capsys, monkeypatch))
    assert "PIPECAST_TODAY" in line


def test_an_output_path_that_cannot_be_written_is_one_line(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    inside_a_file = files["assets"] / "r.html"  # ASSETS.csv is a file, so nothing can be written under it
    line = assert_one_line_error(*run_main(
        ["report", "--assets", str(files["assets"]), "--rates", str(files["rates"]), "--out", str(inside_a_file)],
        capsys, monkeypatch))
    assert "ASSETS.csv" in line


def _script() -> list[str]:
    script = Path(sys.executable).with_name("pipecast")
    return [str(script)] if script.exists() else [sys.executable, "-m", "pipecast.cli"]


def test_the_installed_script_gives_one_line_and_exit_2(files: dict[str, Path]) -> None:
    for argv, expected in [(["forecast", "--paths", "0"], "error: --paths: expected a positive integer, got 0"),
                           (["forecast", "--assets", str(files["assets"]), "--rho", "sponsor=0.2"],
                            "error: --rho needs --method montecarlo")]:
        done = subprocess.run([*_script(), *argv], capture_output=True, text=True, timeout=120, check=False,
                              env={"PATH": "/usr/bin:/bin", "PIPECAST_DATA_DIR": str(files["tmp"]),
                                   "COLUMNS": "80"})
        line = assert_one_line_error(done.returncode, done.stdout, done.stderr)
        assert line.startswith(expected), line


def test_version_and_help(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, err = run_main(["--version"], capsys, monkeypatch)
    assert (code, out, err) == (0, "pipecast 0.1.0\n", "")
    code, out, _ = run_main(["forecast", "--help"], capsys, monkeypatch)
    assert code == 0
    assert "--target" in out
    assert not any(ch in out for ch in ("╭", "╰"))


def test_every_error_class_is_a_pipecast_error_declared_in_errors_py() -> None:
    """One exception tree: no module but errors.py declares a public exception, and the tree in its docstring
    names every class it declares."""
    import ast
    import inspect

    from pipecast import errors

    src = Path(errors.__file__).resolve().parent
    for path in sorted(src.rglob("*.py")):
        if path.name == "errors.py" and path.parent == src:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                bases = {b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases}
                assert not any(b.endswith(("Error", "Exception")) for b in bases), (
                    f"{path.relative_to(src)}: class {node.name} is an exception outside pipecast/errors.py")
    declared = [c for _, c in inspect.getmembers(errors, inspect.isclass) if c.__module__ == errors.__name__]
    for cls in declared:
        assert issubclass(cls, errors.PipecastError), cls
        assert cls.__name__ in (errors.__doc__ or ""), f"{cls.__name__} is missing from the tree in errors.py"
