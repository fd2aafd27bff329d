"""Uploads waiting between preview and confirm, kept as files named by their owner and a
random token that only the uploading session knows, in IMPORT_PREVIEW_DIR (the instance
folder's `uploads` unless set: hosts behind one load balancer set one folder they share, so a
confirm answered by another host than its preview finds the file); their expiry (a preview
never confirmed is removed after IMPORT_PREVIEW_MAX_AGE_HOURS, by the next upload or
`flask ingest expire-previews`); and their removal when the owner's account is deleted."""
import time
from pathlib import Path

from ..auth.signals import account_deleted


def upload_dir(app):
    return Path(app.config["IMPORT_PREVIEW_DIR"] or Path(app.config["INSTANCE_DIR"]) / "uploads")


def preview_path(app, user_id, token):
    folder = upload_dir(app)
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{user_id}-{token}.csv"


def preview_age_limit_hours(app):
    return app.config["IMPORT_PREVIEW_MAX_AGE_HOURS"]


def preview_expired(app, path):
    return path.stat().st_mtime < time.time() - preview_age_limit_hours(app) * 3600


def expire_previews(app):
    """Remove every expired preview (anyone's); returns how many."""
    folder = upload_dir(app)
    removed = 0
    for path in folder.glob("*.csv") if folder.is_dir() else ():
        try:
            if preview_expired(app, path):
                path.unlink()
                removed += 1
        except FileNotFoundError:  # confirmed or removed meanwhile
            pass
    return removed


@account_deleted.connect
def discard_previews(app, user_id, **_):
    folder = upload_dir(app)
    if folder.is_dir():
        for path in folder.glob(f"{user_id}-*.csv"):
            path.unlink(missing_ok=True)
