import os
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


def test_every_way_of_starting_a_server_collects_the_static_files_first():
    # WhiteNoise serves only what collectstatic put in STATIC_ROOT (tests/foundation/test_serve.py
    # fetches them from a running `make serve`).
    # Not as a sub-make of `make test` (it would print "Entering directory" lines).
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    serve = subprocess.run(["make", "-n", "serve"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=30,
                           check=True).stdout.splitlines()
    assert "manage.py collectstatic --noinput" in serve[-2]
    assert serve[-1].startswith(".venv/bin/python -m config.serve --host 127.0.0.1 --port "), serve[-1]
    run = (ROOT / "scripts" / "run.sh").read_text()
    assert run.index("manage.py collectstatic --noinput") < run.index("honcho start -f Procfile")
    docker = (ROOT / "Dockerfile").read_text()
    assert docker.index("COPY . .") < docker.index("manage.py collectstatic --noinput") < docker.index("\nCMD ")


def test_ci_runs_make_test_as_the_readme_says_then_against_postgres():
    lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    tests = [i for i, line in enumerate(lines) if line.endswith("make test")]
    assert len(tests) == 2
    first = lines[tests[0]]
    # Pass 1: a fresh clone's environment, whatever the machine has set.
    assert first.startswith("env -u DATABASE_URL -u REDIS_URL -u REQUIRE_POSTGRES ")
    # Pass 2: PostgreSQL and Redis, a skipped postgres test being a failure; its pytest summary closes the log.
    assert lines[tests[1] - 3].startswith('DATABASE_URL="postgres://')
    assert lines[tests[1] - 2].startswith("REDIS_URL=")
    assert lines[tests[1] - 1] == "REQUIRE_POSTGRES=1 \\"
    assert tests[1] == len(lines) - 1
    # Between the passes: PostgreSQL and Redis are started when they are not running.
    between = "\n".join(lines[tests[0] + 1:tests[1]])
    assert "pg_ctlcluster" in between and "redis-server --daemonize yes" in between


def test_make_run_creates_the_demo_user_whatever_its_random_password_starts_with():
    # token_urlsafe draws '-' as a first character now and then; as a separate argument argparse read it as
    # an option and `make run` stopped ("--password: expected one argument").
    import re
    import shlex

    from accounts.management.commands.create_staff_user import Command

    line = next(line for line in (ROOT / "scripts" / "run.sh").read_text().splitlines()
                if "create_staff_user" in line)
    args = shlex.split(re.search(r"create_staff_user (.*?)\)$", line).group(1).replace("$PASSWORD", "-Xy9_pw"))
    options = Command().create_parser("manage.py", "create_staff_user").parse_args(args)
    assert (options.username, options.password, options.role, options.reset) == ("demo", "-Xy9_pw", "admin", True)
