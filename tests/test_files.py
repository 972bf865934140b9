"""``nst_helpers.files``: a failed download says why in the system's words, read from the error
itself (its errno), never from another library's wording."""

from __future__ import annotations

import errno
import os
import socket

import pytest

from nst_helpers.errors import DownloadError
from nst_helpers.files import errno_name, fetch, os_error

from .conftest import closed_port_url

REFUSED = {"en": os.strerror(errno.ECONNREFUSED), "zh": "ECONNREFUSED"}  # zh: the errno's name


@pytest.mark.parametrize(("lang", "reason"), REFUSED.items())
def test_a_refused_download_names_the_address_and_the_systems_reason(
    tmp_path, monkeypatch, lang, reason
):
    monkeypatch.setenv("NST_LANG", lang)
    url = closed_port_url("the_scream.jpg")
    with pytest.raises(DownloadError) as info:
        fetch(url, None, tmp_path)
    message = str(info.value)
    assert url in message and reason in message and "\n" not in message
    assert info.value.errno == errno.ECONNREFUSED
    assert not any(tmp_path.iterdir())  # nothing half-downloaded is kept


def test_the_reason_is_the_deepest_os_error_however_it_is_wrapped():
    refused = ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")

    class PoolError(Exception):  # as urllib3's MaxRetryError: the cause in .reason, not __cause__
        def __init__(self, reason: BaseException) -> None:
            super().__init__("pool: retries exceeded")
            self.reason = reason

    try:
        try:
            raise refused
        except OSError as inner:
            raise OSError("connection failed") from PoolError(inner)  # errno None: not a reason
    except OSError as outer:
        assert os_error(outer) is refused
    assert os_error(ValueError("SHA256 hash does not match")) is None


def test_errno_names_are_the_same_in_every_language():
    assert errno_name(errno.ECONNREFUSED) == "ECONNREFUSED"
    assert errno_name(socket.EAI_NONAME) == "EAI_NONAME"
    assert errno_name(99999) == "errno 99999"
