// infoplane: the interactive information plane of the report. Plain JavaScript and SVG, no
// library, no network. Data: the JSON in <script id="ip-data"> (columnar; see interactive.rs).
(function () {
  "use strict";
  const D = JSON.parse(document.getElementById("ip-data").textContent);
  const $ = (id) => document.getElementById(id);
  // The SVG namespace, read from the page (no URL literal in the page).
  const NS = document.getElementById("ip-svg").namespaceURI;
  const W = 800, H = 500, M = { l: 64, r: 100, t: 20, b: 48 };
  const n = D.x.length;
  // Columns that are all NaN (no bracket, no error bars) are left out of the data.
  const val = (k, i) => (D[k] ? D[k][i] : null);
  // Max and min of many values (spreading 10^5 arguments into Math.max overflows the stack).
  const maxOf = (v, init) => v.reduce((a, b) => (b > a ? b : a), init);
  const minOf = (v, init) => v.reduce((a, b) => (b < a ? b : a), init);
  const state = { run: 0, est: 0, setting: 0, epoch: 0, view: "plane", playing: null };

  // Viridis at t in [0, 1] (8 anchors, linear between them).
  const VIR = [[68, 1, 84], [70, 50, 127], [54, 92, 141], [39, 127, 142], [31, 161, 135],
    [74, 194, 109], [159, 218, 58], [253, 231, 37]];
  function viridis(t) {
    t = Math.min(1, Math.max(0, t)) * (VIR.length - 1);
    const i = Math.min(VIR.length - 2, Math.floor(t)), f = t - i;
    const c = VIR[i].map((v, k) => Math.round(v + f * (VIR[i + 1][k] - v)));
    return "rgb(" + c.join(",") + ")";
  }
  // Axis labels without float noise: at most 4 significant digits, trailing zeros dropped.
  function fmt(v) {
    if (!Number.isFinite(v)) return String(v);
    if (v !== 0 && (Math.abs(v) < 1e-3 || Math.abs(v) >= 1e5)) return v.toExponential(2).replace(/\.?0+e/, "e");
    return String(parseFloat(v.toPrecision(4)));
  }
  function ticks(lo, hi, k) {
    const span = hi - lo || 1, step0 = span / k, p = Math.pow(10, Math.floor(Math.log10(step0)));
    const step = [1, 2, 5, 10].map((m) => m * p).find((s) => s >= step0) || p * 10;
    const out = [];
    for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(parseFloat(v.toPrecision(12)));
    return out;
  }
  function el(name, attrs, parent) {
    const e = document.createElementNS(NS, name);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }

  // Rows of the current run and estimator, and their settings ordered by σ² (rules by median).
  function settingsOf(run, est) {
    const med = {};
    for (let i = 0; i < n; i++) {
      if (D.run[i] !== run || D.est[i] !== est) continue;
      (med[D.set[i]] = med[D.set[i]] || []).push(D.s2[i]);
    }
    const keys = Object.keys(med).map(Number);
    const m = (v) => { v = v.filter(Number.isFinite).sort((a, b) => a - b); return v.length ? v[v.length >> 1] : Infinity; };
    return keys.sort((a, b) => m(med[a]) - m(med[b]) || a - b).map((k) => ({ id: k, sigma2: m(med[k]) }));
  }
  // An epoch as the reader knows it: a checkpoint's label where the recording has one.
  function epochName(e) {
    const l = D.epochLabels && D.epochLabels[e];
    return l ? l + " (epoch " + e + ")" : "epoch " + e;
  }

  function epochsOf(run, est, set) {
    const e = new Set();
    for (let i = 0; i < n; i++) if (D.run[i] === run && D.est[i] === est && D.set[i] === set) e.add(D.epoch[i]);
    return Array.from(e).sort((a, b) => a - b);
  }

  function fillSelect(sel, names) {
    sel.innerHTML = "";
    names.forEach((nm, i) => { const o = document.createElement("option"); o.value = i; o.textContent = nm; sel.appendChild(o); });
  }

  function refreshControls() {
    const sets = settingsOf(state.run, state.est);
    state.sets = sets;
    const slider = $("ip-sigma");
    slider.max = Math.max(0, sets.length - 1);
    if (state.setting > sets.length - 1) state.setting = 0;
    slider.value = state.setting;
    const cur = sets[state.setting];
    state.epochs = cur ? epochsOf(state.run, state.est, cur.id) : [];
    const scrub = $("ip-epoch");
    scrub.max = Math.max(0, state.epochs.length - 1);
    if (state.epoch > state.epochs.length - 1) state.epoch = state.epochs.length - 1;
    scrub.value = state.epoch;
  }

  function label() {
    const cur = state.sets[state.setting];
    const name = cur ? D.settings[cur.id] : "-";
    const sig = cur && Number.isFinite(cur.sigma2) && String(parseFloat(name)) !== name ? " (σ² ≈ " + fmt(cur.sigma2) + ")" : "";
    $("ip-sigma-label").textContent = (cur && Number.isFinite(cur.sigma2) ? "σ² = " : "") + name + sig;
    $("ip-epoch-label").textContent = state.epochs.length ? epochName(state.epochs[state.epoch]) : "epoch -";
  }

  function axes(svg, xr, yr, xlab, ylab, xlog) {
    const sx = (v) => M.l + (v - xr[0]) / (xr[1] - xr[0] || 1) * (W - M.l - M.r);
    const sy = (v) => H - M.b - (v - yr[0]) / (yr[1] - yr[0] || 1) * (H - M.t - M.b);
    el("rect", { x: M.l, y: M.t, width: W - M.l - M.r, height: H - M.t - M.b, fill: "none", stroke: "#999" }, svg);
    for (const v of ticks(xr[0], xr[1], 6)) {
      el("line", { x1: sx(v), x2: sx(v), y1: M.t, y2: H - M.b, stroke: "#eee" }, svg);
      el("text", { x: sx(v), y: H - M.b + 16, "text-anchor": "middle", "font-size": 11 }, svg).textContent = xlog ? fmt(Math.pow(10, v)) : fmt(v);
    }
    for (const v of ticks(yr[0], yr[1], 6)) {
      el("line", { x1: M.l, x2: W - M.r, y1: sy(v), y2: sy(v), stroke: "#eee" }, svg);
      el("text", { x: M.l - 6, y: sy(v) + 4, "text-anchor": "end", "font-size": 11 }, svg).textContent = fmt(v);
    }
    el("text", { x: (M.l + W - M.r) / 2, y: H - 8, "text-anchor": "middle", "font-size": 13 }, svg).textContent = xlab;
    el("text", { x: 16, y: (M.t + H - M.b) / 2, "text-anchor": "middle", "font-size": 13, transform: "rotate(-90 16 " + (M.t + H - M.b) / 2 + ")" }, svg).textContent = ylab;
    return [sx, sy];
  }

  function tip(i) {
    const f = (v) => (Number.isFinite(v) ? fmt(v) : "-");
    let t = D.layers[D.layer[i]] + " · " + epochName(D.epoch[i]) + " · " + D.estimators[D.est[i]] + " " + D.settings[D.set[i]] +
      "\nI(X;Z) = " + f(D.x[i]) + (Number.isFinite(val("xse", i)) ? " ± " + f(val("xse", i)) : "") +
      "\nI(Y;Z) = " + f(D.y[i]) + (Number.isFinite(val("yse", i)) ? " ± " + f(val("yse", i)) : "") +
      (Number.isFinite(val("lo", i)) ? "\nbracket [" + f(val("lo", i)) + ", " + f(val("hi", i)) + "]" : "") + " " + D.unit;
    if (D.sat[i]) t += "\nsaturated";
    if (D.dpi[i]) t += "\nDPI: " + D.dpi[i];
    return t;
  }

  // Colour means epoch in both views: viridis on log(1 + epoch - first) over the recorded epochs.
  function epochColour(e) {
    const ep = state.epochs, e0 = ep[0], e1 = ep[ep.length - 1];
    return viridis(e1 > e0 ? Math.log1p(e - e0) / Math.log1p(e1 - e0) : 1);
  }

  // The epoch colour bar in the right margin (log-spaced, as the colours), with the first,
  // last and selected epochs.
  function colourBar(svg) {
    const ep = state.epochs;
    if (!ep.length) return;
    const e0 = ep[0], e1 = ep[ep.length - 1];
    const frac = (e) => (e1 > e0 ? Math.log1p(e - e0) / Math.log1p(e1 - e0) : 1);
    const x = W - M.r + 28, top = M.t + 14, h = H - M.t - M.b - 24, k = 48;
    for (let j = 0; j < k; j++)
      el("rect", { x: x, y: top + j * h / k, width: 14, height: h / k + 0.5, fill: viridis(1 - (j + 0.5) / k) }, svg);
    el("text", { x: x + 7, y: top - 5, "text-anchor": "middle", "font-size": 11 }, svg).textContent = "epoch";
    const yOf = (e) => top + h * (1 - frac(e));
    for (const e of [e0, e1]) el("text", { x: x + 18, y: yOf(e) + 4, "font-size": 11 }, svg).textContent = e;
    const sel = ep[state.epoch];
    if (sel !== undefined) {
      el("line", { x1: x - 3, x2: x + 17, y1: yOf(sel), y2: yOf(sel), stroke: "#000", "stroke-width": 2 }, svg);
      if (sel !== e0 && sel !== e1) el("text", { x: x + 18, y: yOf(sel) + 4, "font-size": 11, "font-weight": "bold" }, svg).textContent = sel;
    }
  }

  // Labels of the selected epoch's points, moved apart vertically where they would overlap
  // (the saturation corner), with a leader line from a moved label to its point.
  function labels(svg, pts) {
    const items = pts.map((p) => ({ x: p.x + 7, y: p.y - 7, py: p.y, px: p.x, text: p.text })).sort((a, b) => a.y - b.y || a.x - b.x);
    const gap = 13;
    for (let j = 1; j < items.length; j++) {
      const a = items[j - 1], b = items[j];
      if (Math.abs(b.x - a.x) < 60 && b.y - a.y < gap) b.y = a.y + gap;
    }
    for (const it of items) {
      if (Math.abs(it.y - (it.py - 7)) > 1) el("line", { x1: it.px, y1: it.py, x2: it.x - 2, y2: it.y - 4, stroke: "#888", "stroke-width": 0.7 }, svg);
      el("text", { x: it.x, y: it.y, "font-size": 12, class: "ip-label" }, svg).textContent = it.text;
    }
  }

  // The selected epoch's values under the plane: one row per layer, readable without hovering.
  function valuesTable(rows) {
    const box = $("ip-values");
    if (!box) return;
    const f = (v) => (Number.isFinite(v) ? fmt(v) : "-");
    const pm = (v, se) => f(v) + (Number.isFinite(se) ? " ± " + fmt(1.96 * se) : "");
    const q = D.quantities[state.est];
    let h = "<table class=\"t\"><tr><th>layer</th><th>" + q + "(X;Z)</th><th>" + q + "(Y;Z)</th><th>I(Y;Z) bracket</th><th>saturated</th><th>DPI</th></tr>";
    const esc = (t) => String(t).replace(/[&<>"']/g, (c) => "&#" + c.charCodeAt(0) + ";");
    for (const i of rows) {
      const br = Number.isFinite(val("lo", i)) ? "[" + f(val("lo", i)) + ", " + f(val("hi", i)) + "]" : "-";
      h += "<tr><td>" + esc(D.layers[D.layer[i]]) + "</td><td>" + pm(D.x[i], val("xse", i)) + "</td><td>" + pm(D.y[i], val("yse", i)) +
        "</td><td>" + br + "</td><td>" + (D.sat[i] ? "yes" : "") + "</td><td>" + esc(D.dpi[i] || "") + "</td></tr>";
    }
    box.innerHTML = h + "</table><p>" + epochName(state.epochs[state.epoch]) + ", " + D.unit + (Object.keys(D).includes("xse") ? "; ± is a 95 % interval" : "") + "</p>";
  }

  function drawPlane(svg) {
    const cur = state.sets[state.setting];
    if (!cur) return;
    const rows = [];
    for (let i = 0; i < n; i++) if (D.run[i] === state.run && D.est[i] === state.est && D.set[i] === cur.id) rows.push(i);
    const finite = rows.filter((i) => Number.isFinite(D.x[i]) && Number.isFinite(D.y[i]));
    const q = D.quantities[state.est];  // "I", or "SI" (sliced MI, another quantity)
    const logn = D.bounded[state.est] ? D.logn : NaN;  // ln N bounds I only: else no line
    const xmax = maxOf(finite.map((i) => D.x[i]), Number.isFinite(logn) ? logn * 1.03 : 0) || 1;
    const ymax = maxOf(finite.map((i) => Math.max(D.y[i], Number.isFinite(val("hi", i)) ? val("hi", i) : 0)), D.hy * 1.08) || 1;
    const [sx, sy] = axes(svg, [0, xmax], [0, ymax], q + "(X;Z) [" + D.unit + "]", q + "(Y;Z) [" + D.unit + "]", false);
    el("line", { x1: sx(0), x2: sx(xmax), y1: sy(D.hy), y2: sy(D.hy), stroke: "#444", "stroke-dasharray": "5,4" }, svg);
    el("text", { x: sx(0) + 4, y: sy(D.hy) - 4, "font-size": 11, fill: "#444" }, svg).textContent = "H(Y) = " + fmt(D.hy);
    if (Number.isFinite(logn)) {
      el("line", { x1: sx(logn), x2: sx(logn), y1: sy(0), y2: sy(ymax), stroke: "#444", "stroke-dasharray": "5,4" }, svg);
      el("text", { x: sx(logn) - 4, y: sy(0) - 6, "text-anchor": "end", "font-size": 11, fill: "#444" }, svg).textContent = "log N = " + fmt(logn);
    }
    colourBar(svg);
    const ep = state.epochs;
    const selected = ep[state.epoch];
    const g = el("g", { id: "ip-points" }, svg);
    for (const i of finite) {
      const c = epochColour(D.epoch[i]);
      if (Number.isFinite(val("xse", i)) || Number.isFinite(val("yse", i))) {
        const dx = Number.isFinite(val("xse", i)) ? 1.96 * val("xse", i) : 0, dy = Number.isFinite(val("yse", i)) ? 1.96 * val("yse", i) : 0;
        el("rect", { x: sx(D.x[i] - dx), y: sy(D.y[i] + dy), width: Math.max(1, sx(D.x[i] + dx) - sx(D.x[i] - dx)), height: Math.max(1, sy(D.y[i] - dy) - sy(D.y[i] + dy)), fill: c, opacity: 0.12 }, g);
      }
      const dot = el("circle", { cx: sx(D.x[i]), cy: sy(D.y[i]), r: D.epoch[i] === selected ? 6 : 3, fill: c,
        stroke: D.sat[i] ? "red" : "none", opacity: D.epoch[i] === selected ? 1 : 0.35,
        "data-x": D.x[i], "data-y": D.y[i], "data-layer": D.layers[D.layer[i]], "data-epoch": D.epoch[i],
        class: D.epoch[i] === selected ? "ip-sel" : "ip-pt" }, g);
      el("title", {}, dot).textContent = tip(i);
    }
    const sel = finite.filter((i) => D.epoch[i] === selected).sort((a, b) => D.layer[a] - D.layer[b]);
    el("polyline", { points: sel.map((i) => sx(D.x[i]) + "," + sy(D.y[i])).join(" "), fill: "none", stroke: "#222", "stroke-width": 1.5 }, svg);
    for (const i of sel) {
      if ($("ip-band").checked && Number.isFinite(val("lo", i)) && Number.isFinite(val("hi", i)))
        el("line", { x1: sx(D.x[i]), x2: sx(D.x[i]), y1: sy(val("lo", i)), y2: sy(val("hi", i)), stroke: "crimson", "stroke-width": 3, opacity: 0.6 }, svg);
    }
    labels(svg, sel.map((i) => ({ x: sx(D.x[i]), y: sy(D.y[i]), text: D.layers[D.layer[i]] })));
    valuesTable(sel);
  }

  function drawSigma(svg) {
    const selected = state.epochs[state.epoch];
    const pts = [];
    for (let i = 0; i < n; i++) {
      if (D.run[i] !== state.run || D.est[i] !== state.est || D.epoch[i] !== selected) continue;
      if (!(D.s2[i] > 0) || !Number.isFinite(D.x[i])) continue;
      pts.push(i);
    }
    if (!pts.length) return;
    const lx = pts.map((i) => Math.log10(D.s2[i]));
    const xr = [minOf(lx, Infinity), maxOf(lx, -Infinity)];
    const q = D.quantities[state.est];
    const [sx, sy] = axes(svg, xr, [0, maxOf(pts.map((i) => D.x[i]), D.logn) * 1.03], "σ² (log)", q + "(X;Z) [" + D.unit + "] at epoch " + selected, true);
    const byLayer = {};
    for (const i of pts) (byLayer[D.layer[i]] = byLayer[D.layer[i]] || []).push(i);
    // Colour is the epoch's, as on the plane; layers are told apart by their labels.
    const c = epochColour(selected);
    colourBar(svg);
    const ends = [];
    for (const l in byLayer) {
      const v = byLayer[l].sort((a, b) => D.s2[a] - D.s2[b]);
      el("polyline", { points: v.map((i) => sx(Math.log10(D.s2[i])) + "," + sy(D.x[i])).join(" "), fill: "none", stroke: c, "stroke-width": 2 }, svg);
      for (const i of v) el("title", {}, el("circle", { cx: sx(Math.log10(D.s2[i])), cy: sy(D.x[i]), r: 3.5, fill: c, class: "ip-sig", "data-x": D.x[i], "data-layer": D.layers[D.layer[i]] }, svg)).textContent = tip(i);
      const last = v[v.length - 1];
      ends.push({ x: sx(Math.log10(D.s2[last])) - 2, y: sy(D.x[last]) + 11, text: D.layers[l] });
    }
    labels(svg, ends);
    const box = $("ip-values");
    if (box) box.innerHTML = "";
  }

  function draw() {
    const t0 = performance.now();
    label();
    const svg = $("ip-svg");
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    if (state.view === "plane") drawPlane(svg); else drawSigma(svg);
    window.infoplaneLastRedrawMs = performance.now() - t0;
  }

  function init() {
    fillSelect($("ip-run"), D.runs);
    fillSelect($("ip-est"), D.estimators);
    $("ip-run").onchange = (e) => { state.run = +e.target.value; refreshControls(); draw(); };
    $("ip-est").onchange = (e) => { state.est = +e.target.value; refreshControls(); draw(); };
    $("ip-sigma").oninput = (e) => { state.setting = +e.target.value; refreshControls(); draw(); };
    $("ip-epoch").oninput = (e) => { state.epoch = +e.target.value; draw(); };
    $("ip-band").onchange = draw;
    $("ip-view").onchange = (e) => { state.view = e.target.value; draw(); };
    $("ip-play").onclick = () => {
      if (state.playing) { clearInterval(state.playing); state.playing = null; $("ip-play").textContent = "play"; return; }
      $("ip-play").textContent = "pause";
      state.playing = setInterval(() => {
        state.epoch = (state.epoch + 1) % Math.max(1, state.epochs.length);
        $("ip-epoch").value = state.epoch;
        draw();
      }, 150);
    };
    state.epoch = Number.MAX_SAFE_INTEGER;
    refreshControls();
    draw();
  }
  init();
})();
