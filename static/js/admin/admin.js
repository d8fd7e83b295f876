/* Helpers shared by the admin console pages: DOM building, formatting, polling, SVG charts. */
(function () {
  "use strict";

  const SVG_NS = "http://www.w3.org/2000/svg";

  /**
   * Build an element: h("a", {class: "x", href: "/y", testid: "z", text: "hi"}, child, ...).
   * Children may be nodes, strings, or null (skipped). No HTML strings are ever parsed.
   */
  function h(tag, attrs) {
    const el = document.createElement(tag);
    setAttrs(el, attrs);
    for (let i = 2; i < arguments.length; i++) append(el, arguments[i]);
    return el;
  }

  function s(tag, attrs) {
    const el = document.createElementNS(SVG_NS, tag);
    setAttrs(el, attrs);
    for (let i = 2; i < arguments.length; i++) append(el, arguments[i]);
    return el;
  }

  function setAttrs(el, attrs) {
    Object.entries(attrs || {}).forEach(function (pair) {
      const key = pair[0], value = pair[1];
      if (value === null || value === undefined || value === false) return;
      if (key === "text") el.textContent = value;
      else if (key === "testid") el.setAttribute("data-testid", value);
      else if (key === "on") Object.entries(value).forEach(function (ev) { el.addEventListener(ev[0], ev[1]); });
      else el.setAttribute(key, value === true ? "" : value);
    });
  }

  function append(el, child) {
    if (child === null || child === undefined || child === false) return;
    if (Array.isArray(child)) { child.forEach(function (c) { append(el, c); }); return; }
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }

  /** "2024-05-01T12:03:00+00:00" -> "2024-05-01 12:03" in the browser's time zone. */
  function fmtTime(iso) {
    if (!iso) return "—";
    const d = new Date(iso);
    if (isNaN(d)) return iso;
    const pad = function (n) { return String(n).padStart(2, "0"); };
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " +
      pad(d.getHours()) + ":" + pad(d.getMinutes());
  }

  function fmtDuration(startIso, endIso) {
    if (!startIso) return "";
    const secs = Math.max(0, ((endIso ? new Date(endIso) : new Date()) - new Date(startIso)) / 1000);
    if (secs < 60) return Math.round(secs) + " s";
    if (secs < 3600) return Math.floor(secs / 60) + " min " + Math.round(secs % 60) + " s";
    return (secs / 3600).toFixed(1) + " h";
  }

  function fmtMetric(v) {
    return typeof v === "number" && isFinite(v) ? v.toFixed(3) : "—";
  }

  const STATUS_KIND = { queued: "", running: "primary", done: "success", failed: "danger" };

  function statusBadge(status, testid) {
    return h("span", { class: "badge badge-" + (STATUS_KIND[status] || "plain"), testid: testid, text: status || "—" });
  }

  /** Restyle an existing badge element for a job status. */
  function setStatus(el, status) {
    el.className = "badge badge-" + (STATUS_KIND[status] || "plain");
    el.textContent = status || "—";
  }

  function isActive(job) { return job.status === "queued" || job.status === "running"; }

  /** Set a .progress bar (from the _macros progress) to a job's state. */
  function setProgress(bar, job) {
    const pct = Math.round((Number(job.progress) || 0) * 100);
    bar.setAttribute("aria-valuenow", String(pct));
    bar.classList.toggle("is-indeterminate", job.status === "queued");
    bar.classList.toggle("is-done", job.status === "done");
    bar.classList.toggle("is-failed", job.status === "failed");
    bar.querySelector(".progress-fill").style.width = (job.status === "done" ? 100 : pct) + "%";
  }

  function progressBar(job, testid) {
    const bar = h("div", { class: "progress", role: "progressbar", "aria-label": "Progress",
      "aria-valuemin": "0", "aria-valuemax": "100", testid: testid }, h("div", { class: "progress-fill" }));
    setProgress(bar, job);
    return bar;
  }

  /** The last non-empty line of a log: what the job says it is doing. */
  function lastLine(text) {
    const lines = String(text || "").split("\n").filter(function (l) { return l.trim(); });
    return lines.length ? lines[lines.length - 1] : "";
  }

  /** A table row spanning all columns with a message (empty state, loading, error). */
  function messageRow(colspan, text, testid) {
    return h("tr", { class: "message-row" }, h("td", { colspan: String(colspan), class: "muted", testid: testid, text: text }));
  }

  function kvList(dl, pairs) {
    dl.replaceChildren();
    pairs.forEach(function (p) {
      if (p === null) return;
      dl.append(h("dt", { text: p[0] }), h("dd", { testid: p[2] }, p[1] === null || p[1] === undefined || p[1] === "" ? "—" : p[1]));
    });
  }

  /**
   * Call fn every `fast` ms while it resolves truthy ("something is still moving"), else every
   * `slow` ms (0 = stop). Pauses while the tab is hidden. Returns {refresh, stop}.
   */
  function poll(fn, fast, slow) {
    let timer = null, stopped = false;
    async function tick() {
      timer = null;
      let busy = false;
      try { busy = await fn(); } catch (err) { busy = false; }
      if (stopped) return;
      const wait = busy ? fast : slow;
      if (wait) timer = setTimeout(tick, document.hidden ? Math.max(wait, 5000) : wait);
    }
    tick();
    return {
      refresh: function () { if (timer) clearTimeout(timer); tick(); },
      stop: function () { stopped = true; if (timer) clearTimeout(timer); },
    };
  }

  /** Report an API failure in the alert area. */
  function fail(err) {
    CV.showAlert(err && err.message ? err.message : String(err), "error");
  }

  /** Show a success/info alert holding text plus an optional link. */
  function notify(kind, text, link) {
    const box = CV.showAlert(text, kind);
    if (box && link) {
      const msg = box.querySelector(".alert-message");
      msg.append(" ", h("a", { href: link.href, testid: link.testid, text: link.text }));
    }
    return box;
  }

  // ---------- charts: inline SVG, sized by viewBox so they scale with their card ----------

  const W = 520, H = 200, PAD = { l: 54, r: 12, t: 12, b: 34 };

  function niceMax(v) {
    if (v <= 5) return Math.max(1, Math.ceil(v));
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    const n = v / p;
    return (n <= 2 ? 2 : n <= 5 ? 5 : 10) * p;
  }

  function chartFrame(title, yTicks, yFmt, yLabel, xLabel) {
    const svg = s("svg", { class: "chart", viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": title,
      preserveAspectRatio: "xMidYMid meet" }, s("title", { text: title }));
    const plotH = H - PAD.t - PAD.b;
    yTicks.forEach(function (t) {
      const y = PAD.t + plotH * (1 - t.frac);
      svg.append(s("line", { class: "grid-line", x1: PAD.l, x2: W - PAD.r, y1: y, y2: y }),
        s("text", { class: "tick", x: PAD.l - 6, y: y + 4, "text-anchor": "end", text: yFmt(t.value) }));
    });
    svg.append(s("line", { class: "axis", x1: PAD.l, x2: W - PAD.r, y1: H - PAD.b, y2: H - PAD.b }));
    if (yLabel) svg.append(s("text", { class: "axis-label", x: 10, y: PAD.t + plotH / 2, "text-anchor": "middle",
      transform: "rotate(-90 10 " + (PAD.t + plotH / 2) + ")", text: yLabel }));
    if (xLabel) svg.append(s("text", { class: "axis-label", x: PAD.l + (W - PAD.l - PAD.r) / 2, y: H - 3,
      "text-anchor": "middle", text: xLabel }));
    return svg;
  }

  function xTicks(svg, labels, xAt, every) {
    labels.forEach(function (label, i) {
      if (i % every !== 0 && i !== labels.length - 1) return;
      svg.append(s("text", { class: "tick", x: xAt(i), y: H - PAD.b + 15, "text-anchor": "middle", text: label }));
    });
  }

  /** Vertical bars: items [{label, value, tip}], labels under the axis (thinned to fit). */
  function barChart(items, opts) {
    opts = opts || {};
    const max = niceMax(Math.max.apply(null, items.map(function (d) { return d.value; }).concat([1])));
    const ticks = [0, 0.5, 1].map(function (f) { return { frac: f, value: max * f }; });
    const svg = chartFrame(opts.title || "Bar chart", ticks, function (v) { return Math.round(v * 10) / 10; },
      opts.yLabel, opts.xLabel);
    const plotW = W - PAD.l - PAD.r, plotH = H - PAD.t - PAD.b;
    const slot = plotW / Math.max(1, items.length);
    const bw = Math.max(2, Math.min(48, slot * 0.7));
    const xAt = function (i) { return PAD.l + slot * (i + 0.5); };
    items.forEach(function (d, i) {
      const bh = plotH * (d.value / max);
      svg.append(s("rect", { class: "bar" + (d.cls ? " " + d.cls : ""), x: xAt(i) - bw / 2, y: PAD.t + plotH - bh,
        width: bw, height: Math.max(0, bh), rx: Math.min(3, bw / 4) }, s("title", { text: d.tip || (d.label + ": " + d.value) })));
      if (opts.valueLabels && d.value > 0) {
        svg.append(s("text", { class: "bar-value", x: xAt(i), y: PAD.t + plotH - bh - 4, "text-anchor": "middle", text: d.value }));
      }
    });
    xTicks(svg, items.map(function (d) { return d.label; }), xAt, Math.max(1, Math.ceil(items.length / 7)));
    return svg;
  }

  /** A line over points [{label, value (0..1), tip}]: y axis 0-100 %. */
  function lineChart(points, opts) {
    opts = opts || {};
    const ticks = [0, 0.25, 0.5, 0.75, 1].map(function (f) { return { frac: f, value: f }; });
    const svg = chartFrame(opts.title || "Line chart", ticks, function (v) { return Math.round(v * 100) + "%"; },
      opts.yLabel, opts.xLabel);
    const plotW = W - PAD.l - PAD.r, plotH = H - PAD.t - PAD.b;
    const n = points.length;
    const xAt = function (i) { return n === 1 ? PAD.l + plotW / 2 : PAD.l + 10 + (plotW - 20) * i / (n - 1); };
    const yAt = function (v) { return PAD.t + plotH * (1 - Math.max(0, Math.min(1, v))); };
    const coords = points.map(function (p, i) { return [xAt(i), yAt(p.value)]; });
    if (n > 1) {
      const d = coords.map(function (c, i) { return (i ? "L" : "M") + c[0].toFixed(1) + " " + c[1].toFixed(1); }).join(" ");
      svg.append(s("path", { class: "area", d: d + " L" + coords[n - 1][0].toFixed(1) + " " + (H - PAD.b) +
        " L" + coords[0][0].toFixed(1) + " " + (H - PAD.b) + " Z" }));
      svg.append(s("path", { class: "line", d: d }));
    }
    coords.forEach(function (c, i) {
      svg.append(s("circle", { class: "dot", cx: c[0], cy: c[1], r: 3.5 }, s("title", { text: points[i].tip || points[i].label })));
    });
    xTicks(svg, points.map(function (p) { return p.label; }), xAt, Math.max(1, Math.ceil(n / 6)));
    return svg;
  }

  /** A chart with a caption, or a muted note when there is nothing to draw. */
  function chartFigure(caption, svg, emptyText, testid) {
    return h("figure", { class: "chart-figure", testid: testid },
      h("figcaption", { text: caption }),
      svg || h("div", { class: "chart-empty", text: emptyText || "No data yet." }));
  }

  /** Query string parameter of the current page. */
  function param(name) {
    return new URLSearchParams(window.location.search).get(name) || "";
  }

  window.CVAdmin = {
    h: h, fmtTime: fmtTime, fmtDuration: fmtDuration, fmtMetric: fmtMetric, statusBadge: statusBadge, setStatus: setStatus,
    isActive: isActive, setProgress: setProgress, progressBar: progressBar, lastLine: lastLine,
    messageRow: messageRow, kvList: kvList, poll: poll, fail: fail, notify: notify,
    barChart: barChart, lineChart: lineChart, chartFigure: chartFigure, param: param,
  };
})();
