"""What auth tells other features, so that it never imports them.

`account_deleted` is sent (sender: the app, `user_id=`) after an account and its rows are
gone: a feature that keeps anything of the account outside the database (e.g. ingest's
upload previews on disk) removes it.
"""
from blinker import Namespace

_signals = Namespace()

account_deleted = _signals.signal("account-deleted")
