"""This process's observability work, every FLAG_REFRESH_SECONDS in a thread of its own
(`per_process.py`: started by the process's first request, so after a gunicorn fork too) —
never per request: the age of the flag definitions this process evaluates (a gauge per
process), and its per-minute samples added to the shared table."""
import weakref

from flask import current_app

from ..isolation.per_process import PerProcess
from . import metrics


class Background:
    def __init__(self, app, samples):
        self._app = weakref.ref(app)  # the thread must not keep a discarded app alive
        self.samples = samples
        self._per_process = PerProcess("observability", app.config["FLAG_REFRESH_SECONDS"])

    def ensure_started(self):
        self._per_process.ensure_started(start=_nothing, tick=self.tick)

    def tick(self):
        app = self._app()
        if app is None:  # discarded (tests make many apps)
            return
        with app.app_context():
            update_gauges()
            self.samples.flush()

    def stop(self):
        self._per_process.stop()


def update_gauges():
    """This process's gauges, now (in an app context): its tick, and a scrape it answers."""
    age = current_app.extensions["flags"].definitions_age_seconds()
    if age is not None:  # None: this process has not evaluated a flag yet
        metrics.flag_definitions_age(age)


def _nothing():
    pass
