/* Tasks: the list and the create-task form. */
(function () {
  "use strict";
  const A = window.CVAdmin, h = A.h;
  const body = document.getElementById("tasks-body");
  const form = document.getElementById("task-form");

  function row(t) {
    const m = t.metrics || {};
    return h("tr", { testid: "task-row-" + t.name },
      h("td", {}, h("strong", { text: t.name }), t.description ? h("div", { class: "small muted", text: t.description }) : null),
      h("td", {}, h("span", { class: "label-chips" }, t.labels.map(function (l) { return h("span", { class: "badge", text: CV.labelText(l) }); }))),
      h("td", {}, t.model_version ? h("span", { class: "badge badge-success", text: t.model_version }) : h("span", { class: "muted", text: "none" })),
      h("td", { class: "num", text: A.fmtMetric(m.accuracy) }),
      h("td", { class: "actions" },
        h("a", { class: "btn btn-secondary btn-sm", href: "/admin/import?task=" + encodeURIComponent(t.name), testid: "task-import-" + t.name, text: "Import" }),
        " ",
        h("a", { class: "btn btn-secondary btn-sm", href: "/admin/models/" + encodeURIComponent(t.name), testid: "task-models-" + t.name, text: "Models" }),
        " ", switchButton(t)));
  }

  /* A task switched off leaves the public task list and the pages; its data and models stay. */
  function switchButton(t) {
    const btn = h("button", { type: "button", class: "btn btn-sm " + (t.enabled ? "btn-secondary" : "btn-primary"),
      testid: "task-switch-" + t.name, text: t.enabled ? "Switch off" : "Switch on" });
    btn.addEventListener("click", async function () {
      try {
        await CV.api("PATCH", "/api/admin/tasks/" + encodeURIComponent(t.name), { enabled: !t.enabled });
        A.notify("success", "Task “" + t.name + "” switched " + (t.enabled ? "off: users no longer see it." : "on."));
        load();
      } catch (err) { A.fail(err); }
    });
    return btn;
  }

  async function load() {
    try {
      const tasks = await CV.api("GET", "/api/admin/tasks");
      body.replaceChildren.apply(body, tasks.length ? tasks.map(row) : [A.messageRow(5, "No tasks yet.", "tasks-empty")]);
    } catch (err) { A.fail(err); }
  }

  form.addEventListener("submit", async function (e) {
    e.preventDefault();
    const btn = form.querySelector("[type=submit]");
    const name = form.elements.name.value.trim();
    const labels = form.elements.labels.value.split(",").map(function (l) { return l.trim(); }).filter(Boolean);
    if (!name || labels.length < 2) {
      CV.showAlert(!name ? "Give the task a name." : "Enter at least two labels, separated by commas.", "error");
      return;
    }
    CV.setBusy(btn, true, "Creating…");
    try {
      const task = await CV.api("POST", "/api/admin/tasks", { name: name, labels: labels, description: form.elements.description.value.trim() });
      A.notify("success", "Task “" + task.name + "” created with labels " + task.labels.map(CV.labelText).join(", ") + ". Next:",
        { href: "/admin/import?task=" + encodeURIComponent(task.name), text: "import its pictures", testid: "task-created-link" });
      form.reset();
      load();
    } catch (err) { A.fail(err); }
    CV.setBusy(btn, false);
  });

  load();
})();
