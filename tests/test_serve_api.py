"""fmagenre serve's JSON API over real HTTP on loopback: predict's answer, every bad input of
issue 25 answered with one line and a 4xx, concurrent uploads, a client that hangs up."""

from __future__ import annotations

import concurrent.futures as cf
import http.client
import json
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import numpy as np
import pytest
import requests
import soundfile as sf
from conftest import sound, write_mp3
from serve_server import CLASSES, PROJECT, running_server, server_env

from fmagenre.models.musicnn.tags import MSD_TAGS

LIMIT_MB = 2  # small, so the refusals need no 100 MB body

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def uploads_tmp(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("server-tmp")


@pytest.fixture(scope="module")
def server(serve_run, uploads_tmp):
    models, reports = serve_run
    options = ("--max-upload-mb", str(LIMIT_MB), "--workers", "2", "--queue", "40")
    with running_server(models, reports, *options, tmpdir=uploads_tmp) as running:
        yield running
    # Ctrl-C stops it cleanly, and its uploads folder goes with it
    assert running.returncode == 0 and "fmagenre serve: stopped\n" in running.log
    assert "Traceback" not in "".join(running.log)
    assert list(uploads_tmp.glob("fmagenre-serve-*")) == []


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("clips")
    return {
        "whistle": write_mp3(folder / "whistle.mp3", sound("Whistle", 4.0, 44100, 5), 44100),
        "silent": write_mp3(folder / "silent.mp3", np.zeros(4 * 44100, np.float32), 44100),
        "short": _wav(folder / "short.wav", sound("Drone", 1.0, 22050, 6), 22050),
        "big": _noise_wav(folder / "big.wav", seconds=30),  # 2.6 MB: above the limit
    }


def _wav(path: Path, samples: np.ndarray, sr: int) -> Path:
    sf.write(path, samples, sr)
    return path


def _noise_wav(path: Path, seconds: int) -> Path:
    rng = np.random.default_rng(0)
    return _wav(path, (0.1 * rng.standard_normal(seconds * 44100)).astype(np.float32), 44100)


def post(server, name: str, content: bytes, field: str = "file", **query) -> requests.Response:
    files = {field: (name, content, "application/octet-stream")}
    return requests.post(server.url + "api/predict", files=files, params=query, timeout=300)


def assert_refused(answer: requests.Response, status: int, *words: str) -> str:
    assert answer.status_code == status, answer.text
    message = answer.json()["error"]
    assert "\n" not in message and "Traceback" not in answer.text
    for word in words:
        assert word in message, message
    return message


def assert_still_up(server) -> None:
    assert requests.get(server.url + "api/models", timeout=30).status_code == 200
    assert server.process.poll() is None


def assert_nothing_kept(uploads_tmp: Path) -> None:
    (folder,) = uploads_tmp.glob("fmagenre-serve-*")
    assert list(folder.iterdir()) == []


def assert_genre_answer(item: dict, name: str) -> None:
    assert item["path"] == name and item["model"] == "rf" and item["status"] == "ok"
    assert item["predictions"][0]["genre"] in CLASSES
    assert 0 < item["predictions"][0]["probability"] <= 1
    assert item["tags"]["predictions"] and item["tags"]["predictions"][0]["tag"] in MSD_TAGS
    assert "synthetic demo dataset" in item["model_notes"][0]


def test_the_answer_is_predicts_json_with_tags_and_spectrogram(server, serve_run, real_clips):
    clip = real_clips[0]
    answer = post(server, clip.name, clip.read_bytes(), top_k="3")
    assert answer.status_code == 200, answer.text
    (item,) = answer.json()
    assert_genre_answer(item, clip.name)
    assert item["seconds"] == item["clip_seconds"] == 3.0  # the model's 3-s clip of a 30-s file
    assert item["spectrogram"].startswith("data:image/png;base64,")
    # the same object as `predict --format json` for the same file (its path aside)
    models, _ = serve_run
    command = [sys.executable, "-m", "fmagenre", "predict", str(clip), "--format", "json"]
    command += ["--models-dir", str(models), "--quiet", "--workers", "1"]
    printed = subprocess.run(
        command, cwd=PROJECT, env=server_env(), capture_output=True, text=True, check=True
    )
    (expected,) = json.loads(printed.stdout)
    assert {key: item[key] for key in expected if key != "path"} == {
        key: value for key, value in expected.items() if key != "path"
    }


def test_models_lists_the_trained_run(server):
    answer = requests.get(server.url + "api/models", timeout=30).json()
    assert answer["default"] == "rf" and answer["message"] == ""
    (model,) = answer["models"]
    assert model["validation_macro_f1"] == 0.917 and model["test_macro_f1"] == 0.833
    figure = requests.get(urljoin(server.url, answer["figure"]), timeout=30)
    assert figure.headers["content-type"] == "image/png" and figure.content[:4] == b"\x89PNG"


@pytest.mark.parametrize(
    ("case", "status", "words"),
    [
        ("not audio", 422, ["notes.mp3", "not a readable audio file"]),
        ("empty", 400, ["empty"]),
        ("silent", 422, ["no audible audio"]),
        ("too short", 422, ["only 1.0 s of audio", "at least 2 s"]),
        ("too large", 413, ["limit of 2 MB"]),
        ("wrong field", 400, ["'file'", "'upload'"]),
        ("unknown model", 400, ["no trained model 'crnn'", "rf"]),
        ("bad top_k", 400, ["top_k"]),
    ],
)
def test_bad_input_gets_one_line_and_the_server_stays_up(
    server, clips, uploads_tmp, case, status, words
):
    sent = {
        "not audio": lambda: post(server, "notes.mp3", b"plain text, not audio\n" * 40),
        "empty": lambda: post(server, "empty.mp3", b""),
        "silent": lambda: post(server, "silent.mp3", clips["silent"].read_bytes()),
        "too short": lambda: post(server, "short.wav", clips["short"].read_bytes()),
        "too large": lambda: post(server, "big.wav", clips["big"].read_bytes()),
        "wrong field": lambda: post(server, "a.mp3", clips["whistle"].read_bytes(), "upload"),
        "unknown model": lambda: post(server, "a.mp3", clips["whistle"].read_bytes(), model="crnn"),
        "bad top_k": lambda: post(server, "a.mp3", clips["whistle"].read_bytes(), top_k="0"),
    }[case]
    assert_refused(sent(), status, *words)
    assert_still_up(server)
    assert_nothing_kept(uploads_tmp)


def test_two_files_in_one_request_are_refused(server, clips):
    content = clips["whistle"].read_bytes()
    files = [("file", ("a.mp3", content)), ("file", ("b.mp3", content))]
    answer = requests.post(server.url + "api/predict", files=files, timeout=60)
    assert_refused(answer, 400, "one file per request")


def test_file_names_are_shown_never_used_as_paths(server, clips, uploads_tmp, tmp_path):
    content = clips["whistle"].read_bytes()
    target = tmp_path / "planted.mp3"
    for given, shown in [
        (f"../../../../..{target}", "planted.mp3"),
        ("..\\..\\windows\\song.mp3", "song.mp3"),
        ("Ñandú – café 音楽.mp3", "Ñandú – café 音楽.mp3"),
        ("..", "upload"),
    ]:
        answer = post(server, given, content)
        assert answer.status_code == 200, answer.text
        assert_genre_answer(answer.json()[0], shown)
    assert not target.exists()
    assert_nothing_kept(uploads_tmp)


def _raw(server, head: bytes, body: bytes = b"", *, read: bool = True) -> bytes:
    address = urlsplit(server.url)
    with socket.create_connection((address.hostname, address.port), timeout=60) as sock:
        sock.sendall(head + body)
        if not read:
            return b""
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
        return answer


def _multipart_head(length: int | None) -> bytes:
    size = f"Content-Length: {length}\r\n" if length is not None else ""
    return (
        "POST /api/predict HTTP/1.1\r\nHost: test\r\nConnection: close\r\n"
        f"Content-Type: multipart/form-data; boundary=XyZ\r\n{size}\r\n"
    ).encode()


PART = b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="x.wav"\r\n\r\n'


def test_a_declared_size_above_the_limit_is_refused_before_the_body(server):
    answer = _raw(server, _multipart_head(50 * 1000 * 1000))  # no body sent at all
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"limit of 2 MB" in answer
    assert_still_up(server)


def test_a_streamed_body_above_the_limit_is_cut_off(server, uploads_tmp):
    address = urlsplit(server.url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=60)
    block = b"\0" * 65536
    chunks = [PART, *([block] * 48)]  # 3 MB, with no Content-Length: counted as it streams
    connection.request(
        "POST",
        "/api/predict",
        body=iter(chunks),
        headers={"Content-Type": "multipart/form-data; boundary=XyZ"},
        encode_chunked=True,
    )
    answer = connection.getresponse()
    assert answer.status == 413 and "limit of 2 MB" in json.loads(answer.read())["error"]
    connection.close()
    assert_still_up(server)
    assert_nothing_kept(uploads_tmp)


def test_clients_that_hang_up_mid_upload_leave_the_server_answering(server, clips, uploads_tmp):
    for sent in (1000, 200_000, 1_500_000):
        _raw(server, _multipart_head(1_900_000), PART + b"\1" * sent, read=False)
    answer = post(server, "after.mp3", clips["whistle"].read_bytes())
    assert answer.status_code == 200, answer.text
    assert_genre_answer(answer.json()[0], "after.mp3")
    assert_still_up(server)
    assert_nothing_kept(uploads_tmp)
    # each hang-up was seen as one (not as a bad upload, nor a fault)
    for _ in range(100):
        if sum("went away during its upload" in line for line in server.log) >= 3:
            break
        time.sleep(0.1)
    assert sum("went away during its upload" in line for line in server.log) == 3


def test_twenty_uploads_at_once_are_all_answered(server, real_clips, uploads_tmp):
    names = [f"{i:02d}-{real_clips[i % len(real_clips)].name}" for i in range(20)]
    contents = {p.name: p.read_bytes() for p in real_clips}
    with cf.ThreadPoolExecutor(20) as clients:
        answers = list(
            clients.map(lambda n: post(server, n, contents[n[3:]], spectrogram="0"), names)
        )
    for name, answer in zip(names, answers, strict=True):
        assert answer.status_code == 200, answer.text
        assert_genre_answer(answer.json()[0], name)
    assert_nothing_kept(uploads_tmp)


def test_load_100_requests_from_10_clients_every_answer_checked(server, clips):
    content = clips["whistle"].read_bytes()

    def client(number: int) -> list[requests.Response]:
        with requests.Session() as session:
            files = lambda i: {"file": (f"c{number}-{i}.mp3", content)}  # noqa: E731
            return [
                session.post(
                    server.url + "api/predict",
                    files=files(i),
                    params={"spectrogram": "0", "top_k": "3"},
                    timeout=300,
                )
                for i in range(10)
            ]

    with cf.ThreadPoolExecutor(10) as pool:
        answers = [a for batch in pool.map(client, range(10)) for a in batch]
    assert len(answers) == 100
    for answer in answers:
        assert answer.status_code == 200, answer.text
        (item,) = answer.json()
        assert item["predictions"][0]["genre"] == "Whistle"  # what the tiny model learnt
        assert len(item["predictions"]) == 3 and item["tags"]["predictions"]
    assert_still_up(server)


def test_with_no_trained_model_tags_still_work(bare_server, clips):
    bare = bare_server
    answer = requests.get(bare.url + "api/models", timeout=30).json()
    assert answer["models"] == [] and answer["default"] is None
    assert "make demo" in answer["message"] and answer["figure"] is None
    tagged = post(bare, "whistle.mp3", clips["whistle"].read_bytes())
    assert tagged.status_code == 200, tagged.text
    (item,) = tagged.json()
    assert item["model"] is None and "make demo" in item["model_error"]
    assert item["tags"]["predictions"][0]["tag"] in MSD_TAGS
    assert_refused(post(bare, "notes.mp3", b"not audio" * 50), 422, "not a readable")


def test_a_busy_port_is_one_line_and_exit_status_2(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        command = [sys.executable, "-m", "fmagenre", "serve", "--port", str(port)]
        command += ["--models-dir", str(tmp_path)]
        ran = subprocess.run(
            command, cwd=PROJECT, env=server_env(), capture_output=True, text=True, timeout=120
        )
    assert ran.returncode == 2
    assert ran.stderr == (
        f"error: cannot listen on 127.0.0.1:{port} (Address already in use): "
        "choose another --port or --host\n"
    )
