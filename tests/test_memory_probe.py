"""`scripts/memory_probe.py`: one line per gigabyte, each with the seconds it cost."""

import importlib.util
from pathlib import Path

_SPEC = importlib.util.spec_from_file_location(
    "memory_probe", Path(__file__).resolve().parents[1] / "scripts" / "memory_probe.py")
memory_probe = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(memory_probe)


def test_each_gigabyte_gets_its_line(capsys):
    assert memory_probe.main(["--gb", "2", "--release"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == ["GB   1", "GB   2"]
    walls = [float(line.split("wall")[1].removesuffix(" s")) for line in lines]
    assert all(w > 0 for w in walls)
