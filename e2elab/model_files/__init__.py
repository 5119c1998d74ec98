"""The checks that make a saved model folder data, never code.

:mod:`e2elab.io` writes and reads model folders; the modules here decide what it may read:
``files`` (entries confined to the folder, regular files of bounded size), ``meta`` (the
``e2elab.json`` schema and format versions), ``safetensors_check`` (the weights header before
safetensors parses it), ``skops_trust`` (the exact list of types skops may rebuild) and
``signing`` (an HMAC over ``e2elab.json`` for models that come from elsewhere).
"""


def one_line(err: BaseException, limit: int = 300) -> str:
    """`err` as a short single line for an error message: its type, then its text, cut at `limit`."""
    text = " ".join(str(err).split()) or "no details"
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return f"{type(err).__name__}: {text}"
