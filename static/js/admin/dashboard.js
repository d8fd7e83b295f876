/* Admin dashboard: per task the deployed model, feedback per day and live agreement; per style method its ratings. */
(function () {
  "use strict";
  const A = window.CVAdmin, h = A.h;
  const DAYS = 30;

  /** Every day of the last DAYS days with its feedback count (days without feedback count 0). */
  function fillDays(perDay) {
    const counts = {};
    perDay.forEach(function (d) { counts[d.day] = d.n; });
    const out = [];
    const today = new Date();
    for (let i = DAYS - 1; i >= 0; i--) {
      const d = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() - i));
      const key = d.toISOString().slice(0, 10);
      out.push({ label: key.slice(5), value: counts[key] || 0, tip: key + ": " + (counts[key] || 0) + " labels" });
    }
    return out;
  }

  function stat(label, value, testid, href) {
    const body = [h("div", { class: "stat-label", text: label }), h("div", { class: "stat-value", testid: testid, text: String(value) })];
    return href ? h("a", { class: "stat stat-link", href: href }, body) : h("div", { class: "stat" }, body);
  }

  /** How many more labels before a retrain is likely promoted; the reasoning in the tooltip and below. */
  function labelsNeeded(t) {
    const est = t.labels_needed;
    if (!est) return null;
    if (est.warning) {
      return h("details", { class: "small labels-needed", testid: "task-labels-needed-" + t.name, open: true },
        h("summary", { class: "alert alert-warning", title: est.warning, testid: "task-label-conflict-" + t.name,
          text: "User labels contradict the trusted labels: a retrain now is likely refused" }),
        h("p", { class: "muted", text: est.warning }));
    }
    const text = est.needed === null ? "More labels may not beat the deployed model (" + est.have + " labels now)"
      : est.needed === 0 ? "Enough labels for a retrain that is likely promoted (" + est.have + " now)"
      : "About " + est.needed + " more label" + (est.needed === 1 ? "" : "s") + " before a retrain is likely promoted (" + est.have + " now)";
    return h("details", { class: "small labels-needed", testid: "task-labels-needed-" + t.name },
      h("summary", { title: est.explanation, text: text }), h("p", { class: "muted", text: est.explanation }));
  }

  function taskCard(t) {
    const m = t.metrics || {};
    const deployed = t.model_version
      ? h("a", { class: "badge badge-success", href: "/admin/models/" + encodeURIComponent(t.name), testid: "task-deployed-" + t.name, text: t.model_version })
      : h("span", { class: "badge badge-warning", testid: "task-deployed-" + t.name, text: "no model" });
    const metrics = h("dl", { class: "kv kv-inline" });
    A.kvList(metrics, [["Accuracy", A.fmtMetric(m.accuracy)], ["F1", A.fmtMetric(m.f1_macro)],
      ["ROC AUC", A.fmtMetric(m.roc_auc)], ["Holdout n", m.n == null ? "—" : String(m.n)]]);
    const total = t.feedback_per_day.reduce(function (a, d) { return a + d.n; }, 0);
    const feedback = A.chartFigure("Feedback labels per day (last " + DAYS + " days, " + total + " in all)",
      total ? A.barChart(fillDays(t.feedback_per_day), { title: "Feedback per day for " + t.name, yLabel: "labels" }) : null,
      "No feedback in the last " + DAYS + " days.", "chart-feedback-" + t.name);
    const live = t.live_agreement.filter(function (d) { return d.agreement !== null; });
    const agreement = A.chartFigure(
      "Live agreement of " + (t.model_version || "the deployed model") + " with user labels",
      live.length ? A.lineChart(live.map(function (d) {
        return { label: d.day.slice(5), value: d.agreement, tip: d.day + ": " + A.fmtMetric(d.agreement) + " (" + d.agree + " of " + d.n + ")" };
      }), { title: "Live agreement per day for " + t.name, yLabel: "agreement" }) : null,
      t.model_version ? "No feedback on this model's answers yet." : "No model deployed.", "chart-agreement-" + t.name);
    const pending = h("a", { class: "pending-link" + (t.pending_review ? " has-pending" : ""),
      href: "/admin/review?task=" + encodeURIComponent(t.name), testid: "task-pending-" + t.name },
      h("strong", { text: String(t.pending_review) }), " label" + (t.pending_review === 1 ? "" : "s") + " to review →");
    // Without trusted labels the gate can only compare models on unreviewed user labels.
    // One text node (.alert is a flex box: loose pieces would each become a column, the "." alone).
    const untrusted = t.trusted_labels === 0 ? h("div", { class: "alert alert-warning", role: "status", testid: "task-untrusted-" + t.name },
      h("span", { class: "alert-message" }, "No trusted labels yet: retrains are judged on unreviewed user feedback, which anyone could poison. ",
        h("a", { href: "/admin/review?task=" + encodeURIComponent(t.name), text: "Verify a sample of labels" }), ".")) : null;
    return h("article", { class: "card task-card", testid: "task-card-" + t.name },
      h("div", { class: "card-title" }, h("h3", { text: t.name }), deployed, h("span", { class: "spacer" }), pending),
      h("p", { class: "small muted labels-line" }, "Labels: ", t.labels.map(CV.labelText).join(", ")),
      untrusted, metrics, labelsNeeded(t), feedback, agreement);
  }

  function starBars(stars) {
    return A.barChart([1, 2, 3, 4, 5].map(function (k) {
      const n = stars[String(k)] || 0;
      return { label: k + "★", value: n, cls: "bar-star", tip: k + " star" + (k > 1 ? "s" : "") + ": " + n };
    }), { title: "Rating distribution", valueLabels: true, yLabel: "ratings" });
  }

  function styleCard(method, dist, info) {
    const ds = (dist && dist.default_strength) || { strength: info ? info.default_strength : 0.5, ratings: 0, learned: false };
    const head = h("div", { class: "card-title" }, h("h3", { text: method }),
      info && info.model_version ? h("span", { class: "badge", text: info.model_version }) : null);
    const summary = h("dl", { class: "kv kv-inline" });
    A.kvList(summary, [["Ratings", dist ? String(dist.n) : "0", "style-n-" + method],
      ["Mean", dist ? dist.mean.toFixed(2) + " ★" : "—", "style-mean-" + method]]);
    const strength = h("div", { class: "strength", testid: "style-strength-" + method },
      h("span", { class: "strength-value", text: "Default strength " + Number(ds.strength).toFixed(2) }),
      h("span", { class: "badge " + (ds.learned ? "badge-success" : ""), text: ds.learned ? "learned from " + ds.ratings + " ratings" : "not learned yet (" + ds.ratings + " of 5 ratings)" }));
    let byStrength = null;
    if (ds.mean_stars_by_strength) {
      const rows = Object.entries(ds.mean_stars_by_strength);
      byStrength = h("table", { class: "table table-compact", testid: "style-by-strength-" + method },
        h("thead", {}, h("tr", {}, h("th", { text: "Strength" }), h("th", { class: "num", text: "Mean ★ (smoothed)" }))),
        h("tbody", {}, rows.map(function (r) {
          const best = Number(r[0]).toFixed(2) === Number(ds.strength).toFixed(2);
          return h("tr", { class: best ? "is-best" : null }, h("td", { text: r[0] + (best ? " (default)" : "") }), h("td", { class: "num", text: Number(r[1]).toFixed(2) }));
        })));
    }
    return h("article", { class: "card style-card", testid: "style-card-" + method }, head, summary,
      dist && dist.n ? A.chartFigure("Stars", starBars(dist.stars), null, "chart-stars-" + method)
        : h("p", { class: "muted small", text: "No ratings yet." }),
      strength, byStrength);
  }

  function render(data) {
    const pending = data.tasks.reduce(function (a, t) { return a + t.pending_review; }, 0);
    const deployed = data.tasks.filter(function (t) { return t.model_version; }).length;
    document.getElementById("dash-stats").replaceChildren(
      stat("Tasks", data.tasks.length, "stat-tasks", "/admin/tasks"),
      stat("Deployed models", deployed + " / " + data.tasks.length, "stat-deployed", "/admin/models"),
      stat("Labels to review", pending, "stat-pending", "/admin/review"),
      stat("Active jobs", data.jobs_active, "stat-jobs", "/admin/jobs"));
    const tasks = document.getElementById("dash-tasks");
    tasks.replaceChildren.apply(tasks, data.tasks.length ? data.tasks.map(taskCard)
      : [h("div", { class: "card empty" }, "No tasks yet. ", h("a", { href: "/admin/tasks", text: "Create one" }), ".")]);
    const methods = {};
    (data.style_methods || []).forEach(function (m) { methods[m.method] = m; });
    const names = Object.keys(methods).concat(Object.keys(data.styles).filter(function (k) { return !methods[k]; }));
    const styles = document.getElementById("dash-styles");
    styles.replaceChildren.apply(styles, names.length ? names.map(function (n) { return styleCard(n, data.styles[n], methods[n]); })
      : [h("div", { class: "card empty", text: "No style methods available." })]);
    document.getElementById("dashboard").setAttribute("aria-busy", "false");
    return data.jobs_active > 0;
  }

  A.poll(function () { return CV.api("GET", "/api/admin/overview?days=" + DAYS).then(render).catch(A.fail); }, 5000, 30000);
})();
