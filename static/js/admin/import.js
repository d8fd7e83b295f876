/* Import: a zip of <label>/ folders or pictures dropped per label -> POST /api/admin/tasks/<name>/import,
   with an upload progress bar and one result line per file. */
(function () {
  "use strict";
  const A = window.CVAdmin, h = A.h;
  const root = document.getElementById("import");
  const $ = function (id) { return document.getElementById(id); };
  const MAX_BYTES = Number(root.dataset.maxUploadMb) * 1024 * 1024;
  const BATCH_BYTES = MAX_BYTES * 0.9;   // room for the multipart framing
  const BATCH_FILES = 200;
  const RESULT_TEXT = { added: "added", duplicate: "already there", skipped: "not imported" };
  const RESULT_BADGE = { added: "badge-success", duplicate: "", skipped: "badge-danger" };

  let tasks = [];
  let chosen = {};      // label -> [File]
  let results = [];
  let busy = false;

  function task() { return tasks.find(function (t) { return t.name === $("import-task").value; }) || null; }
  function url() { return "/api/admin/tasks/" + encodeURIComponent($("import-task").value) + "/import"; }

  /** POST with upload progress (fetch has none); resolves to the JSON, rejects with its error. */
  function send(form, onUpload) {
    return new Promise(function (resolve, reject) {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", url());
      xhr.setRequestHeader("Accept", "application/json");
      const meta = document.querySelector('meta[name="csrf-token"]');
      if (meta) xhr.setRequestHeader("X-CSRFToken", meta.getAttribute("content"));
      xhr.upload.addEventListener("progress", function (e) { if (e.lengthComputable) onUpload(e.loaded, e.total); });
      xhr.addEventListener("load", function () {
        let data = null;
        try { data = JSON.parse(xhr.responseText); } catch (err) { data = null; }
        if (xhr.status >= 200 && xhr.status < 300) resolve(data);
        else reject(new Error((data && data.error) || ("The import failed (HTTP " + xhr.status + ").")));
      });
      xhr.addEventListener("error", function () { reject(new Error("Could not reach the server; nothing more was imported.")); });
      xhr.send(form);
    });
  }

  /** A large import runs as a job (202 {job_id, status_url}): poll it until it ends, showing
      its progress; resolves to its report like a small import's answer. */
  async function report(data, onProgress) {
    if (!data || !data.job_id) return data;
    for (;;) {
      const job = await CV.api("GET", data.status_url);
      if (job.status === "done") return job.result;
      if (job.status === "failed") throw new Error(job.error || "The import failed.");
      onProgress(job.progress || 0);
      await new Promise(function (r) { setTimeout(r, 1000); });
    }
  }

  /* ---------- progress and results ---------- */

  function showProgress(fraction, phase, indeterminate) {
    const bar = $("import-progress");
    const pct = Math.round(Math.max(0, Math.min(1, fraction)) * 100);
    bar.classList.toggle("is-indeterminate", !!indeterminate);
    bar.classList.remove("is-done", "is-failed");
    bar.querySelector(".progress-fill").style.width = pct + "%";
    bar.setAttribute("aria-valuenow", String(pct));
    $("import-pct").textContent = indeterminate ? "" : pct + "%";
    $("import-phase").textContent = phase;
  }

  function setState(text, kind) {
    const badge = $("import-state");
    badge.textContent = text;
    badge.className = "badge " + (kind ? "badge-" + kind : "");
  }

  function start() {
    busy = true;
    results = [];
    $("import-run").hidden = false;
    $("import-retrain-link").hidden = true;
    setState("running", "primary");
    renderResults();
    updateButtons();
    $("import-run").scrollIntoView({ behavior: "smooth", block: "nearest" });
  }

  function finish(error) {
    busy = false;
    const bar = $("import-progress");
    bar.classList.remove("is-indeterminate");
    bar.classList.add(error ? "is-failed" : "is-done");
    if (!error) { bar.querySelector(".progress-fill").style.width = "100%"; $("import-pct").textContent = "100%"; }
    const added = count("added"), there = count("duplicate"), skipped = count("skipped");
    setState(error ? "stopped" : "done", error ? "danger" : "success");
    $("import-phase").textContent = error ? "Stopped: " + error.message
      : "Done: " + added + " added" + (there ? ", " + there + " already there" : "") + (skipped ? ", " + skipped + " not imported" : "") + ".";
    renderResults();
    if (error) CV.showAlert(error.message, "error");
    const link = $("import-retrain-link");
    link.href = "/admin/models/" + encodeURIComponent($("import-task").value);
    link.hidden = added === 0;
    updateButtons();
  }

  function count(status) { return results.filter(function (f) { return f.status === status; }).length; }

  function renderResults() {
    A.kvList($("import-summary"), [["Added", String(count("added")), "import-added"],
      ["Already there", String(count("duplicate")), "import-duplicates"],
      ["Not imported", String(count("skipped")), "import-skipped"]]);
    // The files that need a look; every file only on request (an import may be thousands).
    const showAll = $("import-show-all").checked;
    const shown = results.filter(function (f) { return showAll || f.status === "skipped"; })
      .sort(function (a, b) { return (a.status === "skipped" ? 0 : 1) - (b.status === "skipped" ? 0 : 1); });
    const body = $("import-files-body");
    body.replaceChildren.apply(body, shown.length ? shown.map(function (f) {
      return h("tr", { class: "import-" + f.status, testid: "import-file" },
        h("td", { class: "break", text: f.name }),
        h("td", { text: f.label ? CV.labelText(f.label) : "—" }),
        h("td", {}, h("span", { class: "badge " + RESULT_BADGE[f.status], text: RESULT_TEXT[f.status] || f.status })),
        h("td", { class: "small", text: f.reason || "" }));
    }) : [A.messageRow(4, busy ? "Waiting for the first results…"
      : results.length ? "Every file was imported or was there already." : "Nothing to show.", "import-all-added")]);
  }
  $("import-show-all").addEventListener("change", renderResults);

  /* ---------- a zip ---------- */

  $("zip-input").addEventListener("change", function () {
    const file = $("zip-input").files[0];
    if (file && file.size > MAX_BYTES) {
      CV.showAlert(file.name + " is " + CV.formatBytes(file.size) + "; the server takes at most " + CV.formatBytes(MAX_BYTES) +
        " per upload. Split it into smaller zips, drop the pictures per label (they are sent in parts), or use flask data import-folder.");
    } else { CV.clearAlerts(); }
    updateButtons();
  });

  $("zip-form").addEventListener("submit", async function (e) {
    e.preventDefault();
    const file = $("zip-input").files[0];
    if (!file || !task() || busy) return;
    const form = new FormData();
    form.append("archive", file, file.name);
    start();
    const button = $("zip-submit");
    CV.setBusy(button, true, "Importing…");
    showProgress(0, "Uploading " + file.name + "…");
    try {
      const answer = await send(form, function (loaded, total) {
        if (loaded < total) showProgress(0.5 * loaded / total, "Uploading " + file.name + "… " + CV.formatBytes(loaded) + " of " + CV.formatBytes(total));
        else showProgress(0.5, "Checking and storing the pictures…", true);
      });
      const done = await report(answer, function (p) { showProgress(0.5 + 0.5 * p, "Checking and storing the pictures… (an import job)"); });
      results = done.files;
      renderResults();
      finish(null);
    } catch (err) { renderResults(); finish(err); }
    CV.setBusy(button, false);
    updateButtons();
  });

  /* ---------- pictures per label ---------- */

  function labelDrop(label) {
    const input = h("input", { type: "file", multiple: true, accept: "image/jpeg,image/png,image/webp", class: "visually-hidden",
      id: "drop-input-" + label, testid: "drop-input-" + label });
    const countText = h("span", { class: "small muted", testid: "drop-count-" + label, text: "none chosen" });
    const zone = h("label", { class: "label-drop", for: "drop-input-" + label, testid: "drop-zone-" + label },
      input, h("strong", { text: CV.labelText(label) }),
      h("span", { class: "small", text: "Drop pictures here or click to choose" }), countText);
    function add(files) {
      chosen[label] = (chosen[label] || []).concat(Array.from(files).filter(function (f) { return /^image\//.test(f.type) || /\.(jpe?g|png|webp)$/i.test(f.name); }));
      const n = chosen[label].length;
      countText.textContent = n ? n + " picture" + (n === 1 ? "" : "s") + " · " + CV.formatBytes(chosen[label].reduce(function (a, f) { return a + f.size; }, 0)) : "none chosen";
      updateButtons();
    }
    input.addEventListener("change", function () { add(input.files); input.value = ""; });
    ["dragenter", "dragover"].forEach(function (type) {
      zone.addEventListener(type, function (e) { e.preventDefault(); zone.classList.add("is-dragover"); });
    });
    ["dragleave", "drop"].forEach(function (type) {
      zone.addEventListener(type, function () { zone.classList.remove("is-dragover"); });
    });
    zone.addEventListener("drop", function (e) { e.preventDefault(); add(e.dataTransfer.files); });
    return zone;
  }

  function batches() {
    const out = [];
    Object.keys(chosen).forEach(function (label) {
      let batch = null;
      chosen[label].forEach(function (file) {
        if (!batch || batch.files.length >= BATCH_FILES || batch.bytes + file.size > BATCH_BYTES) {
          batch = { label: label, files: [], bytes: 0 };
          out.push(batch);
        }
        batch.files.push(file);
        batch.bytes += file.size;
      });
    });
    return out;
  }

  $("drop-form").addEventListener("submit", async function (e) {
    e.preventDefault();
    const parts = batches();
    if (!parts.length || !task() || busy) return;
    const total = parts.reduce(function (a, b) { return a + b.files.length; }, 0);
    const button = $("drop-submit");
    start();
    CV.setBusy(button, true, "Importing…");
    let done = 0, error = null;
    for (let i = 0; i < parts.length && !error; i++) {
      const part = parts[i];
      const form = new FormData();
      form.append("label", part.label);
      part.files.forEach(function (f) { form.append("files", f, f.name); });
      const phase = "Part " + (i + 1) + " of " + parts.length + " (" + CV.labelText(part.label) + ")";
      try {
        const answer = await send(form, function (loaded, total_) {
          showProgress((done + part.files.length * 0.5 * loaded / total_) / total, phase + ": uploading…");
        });
        const partReport = await report(answer, function (p) {
          showProgress((done + part.files.length * (0.5 + 0.5 * p)) / total, phase + ": checking (an import job)…");
        });
        results = results.concat(partReport.files);
        done += part.files.length;
        showProgress(done / total, phase + ": " + done + " of " + total + " pictures checked");
        renderResults();
      } catch (err) { error = err; }
    }
    if (!error) { chosen = {}; renderDrops(); }
    renderResults();
    finish(error);
    CV.setBusy(button, false);
    updateButtons();
  });

  /* ---------- the task ---------- */

  function renderDrops() {
    const t = task();
    const box = $("label-drops");
    chosen = {};
    box.replaceChildren.apply(box, t ? t.labels.map(labelDrop) : [h("p", { class: "small muted", text: "Pick a task first." })]);
    $("import-task-labels").textContent = t ? "Labels: " + t.labels.map(CV.labelText).join(", ") +
      (t.model_version ? " · serving " + t.model_version : " · no model yet") : "";
    updateButtons();
  }

  function updateButtons() {
    const any = Object.keys(chosen).some(function (k) { return chosen[k].length; });
    const zip = $("zip-input").files[0];
    $("zip-submit").disabled = busy || !task() || !zip || zip.size > MAX_BYTES;
    $("drop-submit").disabled = busy || !task() || !any;
  }

  $("import-task").addEventListener("change", function () {
    const q = new URLSearchParams(location.search);
    q.set("task", $("import-task").value);
    history.replaceState(null, "", location.pathname + "?" + q);
    renderDrops();
  });

  async function init() {
    try {
      tasks = await CV.api("GET", "/api/tasks");
    } catch (err) { A.fail(err); return; }
    const select = $("import-task");
    select.replaceChildren.apply(select, tasks.map(function (t) { return new Option(t.name, t.name); }));
    const wanted = A.param("task");
    if (wanted && tasks.some(function (t) { return t.name === wanted; })) select.value = wanted;
    select.disabled = !tasks.length;
    renderDrops();
  }
  init();
})();
