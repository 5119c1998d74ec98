"""Named recipes of the end-to-end image classifier: its `preset` parameter.

A preset fixes how the network starts and which optimizer trains it when `optimizer` is None.
"cpu" is for CPUs without bfloat16 instructions, where a training step costs two to four times
as much: pooling right after the first convolution makes a step at 64 px 3.3x cheaper in float32
(2.3x under bfloat16; benchmarks/bench_train_loop_image.py --stem-pool), and with SGD it reached
75.8 % on flowers5 in 21.5 min on 2 AVX2 cores, where "default" gets 30-40 epochs in that time
(73.9 %). Given 100 epochs, "default" is the better network (77.2 %); see docs/experiments.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class Preset:
    """The network's stem and the optimizer used when the pipeline's `optimizer` is None."""

    stem_pool: bool  # halve the resolution right after the first convolution
    optimizer: str


PRESETS = MappingProxyType({"default": Preset(stem_pool=False, optimizer="adamw"),
                            "cpu": Preset(stem_pool=True, optimizer="sgd")})
