"""Settings for the worker subprocess of the SIGKILL test: small batches with a pause between
them (the fault-injection hook in admissions.reconciliation), so the test can kill mid-run."""

import os

from callback_office.settings import *  # noqa: F403

RECONCILIATION_BATCH_SIZE = 5
RECONCILIATION_BATCH_PAUSE = float(os.environ.get("RECONCILIATION_BATCH_PAUSE", "0.4"))
