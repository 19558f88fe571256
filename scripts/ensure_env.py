"""Writes a git-ignored .env with a random development SECRET_KEY on first run."""

import secrets
from pathlib import Path

env = Path(__file__).resolve().parent.parent / ".env"
if not env.exists() or "SECRET_KEY=" not in env.read_text():
    with env.open("a") as fh:
        fh.write(f"SECRET_KEY={secrets.token_urlsafe(50)}\n")
    print(f"wrote a development SECRET_KEY to {env}")
