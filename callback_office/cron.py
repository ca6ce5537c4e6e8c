"""Periodic jobs, registered with rq's built-in cron (run by exactly one `manage.py rqcron`).

Times follow TIME_ZONE (Asia/Shanghai). Each app's jobs module registers its own entries in
`register()`; this module is what `rqcron callback_office.cron` loads.
"""

from rq import cron  # noqa: F401  (apps' registrations below use it)

# Registrations are added by the apps' jobs modules:
# cron.register(func, queue_name="nightly", cron="0 2 * * *")
