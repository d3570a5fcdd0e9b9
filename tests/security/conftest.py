"""The browser fixtures of tests/e2e (Debian's chromium through Playwright), for the security tests that sign in
and upload in a real browser."""

from tests.e2e.conftest import browser, e2e_ready  # noqa: F401 - fixtures used by name
