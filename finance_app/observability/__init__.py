"""Eyes on the rollout: Prometheus metrics (`metrics.py`, served at /metrics by `routes.py`),
one JSON log line per request (`requests.py`), and the last hour of denials, refusals and
errors per cohort that the flag dashboard charts (`samples.py`), flushed by this process's
background tick (`background.py`)."""
import os


def init_observability(app):
    """Before the app's other hooks (see `requests.init_request_hooks`). Imports are deferred:
    the isolation core counts through `metrics.py`, and this package's other modules import
    the core."""
    from .background import Background
    from .metrics import SAMPLES, multiprocess_dir
    from .requests import configure_request_log, init_request_hooks
    from .samples import MinuteSamples

    if multiprocess_dir():
        # prometheus_client writes each process's values there from its first count.
        os.makedirs(multiprocess_dir(), exist_ok=True)
    configure_request_log()
    app.extensions[SAMPLES] = samples = MinuteSamples()
    app.extensions["observability"] = Background(app, samples)
    init_request_hooks(app)

