"""A recovered job's log tail keeps the line that says its worker stopped: repeated progress
lines replace each other instead of pushing it out."""

from __future__ import annotations

import datetime as dt


def test_a_recovered_jobs_log_keeps_the_retry_line(app, monkeypatch):
    from webapp.extensions import db
    from webapp.jobs import runner
    from webapp.tables import Job, utcnow

    monkeypatch.setattr(runner, "LOG_REPEAT_SECONDS", 0.0)  # every progress message is written
    with app.app_context():
        job = runner.create_job("stylize", target="nst", params={})
        db.session.commit()
        job.status, job.attempts = "running", 1
        job.heartbeat = utcnow() - dt.timedelta(hours=1)
        db.session.commit()
        assert runner.recover_stale_jobs("style", 60) == [job.id]

        ctx = runner.JobContext(job.id)
        for epoch in range(3):
            for step in range(60):
                ctx.progress(step / 200, f"level 1/3 at 128 px, evaluation {step}")
            ctx.log(f"epoch {epoch + 1}/3 done, loss {0.5 - epoch / 10:.2f}")
        tail = runner.describe_job(db.session.get(Job, job.id))["log_tail"]
    assert "the worker stopped during attempt 1" in tail, tail
    assert tail.count("evaluation") == 3, tail  # the last one of each run of progress lines
    epochs = [line.split(" ", 1)[1] for line in tail.splitlines() if "epoch" in line]
    assert epochs == [
        "epoch 1/3 done, loss 0.50",
        "epoch 2/3 done, loss 0.40",
        "epoch 3/3 done, loss 0.30",
    ]
