"""``nst_helpers.files``: a failed download says why in the system's words, read from the error
itself (its errno), never from another library's wording; and the same way for every download."""

from __future__ import annotations

import errno
import os
import socket

import pytest

from nst_helpers.errors import DownloadError, WeightsError
from nst_helpers.files import download_reason, fetch

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
    assert info.value.__cause__ is not None  # the library's own error, kept for a traceback
    assert not any(tmp_path.iterdir())  # nothing half-downloaded is kept


def test_the_reason_is_the_deepest_os_error_however_it_is_wrapped():
    class PoolError(Exception):  # as urllib3's MaxRetryError: the cause in .reason
        def __init__(self, reason: BaseException) -> None:
            super().__init__("pool: retries exceeded")
            self.reason = reason

    refused = ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")
    try:
        try:
            raise refused
        except OSError as inner:
            raise OSError("connection failed") from PoolError(inner)  # errno None: no reason
    except OSError as outer:
        assert download_reason(outer) == "Connection refused"


def test_every_download_says_why_the_same_way():
    """Samples (pooch), the setup check (requests) and the weights (torch.hub's urllib): one
    reason, from the error itself (conftest points NST_WEIGHTS_URL at a closed port)."""
    from nst_helpers import weights
    from nst_helpers.lessons.setup_check import unreachable

    refused = REFUSED["en"]
    assert unreachable(closed_port_url("x.jpg"), timeout=2) == refused
    with pytest.raises(WeightsError, match=rf"\({refused}\)"):
        weights.hub_file(weights.torchvision_url(), progress=False)


class ConnectTimeout(Exception):  # noqa: N818 - named as requests names it: the kind is in the name
    pass


@pytest.mark.parametrize(
    ("exc", "en", "zh"),
    [
        (ConnectTimeout("HTTPSConnectionPool(host=x): Max retries"), "timed out", "超时"),
        (ValueError("SHA256 hash of downloaded file (a.jpg) does not match: expected 1"),
         "SHA256 hash of downloaded file (a.jpg) does not match", "ValueError"),
        (OSError("HTTP Error 404: Not Found"), "HTTP Error 404", "OSError"),
        (socket.gaierror(socket.EAI_NONAME, "Name or service not known"),
         "Name or service not known", "EAI_NONAME"),
    ],
)  # fmt: skip
def test_without_a_system_reason_the_first_clause_or_the_kind(monkeypatch, exc, en, zh):
    assert download_reason(exc) == en
    monkeypatch.setenv("NST_LANG", "zh")
    assert download_reason(exc) == zh
