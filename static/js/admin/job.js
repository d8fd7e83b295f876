/* One job: live progress and log tail, the result (promoted or refused, with the reason), cancel. */
(function () {
  "use strict";
  const A = window.CVAdmin, h = A.h;
  const jobId = document.getElementById("job").dataset.jobId;
  const url = "/api/admin/jobs/" + encodeURIComponent(jobId);
  const cancelBtn = document.getElementById("job-cancel");
  const log = document.getElementById("job-log");

  function renderOutcome(job) {
    const box = document.getElementById("job-outcome");
    const r = job.result || {};
    box.hidden = A.isActive(job);
    if (box.hidden) return;
    let kind, title, text;
    if (job.status === "failed") {
      kind = "error"; title = "Failed"; text = job.error || "The job failed; see the log.";
    } else if (job.kind === "retrain" && "promoted" in r) {
      kind = r.promoted ? "success" : "warning";
      title = r.promoted ? r.model_version + " promoted" : r.model_version + " not promoted";
      text = r.reason;
    } else {
      kind = "success"; title = "Done"; text = r.model_version ? "Produced " + r.model_version + "." : "The job finished.";
    }
    box.className = "outcome outcome-" + kind;
    box.dataset.outcome = job.status === "failed" ? "failed" : (r.promoted === false ? "refused" : (r.promoted ? "promoted" : "done"));
    const links = [];
    if (job.kind === "retrain" && job.target) {
      links.push(h("a", { class: "btn btn-secondary btn-sm", href: "/admin/models/" + encodeURIComponent(job.target) +
        (r.model_version ? "?version=" + encodeURIComponent(r.model_version) : ""), testid: "job-open-model", text: "Open in Models" }));
    }
    const warnings = (job.kind === "retrain" && Array.isArray(r.warnings)) ? r.warnings : [];
    const hold = r.holdout || null;
    const holdNote = hold ? h("span", { class: "small" + (hold.trusted ? " muted" : ""), testid: "job-holdout",
      text: "Holdout: " + hold.n + " images (" + Object.entries(hold.sources || {}).map(function (p) {
        return p[1] + " " + p[0].replace(/_/g, " ");
      }).join(", ") + ")." + (hold.warning ? " " + hold.warning : "") }) : null;
    const plain = (job.kind === "retrain" && r.plain) ? r.plain : null;
    const said = plain ? [h("span", { testid: "job-outcome-plain", text: plain.headline }),
      h("span", { testid: "job-outcome-next", text: "Next: " + plain.next }),
      r.reliability ? h("span", { class: "small", testid: "job-outcome-reliability", text: r.reliability }) : null] : [];
    const stats = [h("span", { testid: "job-outcome-reason", text: text || "" }),
      warnings.map(function (w) { return h("span", { class: "outcome-flag", testid: "job-outcome-warning", text: "Warning: " + w }); }),
      holdNote];
    box.replaceChildren(h("div", { class: "outcome-text" }, h("strong", { class: "outcome-title", testid: "job-outcome-title", text: title }),
      said, plain ? h("details", { class: "stats", testid: "job-outcome-details" },
        h("summary", { text: "Statistics and warnings" }), stats) : stats), h("div", { class: "outcome-links" }, links));
  }

  function renderCompare(job) {
    const wrap = document.getElementById("job-compare");
    const r = job.result || {};
    if (!r.metrics || !r.compared_with) { wrap.replaceChildren(); return; }
    const other = r.compared_with.metrics || {};
    const keys = Object.keys(r.metrics).filter(function (k) { return typeof r.metrics[k] === "number" && k !== "n"; });
    const theirs = r.compared_with.model_version || "majority baseline";
    wrap.replaceChildren(h("h3", { class: "compare-title", text: "Holdout: candidate vs " + theirs }),
      h("div", { class: "table-wrap" }, h("table", { class: "table table-compact", testid: "job-compare-table" },
        h("thead", {}, h("tr", {}, h("th", { text: "Metric" }), h("th", { class: "num", text: r.model_version || "candidate" }), h("th", { class: "num", text: theirs }))),
        h("tbody", {}, keys.map(function (k) {
          const a = r.metrics[k], b = other[k];
          const better = typeof b === "number" ? (a > b ? "is-better" : a < b ? "is-worse" : "") : "";
          return h("tr", {}, h("td", { text: k.replace(/_/g, " ") }), h("td", { class: "num " + better, text: A.fmtMetric(a) }), h("td", { class: "num", text: A.fmtMetric(b) }));
        })))));
  }

  function render(job) {
    document.getElementById("job-title").textContent = CV.capitalize(job.kind) + (job.target ? " · " + job.target : "");
    A.setStatus(document.getElementById("job-status"), job.status);
    A.setProgress(document.getElementById("job-progress"), job);
    const pct = job.status === "done" ? 100 : Math.round(job.progress * 100);
    document.getElementById("job-pct").textContent = pct + "%";
    document.getElementById("job-message").textContent = A.isActive(job) ? (A.lastLine(job.log_tail) || job.status) : job.status;
    const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 24;
    log.textContent = job.log_tail || "(no log yet)";
    if (atBottom) log.scrollTop = log.scrollHeight;
    A.kvList(document.getElementById("job-kv"), [
      ["Kind", job.kind], ["Target", job.target], ["Started by", job.created_by],
      ["Created", A.fmtTime(job.created)], ["Started", A.fmtTime(job.started)], ["Finished", A.fmtTime(job.finished)],
      ["Duration", job.started ? A.fmtDuration(job.started, job.finished) : "—"],
      job.error ? ["Error", h("span", { class: "text-danger", text: job.error })] : null]);
    cancelBtn.hidden = !A.isActive(job);
    renderOutcome(job);
    renderCompare(job);
    document.getElementById("job-result-card").hidden = !job.result;
    document.getElementById("job-result").textContent = job.result ? JSON.stringify(job.result, null, 2) : "";
    document.getElementById("job").dataset.status = job.status;
    return A.isActive(job);
  }

  const poller = A.poll(function () { return CV.api("GET", url).then(render).catch(function (err) { A.fail(err); return false; }); }, 1000, 0);

  cancelBtn.addEventListener("click", async function () {
    CV.setBusy(cancelBtn, true, "Cancelling…");
    try {
      await CV.api("POST", url + "/cancel");
      CV.showAlert("Cancel requested: the job stops at its next checkpoint.", "info");
    } catch (err) { A.fail(err); }
    CV.setBusy(cancelBtn, false);
    poller.refresh();
  });
})();
