import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from core.crypto import DecryptionFailed, decrypt, encrypt, new_key, parse_keys

ROOT = Path(__file__).resolve().parents[2]


def test_round_trip_is_aes_gcm_with_a_fresh_nonce(settings):
    settings.FIELD_ENCRYPTION_KEYS = new_key()
    one, two = encrypt("whsec_abc"), encrypt("whsec_abc")
    assert one != two and "whsec_abc" not in one
    assert decrypt(one) == decrypt(two) == "whsec_abc"


def test_first_key_encrypts_every_key_decrypts(settings):
    old, new = new_key(), new_key()
    settings.FIELD_ENCRYPTION_KEYS = old
    sealed_old = encrypt("old secret")
    settings.FIELD_ENCRYPTION_KEYS = f"{new},{old}"
    sealed_new = encrypt("new secret")
    assert (decrypt(sealed_old), decrypt(sealed_new)) == ("old secret", "new secret")
    settings.FIELD_ENCRYPTION_KEYS = new
    assert decrypt(sealed_new) == "new secret"
    with pytest.raises(DecryptionFailed):
        decrypt(sealed_old)


def test_altered_or_moved_ciphertext_fails(settings):
    settings.FIELD_ENCRYPTION_KEYS = new_key()
    sealed = encrypt("secret", associated="we_1")
    version, fingerprint, body = sealed.split(":")
    raw = bytearray(base64.b64decode(body))
    raw[-1] ^= 1
    with pytest.raises(DecryptionFailed):
        decrypt(f"{version}:{fingerprint}:{base64.b64encode(bytes(raw)).decode()}", associated="we_1")
    with pytest.raises(DecryptionFailed):
        decrypt(sealed, associated="we_2")
    assert decrypt(sealed, associated="we_1") == "secret"


@pytest.mark.parametrize("value", ["not-base64!", base64.b64encode(b"short").decode()])
def test_malformed_keys_are_refused(value):
    with pytest.raises(ImproperlyConfigured):
        parse_keys(value)


def test_no_key_no_encryption(settings):
    settings.FIELD_ENCRYPTION_KEYS = ""
    with pytest.raises(ImproperlyConfigured):
        encrypt("x")


def _production_check(**env):
    base = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "SECRET_KEY", "FIELD_ENCRYPTION_KEYS",
                                                              "WEBHOOK_ALLOW_PRIVATE_TARGETS")}
    base.update({"DJANGO_SETTINGS_MODULE": "config.settings.production", "SECRET_KEY": "prod-" + "k3Y9x" * 12,
                 "ALLOWED_HOSTS": "bo.example.com", **env})
    return subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=base, capture_output=True,
                          text=True, timeout=120)


def test_production_refuses_to_start_without_an_encryption_key():
    # Set but empty, so a developer's .env (read only for unset variables) cannot fill it in.
    result = _production_check(FIELD_ENCRYPTION_KEYS="")
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEYS must be set in production" in result.stderr
    assert _production_check(FIELD_ENCRYPTION_KEYS=new_key()).returncode == 0


def test_production_refuses_private_webhook_targets():
    result = _production_check(FIELD_ENCRYPTION_KEYS=new_key(), WEBHOOK_ALLOW_PRIVATE_TARGETS="true")
    assert result.returncode != 0
    assert "WEBHOOK_ALLOW_PRIVATE_TARGETS is for development and tests and is refused in" in result.stderr


def test_make_run_writes_a_development_key_once(tmp_path):
    script = (ROOT / "scripts" / "ensure_env.py").read_text()
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "ensure_env.py").write_text(script)
    (tmp_path / ".env").write_text("SECRET_KEY=kept\n")
    subprocess.run([sys.executable, "scripts/ensure_env.py"], cwd=tmp_path, check=True, capture_output=True)
    first = (tmp_path / ".env").read_text()
    assert first.startswith("SECRET_KEY=kept\nFIELD_ENCRYPTION_KEYS=")
    assert len(parse_keys(first.split("FIELD_ENCRYPTION_KEYS=")[1].strip())) == 1
    subprocess.run([sys.executable, "scripts/ensure_env.py"], cwd=tmp_path, check=True, capture_output=True)
    assert (tmp_path / ".env").read_text() == first
