/* Classify page: pick a photo and a task, show the prediction, send the user's feedback. */
(function () {
  "use strict";

  const page = document.getElementById("classify-page");
  if (!page) return;
  const $ = function (id) { return document.getElementById(id); };

  const form = $("classify-form");
  const taskSelect = $("task-select");
  const taskHint = $("task-hint");
  const submit = $("classify-submit");
  const faceBox = $("face-box");
  const tasksUrl = page.dataset.tasksUrl;
  const classifyUrl = page.dataset.classifyUrl;

  let tasks = [];
  let lastResult = null;

  const zone = CV.setupDropzone($("classify-zone"), function (file) {
    CV.clearAlerts();
    hideFaceBox();
    resetResult();
    const tooLarge = CV.uploadTooLarge(file);
    if (tooLarge) CV.showAlert(tooLarge);
    updateSubmit();
  });

  function updateSubmit() {
    submit.disabled = !(zone.file() && taskSelect.value && !submit.classList.contains("is-busy"));
  }

  function taskByName(name) {
    return tasks.find(function (t) { return t.name === name; }) || null;
  }

  function describeTask() {
    const task = taskByName(taskSelect.value);
    if (!task) { taskHint.textContent = ""; return; }
    const what = task.description || ("Answers " + task.labels.map(CV.humanize).join(" or ") + ".");
    taskHint.textContent = what + (task.model_version
      ? " Model " + task.model_version + "."
      : " No model trained yet: you can still label photos.");
  }

  async function loadTasks() {
    try {
      tasks = (await CV.api("GET", tasksUrl)) || [];
    } catch (err) {
      taskSelect.replaceChildren(new Option("Could not load tasks", ""));
      CV.showAlert(err.message);
      return;
    }
    taskSelect.replaceChildren();
    if (!tasks.length) {
      taskSelect.append(new Option("No tasks available", ""));
      return;
    }
    tasks.forEach(function (task) {
      const option = new Option(CV.capitalize(CV.humanize(task.name)), task.name);
      option.dataset.testid = "task-option-" + task.name;
      taskSelect.append(option);
    });
    const wanted = new URLSearchParams(window.location.search).get("task");
    if (wanted && taskByName(wanted)) taskSelect.value = wanted;
    taskSelect.disabled = false;
    describeTask();
    updateSubmit();
  }

  taskSelect.addEventListener("change", function () {
    describeTask();
    resetResult();
    hideFaceBox();
    updateSubmit();
    const url = new URL(window.location.href);
    url.searchParams.set("task", taskSelect.value);
    history.replaceState(null, "", url);
  });

  function resetResult() {
    lastResult = null;
    $("delete-classification").hidden = true;
    hideFaceBox();
    $("result").hidden = true;
    $("result-empty").hidden = false;
  }

  function hideFaceBox() { faceBox.hidden = true; }

  /* face_box is in pixels of the (orientation-corrected) original; percentages keep it
     aligned with the preview at any displayed size. */
  function showFaceBox(box) {
    const img = zone.image();
    if (!box || !img) return hideFaceBox();
    const place = function () {
      const w = img.naturalWidth, h = img.naturalHeight;
      if (!w || !h) return hideFaceBox();
      faceBox.style.left = (100 * box[0] / w) + "%";
      faceBox.style.top = (100 * box[1] / h) + "%";
      faceBox.style.width = (100 * box[2] / w) + "%";
      faceBox.style.height = (100 * box[3] / h) + "%";
      faceBox.hidden = false;
    };
    if (img.complete && img.naturalWidth) place();
    else img.addEventListener("load", place, { once: true });
  }

  function renderProbabilities(result) {
    const list = $("prob-list");
    list.replaceChildren();
    const task = taskByName(result.task);
    const labels = task ? task.labels.slice() : Object.keys(result.probabilities || {});
    const probs = result.probabilities || {};
    if (!Object.keys(probs).length) { list.hidden = true; return; }
    list.hidden = false;
    labels.sort(function (a, b) { return (probs[b] || 0) - (probs[a] || 0); });
    labels.forEach(function (label) {
      const p = probs[label] || 0;
      const item = document.createElement("li");
      item.className = "prob-item" + (label === result.label ? " is-top" : "");
      item.dataset.testid = "prob-" + label;
      item.dataset.label = label;
      const head = document.createElement("div");
      head.className = "prob-head";
      const name = document.createElement("span");
      name.textContent = CV.labelText(label);
      const pct = document.createElement("span");
      pct.className = "pct";
      pct.textContent = CV.percent(p, 1);
      head.append(name, pct);
      const bar = document.createElement("div");
      bar.className = "prob-bar";
      bar.setAttribute("role", "meter");
      bar.setAttribute("aria-valuemin", "0");
      bar.setAttribute("aria-valuemax", "100");
      bar.setAttribute("aria-valuenow", (p * 100).toFixed(1));
      bar.setAttribute("aria-label", CV.humanize(label));
      const fill = document.createElement("div");
      fill.className = "prob-fill";
      bar.append(fill);
      item.append(head, bar);
      list.append(item);
      requestAnimationFrame(function () { fill.style.width = CV.percent(p, 2); });
    });
  }

  function feedbackButton(text, label, cls, testid) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "btn " + cls;
    button.textContent = text;
    button.dataset.label = label;
    button.dataset.testid = testid;
    button.addEventListener("click", function () { sendFeedback(label, button); });
    return button;
  }

  function renderFeedback(result) {
    const box = $("feedback-buttons");
    box.replaceChildren();
    $("feedback-thanks").hidden = true;
    const task = taskByName(result.task);
    const labels = task ? task.labels : Object.keys(result.probabilities || {});
    if (result.label === null || result.label === undefined) {
      $("feedback-question").textContent = "Which label is right for this photo?";
      labels.forEach(function (label) {
        box.append(feedbackButton(CV.labelText(label), label, "btn-secondary", "feedback-label-" + label));
      });
      return;
    }
    $("feedback-question").textContent = "Did it get it right?";
    box.append(feedbackButton("Right", result.label, "btn-success", "feedback-right"));
    labels.filter(function (l) { return l !== result.label; }).forEach(function (label) {
      box.append(feedbackButton("Wrong: it is " + CV.humanize(label), label, "btn-danger", "feedback-wrong-" + label));
    });
  }

  /* The age estimate, and a plain warning when no face was found (the whole photo was read). */
  function renderFaceNote(result) {
    const parts = [];
    if (typeof result.age_years === "number") {
      parts.push("Estimated age: about " + Math.round(result.age_years) + " years.");
    }
    if (result.face_found === false && result.label !== null && result.label !== undefined) {
      parts.push("No face was found, so the whole photo was read as one: the answer may mean little.");
    }
    $("face-note").textContent = parts.join(" ");
    $("face-note").hidden = parts.length === 0;
  }

  function renderResult(result) {
    lastResult = result;
    const noModel = result.label === null || result.label === undefined;
    $("no-model").hidden = !noModel;
    $("prediction").hidden = noModel;
    if (!noModel) {
      $("predicted-label").textContent = CV.labelText(result.label);
      $("predicted-probability").replaceChildren(
        document.createTextNode("Confidence "),
        Object.assign(document.createElement("strong"), { textContent: CV.percent(result.probability, 1) })
      );
    }
    renderProbabilities(result);
    renderFaceNote(result);
    $("model-version").textContent = result.model_version ? "Model version " + result.model_version : "";
    renderFeedback(result);
    showFaceBox(result.face_box);
    $("result-empty").hidden = true;
    $("result").hidden = false;
    $("delete-classification").hidden = false;
    if (window.matchMedia("(max-width: 860px)").matches) {
      $("result-card").scrollIntoView({ behavior: "smooth", block: "start" });
    }
  }

  async function sendFeedback(label, button) {
    if (!lastResult) return;
    const buttons = $("feedback-buttons").querySelectorAll("button");
    buttons.forEach(function (b) { b.disabled = true; });
    CV.clearAlerts();
    try {
      await CV.api("POST", "/api/classify/" + encodeURIComponent(lastResult.id) + "/feedback", { label: label });
      button.classList.add("is-chosen");
      button.setAttribute("aria-pressed", "true");
      $("feedback-thanks").hidden = false;
    } catch (err) {
      CV.showAlert(err.message);
      buttons.forEach(function (b) { b.disabled = false; });
    }
  }

  /* The uploader deletes the photo, the answer and their label (DELETE /api/classify/<id>). */
  $("delete-classification").addEventListener("click", async function () {
    if (!lastResult || !window.confirm("Delete this photo, its answer and your label? This cannot be undone.")) return;
    try {
      await CV.api("DELETE", "/api/classify/" + encodeURIComponent(lastResult.id));
      resetResult();
      CV.showAlert("Deleted: your photo and everything made from it are gone.", "success");
    } catch (err) { CV.showAlert(err.message); }
  });

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    const file = zone.file();
    if (!file) { CV.showAlert("Choose a photo first."); return; }
    const tooLarge = CV.uploadTooLarge(file);
    if (tooLarge) { CV.showAlert(tooLarge); return; }
    CV.clearAlerts();
    hideFaceBox();
    const data = new FormData();
    data.append("image", file, file.name);
    if (taskSelect.value) data.append("task", taskSelect.value);
    CV.setBusy(submit, true, "Classifying…");
    try {
      renderResult(await CV.api("POST", classifyUrl, data));
    } catch (err) {
      resetResult();
      CV.showAlert(err.message);
    } finally {
      CV.setBusy(submit, false);
      updateSubmit();
    }
  });

  loadTasks();
})();
