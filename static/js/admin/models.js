/* Models: the targets list; for one target its versions, plots, retrain, promote, rollback and schedule. */
(function () {
  "use strict";
  const A = window.CVAdmin, h = A.h;
  const root = document.getElementById("models");
  const target = root.dataset.target;
  const enc = encodeURIComponent;

  // ---------- targets list (/admin/models) ----------

  async function loadTargets() {
    const body = document.getElementById("targets-body");
    try {
      const [targets, tasks] = await Promise.all([CV.api("GET", "/api/admin/targets"), CV.api("GET", "/api/tasks")]);
      const taskNames = new Set(tasks.map(function (t) { return t.name; }));
      body.replaceChildren.apply(body, targets.length ? targets.map(function (t) {
        const href = "/admin/models/" + enc(t.target);
        return h("tr", { testid: "target-row-" + t.target },
          h("td", {}, h("a", { href: href, class: "strong-link", testid: "target-link-" + t.target, text: t.target })),
          h("td", { text: taskNames.has(t.target) ? "classifier" : "style" }),
          h("td", {}, t.deployed ? h("span", { class: "badge badge-success", text: t.deployed }) : h("span", { class: "muted", text: "none" })),
          h("td", { class: "num", text: String(t.versions) }),
          h("td", { class: "actions" }, h("a", { class: "btn btn-secondary btn-sm", href: href, text: "Open" })));
      }) : [A.messageRow(5, "No targets yet: create a task first.")]);
    } catch (err) { A.fail(err); }
  }

  if (!target) { loadTargets(); return; }

  // ---------- one target (/admin/models/<target>) ----------

  const base = "/api/admin/models/" + enc(target);
  const retrainBtn = document.getElementById("retrain-btn");
  const rollbackBtn = document.getElementById("rollback-btn");
  let isTask = true;
  let versions = [];
  let selected = A.param("version");
  let watching = null;

  function dataSummary(c) {
    if (!c) return "—";
    const sum = function (o) { return Object.values(o || {}).reduce(function (a, b) { return a + b; }, 0); };
    const parts = [];
    if (c.train) parts.push(sum(c.train) + " train");
    if (c.holdout) parts.push(sum(c.holdout) + " holdout");
    if (c.feedback_labels !== undefined) parts.push(c.feedback_labels + " from feedback");
    return parts.length ? parts.join(" · ") : Object.entries(c).map(function (e) { return e[0] + " " + JSON.stringify(e[1]); }).join(", ");
  }

  function versionRow(v) {
    const m = v.metrics || {};
    const isSel = v.version === selected;
    const action = v.deployed ? h("span", { class: "muted small", text: "serving" })
      : h("button", { type: "button", class: "btn btn-secondary btn-sm", testid: "promote-" + v.version,
        on: { click: function (e) { e.stopPropagation(); askPromote(v.version, e.currentTarget); } } },
        h("span", { class: "spinner", "aria-hidden": "true" }), h("span", { class: "btn-label", text: "Promote" }));
    const row = h("tr", { class: "version-row" + (isSel ? " is-selected" : "") + (v.deployed ? " is-deployed" : ""), testid: "version-row-" + v.version },
      h("td", { class: "nowrap" }, h("button", { type: "button", class: "link-like", testid: "select-" + v.version, "aria-pressed": String(isSel),
        on: { click: function () { select(v.version); } } }, v.version),
        v.deployed ? h("span", { class: "badge badge-success deployed-mark", testid: "deployed-" + v.version, text: "deployed" }) : null),
      h("td", { class: "nowrap opt", text: A.fmtTime(v.created) }),
      h("td", { class: "num", text: A.fmtMetric(m.accuracy) }),
      h("td", { class: "num opt", text: A.fmtMetric(m.f1_macro) }),
      h("td", { class: "num", text: A.fmtMetric(m.roc_auc) }),
      h("td", { class: "small opt", text: dataSummary(v.data_counts) }),
      h("td", { class: "opt", text: v.parent || "—" }),
      h("td", { class: "opt", text: v.created_by || "—" }),
      h("td", { class: "actions" }, action));
    return row;
  }

  function showPlots(v) {
    document.querySelectorAll("#plots figure.is-evidence").forEach(function (f) { f.remove(); });
    const all = Array.from(document.querySelectorAll("#plots figure"));
    // Which of the usual plots this version has: a classifier all; a face model retrained here its
    // holdout's (no training curve); a shipped face model and the style models none of them.
    const retrainedFace = v.kind === "face" && (v.metrics || {}).holdout;  // or evaluated on a bundled set
    const figures = all.filter(function (fig) {
      const has = !v.kind || v.kind === "classifier" || (retrainedFace && /^holdout\//.test(fig.dataset.plot));
      if (!has) { fig.hidden = true; fig.querySelector("img").removeAttribute("src"); }
      return has;
    });
    figures.forEach(function (fig) {  // a shipped version was measured on a bundled set, not a holdout
      const caption = fig.querySelector("figcaption");
      caption.dataset.text = caption.dataset.text || caption.textContent;
      caption.textContent = (v.metrics || {}).evaluation_set
        ? caption.dataset.text.replace("(holdout)", "(evaluation set)") : caption.dataset.text;
    });
    let pending = figures.length, shown = 0;
    const none = document.getElementById("plots-none");
    none.hidden = true;
    const standard = all.map(function (fig) { return fig.dataset.plot; });
    const evidence = ((v.metrics || {}).files || []).filter(function (f) { return /\.png$/.test(f) && standard.indexOf(f) < 0; });
    if (!figures.length && !evidence.length) {
      none.hidden = false;
      return;
    }
    evidence.forEach(function (name) {  // a shipped version's plots on its bundled evaluation set
      const title = CV.capitalize(name.replace(/\.png$/, "").replace(/^holdout\//, "").replace(/[/_]+/g, " ")) +
        ((v.metrics || {}).evaluation_set ? " (evaluation set)" : "");
      const fig = h("figure", { class: "is-evidence", "data-plot": name },
        h("img", { alt: title, testid: "plot-evidence-" + name.replace(/\W+/g, "-") }), h("figcaption", { text: title }));
      document.getElementById("plots").append(fig);
      figures.push(fig);
    });
    pending = figures.length;
    figures.forEach(function (fig) {
      const img = fig.querySelector("img");
      fig.hidden = true;
      img.onload = function () { fig.hidden = false; shown++; if (--pending === 0) none.hidden = shown > 0; };
      img.onerror = function () { fig.hidden = true; if (--pending === 0) none.hidden = shown > 0; };
      img.src = base + "/" + enc(v.version) + "/files/" + fig.dataset.plot;
    });
  }

  function renderDetail() {
    const v = versions.find(function (x) { return x.version === selected; });
    const card = document.getElementById("version-detail");
    card.hidden = !v;
    if (!v) return;
    document.getElementById("detail-title").textContent = "Version " + v.version;
    document.getElementById("detail-badges").replaceChildren(v.deployed ? h("span", { class: "badge badge-success", text: "deployed" }) : "");
    const m = v.metrics || {};
    const numeric = Object.entries(m).filter(function (e) { return typeof e[1] === "number" && e[0] !== "n"; });
    A.kvList(document.getElementById("detail-kv"), [
      ["Kind", v.kind],
      ["Holdout metrics", numeric.length ? h("span", { class: "metric-chips" }, numeric.map(function (e) {
        return h("span", { class: "chip" }, h("span", { class: "muted", text: e[0].replace(/_/g, " ") + " " }), A.fmtMetric(e[1]));
      })) : "—"],
      v.verdict ? ["Gate", h("span", {}, h("span", { testid: "detail-verdict", text: v.verdict.headline + " " }),
        h("span", { class: "muted", testid: "detail-next", text: v.verdict.next }))] : null,
      ["Holdout size", m.n == null ? "—" : String(m.n)],
      m.evaluation_set ? ["Evaluation set", evaluationSet(m.evaluation_set), "version-evaluation"] : null,
      m.no_face ? ["Pictures without a face", m.no_face.answered_as_face + " of " + m.no_face.pictures +
        " taken for a face", "version-no-face"] : null,
      (m.holdout || {}).reliability ? ["Reliability table", reliabilityTable(m.holdout), "version-reliability-table"] : null,
      m.age ? ["Age error by band", ageTable(m.age), "version-age"] : null,
      ["Live agreement", liveText(v.live_agreement), "version-live-agreement"],
      ["Reliability", reliability(m.calibration, m.reliability_text)],
      ["Data", dataSummary(v.data_counts)],
      ["Parent", v.parent || "—"],
      ["Created", A.fmtTime(v.created) + (v.created_by ? " by " + v.created_by : "")],
      ["Job", v.job_id ? h("a", { href: "/admin/jobs/" + enc(v.job_id), class: "mono", text: v.job_id.slice(0, 8) }) : "—"],
      ["Size", v.size_bytes ? CV.formatBytes(v.size_bytes) : "—"],
      ["sha256", h("span", { class: "mono small break", text: v.sha256 || "—" })]]);
    showPlots(v);
  }

  /* Which bundled set a shipped version was measured on: its name, size and licence. */
  function evaluationSet(e) {
    return h("span", {}, (e.name || "—") + " · " + (e.n == null ? "?" : e.n) + " pictures",
      e.licence ? h("div", { class: "small muted", text: "Licence: " + e.licence }) : null);
  }

  function table(head, rows, testid) {
    return h("div", { class: "table-wrap" }, h("table", { class: "table table-compact small", testid: testid },
      h("thead", {}, h("tr", {}, head.map(function (c) { return h("th", { text: c }); }))),
      h("tbody", {}, rows.map(function (r) { return h("tr", {}, r.map(function (c) { return h("td", { text: c }); })); }))));
  }

  /* Per band of shown confidence: how many answers and how often they were right. */
  function reliabilityTable(holdout) {
    const pct = function (x) { return x == null ? "—" : Math.round(100 * x) + " %"; };
    const rows = holdout.reliability.map(function (r) {
      return [pct(r.from) + " – " + pct(r.to), String(r.n), pct(r.mean_confidence), pct(r.accuracy)];
    });
    const c = holdout.confident_95;
    return h("div", {}, table(["Shown confidence", "Answers", "Mean shown", "Right"], rows, "reliability-table"),
      c ? h("div", { class: "small muted", text: "Answers shown at 95 % or more: " + c.n + ", right " + pct(c.accuracy) + "." }) : null);
  }

  /* Mean signed error (years; negative: answered too young) per age band, before and after the
     correction measured at development, and on fresh faces when measured. */
  function ageTable(age) {
    const dev = age.development || {}, measured = age.measured;
    const shipped = dev.served || dev.after;  // served: age_years as answered (held in its bracket)
    const bands = Object.keys((shipped || {}).mean_signed_error || (measured || {}).by_band || {});
    const yrs = function (x) { return x == null ? "—" : (x > 0 ? "+" : "") + Number(x).toFixed(1); };
    const rows = bands.map(function (b) {
      return [b, yrs(((dev.before || {}).mean_signed_error || {})[b]), yrs(((shipped || {}).mean_signed_error || {})[b]),
        measured && measured.by_band[b] ? yrs(measured.by_band[b].mean_signed_error) : "—"];
    });
    const facts = [];
    if (shipped) facts.push("Mean absolute error (13+): " + shipped.mae_13_plus + " years; children answered 0-17: " + Math.round(100 * shipped.children_recall) + " %.");
    if (dev.set) facts.push("Measured on " + dev.set + ".");
    return h("div", {}, table(["Age band", "Before correction", "Shipped", "Measured here"], rows, "age-table"),
      facts.map(function (f) { return h("div", { class: "small muted", text: f }); }));
  }

  /* How often users' labels agreed with what this version answered since it was deployed. */
  function liveText(live) {
    if (!live || !live.n) return "no labels from users yet";
    return Math.round(100 * live.share) + " % of " + live.n + " user label" + (live.n === 1 ? "" : "s") + " agree with its answers";
  }

  /* How honest the shown probabilities are: calibration error on the holdout before and after
     the temperature fitted there (0 is perfect), and how often an answer claims over 99 %. */
  function reliability(c, words) {
    if (!c || typeof c.temperature !== "number") return "—";
    if (words) return h("span", {}, h("span", { testid: "reliability-text", text: words + " " }),
      h("details", { class: "stats" }, h("summary", { text: "Statistics" }), h("span", { class: "small", text: reliabilityNumbers(c) })));
    return reliabilityNumbers(c);
  }

  function reliabilityNumbers(c) {
    if (typeof c.ece_before !== "number") {  // a shipped version: a temperature fitted elsewhere
      return "temperature " + c.temperature.toFixed(2) + (c.fitted_on ? ", fitted on " + c.fitted_on : "");
    }
    return "temperature " + c.temperature.toFixed(2) + "; calibration error " + A.fmtMetric(c.ece_before) +
      " -> " + A.fmtMetric(c.ece_after) + "; answers above 99 %: " + Math.round(100 * c.share_above_99_before) +
      " % -> " + Math.round(100 * c.share_above_99_after) + " % (" + c.n + " holdout photos)";
  }

  function select(version) {
    selected = version;
    const q = new URLSearchParams(location.search);
    q.set("version", version);
    history.replaceState(null, "", location.pathname + "?" + q);
    renderVersions();
    document.getElementById("version-detail").scrollIntoView({ behavior: "smooth", block: "nearest" });
  }

  function renderVersions() {
    const body = document.getElementById("versions-body");
    body.replaceChildren.apply(body, versions.length ? versions.map(versionRow)
      : [A.messageRow(9, "No versions yet. Retrain to train the first model.", "versions-empty")]);
    document.getElementById("versions-count").textContent = versions.length ? versions.length + " in all" : "";
    const live = versions.find(function (v) { return v.deployed; });
    const badge = document.getElementById("deployed-badge");
    badge.hidden = false;
    badge.className = "badge " + (live ? "badge-success" : "badge-warning");
    badge.textContent = live ? "serving " + live.version : "nothing deployed";
    rollbackBtn.disabled = !live || versions.length < 2 || !confirmBox.hidden;
    renderDetail();
  }

  async function loadVersions() {
    try {
      versions = await CV.api("GET", base);
      if (!versions.some(function (v) { return v.version === selected; })) {
        const live = versions.find(function (v) { return v.deployed; });
        selected = live ? live.version : (versions[0] ? versions[0].version : "");
      }
      renderVersions();
    } catch (err) { A.fail(err); }
  }

  // ---------- promote: say what it does, then do it only when confirmed (as rollback does) ----------

  const promoteBox = document.getElementById("promote-confirm");
  const promoteYes = document.getElementById("promote-yes");
  let promoting = null, promoteButton = null;

  function askPromote(version, button) {
    const live = versions.find(function (v) { return v.deployed; });
    promoting = version; promoteButton = button;
    document.getElementById("promote-confirm-text").textContent = "Promote " + version + " for " + target + "? " +
      "Users get " + version + "'s answers from now on" + (live ? "; " + live.version + " stays in the list and you can roll back to it." : ".") +
      " If the gate did not deploy it by itself, read its job's result first.";
    promoteBox.hidden = false;
    promoteYes.focus();
  }

  document.getElementById("promote-no").addEventListener("click", function () {
    promoteBox.hidden = true;
    if (promoteButton) promoteButton.focus();
  });

  promoteYes.addEventListener("click", async function () {
    CV.setBusy(promoteYes, true, "Promoting…");
    try {
      const out = await CV.api("POST", base + "/" + enc(promoting) + "/promote");
      CV.showAlert("Promoted: " + target + " now serves " + out.deployed + ".", "success");
    } catch (err) {
      CV.showAlert((err.status === 409 ? "Promotion refused: " : "") + err.message, "error");
    }
    CV.setBusy(promoteYes, false);
    promoteBox.hidden = true;
    loadVersions();
  });

  // ---------- rollback: say what it does, then do it only when confirmed ----------

  const confirmBox = document.getElementById("rollback-confirm");
  const rollbackYes = document.getElementById("rollback-yes");

  rollbackBtn.addEventListener("click", async function () {
    const live = versions.find(function (v) { return v.deployed; });
    let back = null;
    try {
      const rows = await CV.api("GET", "/api/admin/deployments?target=" + enc(target));
      back = rows.length ? rows[0].rolls_back_to : null;
    } catch (err) { A.fail(err); return; }
    document.getElementById("rollback-confirm-text").textContent = back
      ? "Roll " + target + " back from " + (live ? live.version : "the deployed version") + " to " + back +
        "? Users get " + back + "'s answers from now on; " + (live ? live.version : "the current version") + " stays in the list and can be promoted again."
      : "There is no earlier deployment of " + target + " to roll back to.";
    rollbackYes.hidden = !back;
    confirmBox.hidden = false;
    rollbackBtn.disabled = true;
    (back ? rollbackYes : document.getElementById("rollback-no")).focus();
  });

  function closeConfirm() {
    confirmBox.hidden = true;
    renderVersions();
    rollbackBtn.focus();
  }
  document.getElementById("rollback-no").addEventListener("click", closeConfirm);

  rollbackYes.addEventListener("click", async function () {
    CV.setBusy(rollbackYes, true, "Rolling back…");
    try {
      const out = await CV.api("POST", base + "/rollback");
      CV.showAlert("Rolled back: " + target + " now serves " + out.deployed + ".", "success");
    } catch (err) {
      CV.showAlert((err.status === 409 ? "Rollback refused: " : "") + err.message, "error");
    }
    CV.setBusy(rollbackYes, false);
    confirmBox.hidden = true;
    loadVersions();
  });

  // ---------- retrain with live progress ----------

  function watch(jobId) {
    if (watching) watching.stop();
    const panel = document.getElementById("retrain-live");
    const bar = document.getElementById("retrain-progress");
    panel.hidden = false;
    document.getElementById("retrain-live-link").href = "/admin/jobs/" + enc(jobId);
    watching = A.poll(async function () {
      const job = await CV.api("GET", "/api/admin/jobs/" + enc(jobId));
      A.setProgress(bar, job);
      A.setStatus(document.getElementById("retrain-live-status"), job.status);
      document.getElementById("retrain-live-pct").textContent = Math.round(job.progress * 100) + "%";
      document.getElementById("retrain-live-msg").textContent = job.error || A.lastLine(job.log_tail) || job.status;
      const active = A.isActive(job);
      retrainBtn.disabled = active;
      if (!active) finished(job);
      return active;
    }, 1000, 0);
  }

  function finished(job) {
    const r = job.result || {};
    const warned = (r.warnings || []).length ? " Warning: " + r.warnings.join(" ") : "";
    const words = r.plain ? " " + r.plain.headline + " " + r.plain.next : "";
    if (job.status === "done" && r.promoted) {
      A.notify("success", "Retrain done: " + r.model_version + " was promoted." + (words || " (" + r.reason + ").") + warned,
        { href: "/admin/jobs/" + enc(job.id), text: "Job details", testid: "retrain-result-link" });
    } else if (job.status === "done") {
      A.notify("warning", "Retrain done: " + r.model_version + " was not promoted." + (words || " " + r.reason + ".") + warned,
        { href: "/admin/jobs/" + enc(job.id), text: "Job details", testid: "retrain-result-link" });
    } else {
      A.notify("error", "Retrain failed: " + (job.error || "see the log") + ".",
        { href: "/admin/jobs/" + enc(job.id), text: "Job details", testid: "retrain-result-link" });
    }
    selected = r.model_version || selected;
    loadVersions();
  }

  async function activeRetrain() {
    const jobs = await CV.api("GET", "/api/admin/jobs?kind=retrain&limit=100");
    return jobs.find(function (j) { return j.target === target && A.isActive(j); });
  }

  retrainBtn.addEventListener("click", async function () {
    CV.setBusy(retrainBtn, true, "Queuing…");
    try {
      const out = await CV.api("POST", "/api/admin/retrain", isTask ? { task: target } : { style: target });
      CV.showAlert("Retrain of " + target + " queued.", "info");
      CV.setBusy(retrainBtn, false);
      watch(out.job_id);
      return;
    } catch (err) {
      CV.setBusy(retrainBtn, false);
      if (err.status !== 409) { A.fail(err); return; }
      const busy = await activeRetrain().catch(function () { return null; });
      A.notify("warning", err.message, busy ? { href: "/admin/jobs/" + enc(busy.id), text: "View that job", testid: "retrain-busy-link" } : null);
      if (busy) watch(busy.id);
    }
  });

  // ---------- schedule ----------

  const form = document.getElementById("schedule-form");
  const hours = document.getElementById("schedule-hours");
  const enabled = document.getElementById("schedule-enabled");
  const delBtn = document.getElementById("schedule-delete");

  /* Without a schedule there is nothing to enable: the form adds one (enabled); with one, the
     checkbox pauses or resumes it, and the badge always says what the saved schedule does. */
  function renderSchedule(row) {
    const state = document.getElementById("schedule-state");
    delBtn.hidden = !row;
    state.className = "badge " + (row && row.enabled ? "badge-success" : "");
    state.textContent = row ? (row.enabled ? "every " + row.every_hours + " h" : "paused") : "not scheduled";
    document.getElementById("schedule-enabled-field").hidden = !row;
    const save = form.querySelector("[type=submit]");
    save.querySelector(".btn-label").textContent = row ? "Save schedule" : "Add schedule";
    if (save.dataset.idleText) save.dataset.idleText = save.querySelector(".btn-label").textContent;
    enabled.checked = row ? row.enabled : true;
    if (row) hours.value = row.every_hours;
    A.kvList(document.getElementById("schedule-kv"), row ? [
      ["Last run", A.fmtTime(row.last_run), "schedule-last-run"],
      ["Last outcome", row.last_outcome || "—", "schedule-last-outcome"],
      ["Last job", row.last_job_id ? h("a", { href: "/admin/jobs/" + enc(row.last_job_id), class: "mono", text: row.last_job_id.slice(0, 8) }) : "—"]] : []);
  }

  async function loadSchedule() {
    try {
      const rows = await CV.api("GET", "/api/admin/schedules");
      renderSchedule(rows.find(function (r) { return r.target === target; }) || null);
    } catch (err) { A.fail(err); }
  }

  form.addEventListener("submit", async function (e) {
    e.preventDefault();
    const btn = form.querySelector("[type=submit]");
    CV.setBusy(btn, true);
    try {
      const row = await CV.api("PUT", "/api/admin/schedules/" + enc(target), { every_hours: Number(hours.value), enabled: enabled.checked });
      renderSchedule(row);
      CV.showAlert(row.enabled ? "Schedule saved: " + target + " retrains every " + row.every_hours + " h when new feedback arrived."
        : "Schedule saved but paused.", "success");
    } catch (err) { A.fail(err); }
    CV.setBusy(btn, false);
  });

  delBtn.addEventListener("click", async function () {
    try {
      await CV.api("DELETE", "/api/admin/schedules/" + enc(target));
      renderSchedule(null);
      CV.showAlert("Schedule removed: " + target + " only retrains when you ask.", "success");
    } catch (err) { A.fail(err); }
  });

  async function init() {
    try {
      const tasks = await CV.api("GET", "/api/tasks");
      isTask = tasks.some(function (t) { return t.name === target; });
    } catch (err) { A.fail(err); }
    await loadVersions();
    loadSchedule();
    const busy = await activeRetrain().catch(function () { return null; });
    if (busy) watch(busy.id);
  }
  init();
})();
