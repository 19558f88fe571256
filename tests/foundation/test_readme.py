import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_environment_variable_is_documented():
    used = set()
    for path in (ROOT / "config" / "settings").glob("*.py"):
        used |= set(re.findall(r'env(?:\.\w+)?\("([A-Z_]+)"', path.read_text()))
    assert len(used) > 10
    readme = (ROOT / "README.md").read_text()
    table = {m for m in re.findall(r"^\| `([A-Z_]+)` \|", readme, re.M)}
    assert used <= table, f"undocumented: {sorted(used - table)}"


def test_quick_start_is_exactly_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    quick = readme.split("## Quick start", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    assert quick.split("\n") == ["", "make run", "make test", ""]
