"""Symmetrisation: one many-to-many alignment from the two one-directional ones (Koehn et al., 2003).

Each direction lets a word link to at most one word of the other side, so neither alone can
align "geht davon aus" with "assumes". Their intersection is precise but sparse, their union
dense but noisy; grow-diag-final(-and) starts from the intersection and adds union links next
to links already there, then (final) links of words still unaligned.
"""

from __future__ import annotations

import numpy as np

METHODS = ("intersection", "union", "grow-diag", "grow-diag-final", "grow-diag-final-and")
_NEIGHBOURS = ((-1, 0), (0, -1), (1, 0), (0, 1), (-1, -1), (-1, 1), (1, -1), (1, 1))


def symmetrise(source_to_target: set[tuple[int, int]], target_to_source: set[tuple[int, int]],
               method: str = "grow-diag-final-and") -> set[tuple[int, int]]:
    """Combine two alignments of one sentence pair, both given as (source position, target position)."""
    if method not in METHODS:
        raise ValueError(f"symmetrisation method must be one of {METHODS}, not {method!r}")
    union = source_to_target | target_to_source
    if method == "union":
        return set(union)
    links = source_to_target & target_to_source
    if method == "intersection":
        return links
    aligned_source = {s for s, _ in links}
    aligned_target = {t for _, t in links}

    def add(link):
        links.add(link)
        aligned_source.add(link[0])
        aligned_target.add(link[1])

    grew = True
    while grew:  # grow-diag: union links next to a link, joining a still-unaligned word
        grew = False
        for s, t in sorted(links):
            for ds, dt in _NEIGHBOURS:
                candidate = (s + ds, t + dt)
                if candidate in union and candidate not in links and (
                        candidate[0] not in aligned_source or candidate[1] not in aligned_target):
                    add(candidate)
                    grew = True
    if method.startswith("grow-diag-final"):
        both_unaligned = method == "grow-diag-final-and"
        for direction in (source_to_target, target_to_source):
            for s, t in sorted(direction):
                free = ((s not in aligned_source and t not in aligned_target) if both_unaligned
                        else (s not in aligned_source or t not in aligned_target))
                if free:
                    add((s, t))
    return links


def symmetrise_corpus(source_to_target: list[np.ndarray], target_to_source: list[np.ndarray],
                      method: str = "grow-diag-final-and") -> list[np.ndarray]:
    """Symmetrise every pair. Inputs are (n, 2) arrays of links as each direction reports them:
    (target position, source position) when targets were emitted from sources, and the reverse."""
    out = []
    for forward, backward in zip(source_to_target, target_to_source):
        forward_links = {(int(s), int(t)) for t, s in forward}
        backward_links = {(int(s), int(t)) for s, t in backward}
        links = sorted(symmetrise(forward_links, backward_links, method))
        out.append(np.array(links, dtype=np.int64).reshape(-1, 2))
    return out
