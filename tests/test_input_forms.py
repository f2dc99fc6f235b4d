"""Every POST form of every page, as an admin sees it, survives each field posted empty, with a
NUL, and with huge numbers and far dates where it takes them: a 4xx or the form again naming the
field, never a 5xx, on PostgreSQL and SQLite (the pages' own probes: test_input_hygiene.py).

Its own file so that the two slowest probes run on different test workers (`--dist loadfile`).
"""

import re

from tests import factories
from tests.helpers import csrf_from, login, soup_of
from tests.test_input_hygiene import (  # noqa: F401  (demo_rows is a fixture)
    FAR_DATES, HUGE, HUGER, NUL, concrete_pages, demo_rows, form_values,
)


def test_every_form_survives_bad_and_cleared_fields(app, client, db, demo_rows):
    admin = factories.make_user(db, role="admin")
    db.commit()
    login(client, admin.email)
    forms: dict[str, tuple[str, dict[str, str], dict[str, str]]] = {}
    for page in concrete_pages(app, demo_rows):
        soup = soup_of(client.get(page))
        for form in soup.find_all("form"):
            if (form.get("method") or "get").lower() != "post" or form.find(
                    "input", attrs={"type": "file"}):
                continue
            action = form.get("action") or page
            if action == "/logout":
                continue
            kinds = {f.get("name"): f.get("type") or f.name
                     for f in form.find_all(["input", "textarea", "select"]) if f.get("name")}
            forms.setdefault(action, (page, form_values(form), kinds))
    assert len(forms) >= 20, sorted(forms)
    posts, failures = 0, []
    for action, (page, values, kinds) in sorted(forms.items()):
        csrf = csrf_from(client.get(page).text)
        for name, kind in kinds.items():
            if name == "csrf_token":
                continue
            bad_values = ["", NUL] + (["\x0b"] if kind == "textarea" else [])
            if kind == "number" or re.fullmatch(r"-?\d+(\.\d+)?", values.get(name, "") or "-"):
                bad_values += [HUGE, HUGER, "1e400"]
            if kind == "date" or re.fullmatch(r"\d{4}-\d{2}-\d{2}", values.get(name, "")):
                bad_values += list(FAR_DATES[:2])
            for bad in bad_values:
                response = client.post(action, data=values | {"csrf_token": csrf, name: bad})
                posts += 1
                if response.status_code >= 500:
                    failures.append(f"POST {action} {name}={bad!r}: {response.status_code}")
                if response.status_code == 303 and response.headers["location"] == "/login":
                    login(client, admin.email)  # a form that ended the session
                    csrf = csrf_from(client.get(page).text)
    assert not failures, "\n".join(failures)
    assert posts > 200
