"""Uploads waiting between preview and confirm, kept as files in the instance folder, named
by their owner and a random token that only the uploading session knows; and their removal
when the owner's account is deleted."""
from pathlib import Path

from ..auth.signals import account_deleted


def upload_dir(app):
    return Path(app.config["INSTANCE_DIR"]) / "uploads"


def preview_path(app, user_id, token):
    folder = upload_dir(app)
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{user_id}-{token}.csv"


@account_deleted.connect
def discard_previews(app, user_id, **_):
    folder = upload_dir(app)
    if folder.is_dir():
        for path in folder.glob(f"{user_id}-*.csv"):
            path.unlink(missing_ok=True)
