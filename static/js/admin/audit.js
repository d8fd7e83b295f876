/* Deploy audit log: every promotion and rollback, filterable by target. */
(function () {
  "use strict";
  const A = window.CVAdmin, h = A.h;
  const body = document.getElementById("audit-body");
  const select = document.getElementById("audit-target");
  const ACTION = { auto: "badge-primary", promote: "badge-success", rollback: "badge-warning" };

  function row(d, i) {
    return h("tr", { testid: "audit-row-" + i, "data-action": d.action, "data-target": d.target },
      h("td", { class: "nowrap", "data-label": "Time", text: A.fmtTime(d.created) }),
      h("td", { "data-label": "Target" }, h("a", { href: "/admin/models/" + encodeURIComponent(d.target), text: d.target })),
      h("td", { "data-label": "Version" }, h("strong", { text: d.version })),
      h("td", { "data-label": "Action" }, h("span", { class: "badge " + (ACTION[d.action] || ""), text: d.action })),
      h("td", { "data-label": "Previous", testid: "audit-previous-" + i, text: d.previous || "—" }),
      h("td", { "data-label": "Actor", text: d.actor || "—" }),
      h("td", { class: "reason", "data-label": "Reason", text: d.reason || "" }));
  }

  async function load() {
    const q = select.value ? "?target=" + encodeURIComponent(select.value) : "";
    try {
      const rows = await CV.api("GET", "/api/admin/deployments" + q);
      body.replaceChildren.apply(body, rows.length ? rows.map(row) : [A.messageRow(7, "Nothing has been deployed yet.", "audit-empty")]);
      document.getElementById("audit-count").textContent = rows.length + " entr" + (rows.length === 1 ? "y" : "ies");
    } catch (err) { A.fail(err); }
  }

  select.addEventListener("change", function () {
    history.replaceState(null, "", location.pathname + (select.value ? "?target=" + encodeURIComponent(select.value) : ""));
    load();
  });

  async function loadEvents() {
    const target = document.getElementById("data-audit-body");
    try {
      const events = await CV.api("GET", "/api/admin/audit-events");
      target.replaceChildren.apply(target, events.length ? events.map(function (e, i) {
        const detail = Object.entries(e.detail || {}).map(function (kv) { return kv[0] + ": " + (Array.isArray(kv[1]) ? kv[1].length : kv[1]); }).join(", ");
        return h("tr", { testid: "data-audit-row-" + i, "data-action": e.action },
          h("td", { class: "nowrap", text: A.fmtTime(e.created) }),
          h("td", {}, h("span", { class: "badge", text: e.action })),
          h("td", { class: "mono small", text: e.subject }),
          h("td", { text: e.actor }),
          h("td", { class: "small", text: detail }));
      }) : [A.messageRow(5, "No deletions or bulk rejections yet.", "data-audit-empty")]);
    } catch (err) { A.fail(err); }
  }

  async function init() {
    loadEvents();
    try {
      const targets = await CV.api("GET", "/api/admin/targets");
      targets.forEach(function (t) { select.append(h("option", { value: t.target, text: t.target })); });
      select.value = A.param("target");
    } catch (err) { A.fail(err); }
    load();
  }
  init();
})();
