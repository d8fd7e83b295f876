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

  let selected = 0;        // the face whose answer is shown and labelled
  let answered = {};       // face index (or "none") -> what this user said about it

  function hideFaceBox() {
    faceBox.hidden = true;
    faceBox.parentElement.querySelectorAll(".face-box.is-extra").forEach(function (b) { b.remove(); });
  }

  /* One numbered box per face; face_box is in pixels of the (orientation-corrected) original,
     and percentages keep it aligned with the preview at any displayed size. */
  function showFaceBoxes(result) {
    hideFaceBox();
    const img = zone.image();
    const faces = result.faces || [];
    const boxes = faces.length ? faces.map(function (f) { return f.face_box; }) : (result.face_box ? [result.face_box] : []);
    if (!boxes.length || !img) return;
    const place = function () {
      const w = img.naturalWidth, h = img.naturalHeight;
      if (!w || !h) return;
      boxes.forEach(function (box, i) {
        const el = i === 0 ? faceBox : faceBox.cloneNode(true);
        if (i > 0) {
          el.id = "";
          el.classList.add("is-extra");
          el.dataset.testid = "face-box-" + i;
          faceBox.parentElement.append(el);
        }
        el.querySelector(".face-box-tag").textContent = boxes.length > 1 ? String(i + 1) : "face";
        el.classList.toggle("is-other", boxes.length > 1 && i !== selected);
        el.classList.toggle("is-selected", boxes.length > 1 && i === selected);
        el.style.left = (100 * box[0] / w) + "%";
        el.style.top = (100 * box[1] / h) + "%";
        el.style.width = (100 * box[2] / w) + "%";
        el.style.height = (100 * box[3] / h) + "%";
        el.hidden = false;
      });
    };
    if (img.complete && img.naturalWidth) place();
    else img.addEventListener("load", place, { once: true });
  }

  /* The face cut from the preview and turned upright (rotation: degrees counter-clockwise). */
  function drawChip(canvas, box, rotation) {
    const img = zone.image();
    const side = 96;
    canvas.width = side;
    canvas.height = side;
    if (!img || !box) return;
    const draw = function () {
      const ctx = canvas.getContext("2d");
      const grow = 0.15, x = box[0] - grow * box[2], y = box[1] - grow * box[3];
      const w = box[2] * (1 + 2 * grow), h = box[3] * (1 + 2 * grow);
      const scale = side / Math.max(w, h);
      ctx.translate(side / 2, side / 2);
      ctx.rotate(-(rotation || 0) * Math.PI / 180);
      ctx.drawImage(img, x, y, w, h, -w * scale / 2, -h * scale / 2, w * scale, h * scale);
    };
    if (img.complete && img.naturalWidth) draw();
    else img.addEventListener("load", draw, { once: true });
  }

  function isNoFace(result) {
    return result.model_version && result.face_found === false && !(result.faces || []).length;
  }

  /* What the page shows as the answer: the selected face's, else the photo's. */
  function shownAnswer(result) {
    const face = (result.faces || [])[selected];
    return face ? Object.assign({ task: result.task }, face) : result;
  }

  function renderFaces(result) {
    const faces = result.faces || [];
    const turned = faces.some(function (f) { return f.rotation; });
    const show = faces.length > 1 || turned;
    $("faces").hidden = !show;
    const list = $("faces-list");
    list.replaceChildren();
    if (!show) return;
    $("faces-title").textContent = faces.length > 1
      ? faces.length + " faces found: choose one to see its answer and to label it."
      : "The face found, turned upright:";
    faces.forEach(function (face, i) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "face-pick" + (i === selected ? " is-selected" : "");
      button.dataset.testid = "face-pick-" + i;
      button.setAttribute("aria-pressed", String(i === selected));
      const chip = document.createElement("canvas");
      chip.dataset.testid = "face-chip-" + i;
      chip.setAttribute("aria-hidden", "true");
      drawChip(chip, face.face_box, face.rotation);
      const text = document.createElement("span");
      text.className = "face-pick-text";
      const name = document.createElement("strong");
      name.textContent = "Face " + (i + 1) + ": " + CV.labelText(face.label);
      const pct = document.createElement("span");
      pct.className = "muted";
      pct.textContent = CV.percent(face.probability, 0) + (typeof face.age_years === "number" ? ", about " + Math.round(face.age_years) + " years" : "");
      text.append(name, pct);
      button.append(chip, text);
      button.addEventListener("click", function () { selected = i; renderSelected(); });
      list.append(button);
    });
  }

  function renderProbabilities(result) {
    const list = $("prob-list");
    list.replaceChildren();
    const task = taskByName(result.task);
    const labels = task ? task.labels.slice() : Object.keys(result.probabilities || {});
    const probs = result.probabilities || {};
    if (!Object.keys(probs).length || result.label === null || result.label === undefined) { list.hidden = true; return; }
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

  function feedbackButton(text, body, cls, testid) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "btn " + cls;
    button.textContent = text;
    if (body.label) button.dataset.label = body.label;
    button.dataset.testid = testid;
    button.addEventListener("click", function () { sendFeedback(body, button); });
    return button;
  }

  function answerKey(body) { return body.no_face ? "none" : String(body.face || 0); }

  function renderFeedback(result) {
    const box = $("feedback-buttons");
    box.replaceChildren();
    const task = taskByName(result.task);
    const labels = task ? task.labels : Object.keys(result.probabilities || {});
    const shown = shownAnswer(result);
    const face = (result.faces || []).length ? selected : 0;
    const many = (result.faces || []).length > 1;
    const labelBody = function (label) { return { label: label, face: face }; };
    if (isNoFace(result)) {
      $("feedback-question").textContent = "Is there a face in this photo?";
      box.append(feedbackButton("There is no face here", { no_face: true }, "btn-success", "feedback-no-face"));
      labels.forEach(function (label) {
        box.append(feedbackButton("There is: " + CV.labelText(label), labelBody(label), "btn-secondary", "feedback-label-" + label));
      });
    } else if (shown.label === null || shown.label === undefined) {
      $("feedback-question").textContent = "Which label is right for this photo?";
      labels.forEach(function (label) {
        box.append(feedbackButton(CV.labelText(label), labelBody(label), "btn-secondary", "feedback-label-" + label));
      });
    } else {
      $("feedback-question").textContent = many ? "Did it get face " + (face + 1) + " right?" : "Did it get it right?";
      box.append(feedbackButton("Right", labelBody(shown.label), "btn-success", "feedback-right"));
      labels.filter(function (l) { return l !== shown.label; }).forEach(function (label) {
        box.append(feedbackButton("Wrong: it is " + CV.humanize(label), labelBody(label), "btn-danger", "feedback-wrong-" + label));
      });
    }
    showAnswered(result);
  }

  /* The buttons stay locked after an answer until the user asks to change it. */
  function showAnswered(result) {
    const face = (result.faces || []).length ? selected : 0;
    const said = answered.none ? answered.none : answered[String(face)];
    const buttons = $("feedback-buttons").querySelectorAll("button");
    buttons.forEach(function (b) {
      const chosen = !!said && ((said.no_face && b.dataset.testid === "feedback-no-face") || (!said.no_face && b.dataset.label === said.label));
      b.disabled = !!said;
      b.classList.toggle("is-chosen", chosen);
      if (chosen) b.setAttribute("aria-pressed", "true"); else b.removeAttribute("aria-pressed");
    });
    $("feedback-thanks").hidden = !said;
    $("feedback-change").hidden = !said;
    if (said) {
      $("feedback-thanks-text").textContent = said.no_face
        ? "Thanks - noted that there is no face here (this is never used as a label)"
        : "Thanks - this helps train the next model";
    }
  }

  $("feedback-change").addEventListener("click", function () {
    $("feedback-buttons").querySelectorAll("button").forEach(function (b) { b.disabled = false; });
    $("feedback-change").hidden = true;
    $("feedback-thanks").hidden = true;
  });

  /* The age estimate, and what the answer means. */
  function renderFaceNote(result, shown) {
    const parts = [];
    if (typeof shown.age_years === "number") {
      parts.push("Estimated age: about " + Math.round(shown.age_years) + " years.");
    }
    if (isNoFace(result)) {
      parts.push("The model only answers about faces, so it gives no answer for this photo.");
    } else if (result.face_found === false && result.label !== null && result.label !== undefined) {
      parts.push("No face was found, so the whole photo was read as one: the answer may mean little.");
    }
    $("face-note").textContent = parts.join(" ");
    $("face-note").hidden = parts.length === 0;
  }

  function renderSelected() {
    const result = lastResult;
    const shown = shownAnswer(result);
    const noFace = isNoFace(result);
    const noModel = !result.model_version && (result.label === null || result.label === undefined);
    $("no-model").hidden = !noModel;
    $("prediction").hidden = noModel;
    $("prediction").classList.toggle("is-no-face", !!noFace);
    if (noFace) {
      $("predicted-label").textContent = "No face found";
      $("predicted-probability").textContent = "No answer: the model found no face in this photo.";
    } else if (!noModel) {
      $("predicted-label").textContent = CV.labelText(shown.label);
      $("predicted-probability").replaceChildren(
        document.createTextNode(((result.faces || []).length > 1 ? "Face " + (selected + 1) + " · " : "") + "Confidence "),
        Object.assign(document.createElement("strong"), { textContent: CV.percent(shown.probability, 1) })
      );
    }
    renderFaces(result);
    renderProbabilities(shown);
    renderFaceNote(result, shown);
    renderFeedback(result);
    showFaceBoxes(result);
  }

  function renderResult(result) {
    lastResult = result;
    selected = 0;
    answered = {};
    renderSelected();
    $("model-version").textContent = result.model_version ? "Model version " + result.model_version : "";
    $("result-empty").hidden = true;
    $("result").hidden = false;
    $("delete-classification").hidden = false;
    if (window.matchMedia("(max-width: 860px)").matches) {
      $("result-card").scrollIntoView({ behavior: "smooth", block: "start" });
    }
  }

  async function sendFeedback(body, button) {
    if (!lastResult) return;
    const buttons = $("feedback-buttons").querySelectorAll("button");
    buttons.forEach(function (b) { b.disabled = true; });
    CV.clearAlerts();
    try {
      await CV.api("POST", "/api/classify/" + encodeURIComponent(lastResult.id) + "/feedback", body);
      if (body.no_face) answered = { none: body };
      else { delete answered.none; answered[answerKey(body)] = body; }
      showAnswered(lastResult);
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
