"""Nothing the dashboard's pages ask for leaves the machine: every request goes to the server on 127.0.0.1."""

from __future__ import annotations

from urllib.parse import urlsplit

from tests.e2e.conftest import go, wait_idle

PAGES = ["Data", "Overview", "Confusion matrix", "Review", "Label issues", "Slices", "Tallies", "Gaps", "Shift"]


def test_every_request_of_the_pages_goes_to_the_local_server(demo_server, page):
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    for name in PAGES:
        go(page, demo_server, name)
        wait_idle(page)
    page.wait_for_load_state("networkidle")
    outside = sorted({u for u in urls if urlsplit(u).scheme not in ("data", "blob")
                      and urlsplit(u).hostname != "127.0.0.1"})
    assert urls and not outside, outside
