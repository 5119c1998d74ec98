"""The package's layout: imports point down the layers without circles, and no module is over 400 lines."""

import importlib.util
import sys
import textwrap
from pathlib import Path

import pytest

import e2elab

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_DIR = Path(e2elab.__file__).parent
MAX_LINES = 400


@pytest.fixture(scope="module")
def check_imports():
    spec = importlib.util.spec_from_file_location("check_imports", ROOT / "scripts" / "check_imports.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the script runs
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


def write_package(root, files):
    for name, text in files.items():
        path = root / "e2elab" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root / "e2elab"


def test_imports_point_down_the_layers_without_circles(check_imports):
    report = check_imports.check(PACKAGE_DIR)
    assert report.ok, "\n".join(report.violations)
    assert len(report.modules) > 50 and len(report.imports) > 100  # the whole package was read


def test_no_module_is_over_400_lines():
    lengths = {path.relative_to(PACKAGE_DIR.parent).as_posix(): len(path.read_text(encoding="utf-8").splitlines())
               for path in PACKAGE_DIR.rglob("*.py")}
    over = sorted(f"{name}: {n} lines" for name, n in lengths.items() if n > MAX_LINES)
    assert not over, "modules over 400 lines:\n" + "\n".join(over)


def test_each_kind_of_violation_is_reported(tmp_path, check_imports):
    package = write_package(tmp_path, {
        "__init__.py": "",
        "errors.py": "from .data import audio\n",  # the base imports data
        "data/__init__.py": "",
        "data/audio.py": "def read():\n    from ..speech import model\n",  # a lazy import counts
        "data/sources.py": 'READER = "e2elab.speech.model:read"\n',  # so does a reference by name
        "speech/__init__.py": "",
        "speech/model.py": "from . import decoder\n",
        "speech/decoder.py": "from .model import read\n",  # a circle inside one layer
        "nn/loop.py": "import argparse\n",
        "registry.py": 'PIPELINES = {"speech": "e2elab.speech.model"}\n',  # the registry may name pipelines
        "plugins/extra.py": "",
    })
    report = check_imports.check(package)
    assert sorted(report.violations) == sorted([
        "e2elab/errors.py:1: e2elab.errors (base) imports e2elab.data.audio (data), a layer above it",
        ("e2elab/data/audio.py:2: e2elab.data.audio (data) imports e2elab.speech.model (task pipelines), "
         "a layer above it"),
        ("e2elab/data/sources.py:1: e2elab.data.sources (data) names e2elab.speech.model (task pipelines), "
         "a layer above it"),
        "import circle: e2elab.speech.decoder -> e2elab.speech.model -> e2elab.speech.decoder",
        "e2elab/nn/loop.py:1: imports argparse (only commands/ and cli.py parse the command line)",
        "e2elab.plugins.extra: in no layer (add its folder to LAYERS in check_imports.py)",
    ])


def test_a_clean_package_prints_only_its_counts(tmp_path, capsys, check_imports):
    package = write_package(tmp_path, {
        "__init__.py": "from .registry import make\n",
        "registry.py": "from . import errors\n",
        "errors.py": "",
        "commands/__init__.py": "",
        "commands/train.py": "import argparse\n\nfrom .. import make\nfrom ..data.sources import load, read\n",
        "data/__init__.py": "",
        "data/sources.py": "from ..errors import DataError\n\ndef load():\n    from .audio import read\n",
        "data/audio.py": "import numpy\n",
    })
    assert check_imports.main([str(package)]) == 0
    # train -> e2elab, data.sources; e2elab -> registry; registry -> errors; sources -> errors, audio.
    assert capsys.readouterr().out == "ok: 8 modules, 6 imports\n"
