"""The ledger offers only what the role may do: a viewer or a leader sees no "Import CSV"
(it led to a 403), a PM does, and the link leads to the import form."""

import pytest

from tests.helpers import soup_of


@pytest.mark.parametrize("role, offered", [("viewer", False), ("leader", False), ("pm", True),
                                           ("admin", True)])
def test_import_csv_is_offered_to_those_who_may_import(client, as_role, role, offered):
    as_role(role)
    page = soup_of(client.get("/pain-points"))
    links = [a for a in page.select(".page-head a") if a.get_text(strip=True) == "Import CSV"]
    assert bool(links) == offered
    if offered:
        assert client.get(links[0]["href"]).status_code == 200
    else:
        assert client.get("/pain-points/import").status_code == 403
