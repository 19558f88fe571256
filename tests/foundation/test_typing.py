"""mypy is part of `make lint`: these keep its configuration honest (running mypy itself is the lint
step's job, not the test suite's)."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
MYPY = PYPROJECT["tool"]["mypy"]
# What `mypy --strict` turns on that can be set per module (the rest are global and set globally).
STRICT_FLAGS = {"disallow_any_generics", "disallow_subclassing_any", "disallow_untyped_calls",
                "disallow_untyped_defs", "disallow_incomplete_defs", "disallow_untyped_decorators",
                "warn_return_any", "no_implicit_reexport", "strict_equality", "extra_checks"}


def _overrides_for(module: str) -> list[dict]:
    return [o for o in MYPY.get("overrides", []) if module in o["module"] or f"{module}.*" in o["module"]]


def test_make_lint_runs_mypy():
    text = (ROOT / "Makefile").read_text()
    recipe = text.split("\nlint:", 1)[1].split("\n\n", 1)[0]
    assert "\t$(VENV)/bin/mypy\n" in recipe + "\n"


def test_mypy_checks_the_kernel_and_every_app():
    """A new app is type-checked from its first line: the files are the import-linter's packages."""
    assert MYPY["files"] == PYPROJECT["tool"]["importlinter"]["root_packages"]
    assert MYPY["check_untyped_defs"] is True


def test_mypy_checks_the_kernel_strictly_with_the_django_plugins():
    assert MYPY["plugins"] == ["mypy_django_plugin.main", "mypy_drf_plugin.main"]
    assert PYPROJECT["tool"]["django-stubs"]["django_settings_module"] == "config.settings.test"
    core = _overrides_for("core")
    assert len(core) == 1 and {flag for flag, on in core[0].items() if on is True} == STRICT_FLAGS
    # `strict` inside an override would turn strict mode on for every module, not only core.
    assert all("strict" not in o for o in MYPY.get("overrides", []))


def test_no_package_of_ours_is_excused_from_type_checking():
    ours = {p for p in MYPY["files"]} | {"config"}
    for override in MYPY.get("overrides", []):
        modules = {m.split(".")[0] for m in override["module"]}
        if modules & ours:
            assert not override.get("ignore_errors") and not override.get("ignore_missing_imports"), override
            assert override.get("follow_imports", "normal") == "normal", override


def test_type_ignores_name_their_error_code():
    """A bare `# type: ignore` hides every error on its line; ours name the one they expect."""
    bare = []
    for package in MYPY["files"]:
        for path in (ROOT / package).rglob("*.py"):
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if re.search(r"#\s*type:\s*ignore(?!\[)", line):
                    bare.append(f"{path.relative_to(ROOT)}:{number}")
    assert bare == []


def test_the_type_tools_are_pinned_and_their_cache_is_ignored():
    dev = (ROOT / "requirements-dev.txt").read_text().splitlines()
    for tool in ("mypy", "django-stubs", "djangorestframework-stubs"):
        assert any(re.fullmatch(rf"{tool}==[0-9][0-9.]*", line) for line in dev), tool
    assert ".mypy_cache/" in (ROOT / ".gitignore").read_text().splitlines()
