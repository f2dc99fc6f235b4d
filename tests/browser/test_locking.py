"""Two admins edit the same team in Chromium: the second save is refused and shows both
versions (issue 14), and the real browser's Origin passes the CSRF origin check."""

from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import artifact, sign_in


def test_a_stale_team_edit_shows_both_versions(browser: Browser, page: Page, live_server: str):
    other = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 900})
    first = other.new_page()
    try:
        sign_in(first, "admin@northstar.demo")
        sign_in(page, "admin@northstar.demo")
        for tab in (first, page):
            tab.goto("/settings/teams/forecasting")
        first.get_by_label("Description").fill("Demand forecasts for the supply chain.")
        first.get_by_role("button", name="Save team").click()
        expect(first.get_by_role("status")).to_contain_text("saved")

        page.get_by_label("Description").fill("Weekly sales forecasts per store.")
        page.get_by_role("button", name="Save team").click()
        notice = page.get_by_test_id("conflict")
        expect(notice).to_contain_text("Not saved")
        expect(notice.locator("td.theirs")).to_contain_text("Demand forecasts")
        expect(notice.locator("td.yours")).to_contain_text("Weekly sales forecasts")
        expect(page.get_by_label("Description")).to_have_value("Weekly sales forecasts per store.")
        page.screenshot(path=str(artifact("locking-team-conflict.png")), full_page=True)
        # The refused save is the 409 the browser logs; nothing else may be.
        expected = [p for p in page.problems if "status of 409" in p]  # type: ignore[attr-defined]
        assert len(expected) == 1
        page.problems.remove(expected[0])  # type: ignore[attr-defined]

        # Saving again on purpose replaces their version.
        page.get_by_role("button", name="Save team").click()
        expect(page.get_by_role("status")).to_contain_text("saved")
        expect(page.get_by_label("Description")).to_have_value("Weekly sales forecasts per store.")
    finally:
        other.close()
