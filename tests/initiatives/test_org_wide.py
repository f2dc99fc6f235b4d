"""Org-wide initiatives need org-wide rights, and readers see other teams' links only as a
count (issue 14, finding 2), through the API and the pages alike."""

from decimal import Decimal as D

import pytest

from app.initiatives.models import Initiative, InitiativeLink
from tests import factories
from tests.api import bearer
from tests.helpers import login, page_csrf, soup_of


@pytest.fixture
def org(db):
    """Teams A and B, a pain point each, and an org-wide initiative linking both."""
    a = factories.make_team(db, slug="team-a", headcounts={"data-scientist": 5})
    b = factories.make_team(db, slug="team-b", headcounts={"data-scientist": 5})
    pa = factories.make_pain_point(db, a, title="A's friction")
    pb = factories.make_pain_point(db, b, title="B's friction")
    initiative = Initiative(title="Org-wide SDK", owner="Sofia")
    db.add(initiative)
    db.flush()
    db.add_all([InitiativeLink(initiative_id=initiative.id, pain_point_id=pa.id,
                               expected_reduction=D(50)),
                InitiativeLink(initiative_id=initiative.id, pain_point_id=pb.id,
                               expected_reduction=D(40))])
    db.commit()
    return {"a": a, "b": b, "pa": pa, "pb": pb, "initiative": initiative}


def _unchanged(db, initiative_id: int) -> None:
    db.expire_all()
    initiative = db.get(Initiative, initiative_id)
    assert initiative.title == "Org-wide SDK" and initiative.deleted_at is None
    assert db.query(InitiativeLink).filter_by(initiative_id=initiative_id).count() == 2


@pytest.mark.parametrize("own", ["a", "b"])
def test_a_pm_of_either_team_cannot_change_unlink_or_delete_it_by_api(client, db, org, own):
    headers = bearer(db, "pm", teams=[org[own]])
    url = f"/api/v1/initiatives/{org['initiative'].id}"
    own_pp = org["p" + own]
    for response in (
        client.patch(url, headers=headers, json={"title": "Mine now"}),
        client.patch(url, headers=headers, json={
            "links": [{"pain_point": own_pp.id, "expected_reduction": "50"}]}),
        client.delete(url, headers=headers),
    ):
        assert response.status_code == 403, response.text
        assert response.json()["detail"].startswith("This org-wide initiative reaches teams")
    _unchanged(db, org["initiative"].id)


@pytest.mark.parametrize("own", ["a", "b"])
def test_a_pm_of_either_team_cannot_delete_or_edit_it_in_the_pages(client, db, org, own):
    user = factories.make_user(db, role="pm", teams=[org[own]])
    db.commit()
    login(client, user.email)
    initiative_id = org["initiative"].id
    page = soup_of(client.get(f"/initiatives/{initiative_id}"))
    assert page.find("button", string="Delete") is None  # not offered…
    csrf = page_csrf(client, f"/initiatives/{initiative_id}")
    deleted = client.post(f"/initiatives/{initiative_id}/delete", data={"csrf_token": csrf})
    assert deleted.status_code == 403  # …and refused when forged
    assert client.get(f"/initiatives/{initiative_id}/edit").status_code == 403
    _unchanged(db, initiative_id)


def test_a_pm_of_every_team_it_reaches_and_an_admin_may(client, db, org):
    both = bearer(db, "pm", teams=[org["a"], org["b"]])
    url = f"/api/v1/initiatives/{org['initiative'].id}"
    response = client.patch(url, headers=both, json={"title": "Org-wide Python SDK", "version": 1})
    assert response.status_code == 200, response.text
    assert client.delete(url, headers=bearer(db, "admin")).status_code == 200


def test_a_team_bound_token_never_acts_on_an_org_wide_initiative(client, db, org):
    # Even one whose links all belong to the token's team, and even an admin's token.
    only_a = Initiative(title="A-only org-wide")
    db.add(only_a)
    db.flush()
    db.add(InitiativeLink(initiative_id=only_a.id, pain_point_id=org["pa"].id,
                          expected_reduction=D(10)))
    db.commit()
    headers = bearer(db, "admin", team_id=org["a"].id)
    for initiative_id in (only_a.id, org["initiative"].id):
        url = f"/api/v1/initiatives/{initiative_id}"
        assert client.patch(url, headers=headers, json={"title": "x"}).status_code == 403
        assert client.delete(url, headers=headers).status_code == 403
    created = client.post("/api/v1/initiatives", headers=headers, json={"title": "New org-wide"})
    assert created.status_code == 403


def test_an_org_wide_initiative_reaching_only_the_pms_team_is_the_pms_to_change(client, db, org):
    only_a = Initiative(title="A-only org-wide")
    db.add(only_a)
    db.flush()
    db.add(InitiativeLink(initiative_id=only_a.id, pain_point_id=org["pa"].id,
                          expected_reduction=D(10)))
    db.commit()
    headers = bearer(db, "pm", teams=[org["a"]])
    url = f"/api/v1/initiatives/{only_a.id}"
    assert client.patch(url, headers=headers,
                        json={"title": "A's SDK", "version": 1}).status_code == 200
    # Adding a link to another team's pain point would reach that team: refused.
    grow = client.patch(url, headers=headers, json={"version": 2, "links": [
        {"pain_point": org["pa"].id, "expected_reduction": "10"},
        {"pain_point": org["pb"].id, "expected_reduction": "10"}]})
    assert grow.status_code == 403


def test_a_viewer_sees_other_teams_links_as_a_count_only(client, db, org):
    response = client.get(f"/api/v1/initiatives/{org['initiative'].id}",
                          headers=bearer(db, "viewer", teams=[org["a"]]))
    body = response.json()
    assert [link["pain_point"] for link in body["links"]] == [org["pa"].id]
    assert body["hidden_links"] == 1
    listed = client.get("/api/v1/initiatives", headers=bearer(db, "viewer", teams=[org["a"]]))
    item = next(i for i in listed.json()["items"] if i["id"] == org["initiative"].id)
    assert item["hidden_links"] == 1
    assert str(org["pb"].id) not in str(item["links"])
    # Readers of every team see every link.
    leader = client.get(f"/api/v1/initiatives/{org['initiative'].id}",
                        headers=bearer(db, "leader")).json()
    assert leader["hidden_links"] == 0 and len(leader["links"]) == 2


def test_a_viewers_page_counts_hidden_links_without_naming_them(client, db, org):
    viewer = factories.make_user(db, role="viewer", teams=[org["a"]])
    db.commit()
    login(client, viewer.email)
    page = soup_of(client.get(f"/initiatives/{org['initiative'].id}"))
    rows = page.select("table.linked tbody tr[data-pain-point]")
    assert [row["data-pain-point"] for row in rows] == [str(org["pa"].id)]
    hint = page.find(attrs={"data-testid": "hidden-links"})
    assert "1 linked pain point of teams you cannot see" in hint.get_text(" ", strip=True)
    links = [a["href"] for a in page.find_all("a", href=True)]
    assert not any(href.endswith(f"/pain-points/{org['pb'].id}") for href in links)
    assert "B's friction" not in page.get_text()
