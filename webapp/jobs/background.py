"""Work that runs beside a process's main job: daemon threads in the app's context."""

from __future__ import annotations

import threading

from flask import Flask

from webapp.extensions import db


def in_background(app: Flask, work, name: str) -> threading.Thread:
    """Run `work()` in `app`'s context in a daemon thread; a failure is logged, never raised.

    A cold start is slower, never broken: whatever `work` warms is loaded on first use instead.
    """

    def run() -> None:
        with app.app_context():
            try:
                work()
            except Exception:
                app.logger.exception("%s failed; models load on first use instead", name)
            finally:
                db.session.remove()

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    return thread
