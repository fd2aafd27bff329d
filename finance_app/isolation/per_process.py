"""Background work each process does for itself: a daemon thread per process, started on
first use (so after a gunicorn fork too: threads do not survive one), calling a method every
few seconds — never per request. The thread holds its owner weakly, so an app that is
discarded (tests make many) ends its threads. A leaf of the core."""
import logging
import os
import threading
import weakref

log = logging.getLogger(__name__)


class PerProcess:
    def __init__(self, name, interval_seconds):
        self.name = name
        self.interval = interval_seconds
        self._pid = None
        self._lock = threading.Lock()
        self._stopped = threading.Event()

    def ensure_started(self, start, tick):
        """In a process that has not yet: run `start()`, then `tick()` every interval in a
        thread of its own. `tick` is a bound method (held weakly); it handles its errors."""
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid == os.getpid():
                return
            start()
            self._stopped = stopped = threading.Event()
            threading.Thread(target=_loop, name=self.name, daemon=True,
                             args=(weakref.WeakMethod(tick), stopped, self.interval)).start()
            self._pid = os.getpid()

    def stop(self):
        """End this process's thread (the next `ensure_started` starts one again)."""
        self._stopped.set()
        self._pid = None


def _loop(tick_ref, stopped, interval):
    while not stopped.wait(interval):
        tick = tick_ref()
        if tick is None:  # the owner is gone
            return
        try:
            tick()
        except Exception:  # never let one tick end the thread; the next one tries again
            log.exception("background tick %s failed", threading.current_thread().name)
        del tick
