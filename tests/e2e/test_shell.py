"""The shell in the browser: one header row on desktop, the tab bar with live counts on a
phone, menus that close on Escape, and toasts that never cover the page's controls."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import same_in_every_mode

pytestmark = [pytest.mark.e2e, same_in_every_mode]

PHONE = {"viewport": {"width": 360, "height": 740}}


def test_desktop_header_is_one_row_with_the_user_menu(login) -> None:
    page = login("learner", viewport={"width": 1280, "height": 800})
    header = page.locator(".site-header").bounding_box()
    assert header is not None and header["height"] <= 64, header
    expect(page.locator("[data-testid=tabbar]")).to_be_hidden()
    page.wait_for_function("() => window.Lyceum && window.Lyceum.formatDate")  # ui.js ran
    menu = page.locator("[data-testid=user-menu]")
    menu.locator("summary").click()
    expect(menu.locator("[data-testid=menu-profile]")).to_be_visible()
    expect(menu.locator("[data-testid=logout]")).to_be_visible()
    page.keyboard.press("Escape")
    expect(menu.locator("[data-testid=menu-profile]")).to_be_hidden()
    expect(menu.locator("summary")).to_be_focused()


def test_phone_tab_bar_mirrors_the_live_chat_count(login) -> None:
    page = login("manager", **PHONE)  # in no conversation: nothing unread
    tab_count = page.locator("[data-testid=tabbar] [data-mirror=chat-unread]")
    expect(page.locator("[data-testid=tabbar]")).to_be_visible()
    expect(tab_count).to_be_hidden()
    page.wait_for_function("() => window.Lyceum && window.Lyceum.chatNav")
    page.evaluate("() => window.Lyceum.chatNav.set(999999, 4)")
    expect(tab_count).to_be_visible()
    expect(tab_count).to_have_text("4")
    page.evaluate("() => window.Lyceum.chatNav.set(999999, 0)")
    expect(tab_count).to_be_hidden()


def covered_controls(page: Page) -> list[str]:
    return page.evaluate(
        """() => {
          const toast = document.querySelector("#toasts").getBoundingClientRect();
          const all = document.querySelectorAll("main a[href], main button, main input");
          return [...all]
            .filter((el) => {
              const r = el.getBoundingClientRect();
              return r.width && r.height && r.left < toast.right && toast.left < r.right
                && r.top < toast.bottom && toast.top < r.bottom;
            }).map((el) => el.outerHTML.slice(0, 80));
        }"""
    )


def test_a_toast_never_covers_a_control_of_the_page(login) -> None:
    page = login("admin", **PHONE)
    page.goto("/style-guide/")
    # A control of the page just above the tab bar, where a toast would first go.
    page.evaluate(
        """() => {
          const b = document.createElement("button");
          b.textContent = "Take the seat"; b.className = "btn btn-primary";
          b.dataset.testid = "low-action";
          b.style.position = "fixed"; b.style.right = "8px"; b.style.bottom = "72px";
          document.querySelector("main").append(b);
        }"""
    )
    page.evaluate("() => window.Lyceum.toast('A seat is free', '/sessions/')")
    toast = page.locator("#toasts .toast")
    expect(toast).to_be_visible()
    assert covered_controls(page) == []
    # Dismissable with its own labelled button.
    toast.get_by_role("button", name="Dismiss").click()
    expect(toast).to_have_count(0)

    # Without a control at the bottom, the toast sits there (above the tab bar).
    page.evaluate("() => document.querySelector('[data-testid=low-action]').remove()")
    page.evaluate("() => window.scrollTo(0, 0)")
    page.evaluate("() => window.Lyceum.toast('Saved')")
    expect(page.locator("#toasts .toast")).to_be_visible()
    assert covered_controls(page) == []
