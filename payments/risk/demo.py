"""The demo's fraud model: trained on simulated history and activated by the promotion rule, so the demo
payments that follow carry real scores and explanations (`make run`, `manage.py seed_demo`)."""

from __future__ import annotations

import datetime as dt
import hashlib
import time

from core import clock
from core.context import Actor
from core.ml.registry import model_active

from . import model
from .dataset import rows_to_frame
from .simulate import simulate

CUSTOMERS, DAYS, SEED = 300, 120, 20261126


def seed_model(*, stdout) -> None:
    active = model_active(model.NAME)
    if active is not None:
        stdout.write(f"  risk: fraud model {active.version} already active")
        return
    started = time.monotonic()
    start = clock.now().date() - dt.timedelta(days=DAYS + 91)
    frame = rows_to_frame(simulate(customers=CUSTOMERS, days=DAYS, seed=SEED, start=start))
    trained = model.train(frame)
    fingerprint = hashlib.sha256(f"simulate:{CUSTOMERS}:{DAYS}:{SEED}:{start}".encode()).hexdigest()
    # Registered as of the end of its simulated history, the day before the demo's first payment (payments/demo.py,
    # 90 days back): the payments it scored are not older than the model.
    with clock.frozen_at(clock.now() - dt.timedelta(days=91)):
        out = model.register(actor=Actor.system("seed_demo"), trained=trained, data_fingerprint=fingerprint,
                             activate=True)
    m = out["metrics"]
    stdout.write(f"  risk: fraud model {out['version']} trained on {len(frame['ts'])} simulated rows "
                 f"(AUPRC {m['auprc']}, rules {m['rules_baseline']['auprc']}), "
                 f"{'activated' if out['activated'] else 'not activated: ' + out['reason']}, "
                 f"in {time.monotonic() - started:.1f}s")
