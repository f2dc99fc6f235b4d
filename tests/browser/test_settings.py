"""An admin sets up a team and an API token in Chromium; the token then works on the API."""

import json
import urllib.request

from playwright.sync_api import Page, expect

from tests.browser.conftest import artifact, sign_in


def test_admin_creates_a_team_and_a_token_that_the_api_accepts(page: Page, live_server: str):
    sign_in(page, "admin@northstar.demo")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
    page.get_by_role("link", name="Teams", exact=True).first.click()
    page.get_by_label("Name", exact=True).fill("Search ranking")
    page.get_by_label("Slug (lowercase letters, digits, hyphens)").fill("search-ranking")
    page.get_by_role("button", name="Create team").click()
    expect(page.get_by_role("status")).to_contain_text("Search ranking")
    expect(page.get_by_role("cell", name="search-ranking")).to_be_visible()

    page.goto("/settings/tokens")
    page.get_by_label("User").select_option(value="pm@northstar.demo")
    page.get_by_label("Name (e.g. CI deploy hook)").fill("browser-made token")
    page.get_by_role("button", name="Create token").click()
    secret = page.locator("#token-secret").inner_text().strip()
    assert secret.startswith("nst_")
    page.screenshot(path=str(artifact("settings-token-created.png")), full_page=True)

    request = urllib.request.Request(f"{live_server}/api/v1/teams",
                                     headers={"Authorization": f"Bearer {secret}"})
    with urllib.request.urlopen(request) as response:
        slugs = [t["slug"] for t in json.load(response)["items"]]
    assert "search-ranking" in slugs

    # The list never shows the secret again.
    page.goto("/settings/tokens")
    expect(page.get_by_text(secret)).to_have_count(0)
