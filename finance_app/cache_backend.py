"""The default on-host cache: Flask-Caching's file-system cache, with listable keys.

The stock backend names each file by a hash of its key, so nothing can tell which keys exist;
ops need that to find legacy (unscoped) data keys. Here a file is named by its key, encoded,
and `keys()` reads them back. Redis lists its keys with SCAN instead (cache_keys.py).
"""
import base64
import hashlib
import os

from flask_caching.backends.filesystemcache import FileSystemCache

KEY_FILE = "k."
HASHED_FILE = "h."  # a key too long for a file name: stored, but not listable


class ListableFileSystemCache(FileSystemCache):
    def _get_filename(self, key):
        if not isinstance(key, str):
            raise TypeError(f"Key must be a string, received type {type(key)}")
        encoded = base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")
        if len(encoded) > 200:
            return os.path.join(self._path, HASHED_FILE + hashlib.sha256(key.encode()).hexdigest())
        return os.path.join(self._path, KEY_FILE + encoded)

    def keys(self):
        for name in os.listdir(self._path):
            if name.startswith(KEY_FILE):
                encoded = name[len(KEY_FILE):]
                yield base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
