"""HTTP round trips the tests (and the benches) share: a request from an address, a login,
queueing a retrain and waiting for a job to end.

`client` is a Flask test client; `admin` the HTTP Basic header of the `admin` fixture. The waits
poll the public routes, as an admin's script or the console does, so they see what a user sees.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable

from tests.services import wait_for

ENDED = ("done", "failed")


def at(address: str) -> dict:
    """Keyword arguments that make a test client's request come from `address`."""
    return {"environ_base": {"REMOTE_ADDR": address}}


def basic(user: str, password: str) -> dict:
    """An HTTP Basic `Authorization` header."""
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def login_form(client, username="root", password="s3cret-pass", next_url=None, **extra):
    """Log in through the /login form (its CSRF token included); the POST's response."""
    page = client.get("/login", **extra)
    token = re.search(rb'name="csrf_token" value="([^"]+)"', page.data).group(1).decode()
    url = "/login" + (f"?next={next_url}" if next_url else "")
    return client.post(
        url, data={"username": username, "password": password, "csrf_token": token}, **extra
    )


def log_in(client) -> None:
    """Log in as the `admin` fixture's account through the login form (the console's session)."""
    response = login_form(client)
    assert response.status_code == 302, response.data[:500]


def ended(fetch: Callable[[], dict]) -> Callable[[], dict | bool]:
    """A poll predicate for `wait_for`: the body `fetch` returns once its status is done or failed."""
    return lambda: (body := fetch())["status"] in ENDED and body


def wait_until_ended(
    fetch: Callable[[], dict], timeout: float, message: str, interval: float = 1
) -> dict:
    """Poll `fetch` (a job's or a stylization's JSON) until it is done or failed; its last body."""
    return wait_for(ended(fetch), timeout, interval=interval, message=message)


def job(client, admin: dict, job_id: str) -> dict:
    """GET /api/admin/jobs/<id> as an admin."""
    return client.get(f"/api/admin/jobs/{job_id}", headers=admin).json


def start_retrain(client, admin: dict, **target: str) -> str:
    """POST /api/admin/retrain with `task=...` or `style=...`; the queued job's id (asserts 202)."""
    response = client.post("/api/admin/retrain", json=target, headers=admin)
    assert response.status_code == 202, response.json
    return response.json["job_id"]


def wait_for_job(
    client, admin: dict, job_id: str, timeout: float, message: str = "the job"
) -> dict:
    """The job's body once a worker has finished it (done or failed)."""
    return wait_until_ended(lambda: job(client, admin, job_id), timeout, message)


def retrain(client, admin: dict, timeout: float, **target: str) -> dict:
    """Queue a retrain of `target` and wait for a running worker to end it; the job's body."""
    job_id = start_retrain(client, admin, **target)
    name = next(iter(target.values()))
    return wait_for_job(client, admin, job_id, timeout, message=f"the {name} retrain")
