#!/usr/bin/env bash
# make run: migrate, create the demo staff user, seed, print how to log in, start everything.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
mkdir -p var/broker/processed
$PY scripts/ensure_env.py
$PY manage.py migrate --noinput >/dev/null
$PY manage.py collectstatic --noinput >/dev/null
PASSWORD=$($PY -c 'import secrets; print(secrets.token_urlsafe(12))')
OUT=$($PY manage.py create_staff_user --username demo --password="$PASSWORD" --role admin --reset)
# After the staff user: the seed's PCI self-assessment and request metrics see who will log in.
# The seed's own log lines (its tasks run inline, the request log's deliberate 404s and 400s, the health check that
# finds no worker yet) go to a file, so its summary and the login below are what the terminal shows; a failed seed
# prints them.
SEED_LOG=var/seed_demo.log
if ! $PY manage.py seed_demo 2>"$SEED_LOG"; then cat "$SEED_LOG" >&2; exit 1; fi
echo "the seed's log lines: $SEED_LOG"
URI=$(echo "$OUT" | tail -n 1)
CODES=$(echo "$OUT" | grep 'Backup codes' | sed 's/^Backup codes (each works once): //')
PORT=${PORT:-8000}
cat <<MSG

==================================================================================
 Payments back-office is starting.
   URL:       http://127.0.0.1:${PORT}/admin/
   Username:  demo
   Password:  ${PASSWORD}
   TOTP URI:  ${URI}
              (add it to an authenticator app; without one, the current code is printed by
               .venv/bin/python manage.py totp_code demo)
   Backup codes (each works once): ${CODES}
   API docs:  http://127.0.0.1:${PORT}/api/docs/
   E-mails:   written to var/mail/ (one file each; EMAIL_BACKEND in .env sends them instead)
 Ctrl-C stops web, worker, beat and the outbox relay.
==================================================================================

MSG
export PORT
exec .venv/bin/honcho start -f Procfile
