"""Phrase extraction: every pair of spans that a word alignment allows to translate each other.

A source span and a target span form a *consistent* phrase pair when at least one link joins
them and no link leaves either span for a word outside the other (Och and Ney, 2004; Koehn,
"Statistical Machine Translation", section 5.2.3). Unaligned words at a target span's edges may be
added or left out, so one span can pair with several neighbouring spans.
"""

from __future__ import annotations

import numpy as np

Span = tuple[int, int]  # first and last position, both included


def extract_phrase_pairs(source_length: int, target_length: int, links: np.ndarray,
                         max_length: int = 5) -> list[tuple[Span, Span]]:
    """The consistent (source span, target span) pairs of one aligned sentence pair, each side at
    most `max_length` words. `links` holds (source position, target position) rows."""
    links = np.asarray(links, dtype=np.int64).reshape(-1, 2)
    targets_of = [[] for _ in range(source_length)]
    sources_of = [[] for _ in range(target_length)]
    for s, t in links:
        targets_of[s].append(int(t))
        sources_of[t].append(int(s))
    target_aligned = [bool(sources) for sources in sources_of]
    pairs = []
    for s_start in range(source_length):
        t_min, t_max = target_length, -1
        for s_end in range(s_start, min(source_length, s_start + max_length)):
            for t in targets_of[s_end]:
                t_min, t_max = min(t_min, t), max(t_max, t)
            if t_max < 0 or t_max - t_min >= max_length:
                continue
            # Consistent only if no word of the target span links outside the source span.
            if any(not s_start <= s <= s_end for t in range(t_min, t_max + 1) for s in sources_of[t]):
                continue
            t_start = t_min
            while True:  # grow over unaligned target words on the left ...
                t_end = t_max
                while True:  # ... and on the right
                    pairs.append(((s_start, s_end), (t_start, t_end)))
                    t_end += 1
                    if t_end >= target_length or target_aligned[t_end] or t_end - t_start >= max_length:
                        break
                t_start -= 1
                if t_start < 0 or target_aligned[t_start] or t_max - t_start >= max_length:
                    break
    return pairs
