"""Downloads are streamed, checksummed and renamed into place; failures leave nothing behind."""

import hashlib
import http.server
import socket
import threading
import zipfile
from functools import partial

import pytest

from e2elab.data.download import DownloadError, RemoteFile, download, extract_zip, fetch, file_digest

PAYLOAD = b"e2elab test payload\n" * 5000


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path):
    """A local HTTP server on 127.0.0.1 serving a folder holding `payload.bin`; yields its base URL."""
    root = tmp_path / "served"
    root.mkdir()
    (root / "payload.bin").write_bytes(PAYLOAD)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


def leftovers(folder):
    return [p.name for p in folder.iterdir() if p.name.endswith(".part")]


def test_download_verifies_sha256(server, tmp_path):
    out = tmp_path / "out" / "data.bin"
    seen = []
    got = download(server + "payload.bin", out, sha256=hashlib.sha256(PAYLOAD).hexdigest(), progress=lambda d, t: seen.append((d, t)))
    assert got == out and out.read_bytes() == PAYLOAD
    assert seen[-1] == (len(PAYLOAD), len(PAYLOAD))
    assert file_digest(out) == hashlib.sha256(PAYLOAD).hexdigest()


def test_checksum_mismatch_keeps_nothing(server, tmp_path):
    out = tmp_path / "data.bin"
    with pytest.raises(DownloadError, match="sha256 checksum mismatch"):
        download(server + "payload.bin", out, sha256="0" * 64)
    assert not out.exists() and not leftovers(tmp_path)


def test_md5_used_when_no_sha256_is_published(server, tmp_path):
    out = tmp_path / "data.bin"
    download(server + "payload.bin", out, md5=hashlib.md5(PAYLOAD).hexdigest())
    assert out.read_bytes() == PAYLOAD
    with pytest.raises(DownloadError, match="md5 checksum mismatch"):
        download(server + "payload.bin", tmp_path / "other.bin", md5="f" * 32)


def test_http_error_is_clear(server, tmp_path):
    with pytest.raises(DownloadError, match="404"):
        download(server + "absent.bin", tmp_path / "x.bin")
    assert not leftovers(tmp_path)


def test_offline_is_clear(tmp_path):
    with socket.socket() as sock:  # a port that nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(DownloadError, match="are you offline"):
        download(f"http://127.0.0.1:{port}/x.bin", tmp_path / "x.bin", timeout=5)
    assert not (tmp_path / "x.bin").exists() and not leftovers(tmp_path)


def test_file_url(tmp_path):
    source = tmp_path / "src.bin"
    source.write_bytes(PAYLOAD)
    out = download(source.as_uri(), tmp_path / "copy.bin", sha256=hashlib.sha256(PAYLOAD).hexdigest())
    assert out.read_bytes() == PAYLOAD


def test_fetch_tries_mirrors_in_order_but_stops_at_a_bad_checksum(server, tmp_path):
    good = RemoteFile("payload.bin", (server + "missing/payload.bin", server + "payload.bin"),
                      sha256=hashlib.sha256(PAYLOAD).hexdigest())
    assert fetch(good, tmp_path / "a").read_bytes() == PAYLOAD
    bad = RemoteFile("payload.bin", (server + "payload.bin", server + "payload.bin"), sha256="1" * 64)
    with pytest.raises(DownloadError, match="checksum"):
        fetch(bad, tmp_path / "b")
    dead = RemoteFile("payload.bin", (server + "no1", server + "no2"))
    with pytest.raises(DownloadError, match="every mirror failed"):
        fetch(dead, tmp_path / "c")
    assert not dead.verified and good.verified


def test_extract_zip_filters_and_refuses_escaping_members(tmp_path):
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("repo-abc/recordings/0_x_0.wav", b"RIFF")
        zf.writestr("repo-abc/README.md", b"hi")
    out = extract_zip(archive, tmp_path / "out", lambda m: m.split("/", 1)[1] if "/recordings/" in m else None)
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == ["recordings/0_x_0.wav"]

    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("../../escaped.txt", b"x")
    with pytest.raises(DownloadError, match="outside the data folder"):
        extract_zip(evil, tmp_path / "evil")
    assert not (tmp_path / "evil").exists() and not (tmp_path.parent / "escaped.txt").exists()

    (tmp_path / "bad.zip").write_bytes(b"not a zip")
    with pytest.raises(DownloadError, match="not a valid zip"):
        extract_zip(tmp_path / "bad.zip", tmp_path / "bad")
