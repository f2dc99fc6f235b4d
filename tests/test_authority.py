"""A token acts with its user's *current* rights: demotion, a team move, deactivation and a
password reset all take effect on the token's next request (issue 14, finding 1)."""

from sqlalchemy import select

from app.auth.models import ApiToken
from app.pain_points.models import PainPoint
from tests import factories
from tests.helpers import login, page_csrf


def _admin_browser(client, db):
    admin = factories.make_user(db, role="admin")
    db.commit()
    login(client, admin.email)
    return admin


def _save_user(client, user, *, role: str, teams=(), active=True):
    csrf = page_csrf(client, f"/settings/users/{user.id}")
    data = {"csrf_token": csrf, "name": user.name, "role": role, "teams": list(teams)}
    if active:
        data["is_active"] = "on"
    response = client.post(f"/settings/users/{user.id}", data=data)
    assert response.status_code == 303, response.text


def test_demoted_admins_token_loses_admin_rights_at_once(client, db):
    owner = factories.make_user(db, role="admin")
    raw = factories.make_token(db, owner, role="admin")
    db.commit()
    headers = {"Authorization": f"Bearer {raw}"}
    created = client.post("/api/v1/teams", headers=headers, json={"name": "Before", "slug": "before"})
    assert created.status_code == 201

    _admin_browser(client, db)
    _save_user(client, owner, role="viewer")

    for response in (
        client.post("/api/v1/teams", headers=headers, json={"name": "After", "slug": "after"}),
        client.patch("/api/v1/settings", headers=headers, json={"working_weeks_per_year": 40}),
    ):
        assert response.status_code == 403, response.text
        assert "viewer" in response.json()["detail"]
    # A viewer may still read what viewers read.
    assert client.get("/api/v1/teams", headers=headers).status_code == 200


def test_demoted_pm_token_may_no_longer_write_pain_points(client, db):
    team = factories.make_team(db, headcounts={"data-scientist": 5})
    owner = factories.make_user(db, role="pm", teams=[team])
    raw = factories.make_token(db, owner, role="pm")
    pain_point = factories.make_pain_point(db, team)
    db.commit()
    headers = {"Authorization": f"Bearer {raw}"}

    _admin_browser(client, db)
    _save_user(client, owner, role="leader", teams=[team.slug])

    response = client.delete(f"/api/v1/pain-points/{pain_point.id}", headers=headers)
    assert response.status_code == 403
    db.expire_all()
    assert db.get(PainPoint, pain_point.id).deleted_at is None


def test_team_bound_token_stops_reading_the_team_its_user_left(client, db):
    team_a = factories.make_team(db, headcounts={"data-scientist": 5})
    team_b = factories.make_team(db, headcounts={"data-scientist": 5})
    owner = factories.make_user(db, role="viewer", teams=[team_a])
    raw = factories.make_token(db, owner, role="viewer", team_id=team_a.id)
    pain_point = factories.make_pain_point(db, team_a)
    db.commit()
    headers = {"Authorization": f"Bearer {raw}"}
    assert client.get(f"/api/v1/pain-points/{pain_point.id}", headers=headers).status_code == 200

    _admin_browser(client, db)
    _save_user(client, owner, role="viewer", teams=[team_b.slug])

    assert client.get(f"/api/v1/pain-points/{pain_point.id}", headers=headers).status_code == 404
    listed = client.get("/api/v1/pain-points", headers=headers).json()
    assert listed["items"] == []
    assert client.get(f"/api/v1/teams/{team_a.slug}", headers=headers).status_code == 404


def test_pm_token_cannot_edit_a_team_its_user_left(client, db):
    team_a = factories.make_team(db, headcounts={"data-scientist": 5})
    team_b = factories.make_team(db, headcounts={"data-scientist": 5})
    owner = factories.make_user(db, role="pm", teams=[team_a])
    raw = factories.make_token(db, owner, role="pm")
    pain_point = factories.make_pain_point(db, team_a)
    db.commit()
    headers = {"Authorization": f"Bearer {raw}"}

    _admin_browser(client, db)
    _save_user(client, owner, role="pm", teams=[team_b.slug])

    response = client.patch(f"/api/v1/pain-points/{pain_point.id}", headers=headers,
                            json={"title": "Hijacked", "version": pain_point.version})
    assert response.status_code == 403
    db.expire_all()
    assert db.get(PainPoint, pain_point.id).title != "Hijacked"


def test_deactivated_users_token_is_refused(client, db):
    owner = factories.make_user(db, role="admin")
    raw = factories.make_token(db, owner)
    db.commit()
    headers = {"Authorization": f"Bearer {raw}"}
    assert client.get("/api/v1/teams", headers=headers).status_code == 200

    _admin_browser(client, db)
    _save_user(client, owner, role="admin", active=False)

    response = client.get("/api/v1/teams", headers=headers)
    assert response.status_code == 401


def test_password_reset_revokes_the_users_tokens(client, db):
    owner = factories.make_user(db, role="pm")
    raw = factories.make_token(db, owner)
    db.commit()
    headers = {"Authorization": f"Bearer {raw}"}
    assert client.get("/api/v1/teams", headers=headers).status_code == 200

    _admin_browser(client, db)
    csrf = page_csrf(client, f"/settings/users/{owner.id}")
    response = client.post(f"/settings/users/{owner.id}/password",
                           data={"csrf_token": csrf, "password": "a-brand-new-password"})
    assert response.status_code == 303

    assert client.get("/api/v1/teams", headers=headers).status_code == 401
    db.expire_all()
    token = db.scalars(select(ApiToken).where(ApiToken.user_id == owner.id)).one()
    assert token.revoked_at is not None


def test_token_role_never_exceeds_its_users_role_even_if_stored_higher(client, db):
    """A token row claiming more than its user (made before a demotion) acts as the user."""
    owner = factories.make_user(db, role="leader")
    raw = factories.make_token(db, owner, role="admin")
    db.commit()
    response = client.post("/api/v1/teams", headers={"Authorization": f"Bearer {raw}"},
                           json={"name": "Nope", "slug": "nope"})
    assert response.status_code == 403
