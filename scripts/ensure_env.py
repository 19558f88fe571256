"""Writes a git-ignored .env with a random development SECRET_KEY and FIELD_ENCRYPTION_KEYS on first run
(each added when missing, never replaced: rows encrypted under the key must stay readable)."""

import base64
import os
import secrets
from pathlib import Path

env = Path(__file__).resolve().parent.parent / ".env"
text = env.read_text() if env.exists() else ""
lines = {line.split("=", 1)[0] for line in text.splitlines() if "=" in line}
new = {}
if "SECRET_KEY" not in lines:
    new["SECRET_KEY"] = secrets.token_urlsafe(50)
if "FIELD_ENCRYPTION_KEYS" not in lines:
    new["FIELD_ENCRYPTION_KEYS"] = base64.b64encode(os.urandom(32)).decode()
if new:
    with env.open("a") as fh:
        if text and not text.endswith("\n"):
            fh.write("\n")
        fh.writelines(f"{name}={value}\n" for name, value in new.items())
    print(f"wrote a development {' and '.join(new)} to {env}")
