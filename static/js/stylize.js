/* Stylize page: upload content + style, start a job, poll its progress, show and rate the result. */
(function () {
  "use strict";

  const page = document.getElementById("stylize-page");
  if (!page) return;
  const $ = function (id) { return document.getElementById(id); };

  const POLL_MS = 700;
  const FAST_POLL_MS = 120;     // the fast methods finish in about a second: look often at first
  const FAST_POLL_FOR_MS = 6000;
  const MAX_POLL_FAILURES = 8;
  const STATUS_TEXT = {
    queued: "Waiting in the queue…",
    running: "Painting your picture…",
    done: "Done",
    failed: "Failed",
  };
  const STATUS_BADGE = { queued: "", running: "badge-primary", done: "badge-success", failed: "badge-danger" };
  const STAR_CAPTIONS = ["", "Not for me", "Meh", "Okay", "Nice", "Love it"];

  const form = $("stylize-form");
  const methodSelect = $("method-select");
  const sizeSelect = $("size-select");
  const strength = $("strength-input");
  const submit = $("stylize-submit");
  const styleField = $("style-field");
  const styleZoneEl = $("style-zone");

  let styles = [];
  let chosenPreset = null;      // {id, name, thumbnail_url} while a ready-made style is picked
  let strengthTouched = false;  // the user moved the slider: keep their value across methods
  let jobId = null;
  let pollTimer = null;
  let pollFailures = 0;
  let stars = 0;
  let watchStarted = Date.now();
  let submittedInputs = null; // object URLs of the inputs of the job started from this page
  let lastJob = null;         // the finished job shown, for "New stylization"

  function onFileChosen(file) {
    const tooLarge = CV.uploadTooLarge(file);
    if (tooLarge) CV.showAlert(tooLarge); else CV.clearAlerts();
    updateSubmit();
  }
  const contentZone = CV.setupDropzone($("content-zone"), onFileChosen);
  const styleZone = CV.setupDropzone(styleZoneEl, onFileChosen);

  function currentMethod() {
    return styles.find(function (s) { return s.method === methodSelect.value; }) || null;
  }

  function needsStyle() {
    const method = currentMethod();
    return method ? method.needs_style_image !== false : true;
  }

  function updateSubmit() {
    const ready = contentZone.file() && methodSelect.value && (!needsStyle() || styleZone.file());
    submit.disabled = !ready || submit.classList.contains("is-busy") || isPolling();
  }

  function isPolling() { return pollTimer !== null; }

  function applyMethod() {
    const method = currentMethod();
    $("method-description").textContent = method && method.description ? method.description : "";
    syncGallery();
    applyDefaultStrength(method);
    showExpectedWait();
    const need = needsStyle();
    const styleInput = $("style-input");
    styleInput.disabled = !need;
    styleZoneEl.classList.toggle("is-disabled", !need);
    styleZoneEl.hidden = !need;
    const isPreset = methodSelect.value === "preset";
    styleField.classList.toggle("is-disabled-field", !need && !isPreset);
    $("style-not-needed").hidden = need || isPreset;
    $("chosen-preset").hidden = !isPreset;
    $("style-field-label").textContent = isPreset ? "Ready-made style" : "Style picture";
    updateSubmit();
  }

  /* Strength means the same for every method (0 = the photo, 1 = the full style): the user's value is
     kept across methods and presets; until they move it, it shows the default of what is chosen
     (a preset's own, the method's learned or own one), and says so. */
  function applyDefaultStrength(method) {
    const hint = $("strength-hint");
    const found = defaultStrength(method);
    if (strengthTouched) { showYourChoice(found); return; }
    if (found === null) { hint.textContent = ""; return; }
    strength.value = found.value;
    $("strength-value").textContent = Number(strength.value).toFixed(2);
    hint.textContent = "Default for " + found.label + ": " + Number(found.value).toFixed(2) +
      ". Move the slider to choose your own; it stays when you switch.";
  }

  /* The default of what is chosen ({value, label}) or null. */
  function defaultStrength(method) {
    const preset = methodSelect.value === "preset" ? chosenPreset : null;
    const value = preset && typeof preset.default_strength === "number" ? preset.default_strength
      : method && typeof method.default_strength === "number" ? method.default_strength : null;
    return value === null ? null : { value: value, label: preset ? presetLabel(preset) : methodName(method) };
  }

  /* The user's own value, and a way back to the default of what is chosen when it differs. */
  function showYourChoice(found) {
    const hint = $("strength-hint");
    hint.textContent = "Your choice, kept when you change the method or style.";
    if (found === null || Math.abs(found.value - Number(strength.value)) < 1e-9) return;
    const reset = document.createElement("button");
    reset.type = "button";
    reset.className = "hint-action";
    reset.dataset.testid = "strength-default";
    reset.textContent = "Use the default for " + found.label + " (" + Number(found.value).toFixed(2) + ")";
    reset.addEventListener("click", function () {
      strengthTouched = false;
      applyDefaultStrength(currentMethod());
      strength.focus();
    });
    hint.append(" ", reset);
  }

  /* "7 · Night dots": the number is the preset id the API takes. */
  function presetLabel(preset) { return preset.id + " · " + preset.name; }

  /* ---------- the style gallery: "your own style picture" or one of the ready-made presets ---------- */

  function presetList() {
    const entry = styles.find(function (s) { return s.method === "preset"; });
    return entry && entry.presets ? entry.presets : [];
  }

  function tile(preset) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "style-tile";
    button.setAttribute("role", "radio");
    button.setAttribute("aria-checked", "false");
    button.dataset.choice = String(preset.id);
    button.dataset.testid = "style-tile-" + preset.id;
    const art = document.createElement("span");
    art.className = "style-tile-art";
    const img = document.createElement("img");
    img.alt = "";
    art.classList.add("is-loading");
    CV.showWhenReady(img, preset.thumbnail_url, function () { art.classList.remove("is-loading"); });
    art.append(img);
    const name = document.createElement("span");
    name.className = "style-tile-name";
    name.textContent = presetLabel(preset);
    button.title = presetLabel(preset) + " (preset " + preset.id + " in the API)";
    button.append(art, name);
    button.addEventListener("click", function () { choosePreset(preset); });
    return button;
  }

  function buildGallery() {
    const gallery = $("style-gallery");
    gallery.querySelectorAll(".style-tile:not(.style-tile-own)").forEach(function (t) { t.remove(); });
    const presets = presetList();
    presets.forEach(function (p) { gallery.append(tile(p)); });
    const note = $("presets-note");
    const hasPresetMethod = styles.some(function (s) { return s.method === "preset"; });
    note.hidden = presets.length > 0 || !hasPresetMethod;
    note.textContent = "The ready-made styles are being prepared by the style worker (first start); they appear here by themselves.";
    if (hasPresetMethod && !presets.length) setTimeout(refreshPresets, 3000);
  }

  /* First start: the preset network is registered a little after the page loaded: fill the gallery then. */
  async function refreshPresets() {
    let fresh;
    try { fresh = (await CV.api("GET", page.dataset.stylesUrl)) || []; } catch (err) { fresh = []; }
    const entry = fresh.find(function (s) { return s.method === "preset"; });
    const known = styles.find(function (s) { return s.method === "preset"; });
    if (entry && known && entry.presets && entry.presets.length) {
      known.presets = entry.presets;
      buildGallery();
      syncGallery();
    } else {
      setTimeout(refreshPresets, 3000);
    }
  }

  function choosePreset(preset) {
    chosenPreset = preset;
    CV.showWhenReady($("chosen-preset-image"), preset.thumbnail_url);
    $("chosen-preset-image").alt = "The sample photo in the style " + preset.name;
    $("chosen-preset-name").textContent = presetLabel(preset);
    methodSelect.value = "preset";
    applyMethod();
  }

  function chooseOwn() {
    if (!needsStyle() || methodSelect.value === "preset") {
      const fallback = styles.find(function (s) { return s.method === "arbitrary"; }) ||
        styles.find(function (s) { return s.needs_style_image; });
      if (fallback) methodSelect.value = fallback.method;
    }
    applyMethod();
  }

  /* The gallery shows what the method select says: a preset tile, "your own", or neither (a fixed style). */
  function syncGallery() {
    if (methodSelect.value === "preset" && !chosenPreset && presetList().length) {
      chosenPreset = presetList()[0];
      CV.showWhenReady($("chosen-preset-image"), chosenPreset.thumbnail_url);
      $("chosen-preset-name").textContent = presetLabel(chosenPreset);
    }
    const selected = methodSelect.value === "preset" && chosenPreset ? String(chosenPreset.id)
      : needsStyle() ? "own" : null;
    $("style-gallery").querySelectorAll(".style-tile").forEach(function (t) {
      const on = t.dataset.choice === selected;
      t.classList.toggle("is-selected", on);
      t.setAttribute("aria-checked", String(on));
    });
  }

  $("style-gallery").querySelector(".style-tile-own").addEventListener("click", chooseOwn);

  /* ---------- the expected wait, from what past jobs of this method and size took here ---------- */

  function secondsText(seconds) {
    if (seconds < 10) return seconds.toFixed(1) + " s";
    if (seconds < 120) return Math.round(seconds) + " s";
    return Math.round(seconds / 60) + " min";
  }

  /* After a job, the waits include it: refresh them without touching the user's choices. */
  async function refreshWaits() {
    try {
      const fresh = (await CV.api("GET", page.dataset.stylesUrl)) || [];
      fresh.forEach(function (f) {
        const known = styles.find(function (s) { return s.method === f.method; });
        if (known) known.expected_seconds = f.expected_seconds;
      });
      showExpectedWait();
    } catch (err) { /* the old figures stay */ }
  }

  function showExpectedWait() {
    const method = currentMethod();
    const out = $("expected-wait");
    if (!method) { out.textContent = ""; return; }
    const table = method.expected_seconds || {};
    const size = Number(sizeSelect.value);
    const exact = table[String(size)];
    if (exact) {
      out.textContent = "Expected wait: about " + secondsText(exact.seconds) + " (median of " + exact.jobs +
        " job" + (exact.jobs === 1 ? "" : "s") + " here at " + size + " px).";
      return;
    }
    const known = Object.keys(table).map(Number);
    if (known.length) {
      const near = known.reduce(function (a, b) { return Math.abs(b - size) < Math.abs(a - size) ? b : a; });
      const estimate = table[String(near)].seconds * Math.max(0.25, Math.pow(size / near, 2));
      out.textContent = "Expected wait: roughly " + secondsText(estimate) + " (scaled from " + table[String(near)].jobs +
        " job" + (table[String(near)].jobs === 1 ? "" : "s") + " here at " + near + " px).";
      return;
    }
    if (method.method === "nst") {
      // measured on a 2-core CPU (ml/style/methods.py, NST_DEFAULT_STRENGTH); a GPU is faster
      const cpu = { 128: 90, 256: 90, 512: 280 }[size];
      out.textContent = cpu ? "Expected wait: about " + secondsText(cpu) + " on a CPU (no jobs timed here yet)."
        : "Expected wait: over 10 minutes on a CPU (no jobs timed here yet).";
      return;
    }
    out.textContent = "Expected wait: no jobs of this method timed here yet.";
  }

  function methodName(style) {
    const names = {
      arbitrary: "Fast: any style picture", preset: "Fast: a ready-made style", nst: "Classic: minutes on a CPU",
      adain: "Fast (AdaIN, any style)",
    };
    let name = names[style.method] || CV.capitalize(CV.humanize(style.method));
    if (!style.needs_style_image && !names[style.method]) name += " (built-in style)";
    return name;
  }

  async function loadStyles() {
    try {
      styles = (await CV.api("GET", page.dataset.stylesUrl)) || [];
    } catch (err) {
      methodSelect.replaceChildren(new Option("Could not load methods", ""));
      CV.showAlert(err.message);
      return;
    }
    methodSelect.replaceChildren();
    styles.forEach(function (style) {
      const option = new Option(methodName(style), style.method);
      option.dataset.testid = "method-option-" + style.method;
      methodSelect.append(option);
    });
    buildGallery();
    const wanted = new URLSearchParams(window.location.search).get("method");
    if (wanted && styles.some(function (s) { return s.method === wanted; })) methodSelect.value = wanted;
    else if (styles.some(function (s) { return s.method === "arbitrary"; })) methodSelect.value = "arbitrary";
    methodSelect.disabled = !styles.length;
    applyMethod();
  }

  methodSelect.addEventListener("change", applyMethod);
  sizeSelect.addEventListener("change", showExpectedWait);
  strength.addEventListener("input", function () {
    strengthTouched = true;
    $("strength-value").textContent = Number(strength.value).toFixed(2);
    showYourChoice(defaultStrength(currentMethod()));
  });

  /* ---------- job status ---------- */

  function setProgress(status, progress) {
    const bar = $("job-progress");
    const value = status === "done" ? 1 : Math.max(0, Math.min(1, Number(progress) || 0));
    bar.querySelector(".progress-fill").style.width = (value * 100).toFixed(1) + "%";
    bar.setAttribute("aria-valuenow", Math.round(value * 100));
    bar.classList.toggle("is-indeterminate", status === "queued");
    bar.classList.toggle("is-done", status === "done");
    bar.classList.toggle("is-failed", status === "failed");
    $("job-percent").textContent = status === "queued" ? "" : Math.round(value * 100) + "%";
  }

  function renderStatus(job) {
    const status = job.status || "queued";
    const badge = $("job-status");
    badge.textContent = status;
    badge.className = "badge " + (STATUS_BADGE[status] || "");
    badge.dataset.status = status;
    $("job-status-text").textContent = (STATUS_TEXT[status] || status) + elapsedText(job, status);
    setProgress(status, job.progress);
    $("job-progress-block").hidden = status === "done";
    $("delete-stylization").hidden = job.yours !== true;
    const error = $("job-error");
    if (status === "failed") {
      error.textContent = job.error || "The stylization failed. Please try again with other pictures or settings.";
      error.hidden = false;
    } else {
      error.hidden = true;
    }
    if (status === "done") renderDone(job);
  }

  /* Seconds since the job was created (from the API when it says), shown while it waits or runs. */
  function elapsedText(job, status) {
    if (status !== "queued" && status !== "running") return "";
    const created = job.created ? Date.parse(job.created) : NaN;
    const since = isNaN(created) ? watchStarted : Math.min(created, Date.now());
    const seconds = Math.max(0, Math.round((Date.now() - since) / 1000));
    if (status === "queued" && seconds >= 30) return " " + seconds + " s · other pictures are ahead of yours, or no worker is running";
    return seconds >= 2 ? " " + seconds + " s" : "";
  }

  function showFigure(figId, imgId, src) {
    $(figId).hidden = !src;
    if (src) $(imgId).src = src;
  }

  /* "Result · preset 7 · Night dots · strength 0.80": what the picture was made with. */
  function resultCaption(job) {
    const parts = ["Result"];
    if (job.preset) parts.push("preset " + presetLabel(job.preset));
    else if (job.method) {
      const known = styles.find(function (s) { return s.method === job.method; });
      parts.push(known ? methodName(known) : job.method);
    }
    if (typeof job.strength === "number") parts.push("strength " + job.strength.toFixed(2));
    return parts.join(" · ");
  }

  function renderDone(job) {
    lastJob = job;
    const url = job.result_url || ("/api/stylize/" + encodeURIComponent(job.id) + "/result");
    $("result-image").src = url;
    $("result-caption").textContent = resultCaption(job);
    const link = $("download-link");
    link.href = url;
    link.setAttribute("download", "celebvision-" + job.id + ".png");
    const inputs = submittedInputs || {};
    showFigure("fig-content", "result-content", inputs.content || job.content_url || null);
    showFigure("fig-style", "result-style", inputs.style || job.style_url || null);
    $("triptych").classList.toggle("no-inputs", $("fig-content").hidden && $("fig-style").hidden);
    $("job-seconds").textContent = typeof job.seconds === "number"
      ? "Took " + (job.seconds < 10 ? job.seconds.toFixed(1) : Math.round(job.seconds)) + " s"
      : "";
    $("job-result").hidden = false;
    // Only the person who made it rates it; a shared link shows the picture alone.
    $("rating-form").hidden = job.yours === false;
    if (job.rating) showRated(job.rating.stars, job.rating.comment);
  }

  /** Lock the rating widget on the stars given (just now, or on an earlier visit). */
  function showRated(n, comment) {
    stars = n;
    renderStars(n);
    $("rating-submit").hidden = true;
    $("rating-comment").value = comment || "";
    $("rating-comment").disabled = true;
    document.querySelectorAll("#stars .star").forEach(function (b) { b.disabled = true; });
    $("rating-thanks").hidden = false;
  }

  function stopPolling() {
    if (pollTimer !== null) clearTimeout(pollTimer);
    pollTimer = null;
    updateSubmit();
  }

  async function poll() {
    let job;
    try {
      job = await CV.api("GET", "/api/stylize/" + encodeURIComponent(jobId));
      pollFailures = 0;
    } catch (err) {
      pollFailures += 1;
      if (err.status === 404 || pollFailures >= MAX_POLL_FAILURES) {
        stopPolling();
        CV.showAlert(err.status === 404 ? "There is no stylization with this link; check that it was copied whole." : err.message);
        if (err.status === 404) $("job-card").hidden = true;
        return;
      }
      pollTimer = setTimeout(poll, POLL_MS * Math.min(8, 2 ** pollFailures));
      return;
    }
    renderStatus(job);
    if (job.status === "done" || job.status === "failed") {
      stopPolling();
      if (job.status === "done") refreshWaits();
    } else {
      pollTimer = setTimeout(poll, Date.now() - watchStarted < FAST_POLL_FOR_MS ? FAST_POLL_MS : POLL_MS);
    }
  }

  function watch(id) {
    stopPolling();
    jobId = id;
    watchStarted = Date.now();
    stars = 0;
    renderStars(0);
    $("rating-comment").value = "";
    $("rating-comment").disabled = false;
    $("rating-submit").hidden = false;
    $("rating-thanks").hidden = true;
    document.querySelectorAll("#stars .star").forEach(function (b) { b.disabled = false; });
    $("job-id").textContent = "#" + id;
    $("job-result").hidden = true;
    $("job-card").hidden = false;
    renderStatus({ id: id, status: "queued", progress: 0 });
    pollTimer = setTimeout(poll, 0);
    updateSubmit();
  }

  /* The uploader deletes the stylization, its result and the pictures sent (DELETE /api/stylize/<id>). */
  $("delete-stylization").addEventListener("click", async function () {
    if (!jobId || !window.confirm("Delete this stylization, its result and the pictures you sent? This cannot be undone.")) return;
    try {
      await CV.api("DELETE", "/api/stylize/" + encodeURIComponent(jobId));
      stopPolling();
      $("job-card").hidden = true;
      jobId = null;
      history.pushState({}, "", page.dataset.pageUrl);
      CV.showAlert("Deleted: the stylization, its result and your pictures are gone.", "success");
    } catch (err) { CV.showAlert(err.message); }
  });

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    const content = contentZone.file();
    const style = needsStyle() ? styleZone.file() : null;
    if (!content) { CV.showAlert("Choose your photo first."); return; }
    if (needsStyle() && !style) { CV.showAlert("This method needs a style picture too."); return; }
    const tooLarge = CV.uploadTooLarge(content) || (style && CV.uploadTooLarge(style));
    if (tooLarge) { CV.showAlert(tooLarge); return; }
    CV.clearAlerts();
    const data = new FormData();
    data.append("content", content, content.name);
    if (style) data.append("style", style, style.name);
    data.append("method", methodSelect.value);
    if (methodSelect.value === "preset") {
      if (!chosenPreset) { CV.showAlert("Pick one of the ready-made styles first."); return; }
      data.append("preset", chosenPreset.id);
    }
    data.append("strength", strength.value);
    data.append("size", sizeSelect.value);
    CV.setBusy(submit, true, "Uploading…");
    try {
      const job = await CV.api("POST", page.dataset.stylizeUrl, data);
      submittedInputs = {
        content: contentZone.image() && contentZone.image().src,
        style: style && styleZone.image() ? styleZone.image().src : null,
      };
      history.pushState({ id: job.id }, "", page.dataset.pageUrl.replace(/\/$/, "") + "/" + job.id);
      CV.setBusy(submit, false);
      watch(job.id);
      $("job-card").scrollIntoView({ behavior: "smooth", block: "start" });
    } catch (err) {
      CV.setBusy(submit, false);
      CV.showAlert(err.message);
    }
    updateSubmit();
  });

  /* "New stylization" keeps your photo (and style picture): only the result goes away. */
  $("new-stylization").addEventListener("click", async function (event) {
    event.preventDefault();
    stopPolling();
    if (!contentZone.file() && lastJob && lastJob.content_url) {
      try {  // opened from its link: bring your photo back from the server
        const response = await fetch(lastJob.content_url, { credentials: "same-origin" });
        if (response.ok) {
          const blob = await response.blob();
          contentZone.set(new File([blob], "your-photo." + (blob.type.split("/")[1] || "jpg"), { type: blob.type }));
        }
      } catch (err) { /* the form stays empty: choose the photo again */ }
    }
    history.pushState({}, "", page.dataset.pageUrl);
    $("job-card").hidden = true;
    $("stylize-form-title").textContent = "Your pictures";
    form.scrollIntoView({ behavior: "smooth", block: "start" });
    updateSubmit();
  });

  window.addEventListener("popstate", function () {
    const match = window.location.pathname.match(/\/stylize\/([A-Za-z0-9_-]+)$/);
    if (match) { watch(match[1]); } else { stopPolling(); $("job-card").hidden = true; }
  });

  /* ---------- rating ---------- */

  function renderStars(n, preview) {
    document.querySelectorAll("#stars .star").forEach(function (button) {
      const value = Number(button.dataset.stars);
      button.classList.toggle("is-on", value <= n);
      if (!preview) button.setAttribute("aria-checked", String(value === n));
    });
    $("rating-caption").textContent = n ? n + " / 5 · " + STAR_CAPTIONS[n] : "Pick 1 to 5 stars.";
  }

  document.querySelectorAll("#stars .star").forEach(function (button) {
    const value = Number(button.dataset.stars);
    button.addEventListener("click", function () {
      stars = value;
      renderStars(stars);
      $("rating-submit").disabled = false;
    });
    button.addEventListener("mouseenter", function () { if (!button.disabled) renderStars(value, true); });
    button.addEventListener("mouseleave", function () { renderStars(stars, true); });
    button.addEventListener("keydown", function (event) {
      const step = { ArrowRight: 1, ArrowUp: 1, ArrowLeft: -1, ArrowDown: -1 }[event.key];
      if (!step) return;
      event.preventDefault();
      stars = Math.max(1, Math.min(5, (stars || value) + step));
      renderStars(stars);
      $("rating-submit").disabled = false;
      document.querySelector('#stars .star[data-stars="' + stars + '"]').focus();
    });
  });

  $("rating-form").addEventListener("submit", async function (event) {
    event.preventDefault();
    if (!stars) { CV.showAlert("Pick 1 to 5 stars first."); return; }
    const button = $("rating-submit");
    CV.setBusy(button, true, "Sending…");
    const body = { stars: stars };
    const comment = $("rating-comment").value.trim();
    if (comment) body.comment = comment;
    try {
      await CV.api("POST", "/api/stylize/" + encodeURIComponent(jobId) + "/rating", body);
      CV.clearAlerts();
      showRated(stars, comment);
    } catch (err) {
      CV.showAlert(err.message);
    } finally {
      CV.setBusy(button, false);
    }
  });

  loadStyles();
  if (page.dataset.stylizationId) watch(page.dataset.stylizationId);
})();
