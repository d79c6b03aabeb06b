"""Downloads over a real loopback HTTP server: resume, retries, checksums, clear failures."""

from __future__ import annotations

import hashlib
import os

import pytest
from loopback import Behaviour, closed_port, serve

from fmagenre.fma.download import download, is_verified
from fmagenre.infra.errors import UserError

FAST = dict(progress=False, backoff=0.01, timeout=5)


@pytest.fixture
def archive(tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    data = os.urandom(3 * 2**20 + 12345)
    (served / "fma_test.zip").write_bytes(data)
    return served, data, hashlib.sha1(data).hexdigest()


def test_full_download_is_verified_and_recorded(archive, tmp_path):
    served, data, sha1 = archive
    with serve(served) as (url, behaviour):
        path = download(url + "fma_test.zip", tmp_path / "dl" / "fma_test.zip", sha1, **FAST)
    assert path.read_bytes() == data
    assert is_verified(path, sha1) and not path.with_name("fma_test.zip.part").exists()
    assert behaviour.requests == [("/fma_test.zip", None)]


def test_resume_after_the_server_drops_the_connection(archive, tmp_path):
    served, data, sha1 = archive
    cut = 1_000_000
    with serve(served, Behaviour(drop_after=cut)) as (url, behaviour):
        path = download(url + "fma_test.zip", tmp_path / "fma_test.zip", sha1, **FAST)
    assert path.read_bytes() == data
    (first, no_range), (second, resume) = behaviour.requests
    assert no_range is None and resume.startswith("bytes=")
    resumed_from = int(resume.removeprefix("bytes=").rstrip("-"))
    assert cut - 65536 <= resumed_from <= cut  # what had arrived was kept (up to one read buffer)
    assert (
        behaviour.bytes_sent == cut + len(data) - resumed_from
    )  # only the remainder was sent again


def test_a_partial_file_from_an_earlier_run_is_resumed(archive, tmp_path):
    served, data, sha1 = archive
    (tmp_path / "fma_test.zip.part").write_bytes(data[:500_000])
    with serve(served) as (url, behaviour):
        download(url + "fma_test.zip", tmp_path / "fma_test.zip", sha1, **FAST)
    assert behaviour.requests == [("/fma_test.zip", "bytes=500000-")]
    assert (tmp_path / "fma_test.zip").read_bytes() == data


def test_a_server_that_ignores_range_is_handled(archive, tmp_path):
    served, data, sha1 = archive
    (tmp_path / "fma_test.zip.part").write_bytes(data[:500_000])
    with serve(served, Behaviour(ignore_range=True)) as (url, _):
        download(url + "fma_test.zip", tmp_path / "fma_test.zip", sha1, **FAST)
    assert (tmp_path / "fma_test.zip").read_bytes() == data


def test_transient_server_errors_are_retried(archive, tmp_path):
    served, data, sha1 = archive
    with serve(served, Behaviour(server_errors=2)) as (url, behaviour):
        download(url + "fma_test.zip", tmp_path / "fma_test.zip", sha1, **FAST)
    assert len(behaviour.requests) == 3


def test_an_already_verified_archive_is_not_requested_again(archive, tmp_path):
    served, _, sha1 = archive
    with serve(served) as (url, behaviour):
        download(url + "fma_test.zip", tmp_path / "fma_test.zip", sha1, **FAST)
        download(url + "fma_test.zip", tmp_path / "fma_test.zip", sha1, **FAST)
    assert len(behaviour.requests) == 1


def test_checksum_mismatch_keeps_files_and_says_what_to_do(archive, tmp_path):
    served, data, _ = archive
    wrong = "0" * 40
    with serve(served) as (url, _), pytest.raises(UserError) as info:
        download(url + "fma_test.zip", tmp_path / "fma_test.zip", wrong, **FAST)
    message = str(info.value)
    assert "fma_test.zip" in message and wrong in message and "delete it and run again" in message
    assert not (tmp_path / "fma_test.zip").exists()
    assert (tmp_path / "fma_test.zip.part").read_bytes() == data  # kept for inspection
    # a file the user placed there themselves is never deleted or replaced
    (tmp_path / "fma_test.zip.part").unlink()
    (tmp_path / "fma_test.zip").write_bytes(b"the user's own bytes")
    with serve(served) as (url, behaviour), pytest.raises(UserError, match="left untouched"):
        download(url + "fma_test.zip", tmp_path / "fma_test.zip", wrong, **FAST)
    assert (
        tmp_path / "fma_test.zip"
    ).read_bytes() == b"the user's own bytes" and behaviour.requests == []


def test_404_fails_at_once_with_one_clear_line(archive, tmp_path):
    served, _, sha1 = archive
    with serve(served) as (url, behaviour), pytest.raises(UserError) as info:
        download(url + "fma_nope.zip", tmp_path / "fma_nope.zip", sha1, **FAST)
    assert "HTTP 404" in str(info.value) and url + "fma_nope.zip" in str(info.value)
    assert "\n" not in str(info.value) and len(behaviour.requests) == 1


def test_unreachable_host_points_to_the_offline_demo(tmp_path):
    url = f"http://127.0.0.1:{closed_port()}/fma_small.zip"
    with pytest.raises(UserError) as info:
        download(url, tmp_path / "fma_small.zip", "0" * 40, **FAST)
    message = str(info.value)
    assert (
        f"cannot reach {url}" in message
        and "data.subset: synthetic" in message
        and "\n" not in message
    )


def test_drops_with_progress_do_not_use_up_the_retries(archive, tmp_path):
    """A huge download may drop many times: only failures in a row without progress count."""
    served, data, sha1 = archive
    with serve(served, Behaviour(drop_after=300_000, drops=8)) as (url, behaviour):
        path = download(url + "fma_test.zip", tmp_path / "fma_test.zip", sha1, retries=2, **FAST)
    assert path.read_bytes() == data and len(behaviour.requests) == 9
    # without progress the retries still run out
    with (
        serve(served, Behaviour(drop_after=0, drops=50)) as (url, behaviour),
        pytest.raises(UserError, match="failed 3 times in a row"),
    ):
        download(url + "fma_test.zip", tmp_path / "again" / "fma_test.zip", sha1, retries=2, **FAST)
    assert len(behaviour.requests) == 3


def test_a_lost_connection_after_progress_is_retried_not_called_offline(archive, tmp_path):
    served, data, sha1 = archive
    behaviour = Behaviour(drop_after=500_000, hang_ups=3)
    with serve(served, behaviour) as (url, _):
        path = download(url + "fma_test.zip", tmp_path / "fma_test.zip", sha1, **FAST)
    assert path.read_bytes() == data and behaviour.hang_ups == 0
    # a server that stops answering for good after some bytes: a resumable failure, not "offline"
    behaviour = Behaviour(drop_after=500_000, hang_ups=100)
    with serve(served, behaviour) as (url, _), pytest.raises(UserError) as info:
        download(url + "fma_test.zip", tmp_path / "b" / "fma_test.zip", sha1, retries=2, **FAST)
    message = str(info.value)
    assert "cannot reach" not in message and "synthetic" not in message
    assert "run again to resume from" in message and "\n" not in message


@pytest.mark.parametrize("url_base", ["not a url", "ftp://example.org/fma/", "file:///etc/"])
def test_a_url_that_is_not_http_is_refused_up_front(tmp_path, url_base):
    with pytest.raises(UserError, match=r"not an http:// or https:// URL"):
        download(url_base + "fma_test.zip", tmp_path / "fma_test.zip", "0" * 40, **FAST)
    assert not list(tmp_path.iterdir())


def test_a_redirect_loop_is_one_line(archive, tmp_path):
    served, data, sha1 = archive
    with serve(served, Behaviour(redirect_loop=True)) as (url, _):
        with pytest.raises(UserError, match="redirects in a loop; check data.url_base"):
            download(url + "fma_test.zip", tmp_path / "fma_test.zip", sha1, **FAST)


def test_a_trickling_server_is_retried_then_reported(archive, tmp_path):
    served, data, sha1 = archive
    with serve(served, Behaviour(trickle=1000)) as (url, behaviour):
        with pytest.raises(
            UserError, match=r"failed 3 times in a row \(stalled: .* below the minimum"
        ):
            download(
                url + "fma_test.zip",
                tmp_path / "fma_test.zip",
                sha1,
                **{**FAST, "retries": 2},
                min_rate=1000,
                rate_window=0.5,
            )
    assert (
        len(behaviour.requests) == 3
    )  # each stall was retried, and progress did not reset the count
    part = tmp_path / "fma_test.zip.part"
    assert part.read_bytes() == data[: part.stat().st_size]  # what came is kept for a resume


def test_a_resume_that_starts_elsewhere_is_not_appended(archive, tmp_path):
    served, data, sha1 = archive
    (tmp_path / "fma_test.zip.part").write_bytes(data[:500_000])
    with serve(served, Behaviour(resume_from_zero=True)) as (url, behaviour):
        path = download(url + "fma_test.zip", tmp_path / "fma_test.zip", sha1, **FAST)
    assert path.read_bytes() == data  # started over, not 500,000 bytes doubled
    assert [r for _, r in behaviour.requests] == ["bytes=500000-", None]
