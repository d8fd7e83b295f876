/* Review queue: verify (or correct) or reject users' labels; history of verified and rejected ones. */
(function () {
  "use strict";
  const A = window.CVAdmin, h = A.h;
  const list = document.getElementById("review-list");
  const count = document.getElementById("review-count");
  const taskSelect = document.getElementById("review-task");
  const orderSelect = document.getElementById("review-order");
  const tabs = Array.from(document.querySelectorAll(".tab[data-review]"));
  let state = "pending";

  function human(label) { return CV.humanize(label); }

  /** What the user said: a label (of which face, when the photo has several), or "no face". */
  function said(item) {
    if (item.no_face) return "There is no face here";
    return CV.labelText(item.label) + (item.faces_found > 1 ? " (face " + (item.face + 1) + " of " + item.faces_found + ")" : "");
  }

  async function review(item, card, verdict, label) {
    card.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
    try {
      await CV.api("POST", "/api/admin/feedback/" + item.id + "/review", { verdict: verdict, label: label });
      CV.showAlert(verdict === "verified" && label === null ? "Verified #" + item.id + ": no face (never used for training)."
        : verdict === "verified" ? "Verified #" + item.id + " as “" + human(label) + "”: it now belongs to the holdout."
        : "Rejected #" + item.id + ": it will not be used for training.", "success");
      card.classList.add("is-leaving");
      setTimeout(function () { card.remove(); updateCount(list.children.length); if (!list.children.length) load(); }, 200);
    } catch (err) {
      A.fail(err);
      card.querySelectorAll("button").forEach(function (b) { b.disabled = false; });
    }
  }

  function actions(item, card) {
    const row = h("div", { class: "btn-row review-actions" });
    row.append(h("button", { type: "button", class: "btn btn-success btn-sm", testid: "review-verify-" + item.id,
      on: { click: function () { review(item, card, "verified", item.label); } } }, item.no_face ? "Verify: no face" : "Verify"));
    item.labels.filter(function (l) { return l !== item.label; }).forEach(function (other) {
      row.append(h("button", { type: "button", class: "btn btn-secondary btn-sm", testid: "review-verify-as-" + item.id + "-" + other,
        on: { click: function () { review(item, card, "verified", other); } } }, "Verify as " + human(other)));
    });
    row.append(h("button", { type: "button", class: "btn btn-danger btn-sm", testid: "review-reject-" + item.id,
      on: { click: function () { review(item, card, "rejected", item.label); } } }, "Reject"));
    row.append(h("button", { type: "button", class: "btn btn-danger btn-sm", testid: "review-reject-voter-" + item.id,
      title: "Reject every pending label of voter " + item.voter + " (all its linked addresses and browsers)",
      on: { click: function () { rejectVoter(item); } } }, "Reject all from voter " + item.voter));
    return row;
  }

  /** One action for a coordinated voter: every pending label of its addresses and cookies (audited). */
  async function rejectVoter(item) {
    if (!window.confirm("Reject every pending label of voter " + item.voter + " in " + item.task + "?")) return;
    try {
      const out = await CV.api("POST", "/api/admin/feedback/reject-voter", { client: item.client, task: item.task });
      CV.showAlert("Rejected " + out.rejected + " pending label" + (out.rejected === 1 ? "" : "s") + " of voter " + item.voter +
        " (" + out.addresses.length + " address" + (out.addresses.length === 1 ? "" : "es") + ").", "success");
      load();
    } catch (err) { A.fail(err); }
  }

  function itemCard(item) {
    const card = h("article", { class: "card review-item", testid: "review-item-" + item.id });
    const img = h("img", { src: item.image_url, alt: item.no_face ? "Photo said to hold no face" : "Photo labelled “" + human(item.label) + "”", loading: "lazy", width: "160", height: "160" });
    img.addEventListener("error", function () { img.replaceWith(h("div", { class: "img-missing", text: "image unavailable" })); });
    const agree = item.agrees === null ? null
      : h("span", { class: "badge " + (item.agrees ? "badge-success" : "badge-warning"), text: item.agrees ? "agrees" : "disagrees" });
    const facts = h("dl", { class: "kv small" });
    A.kvList(facts, [
      ["User says", h("strong", { testid: "review-label-" + item.id, text: said(item) })],
      ["Model said", h("span", {}, h("span", { testid: "review-predicted-" + item.id, text: item.predicted ? CV.labelText(item.predicted) : "—" }), " ", agree)],
      item.informativeness ? ["Informative", h("span", { testid: "review-score-" + item.id,
        title: "model doubt " + item.informativeness.doubt.toFixed(2) + " + voter disagreement " + item.informativeness.disagreement.toFixed(2),
        text: item.informativeness.score.toFixed(2) })] : null,
      ["Task", item.task], ["When", A.fmtTime(item.created)], ["Client", h("span", { class: "mono", text: item.client })],
      item.voter && item.voter !== item.client ? ["Voter", h("span", { class: "mono", testid: "review-voter-" + item.id, text: item.voter })] : null,
      item.reviewed_by ? ["Reviewed by", item.reviewed_by] : null]);
    card.append(h("div", { class: "review-body" }, h("div", { class: "review-img" }, img),
      h("div", { class: "review-facts" }, h("div", { class: "row" }, h("span", { class: "muted small", text: "#" + item.id }),
        item.review !== "pending" ? h("span", { class: "badge " + (item.review === "verified" ? "badge-success" : "badge-danger"), text: item.review }) : null),
      facts)));
    if (item.review === "pending") card.append(actions(item, card), pick(item));
    return card;
  }

  // ---------- many voters at once: a selection, every crowd, or a time window (one audited call) ----------

  const chosen = new Set();
  const bulkSelected = document.getElementById("bulk-selected");

  function pick(item) {
    const box = h("input", { type: "checkbox", testid: "review-select-" + item.id, checked: chosen.has(item.voter),
      on: { change: function () { if (box.checked) chosen.add(item.voter); else chosen.delete(item.voter); syncChosen(); } } });
    return h("label", { class: "small review-pick" }, box, " select voter " + item.voter);
  }

  function syncChosen() {
    bulkSelected.disabled = !chosen.size;
    bulkSelected.textContent = "Reject the selected voters" + (chosen.size ? " (" + chosen.size + ")" : "");
  }

  async function bulkReject(body, what) {
    if (!taskSelect.value) { CV.showAlert("Choose a task first: bulk rejection works on one task.", "error"); return; }
    if (!window.confirm("Reject every pending label of " + what + " in " + taskSelect.value + "?")) return;
    try {
      const out = await CV.api("POST", "/api/admin/feedback/reject-voters", Object.assign({ task: taskSelect.value }, body));
      CV.showAlert("Rejected " + out.rejected + " pending label" + (out.rejected === 1 ? "" : "s") + " of " + out.voters +
        " voter" + (out.voters === 1 ? "" : "s") + ".", "success");
      chosen.clear(); syncChosen(); load();
    } catch (err) { A.fail(err); }
  }

  bulkSelected.addEventListener("click", function () {
    bulkReject({ voters: Array.from(chosen) }, chosen.size + " selected voter" + (chosen.size === 1 ? "" : "s"));
  });
  document.getElementById("bulk-crowds").addEventListener("click", function () { bulkReject({ crowd: "all" }, "every crowd"); });
  document.getElementById("bulk-window").addEventListener("click", function () {
    const iso = function (id) { const v = document.getElementById(id).value; return v ? new Date(v).toISOString() : undefined; };
    const body = { since: iso("bulk-since"), until: iso("bulk-until") };
    if (!body.since && !body.until) { CV.showAlert("Give a start or an end time.", "error"); return; }
    bulkReject(body, "the voters who first labelled in that window");
  });

  function updateCount(n) {
    const what = { pending: "waiting for review", verified: "verified", rejected: "rejected" }[state];
    count.textContent = n + " label" + (n === 1 ? "" : "s") + " " + what + (taskSelect.value ? " for " + taskSelect.value : "") +
      (n >= 200 ? " (showing the first 200)" : "") + ".";
  }

  async function load() {
    const q = new URLSearchParams({ review: state, limit: "200", order: orderSelect.value });
    if (taskSelect.value) q.set("task", taskSelect.value);
    list.setAttribute("aria-busy", "true");
    try {
      const items = await CV.api("GET", "/api/admin/feedback?" + q);
      list.replaceChildren.apply(list, items.length ? items.map(itemCard) : [h("div", { class: "card empty", testid: "review-empty",
        text: state === "pending" ? "Nothing to review: every label has been looked at." : "No " + state + " labels yet." })]);
      updateCount(items.length);
      list.dataset.order = q.get("order");
    } catch (err) { A.fail(err); }
    list.setAttribute("aria-busy", "false");
  }

  function syncUrl() {
    const q = new URLSearchParams();
    if (taskSelect.value) q.set("task", taskSelect.value);
    if (state !== "pending") q.set("review", state);
    if (orderSelect.value !== "oldest") q.set("order", orderSelect.value);
    history.replaceState(null, "", location.pathname + (q.toString() ? "?" + q : ""));
  }

  tabs.forEach(function (tab) {
    tab.addEventListener("click", function () {
      state = tab.dataset.review;
      tabs.forEach(function (t) { t.setAttribute("aria-selected", String(t === tab)); });
      syncUrl();
      load();
    });
  });
  taskSelect.addEventListener("change", function () { syncUrl(); load(); });
  orderSelect.addEventListener("change", function () { syncUrl(); load(); });

  async function init() {
    const wanted = A.param("task");
    const initial = A.param("review");
    if (A.param("order") === "informative") orderSelect.value = "informative";
    if (["verified", "rejected"].indexOf(initial) >= 0) {
      state = initial;
      tabs.forEach(function (t) { t.setAttribute("aria-selected", String(t.dataset.review === state)); });
    }
    try {
      const tasks = await CV.api("GET", "/api/tasks");
      tasks.forEach(function (t) { taskSelect.append(h("option", { value: t.name, text: t.name })); });
      if (wanted) taskSelect.value = wanted;
    } catch (err) { A.fail(err); }
    load();
  }
  init();
})();
