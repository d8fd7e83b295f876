"""What a script writer needs beside the schemas: a curl session per group, and the cookie rule.

The group texts become the OpenAPI tags' descriptions (Markdown: the /api/docs page shows the
fenced blocks as code); the notes are added to the descriptions of the operations they concern.
tests/browser/test_api_docs.py runs every block against a live server, so they stay true.
"""

from __future__ import annotations

# Written here as `make run`'s address; /api/docs and /api/openapi.json show the address they
# were served from instead (webapp/apidocs/__init__.py).
BASE = "http://127.0.0.1:8000"

COOKIE_RULE = (
    "Only the uploader may do this (or an admin): the answer to the upload set a signed "
    "`cv_client` cookie; send it back. With curl, keep it with `-c jar.txt` on the upload and "
    "send it with `-b jar.txt` here. Without it: 403."
)

GROUPS = {
    "classification": f"""Classify photos and correct the answers.

Classify a photo, keeping the uploader cookie (`-c`): giving the true label needs it (`-b`).
Every face found is answered in `faces` (largest first, with its box); a label names its face
(`"face": 0` is the largest); a second answer replaces the first; `{{"no_face": true}}` says the
photo holds no face.

```
ID=$(curl -s -c jar.txt -F image=@face.jpg -F task=smiling {BASE}/api/classify | jq -r .id)
curl -s {BASE}/api/tasks          # the tasks, their labels and deployed versions
curl -s -b jar.txt {BASE}/api/classify/$ID | jq -c '.faces[] | {{face: .index, label: .label, box: .face_box}}'
curl -s -b jar.txt -H 'Content-Type: application/json' -d '{{"label": "smiling", "face": 0}}' \\
  {BASE}/api/classify/$ID/feedback
curl -s -b jar.txt -H 'Content-Type: application/json' -d '{{"label": "not_smiling"}}' \\
  {BASE}/api/classify/$ID/feedback   # changed my mind: replaces the earlier answer
curl -s -b jar.txt -X DELETE {BASE}/api/classify/$ID   # the photo and its labels are gone
```""",
    "style": f"""Restyle photos and rate the results.

Start a stylization (202 with its id), poll it until `done`, fetch the picture, rate it and
delete it (its pictures and result with it) with the uploader cookie. `strength` 0 gives the
photo back, 1 the full style; `size` is the longest side.

```
J=$(curl -s -c jar.txt -F "content=@photo.jpg" -F "style=@painting.jpg" -F strength=0.8 -F size=256 \\
  {BASE}/api/stylize | jq -r .id)
until curl -s {BASE}/api/stylize/$J | jq -e '.status == "done" or .status == "failed"' >/dev/null; do
  sleep 1
done
curl -s -o result.png {BASE}/api/stylize/$J/result
curl -s -b jar.txt -H 'Content-Type: application/json' -d '{{"stars": 5}}' {BASE}/api/stylize/$J/rating
curl -s -b jar.txt -X DELETE -o /dev/null -w '%{{http_code}}\\n' {BASE}/api/stylize/$J   # 204: gone, files too
curl -s {BASE}/api/styles | jq '.[] | {{method, presets: [.presets[]?.name]}}'   # methods, preset names
curl -s -c jar.txt -F content=@photo.jpg -F method=preset -F preset=3 {BASE}/api/stylize
```""",
    "admin": f"""Tasks, retraining, the model registry and the review queue (admins only).

Every admin route takes HTTP Basic credentials of an admin account (`-u`), or an admin's
logged-in session with the `X-CSRFToken` header on writes.

```
A='admin:your-password'
curl -s -u "$A" -H 'Content-Type: application/json' \\
  -d '{{"name": "glasses", "labels": ["glasses", "no_glasses"]}}' {BASE}/api/admin/tasks
curl -s -u "$A" -F archive=@glasses.zip {BASE}/api/admin/tasks/glasses/import   # <label>/*.jpg
JOB=$(curl -s -u "$A" -H 'Content-Type: application/json' -d '{{"task": "glasses"}}' \\
  {BASE}/api/admin/retrain | jq -r .job_id)
curl -s -u "$A" {BASE}/api/admin/jobs/$JOB | jq '{{status, progress, result}}'
curl -s -u "$A" {BASE}/api/admin/models/glasses | jq '.[] | {{version, deployed, metrics}}'
curl -s -u "$A" -X POST {BASE}/api/admin/models/smiling/rollback   # 409 when there is nothing before
```""",
    "operations": f"""Health checks, metrics and this description. `/metrics` answers an admin
(`-u`) or a scraper holding `METRICS_TOKEN` (`-H "Authorization: Bearer $METRICS_TOKEN"`).

```
curl -s {BASE}/healthz
curl -s -u 'admin:your-password' {BASE}/metrics | grep '^celebvision_' | head
curl -s {BASE}/api/openapi.json | jq '.paths | keys'
```""",
}

# endpoint -> what its description adds (the rule where it applies)
NOTES = {
    "api.feedback": COOKIE_RULE,
    "api.rate": COOKIE_RULE,
    "api.cancel": COOKIE_RULE,
    "api.stylize_input": COOKIE_RULE,
    "api.classify": "The answer sets the `cv_client` cookie that feedback on it needs: keep it "
    "(curl: `-c jar.txt`).",
    "api.stylize": "The answer sets the `cv_client` cookie that rating, cancelling and reading "
    "the input pictures need: keep it (curl: `-c jar.txt`). Status and result need only the id.",
}


def describe(endpoint: str, description: str) -> str:
    """An operation's description with its note (if any) appended."""
    note = NOTES.get(endpoint)
    if not note:
        return description
    return f"{description.rstrip()}\n\n{note}" if description else note
