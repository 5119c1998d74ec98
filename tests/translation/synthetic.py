"""A tiny German-English parallel corpus from a grammar, with German verb-second word order."""

import numpy as np

NOUNS = {"Hund": "dog", "Mann": "man", "Junge": "boy", "Katze": "cat", "Frau": "woman", "Vogel": "bird"}
ADJECTIVES = {"große": "big", "kleine": "small", "rote": "red", "alte": "old"}
VERBS = {"läuft": "runs", "schläft": "sleeps", "springt": "jumps", "singt": "sings", "wartet": "waits"}
ADVERBS = {"heute": "today", "hier": "here", "jetzt": "now"}


def sentence_pair(rng: np.random.Generator) -> tuple[str, str]:
    noun = rng.choice(sorted(NOUNS))
    determiner, article = ("ein", "a") if rng.random() < 0.5 else ("der", "the")
    adjective = rng.choice(sorted(ADJECTIVES)) if rng.random() < 0.5 else None
    verb = rng.choice(sorted(VERBS))
    subject_de = [determiner] + ([adjective] if adjective else []) + [noun]
    subject_en = [article] + ([ADJECTIVES[adjective]] if adjective else []) + [NOUNS[noun]]
    if rng.random() < 0.4:  # adverb first: the German verb comes before its subject
        adverb = rng.choice(sorted(ADVERBS))
        german = [adverb, verb] + subject_de
        english = [ADVERBS[adverb]] + subject_en + [VERBS[verb]]
    else:
        german, english = subject_de + [verb], subject_en + [VERBS[verb]]
    return capitalised(german), capitalised(english)


def capitalised(words: list[str]) -> str:
    return " ".join([words[0][:1].upper() + words[0][1:]] + words[1:]) + "."


def corpus(n: int, seed: int) -> tuple[list[str], list[str]]:
    rng = np.random.default_rng(seed)
    pairs = [sentence_pair(rng) for _ in range(n)]
    return [p[0] for p in pairs], [p[1] for p in pairs]
