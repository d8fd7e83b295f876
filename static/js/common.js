/* Shared helpers for every page: CSRF, the /api fetch wrapper, alerts, drop zones. */
(function () {
  "use strict";

  const FALLBACK_MESSAGES = {
    400: "The server could not use that request.",
    401: "Please log in first.",
    403: "You are not allowed to do that.",
    404: "Not found.",
    413: "That file is too large.",
    429: "Too many requests, try again in a minute",
    500: "Something went wrong on the server. Please try again.",
    502: "The server is not reachable right now. Please try again.",
    503: "The service is temporarily unavailable. Please try again shortly.",
  };

  function csrfToken() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  /** An Error carrying the HTTP status and the API's message. */
  class ApiError extends Error {
    constructor(message, status, data) {
      super(message);
      this.name = "ApiError";
      this.status = status;
      this.data = data || null;  // the whole JSON body, e.g. a 409's job_id
    }
  }

  /**
   * Call the API. body may be FormData (sent as multipart) or a plain object (sent as JSON).
   * Resolves to the parsed JSON; rejects with an ApiError holding the API's {"error"} message.
   */
  async function api(method, url, body) {
    const opts = { method: method, credentials: "same-origin", headers: { Accept: "application/json" } };
    if (method !== "GET" && method !== "HEAD") opts.headers["X-CSRFToken"] = csrfToken();
    if (body instanceof FormData) {
      opts.body = body;
    } else if (body !== undefined && body !== null) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(url, opts);
    } catch (err) {
      throw new ApiError("Could not reach the server. Check your connection and try again.", 0);
    }
    let data = null;
    const text = await response.text();
    if (text) {
      try { data = JSON.parse(text); } catch (err) { data = null; }
    }
    if (!response.ok) {
      const message = (data && typeof data.error === "string" && data.error) ||
        FALLBACK_MESSAGES[response.status] || ("Request failed (HTTP " + response.status + ").");
      throw new ApiError(message, response.status, data);
    }
    return data;
  }

  /** Show a message in the page's alert area. kind: error | success | info | warning. */
  function showAlert(message, kind) {
    kind = kind || "error";
    const area = document.getElementById("alert-area");
    if (!area) { window.alert(message); return null; }
    const box = document.createElement("div");
    box.className = "alert alert-" + kind;
    box.setAttribute("role", kind === "error" ? "alert" : "status");
    box.dataset.testid = "alert";
    const text = document.createElement("div");
    text.className = "alert-message";
    text.textContent = message;
    const close = document.createElement("button");
    close.type = "button";
    close.className = "alert-close";
    close.setAttribute("aria-label", "Dismiss");
    close.addEventListener("click", function () { box.remove(); });
    box.append(text, close);
    area.replaceChildren(box);
    if (area.getBoundingClientRect().top < 60) area.scrollIntoView({ behavior: "smooth", block: "center" });
    return box;
  }

  function clearAlerts() {
    const area = document.getElementById("alert-area");
    if (area) area.replaceChildren();
  }

  /** Human form of a label or task name: "not_smiling" -> "not smiling"; hyphens stay
      (the age bracket "18-29" is a range, not two numbers). */
  function humanize(name) {
    return String(name == null ? "" : name).replace(/_+/g, " ").trim();
  }

  function capitalize(text) {
    return text ? text.charAt(0).toUpperCase() + text.slice(1) : text;
  }

  /** The one way a label is shown on its own: "not_face" -> "Not face" (sentence case, everywhere). */
  function labelText(name) {
    return capitalize(humanize(name));
  }

  function percent(p, digits) {
    const value = Math.max(0, Math.min(1, Number(p) || 0)) * 100;
    return value.toFixed(digits === undefined ? 0 : digits) + "%";
  }

  function formatBytes(n) {
    if (n < 1024) return n + " B";
    if (n < 1024 * 1024) return (n / 1024).toFixed(0) + " KB";
    return (n / (1024 * 1024)).toFixed(1) + " MB";
  }

  /** Toggle a button's busy state (spinner + disabled). */
  function setBusy(button, busy, busyText) {
    if (!button) return;
    const label = button.querySelector(".btn-label");
    if (busy) {
      if (label && !button.dataset.idleText) button.dataset.idleText = label.textContent;
      if (label && busyText) label.textContent = busyText;
      button.classList.add("is-busy");
      button.disabled = true;
      button.setAttribute("aria-busy", "true");
    } else {
      if (label && button.dataset.idleText) label.textContent = button.dataset.idleText;
      button.classList.remove("is-busy");
      button.disabled = false;
      button.removeAttribute("aria-busy");
    }
  }

  /** Returns an error message when the file is over the server's upload limit, else null. */
  function uploadTooLarge(file) {
    const limit = Number(document.body.dataset.maxUploadBytes || 0);
    if (!limit || !file || file.size <= limit) return null;
    return "This photo is too large (" + formatBytes(file.size) + "); the limit is " +
      formatBytes(limit) + ". Please choose a smaller one.";
  }

  /**
   * Wire a drop zone: <div class="dropzone"> holding an <input type=file>, a .preview-wrap > img,
   * and a .file-meta. Drag-and-drop, click/keyboard picking and a preview; onChange(file|null).
   */
  function setupDropzone(zone, onChange) {
    const input = zone.querySelector('input[type="file"]');
    const wrap = zone.querySelector(".preview-wrap");
    const img = wrap ? wrap.querySelector("img") : null;
    const meta = zone.querySelector(".file-meta");
    const nameEl = meta ? meta.querySelector(".name") : null;
    const sizeEl = meta ? meta.querySelector(".size") : null;
    const changeBtn = zone.querySelector("[data-action=change]");
    let objectUrl = null;
    let current = null;

    // A file the browser cannot show (a PDF named .jpg): no broken-image icon and clipped alt
    // text; its name stays, and the server's refusal says what is wrong.
    if (img) img.addEventListener("error", function () {
      if (!current || !img.getAttribute("src")) return;
      if (wrap) wrap.hidden = true;
      zone.classList.add("no-preview");
    });

    function accept(file) {
      if (objectUrl) URL.revokeObjectURL(objectUrl);
      objectUrl = null;
      current = file || null;
      zone.classList.remove("no-preview");
      if (current) {
        objectUrl = URL.createObjectURL(current);
        if (img) img.src = objectUrl;
        if (nameEl) { nameEl.textContent = current.name; nameEl.title = current.name; }
        if (sizeEl) sizeEl.textContent = formatBytes(current.size);
        zone.classList.add("has-file");
        if (wrap) wrap.hidden = false;
        if (meta) meta.hidden = false;
      } else {
        if (img) img.removeAttribute("src");
        zone.classList.remove("has-file");
        if (wrap) wrap.hidden = true;
        if (meta) meta.hidden = true;
      }
      onChange(current);
    }

    input.addEventListener("change", function () { accept(input.files && input.files[0]); });

    // The whole zone opens the picker, except once a photo is shown (then "Change" does).
    zone.addEventListener("click", function (event) {
      if (event.target === input || zone.classList.contains("has-file")) return;
      if (zone.classList.contains("is-disabled")) return;
      input.click();
    });
    if (changeBtn) changeBtn.addEventListener("click", function (event) {
      event.stopPropagation();
      input.click();
    });

    ["dragenter", "dragover"].forEach(function (type) {
      zone.addEventListener(type, function (event) {
        event.preventDefault();
        if (zone.classList.contains("is-disabled")) return;
        zone.classList.add("is-dragover");
      });
    });
    ["dragleave", "dragend"].forEach(function (type) {
      zone.addEventListener(type, function (event) {
        if (event.target === zone || !zone.contains(event.relatedTarget)) zone.classList.remove("is-dragover");
      });
    });
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      zone.classList.remove("is-dragover");
      if (zone.classList.contains("is-disabled")) return;
      const files = event.dataTransfer && event.dataTransfer.files;
      if (!files || !files.length) return;
      try { input.files = files; } catch (err) { /* older browsers: keep the file in JS only */ }
      accept(files[0]);
    });

    return {
      file: function () { return current; },
      image: function () { return img; },
      clear: function () { input.value = ""; accept(null); },
      set: function (file) { accept(file); },
    };
  }

  // A file dropped outside a drop zone must not navigate away from the page.
  window.addEventListener("dragover", function (e) { e.preventDefault(); });
  window.addEventListener("drop", function (e) { e.preventDefault(); });

  /**
   * Show `url` in `img` once the server has it: a picture still being made answers 202 with
   * Retry-After, and is asked for again then (no broken image, no 404 in the console).
   * The <img> gets class "is-loading" until then; onReady runs when the picture is shown.
   */
  function showWhenReady(img, url, onReady) {
    img.classList.add("is-loading");
    let tries = 0;
    async function attempt() {
      if (!img.isConnected && tries > 0) return;  // the tile was replaced meanwhile
      tries += 1;
      let response = null;
      try { response = await fetch(url, { credentials: "same-origin" }); } catch (err) { response = null; }
      if (response && response.status === 200) {
        img.addEventListener("load", function () { img.classList.remove("is-loading"); if (onReady) onReady(); }, { once: true });
        try { img.src = URL.createObjectURL(await response.blob()); } catch (err) { img.src = url; }  // the bytes we have: no second request
        return;
      }
      if (response && response.status !== 202) return;  // gone for good: the placeholder stays
      const wait = Number(response && response.headers.get("Retry-After")) || 2;
      if (tries < 300) setTimeout(attempt, Math.min(10, wait) * 1000);
    }
    attempt();
  }

  window.CV = {
    showWhenReady: showWhenReady,
    api: api,
    ApiError: ApiError,
    csrfToken: csrfToken,
    showAlert: showAlert,
    clearAlerts: clearAlerts,
    humanize: humanize,
    capitalize: capitalize,
    labelText: labelText,
    percent: percent,
    formatBytes: formatBytes,
    setBusy: setBusy,
    uploadTooLarge: uploadTooLarge,
    setupDropzone: setupDropzone,
  };
})();
