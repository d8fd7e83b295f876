/* Jobs list: recent jobs with progress bars that update every second while any job is queued or running. */
(function () {
  "use strict";
  const A = window.CVAdmin, h = A.h;
  const body = document.getElementById("jobs-body");
  const kind = document.getElementById("jobs-kind");
  const live = document.getElementById("jobs-live");

  function outcome(job) {
    const r = job.result;
    if (job.status === "failed") return h("span", { class: "text-danger small", text: job.error || "failed" });
    if (!r || job.kind !== "retrain") return r && r.model_version ? r.model_version : "";
    return h("span", { class: "badge " + (r.promoted ? "badge-success" : "badge-warning"), title: r.reason || "",
      text: (r.model_version || "") + (r.promoted ? " promoted" : " not promoted") });
  }

  function row(job) {
    const href = "/admin/jobs/" + encodeURIComponent(job.id);
    const pct = Math.round(job.progress * 100);
    return h("tr", { testid: "job-row-" + job.id, "data-status": job.status },
      h("td", {}, h("a", { href: href, class: "mono", testid: "job-link-" + job.id, text: job.id.slice(0, 8) })),
      h("td", { text: job.kind }),
      h("td", {}, job.target ? (job.kind === "retrain"
        ? h("a", { href: "/admin/models/" + encodeURIComponent(job.target), text: job.target }) : job.target) : "—"),
      h("td", {}, A.statusBadge(job.status, "job-status-" + job.id)),
      h("td", { class: "progress-col" }, h("div", { class: "progress-cell" }, A.progressBar(job, "job-progress-" + job.id),
        h("span", { class: "pct small", text: (job.status === "done" ? 100 : pct) + "%" })),
        A.isActive(job) ? h("div", { class: "small muted ellipsis", text: A.lastLine(job.log_tail) }) : null),
      h("td", { class: "nowrap", text: A.fmtTime(job.created) }),
      h("td", { text: job.created_by || "—" }),
      h("td", {}, outcome(job)));
  }

  async function refresh() {
    const q = new URLSearchParams({ limit: "50" });
    if (kind.value) q.set("kind", kind.value);
    try {
      const jobs = await CV.api("GET", "/api/admin/jobs?" + q);
      body.replaceChildren.apply(body, jobs.length ? jobs.map(row) : [A.messageRow(8, "No jobs yet.", "jobs-empty")]);
      const active = jobs.filter(A.isActive).length;
      live.textContent = active ? active + " active · updating every second" : "No active jobs";
      return active > 0;
    } catch (err) { A.fail(err); return false; }
  }

  const poller = A.poll(refresh, 1000, 10000);
  kind.addEventListener("change", poller.refresh);
})();
