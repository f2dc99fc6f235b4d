"""The audit log page (/settings/audit): entries from the API and the UI with actor and
before → after, admins only, filters and paging."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from app.audit.models import AuditEntry
from app.audit.queries import Change, changes
from tests import factories
from tests.api import bearer
from tests.helpers import login, page_csrf, soup_of

PAGE = "/settings/audit"


def rows(response) -> list[dict]:
    """Each entry shown: its cells as text, the entity's link and the changed fields."""
    found = []
    for tr in soup_of(response, status=200).select("tr[data-entry]"):
        link = tr.select_one("td.entity a")
        found.append({
            "id": int(tr["data-entry"]),
            "actor": tr.select_one("td.actor").get_text(strip=True),
            "action": tr.select_one("td.action").get_text(strip=True),
            "entity": tr.select_one("td.entity").get_text(" ", strip=True),
            "href": link["href"] if link else None,
            "changes": {li["data-field"]: (li.select_one(".before").get_text(),
                                           li.select_one(".after").get_text())
                        for li in tr.select("li[data-field]")},
        })
    return found


@pytest.fixture
def signed_in_admin(client, db):
    user = factories.make_user(db, role="admin", email="root@example.com")
    db.commit()
    login(client, user.email)
    return user


def add_entry(db: Session, *, at: datetime, actor: str = "cli", action: str = "update",
              entity: str = "team", entity_id: str = "1", before=None, after=None) -> AuditEntry:
    entry = AuditEntry(at=at, actor=actor, action=action, entity_type=entity,
                       entity_id=entity_id, before=before, after=after)
    db.add(entry)
    db.flush()
    return entry


# --- entries from the API and from the UI -----------------------------------------------------


def test_an_api_edit_is_listed_with_its_actor_and_before_after(client, db, signed_in_admin):
    team = factories.make_team(db, name="Fraud", slug="fraud")
    pain_point = factories.make_pain_point(db, team, title="Slow notebooks")
    headers = bearer(db, "admin")
    response = client.patch(f"/api/v1/pain-points/{pain_point.id}",
                            headers=headers | {"If-Match": '"1"'},
                            json={"title": "Very slow notebooks", "hours_likely": "3"})
    assert response.status_code == 200, response.text

    [entry] = [r for r in rows(client.get(PAGE)) if r["action"] == "update"]
    assert entry["actor"].startswith("token:")
    assert entry["href"] == f"/pain-points/{pain_point.id}"
    assert "Very slow notebooks" in entry["entity"]
    # Only what differs: the title and the likely hours, not the untouched fields.
    assert entry["changes"] == {"title": ("Slow notebooks", "Very slow notebooks"),
                                "hours_likely": ("2", "3")}


def test_a_ui_edit_is_listed_with_the_signed_in_admin_as_actor(client, db, signed_in_admin):
    team = factories.make_team(db, name="Recs", slug="recs")
    pain_point = factories.make_pain_point(db, team)
    db.commit()
    csrf = page_csrf(client, f"/pain-points/{pain_point.id}")
    response = client.post(f"/pain-points/{pain_point.id}/status",
                           data={"csrf_token": csrf, "status": "in_progress", "version": "1"})
    assert response.status_code == 303, response.text
    csrf = page_csrf(client, "/settings/organisation")
    response = client.post("/settings/organisation", data={
        "csrf_token": csrf, "name": "Northstar", "currency": "USD",
        "fiscal_year_start_month": "1", "working_weeks_per_year": "48",
        "working_hours_per_week": "40", "version": "1"})
    assert response.status_code == 303, response.text

    shown = [r for r in rows(client.get(PAGE)) if r["action"] == "update"]
    assert [r["href"] for r in shown] == ["/settings/organisation", f"/pain-points/{pain_point.id}"]
    organisation, status = shown
    assert organisation["actor"] == status["actor"] == "root@example.com"
    assert organisation["changes"] == {"working_weeks_per_year": ("46", "48")}
    assert status["changes"] == {"status": ("open", "in_progress")}


def test_entities_link_to_their_pages(client, db, signed_in_admin):
    team = factories.make_team(db, name="Search", slug="search")
    now = datetime.now(UTC)
    add_entry(db, at=now, entity="team", entity_id=str(team.id), action="create",
              after={"name": "Search"})
    add_entry(db, at=now, entity="user", entity_id=str(signed_in_admin.id), action="create")
    add_entry(db, at=now, entity="demo", entity_id="fraud-detection", action="load_demo")
    add_entry(db, at=now, entity="pain_point", entity_id="999999", action="update")
    db.commit()
    by_entity = {r["entity"].split(" ")[0]: r for r in rows(client.get(PAGE))}
    assert by_entity["Team"]["href"] == "/settings/teams/search"
    assert by_entity["User"]["href"] == f"/settings/users/{signed_in_admin.id}"
    assert by_entity["Demo"]["href"] is None
    assert by_entity["Pain"]["href"] is None  # an id that names nothing links nowhere
    created = by_entity["Team"]["changes"]
    assert created == {"name": ("—", "Search")}


# --- who may see it ---------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["pm", "leader", "viewer"])
def test_only_admins_see_the_audit_log(client, as_role, role):
    as_role(role)
    response = client.get(PAGE)
    assert response.status_code == 403


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get(PAGE)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_the_settings_subnav_links_the_audit_log(client, signed_in_admin):
    subnav = 'nav[aria-label="Settings"]'
    link = soup_of(client.get("/settings"), status=200).select_one(f'{subnav} a[href="{PAGE}"]')
    assert link is not None and link.get_text(strip=True) == "Audit log"
    current = soup_of(client.get(PAGE), status=200).select_one(f'{subnav} a[aria-current="page"]')
    assert current["href"] == PAGE


# --- filters and paging -----------------------------------------------------------------------


@pytest.fixture
def entries(db, signed_in_admin):
    base = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    made = {
        "ana-team": add_entry(db, at=base, actor="Ana@Example.com", entity="team"),
        "ana-pp": add_entry(db, at=base + timedelta(days=1), actor="ana@example.com",
                            entity="pain_point", action="create"),
        "bob-pp": add_entry(db, at=base + timedelta(days=2), actor="token:7 (bob@example.com)",
                            entity="pain_point", action="delete"),
        "cli-model": add_entry(db, at=base + timedelta(days=3, hours=11, minutes=59),
                               actor="cli", entity="ml_model", action="update"),
    }
    db.commit()
    return {name: e.id for name, e in made.items()}


def shown_ids(client, **params) -> list[int]:
    return [r["id"] for r in rows(client.get(PAGE, params=params))]


def test_entries_are_listed_newest_first(client, entries):
    ids = shown_ids(client)
    positions = [ids.index(entries[n]) for n in ("cli-model", "bob-pp", "ana-pp", "ana-team")]
    assert positions == sorted(positions)


def test_filters_by_entity_actor_action_and_days(client, entries):
    e = entries
    assert shown_ids(client, entity="pain_point") == [e["bob-pp"], e["ana-pp"]]
    assert shown_ids(client, actor="ANA@example") == [e["ana-pp"], e["ana-team"]]
    assert shown_ids(client, actor="bob") == [e["bob-pp"]]
    assert shown_ids(client, action="delete") == [e["bob-pp"]]
    assert shown_ids(client, entity="pain_point", action="create") == [e["ana-pp"]]
    # Both days inclusive, in UTC: the 13th runs to 23:59:59.
    assert shown_ids(client, **{"from": "2026-03-11", "to": "2026-03-13"}) == [
        e["cli-model"], e["bob-pp"], e["ana-pp"]]
    assert shown_ids(client, **{"from": "2026-03-12"})[-2:] == [e["cli-model"], e["bob-pp"]]
    assert shown_ids(client, to="2026-03-10") == [e["ana-team"]]
    # A % typed by the admin matches itself, not everything.
    assert shown_ids(client, actor="%") == []
    assert shown_ids(client, entity="initiative") == []


def test_the_filter_form_keeps_its_values_and_offers_what_the_log_holds(client, entries):
    soup = soup_of(client.get(PAGE, params={"entity": "pain_point", "actor": "ana",
                                            "action": "create", "from": "2026-03-01"}), status=200)
    assert soup.select_one("#entity option[selected]")["value"] == "pain_point"
    assert soup.select_one("#action option[selected]")["value"] == "create"
    assert soup.select_one("#actor")["value"] == "ana"
    assert soup.select_one("#from")["value"] == "2026-03-01"
    actions = {o["value"] for o in soup.select("#action option") if o["value"]}
    assert {"create", "update", "delete", "login"} <= actions


def test_empty_date_fields_mean_no_limit(client, entries):
    assert entries["ana-team"] in shown_ids(client, entity="", actor="", action="", to="",
                                            **{"from": ""})


def test_a_period_that_ends_before_it_starts_is_refused(client, entries):
    response = client.get(PAGE, params={"from": "2026-03-12", "to": "2026-03-11"})
    assert response.status_code == 422
    soup = soup_of(response)
    assert soup.select_one("#to")["aria-invalid"] == "true"
    assert "before the first day" in soup.select_one("#to-error").get_text()
    assert soup.select("tr[data-entry]") == []


def test_pages_of_fifty(client, db, signed_in_admin):
    base = datetime(2025, 1, 1, tzinfo=UTC)
    made = [add_entry(db, at=base + timedelta(minutes=i), actor="bulk-import",
                      entity_id=str(i)).id for i in range(120)]
    db.commit()
    first = client.get(PAGE, params={"actor": "bulk-import"})
    assert [r["id"] for r in rows(first)] == made[::-1][:50]
    soup = soup_of(first, status=200)
    assert "120 entries, page 1 of 3" in soup.select_one("#audit-total").get_text()
    next_link = soup.select_one('nav.pager a[rel="next"]')["href"]
    assert "actor=bulk-import" in next_link and "page=2" in next_link
    assert [r["id"] for r in rows(client.get(next_link))] == made[::-1][50:100]
    assert [r["id"] for r in rows(client.get(PAGE, params={"actor": "bulk-import",
                                                           "page": 3}))] == made[::-1][100:]


def test_an_htmx_request_gets_the_results_fragment_only(client, entries):
    response = client.get(PAGE, params={"entity": "pain_point"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    page = soup_of(response)
    assert page.find("html") is None and page.find("form") is None
    assert len(soup_of(response).select("tr[data-entry]")) == 2
    assert "HX-Request" in response.headers["vary"]


# --- what counts as a change ------------------------------------------------------------------


def test_changes_list_only_the_fields_that_differ():
    assert changes({"hours": "2.00", "title": "A", "teams": ["a", "b"], "on": None},
                   {"hours": "2", "title": "B", "teams": ["a", "b"], "on": "2026-01-02"}) == [
        Change("title", "A", "B"), Change("on", None, "2026-01-02")]
    created = changes(None, {"name": "Search", "is_archived": False, "teams": ["x", "y"]})
    assert [(c.field, c.before, c.after) for c in created] == [
        ("name", None, "Search"), ("is_archived", None, "no"), ("teams", None, "x, y")]
    assert changes({"confirmed": True}, {"confirmed": True}) == []
