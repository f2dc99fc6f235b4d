"""Back to a page htmx no longer holds a copy of: htmx asks for it again with
HX-History-Restore-Request and swaps the answer in as the whole page, so the answer must be the
whole page, not the fragment a filter change gets."""

import pytest

from tests.helpers import soup_of


@pytest.mark.parametrize("path", ["/", "/dashboards/cost", "/dashboards/velocity",
                                  "/pain-points", "/models"])
def test_a_history_restore_request_gets_the_whole_page(client, as_role, path):
    as_role("leader")
    fragment = client.get(path, headers={"HX-Request": "true"})
    assert soup_of(fragment).find("html") is None  # a filter change: the fragment
    restored = client.get(path, headers={"HX-Request": "true",
                                         "HX-History-Restore-Request": "true"})
    page = soup_of(restored)
    assert page.find("html") is not None and page.select_one("nav") is not None
    assert "HX-History-Restore-Request" in restored.headers["Vary"]
