"""Bad input gets a 4xx JSON error naming the problem, and the server keeps serving after each:
bytes of another kind under an image or audio name, truncated files and bodies, empty bodies,
oversized payloads, a 12000 x 12000 PNG, a ten-minute clip, path-like file names, unknown models,
malformed JSON."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest


def flat_png(width: int, height: int) -> bytes:
    """A valid grey PNG of one flat colour, written row by row so that even 144 Mpx stay small in memory
    (and, compressed, about 150 kB on the wire)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    compressor = zlib.compressobj(9)
    row = b"\x00" + b"\x80" * width  # filter byte "none", then mid-grey pixels
    pixels = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def long_flac(seconds: float, rate: int = 8000) -> bytes:
    """A clip of `seconds` of near-silence: FLAC packs ten minutes of it into a few kB."""
    import soundfile as sf

    buffer = io.BytesIO()
    sf.write(buffer, np.zeros(int(seconds * rate), np.int16), rate, format="FLAC")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def huge_png():
    return flat_png(12000, 12000)


def truncated_multipart(client):
    boundary = "e2elab-test-boundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"digit.png\"\r\n"
            "Content-Type: image/png\r\n\r\n\x89PNG\r\n").encode()  # the closing boundary never comes
    return client.post("/predict", content=body, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})


def streamed(n_bytes: int):
    """A body with no Content-Length (sent chunked), so only counting while it streams can stop it."""
    chunk = b"\0" * 65536
    for _ in range(n_bytes // len(chunk) + 1):
        yield chunk


# name -> (send(client, digit png, clip wav, huge png), status, code, words the message must hold)
CASES = {
    "web page named photo.png": (lambda c, png, wav, big: c.post("/predict", files={"file": ("photo.png", b"<!doctype html><html><body>hi</body></html>")}),
                                 415, "unsupported_content", ["photo.png", "HTML page"]),
    "random bytes named clip.wav": (lambda c, png, wav, big: c.post("/predict", files={"file": ("clip.wav", bytes(range(256)) * 8)}),
                                    415, "unsupported_content", ["clip.wav", "no format"]),
    "a clip named photo.png": (lambda c, png, wav, big: c.post("/predict", files={"file": ("photo.png", wav)}),
                               415, "unsupported_content", ["photo.png", "named like an image", "WAV audio"]),
    "truncated PNG": (lambda c, png, wav, big: c.post("/predict", files={"file": ("digit.png", png[: len(png) // 2])}),
                      422, "unreadable_input", ["digit.png", "truncated"]),
    "truncated WAV": (lambda c, png, wav, big: c.post("/predict", files={"file": ("clip.wav", wav[: len(wav) // 2])}),
                      422, "unreadable_input", ["clip.wav", "truncated"]),
    "truncated multipart body": (lambda c, png, wav, big: truncated_multipart(c), 400, "incomplete_form", ["cut off"]),
    "empty body": (lambda c, png, wav, big: c.post("/predict"), 400, "empty_request", ["file"]),
    "empty JSON body": (lambda c, png, wav, big: c.post("/predict", content=b"", headers={"Content-Type": "application/json"}),
                        400, "empty_request", ["JSON body is empty"]),
    "empty file": (lambda c, png, wav, big: c.post("/predict", files={"file": ("digit.png", b"")}),
                   400, "empty_file", ["digit.png", "empty"]),
    "oversized payload": (lambda c, png, wav, big: c.post("/predict", files={"file": ("digit.png", png + b"\0" * 500_000)}),
                          413, "payload_too_large", ["400,000 bytes"]),
    "oversized streamed payload": (lambda c, png, wav, big: c.post("/predict", content=streamed(500_000),
                                                                   headers={"Content-Type": "multipart/form-data; boundary=x"}),
                                   413, "payload_too_large", ["400,000 bytes"]),
    "12000 x 12000 PNG": (lambda c, png, wav, big: c.post("/predict", files={"file": ("huge.png", big)}),
                          422, "image_too_large", ["huge.png", "12000 x 12000"]),
    "ten-minute clip": (lambda c, png, wav, big: c.post("/predict", files={"file": ("long.flac", long_flac(600))}),
                        422, "clip_too_long", ["long.flac", "600.0 s"]),
    "path-like file name": (lambda c, png, wav, big: c.post("/predict", files={"file": ("../../etc/digit.png", png)}),
                            400, "bad_file_name", ["../../etc/digit.png", "path"]),
    "file name with a folder": (lambda c, png, wav, big: c.post("/predict", files={"file": ("uploads/digit.png", png)}),
                                400, "bad_file_name", ["uploads/digit.png"]),
    "unknown model": (lambda c, png, wav, big: c.post("/predict", files={"file": ("digit.png", png)}, data={"models": "image-magic"}),
                      400, "unknown_model", ["image-magic", "image-end-to-end"]),
    "unknown model to explain": (lambda c, png, wav, big: c.post("/explain", files={"file": ("digit.png", png)}, data={"model": "nope"}),
                                 400, "unknown_model", ["nope"]),
    "malformed JSON": (lambda c, png, wav, big: c.post("/predict", content=b'{"text": "der Hund', headers={"Content-Type": "application/json"}),
                       400, "malformed_json", ["not valid JSON"]),
    "JSON that is not an object": (lambda c, png, wav, big: c.post("/predict", json=["der Hund"]),
                                   400, "malformed_json", ["object"]),
    "a body of another type": (lambda c, png, wav, big: c.post("/predict", content=b"hello", headers={"Content-Type": "text/plain"}),
                               415, "unsupported_media_type", ["text/plain"]),
    "two inputs to explain": (lambda c, png, wav, big: c.post("/explain", files=[("file", ("a.png", png)), ("file", ("b.png", png))],
                                                              data={"model": "image-traditional"}),
                              400, "one_input_only", ["got 2"]),
    "unknown endpoint": (lambda c, png, wav, big: c.get("/predictions"), 404, "not_found", ["/predictions"]),
}


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_a_4xx_json_error_naming_the_problem_and_the_server_keeps_serving(case, client, digit_png,
                                                                                       clip_wav, huge_png):
    send, status, code, words = CASES[case]
    png, _ = digit_png
    answer = send(client, png, clip_wav, huge_png)
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["code"] == code
    for word in words:
        assert word in error["message"]
    assert client.get("/health").json()["status"] == "ok"
    again = client.post("/predict", files={"file": ("digit.png", png)}, data={"models": "image-traditional"})
    assert again.status_code == 200
