"""Browser end-to-end tests: Playwright drives Debian's Chromium against the app as `make run` starts it."""
