"""The API docs render in a browser that cannot reach the internet (a district's data centre):
every request leaving this server is refused, Swagger UI still draws the operations, and the
page's CSP reports no violation."""

from playwright.sync_api import expect

from tests.console.browser.conftest import screenshot


def test_swagger_ui_renders_with_the_internet_cut_off(new_page, asgi_server):
    page = new_page()
    outside, violations = [], []

    def only_this_server(route):
        if route.request.url.startswith(asgi_server.url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_this_server)
    page.on("console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None)
    page.goto("/api/docs/")
    # An operation of the schema, drawn by Swagger UI from /api/schema/.
    expect(page.locator(".opblock-summary-path", has_text="/api/v1/posts").first).to_be_visible(timeout=15_000)
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("社区通 API")
    screenshot(page, "api-docs-offline")
    assert outside == []
    assert violations == []
