"""Names in running text: "an ML engineer", "data scientists" — a persona's name lower-cased
except its acronyms, with the article its sound takes. Pure."""

import re

# Letters whose name starts with a vowel sound: "an ML engineer", "an SRE", but "a BI engineer".
_VOWEL_SOUND_LETTERS = set("AEFHILMNORSX")


def _is_acronym(word: str) -> bool:
    return sum(1 for c in word if c.isupper()) >= 2


def common_noun(name: str) -> str:
    """"ML engineer" → "ML engineer", "Data scientist" → "data scientist",
    "DevOps/platform engineer" → "DevOps/platform engineer"."""
    return re.sub(r"[A-Za-z][\w]*", lambda m: m[0] if _is_acronym(m[0]) else m[0].lower(), name)


def with_article(name: str) -> str:
    """The common noun with "a" or "an"."""
    noun = common_noun(name)
    first = re.match(r"[A-Za-z]+", noun)
    if first is None:
        return f"a {noun}"
    word = first[0]
    if _is_acronym(word):
        vowel = word[0].upper() in _VOWEL_SOUND_LETTERS
    else:
        vowel = word[0].lower() in "aeio" or (word[0].lower() == "u" and not word.startswith("us"))
    return f"{'an' if vowel else 'a'} {noun}"
