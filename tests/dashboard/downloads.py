"""What a page's download buttons really hand out, under ``AppTest``: the bytes behind a button's URL.

``AppTest`` keeps download data in an in-memory media store that is gone after the run, so ``capture`` records
every file stored (by its id) and ``download_bytes`` finds the one a button's URL points to.
"""

from __future__ import annotations

import os

from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage


def capture(monkeypatch) -> dict[str, bytes]:
    """Record every media file a page stores from now on: ``{file id: bytes}``."""
    stored: dict[str, bytes] = {}
    original = MemoryMediaFileStorage.load_and_get_id

    def load_and_get_id(self, path_or_data, mimetype, kind, filename=None):
        file_id = original(self, path_or_data, mimetype, kind, filename)
        stored[file_id] = self._files_by_id[file_id].content
        return file_id

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", load_and_get_id)
    return stored


def download_bytes(button, stored: dict[str, bytes]) -> bytes:
    """The data behind a download button element (its URL ends in ``<file id>.<ext>``)."""
    file_id = os.path.splitext(os.path.basename(button.proto.url))[0]
    assert file_id in stored, f"the button's file {button.proto.url!r} was never stored"
    return stored[file_id]
