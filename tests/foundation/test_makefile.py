import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_make_help_lists_the_targets():
    out = subprocess.run(["make", "-s", "help"], cwd=ROOT, capture_output=True, text=True, timeout=30, check=True)
    listed = [line.split()[1] for line in out.stdout.splitlines() if line.strip().startswith("make ")]
    assert {"install", "run", "serve", "test", "help", "lint", "schema", "docs"} <= set(listed)


def test_make_test_runs_pytest_last():
    text = (ROOT / "Makefile").read_text()
    recipe = text.split("\ntest:", 1)[1].split("\n\n", 1)[0]
    assert recipe.strip().splitlines()[-1].strip().startswith("$(VENV)/bin/pytest")
    assert "lint" in recipe.splitlines()[0]
