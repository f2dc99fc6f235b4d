"""Persona names in running text: acronyms keep their capitals and take the article of their
sound ("a ml engineer" was the old wording)."""

import pytest

from app.core.words import common_noun, with_article


@pytest.mark.parametrize("name, noun, phrase", [
    ("ML engineer", "ML engineer", "an ML engineer"),
    ("Data scientist", "data scientist", "a data scientist"),
    ("Data engineer", "data engineer", "a data engineer"),
    ("BI/analytics engineer", "BI/analytics engineer", "a BI/analytics engineer"),
    ("DevOps/platform engineer", "DevOps/platform engineer", "a DevOps/platform engineer"),
    ("Product manager", "product manager", "a product manager"),
    ("Analytics engineer", "analytics engineer", "an analytics engineer"),
    ("SRE", "SRE", "an SRE"),
])
def test_a_persona_in_a_sentence(name, noun, phrase):
    assert common_noun(name) == noun
    assert with_article(name) == phrase
