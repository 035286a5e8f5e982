/*
 * Interactive figures of the book, in plain JavaScript and SVG: no library, no network,
 * no kernel. Each <figure class="ce-interactive" data-figure="NAME"> on a page becomes a
 * figure with a labelled slider (operable with the keyboard: arrows, Page Up/Down, Home,
 * End), an SVG drawing and a live read-out of the numbers, which screen readers announce.
 *
 * The numbers are computed here with the same stable formulas as ce_lib (softmax shifted
 * by the maximum, softplus as max(x, 0) + log1p(exp(-|x|))); the reader tests move every
 * slider and compare the read-out with ce_lib to 4 significant digits.
 */
(function () {
  "use strict";

  const SVG = "http://www.w3.org/2000/svg";
  let counter = 0;

  // ---- numerics (mirrors ce_lib) -------------------------------------------------------
  function softmax(scores) {
    const a = Math.max(...scores);
    const e = scores.map((s) => Math.exp(s - a));
    const total = e.reduce((x, y) => x + y, 0);
    return e.map((v) => v / total);
  }
  function softplus(x) {
    return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
  }
  function sigmoid(x) {
    const e = Math.exp(-Math.abs(x));
    return x >= 0 ? 1 / (1 + e) : e / (1 + e);
  }
  function kl(p, q) {
    return p.reduce((acc, pi, i) => acc + (pi > 0 ? pi * Math.log(pi / q[i]) : 0), 0);
  }
  const fmt = (x) => (x === 0 ? "0" : x.toPrecision(4));
  // a divergence of rounding-error size (q equal to p up to rounding) is shown as 0, not as +-1e-17
  const nearZero = (x) => (Math.abs(x) < 1e-12 ? "0" : x);

  // ---- DOM helpers -------------------------------------------------------------------------
  function el(name, attrs, parent, text) {
    const node = name.startsWith("svg:") ? document.createElementNS(SVG, name.slice(4)) : document.createElement(name);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    if (parent) parent.appendChild(node);
    return node;
  }

  /* A slider with its label and a read-out region; calls update(index) on every change. */
  function controls(figure, label, max, start, update, valueText) {
    const id = `ce-slider-${++counter}`;
    const row = el("div", { class: "ce-controls" }, figure);
    el("label", { for: id }, row, label);
    const input = el("input", { type: "range", id, min: 0, max, step: 1, value: start }, row);
    const readout = el("div", { class: "ce-readout", role: "status", "aria-live": "polite" }, figure);
    const refresh = () => {
      const i = Number(input.value);
      input.setAttribute("aria-valuetext", valueText(i));
      update(i, readout);
    };
    input.addEventListener("input", refresh);
    return { input, refresh };
  }

  /* Fill the read-out with "name = value" items; each value carries data-quantity for the tests. */
  function show(readout, items) {
    readout.textContent = "";
    for (const [name, key, value] of items) {
      const item = el("span", { class: "ce-item" }, readout);
      item.append(`${name} = `);
      el("span", { "data-quantity": key }, item, typeof value === "number" ? fmt(value) : value);
    }
  }

  function drawing(figure, width, height, label) {
    return el("svg:svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": label, class: "ce-drawing" }, figure);
  }

  /* A plot area: maps data to pixels, draws axes with a few ticks (or the [x, label] pairs of xTicks). */
  function plot(svg, box, xRange, yRange, xLabel, yLabel, xTicks) {
    const [x0, y0, w, h] = box;
    const X = (x) => x0 + ((x - xRange[0]) / (xRange[1] - xRange[0])) * w;
    const Y = (y) => y0 + h - ((y - yRange[0]) / (yRange[1] - yRange[0])) * h;
    const g = el("svg:g", {}, svg);
    el("svg:line", { x1: x0, y1: y0 + h, x2: x0 + w, y2: y0 + h, class: "ce-axis" }, g);
    el("svg:line", { x1: x0, y1: y0, x2: x0, y2: y0 + h, class: "ce-axis" }, g);
    const ticks = xTicks || [xRange[0], (xRange[0] + xRange[1]) / 2, xRange[1]].map((t) => [t, String(+t.toFixed(2))]);
    // offsets in em, so that the labels keep clear of each other when a phone's style enlarges the text
    for (const [t, label] of ticks) {
      el("svg:text", { x: X(t), y: y0 + h, dy: "1.5em", "text-anchor": "middle", class: "ce-tick" }, g, label);
    }
    for (const t of [yRange[0], (yRange[0] + yRange[1]) / 2, yRange[1]]) {
      el("svg:text", { x: x0 - 6, y: Y(t), dy: "0.35em", "text-anchor": "end", class: "ce-tick" }, g, String(+t.toFixed(2)));
    }
    el("svg:text", { x: x0 + w / 2, y: y0 + h, dy: "2.8em", "text-anchor": "middle", class: "ce-label" }, g, xLabel);
    // the y label sits in the top row, with the keys (spreadKeys keeps them apart)
    el("svg:text", { x: x0, y: 12, "text-anchor": "start", class: "ce-label ce-key" }, g, yLabel);
    return { X, Y, g };
  }

  function curve(area, xs, ys, cls) {
    const d = xs.map((x, i) => `${i ? "L" : "M"}${area.X(x).toFixed(1)},${area.Y(ys[i]).toFixed(1)}`).join("");
    return el("svg:path", { d, class: `ce-curve ${cls}` }, area.g);
  }

  const grid = (a, b, n) => Array.from({ length: n + 1 }, (_, i) => a + ((b - a) * i) / n);

  // ---- 1. softmax under a temperature ----------------------------------------------------
  function temperature(figure) {
    const scores = figure.dataset.scores.split(",").map(Number);
    const steps = 200;
    // T from 0.05 to 20 on a log scale, rounded to 3 significant digits: what is shown is what is used
    const T = (i) => Number((0.05 * Math.pow(400, i / steps)).toPrecision(3));
    const svg = drawing(figure, 600, 250, "Bar chart of the softmax probabilities of the scores at the chosen temperature");
    const classes = scores.map((s, k) => [k + 0.5, `${k + 1} (${s})`]);
    const area = plot(svg, [60, 30, 520, 170], [0, scores.length], [0, 1], "class (score)", "probability", classes);
    const bars = scores.map((_, k) => {
      const x = area.X(k + 0.2);
      const bar = el("svg:rect", { x, width: area.X(0.6) - area.X(0), class: `ce-bar ce-c${k % 3}` }, area.g);
      const value = el("svg:text", { x: x + (area.X(0.6) - area.X(0)) / 2, "text-anchor": "middle", class: "ce-value" }, area.g);
      return { bar, value };
    });
    const { refresh } = controls(
      figure,
      "Temperature T",
      steps,
      steps / 2,
      (i, readout) => {
        const t = T(i);
        const q = softmax(scores.map((s) => s / t));
        q.forEach((qk, k) => {
          bars[k].bar.setAttribute("y", area.Y(qk));
          bars[k].bar.setAttribute("height", area.Y(0) - area.Y(qk));
          bars[k].value.setAttribute("y", area.Y(qk) - 4);
          bars[k].value.textContent = qk.toFixed(3);
        });
        show(readout, [["T", "T", String(t)], ...q.map((qk, k) => [`q${k + 1}`, `q${k + 1}`, qk])]);
      },
      (i) => `T = ${T(i)}`
    );
    refresh();
  }

  // ---- 2. forward and reverse KL along a path of distributions -------------------------
  function klPath(figure) {
    const parse = (name) => figure.dataset[name].split(",").map(Number);
    const p = parse("p"), a = parse("a"), b = parse("b");
    const steps = 100;
    const q = (i) => a.map((ai, k) => (1 - i / steps) * ai + (i / steps) * b[k]);
    const svg = drawing(figure, 600, 260, "Left: bars of p and q for each outcome. Right: KL(p||q) and KL(q||p) as q moves from a to b");
    const outcomes = p.map((_, k) => [k + 0.5, String(k + 1)]);
    const left = plot(svg, [50, 30, 200, 170], [0, p.length], [0, 1], "outcome", "probability", outcomes);
    p.forEach((pk, k) => el("svg:rect", { x: left.X(k + 0.1), y: left.Y(pk), width: left.X(0.38) - left.X(0), height: left.Y(0) - left.Y(pk), class: "ce-bar ce-c0" }, left.g));
    const qBars = p.map((_, k) => el("svg:rect", { x: left.X(k + 0.52), width: left.X(0.38) - left.X(0), class: "ce-bar ce-c1" }, left.g));
    el("svg:text", { x: 120, y: 12, class: "ce-key ce-c0-text" }, svg, "p (fixed)");
    el("svg:text", { x: 232, y: 12, class: "ce-key ce-c1-text" }, svg, "q");
    const lambdas = grid(0, steps, steps);
    const forward = lambdas.map((i) => kl(p, q(i)));
    const reverse = lambdas.map((i) => kl(q(i), p));
    const top = Math.max(...forward, ...reverse);
    const right = plot(svg, [330, 30, 250, 170], [0, 1], [0, Number(top.toPrecision(2))], "λ (q = (1 − λ) a + λ b)", "nats");
    curve(right, lambdas.map((i) => i / steps), forward, "ce-c0");
    curve(right, lambdas.map((i) => i / steps), reverse, "ce-c1");
    el("svg:text", { x: 430, y: 12, class: "ce-key ce-c0-text" }, svg, "KL(p‖q)");
    el("svg:text", { x: 510, y: 12, class: "ce-key ce-c1-text" }, svg, "KL(q‖p)");
    const marker = el("svg:line", { y1: right.Y(0), y2: 30, class: "ce-marker" }, right.g);
    const dots = [el("svg:circle", { r: 4, class: "ce-dot ce-c0" }, right.g), el("svg:circle", { r: 4, class: "ce-dot ce-c1" }, right.g)];
    const { refresh } = controls(
      figure,
      "λ: move q from a to b",
      steps,
      20,
      (i, readout) => {
        const qi = q(i);
        qi.forEach((qk, k) => {
          qBars[k].setAttribute("y", left.Y(qk));
          qBars[k].setAttribute("height", left.Y(0) - left.Y(qk));
        });
        const x = right.X(i / steps);
        marker.setAttribute("x1", x);
        marker.setAttribute("x2", x);
        [forward[i], reverse[i]].forEach((v, j) => {
          dots[j].setAttribute("cx", x);
          dots[j].setAttribute("cy", right.Y(v));
        });
        show(readout, [
          ["λ", "lambda", String(i / steps)],
          ...qi.map((qk, k) => [`q${k + 1}`, `q${k + 1}`, qk]),
          ["KL(p‖q)", "kl_pq", nearZero(forward[i])],
          ["KL(q‖p)", "kl_qp", nearZero(reverse[i])],
        ]);
      },
      (i) => `λ = ${i / steps}`
    );
    refresh();
  }

  // ---- 3. binary cross-entropy of a logit, and its gradient ---------------------------
  function bce(figure) {
    const lo = -8, hi = 8, step = 0.05;
    const steps = Math.round((hi - lo) / step);
    const Z = (i) => Math.round((lo + i * step) * 100) / 100;
    const svg = drawing(figure, 600, 260, "Binary cross-entropy for labels 1 and 0 (left) and its gradient (right) as functions of the logit z, with a movable point");
    const zs = grid(lo, hi, 160);
    const left = plot(svg, [50, 30, 220, 170], [lo, hi], [0, 8], "logit z", "loss");
    const right = plot(svg, [350, 30, 220, 170], [lo, hi], [-1, 1], "logit z", "gradient ∂ℓ/∂z");
    curve(left, zs, zs.map((z) => softplus(-z)), "ce-c0");
    curve(left, zs, zs.map((z) => softplus(z)), "ce-c1");
    curve(right, zs, zs.map((z) => sigmoid(z) - 1), "ce-c0");
    curve(right, zs, zs.map((z) => sigmoid(z)), "ce-c1");
    el("svg:text", { x: 130, y: 12, class: "ce-key ce-c0-text" }, svg, "label y = 1");
    el("svg:text", { x: 220, y: 12, class: "ce-key ce-c1-text" }, svg, "label y = 0");
    const dots = [left, left, right, right].map((area, j) => el("svg:circle", { r: 5, class: `ce-dot ce-c${j % 2}` }, area.g));
    const { input, refresh } = controls(
      figure,
      "Logit z",
      steps,
      Math.round((1 - lo) / step),
      (i, readout) => {
        const z = Z(i);
        const values = [softplus(-z), softplus(z), sigmoid(z) - 1, sigmoid(z)];
        const areas = [left, left, right, right];
        values.forEach((v, j) => {
          dots[j].setAttribute("cx", areas[j].X(z));
          dots[j].setAttribute("cy", areas[j].Y(Math.min(v, 8)));
        });
        show(readout, [
          ["z", "z", String(z)],
          ["ℓ(z; y=1)", "loss1", values[0]],
          ["ℓ(z; y=0)", "loss0", values[1]],
          ["∂ℓ/∂z (y=1)", "grad1", values[2]],
          ["∂ℓ/∂z (y=0)", "grad0", values[3]],
        ]);
      },
      (i) => `z = ${Z(i)}`
    );
    // the point can also be dragged along either plot
    const drag = (event) => {
      if (event.type !== "pointerdown" && !(event.buttons & 1)) return;
      const box = svg.getBoundingClientRect();
      const x = ((event.clientX - box.left) / box.width) * 600;
      const area = x < 310 ? [50, 220] : [350, 220];
      const z = lo + ((x - area[0]) / area[1]) * (hi - lo);
      input.value = String(Math.max(0, Math.min(steps, Math.round((z - lo) / step))));
      refresh();
    };
    svg.addEventListener("pointerdown", drag);
    svg.addEventListener("pointermove", drag);
    refresh();
  }

  const FIGURES = { "softmax-temperature": temperature, "kl-path": klPath, "bce-logit": bce };

  // The keys of a row sit where the figure puts them, or just after the key before them when the text is
  // larger (a phone's style, custom.css), so that "label y = 1" and "label y = 0" never overlap.
  function spreadKeys(svg) {
    const rows = new Map();
    for (const key of svg.querySelectorAll("text.ce-key")) {
      if (!key.dataset.x) key.dataset.x = key.getAttribute("x");
      const y = key.getAttribute("y");
      if (!rows.has(y)) rows.set(y, []);
      rows.get(y).push(key);
    }
    for (const keys of rows.values()) {
      keys.sort((u, v) => Number(u.dataset.x) - Number(v.dataset.x));
      let end = -Infinity;
      for (const key of keys) {
        const x = Math.max(Number(key.dataset.x), end + 10);
        key.setAttribute("x", x);
        end = x + key.getComputedTextLength();
      }
    }
  }

  function start() {
    for (const figure of document.querySelectorAll("figure.ce-interactive")) {
      const make = FIGURES[figure.dataset.figure];
      const caption = figure.querySelector("figcaption");
      if (make) make(figure);
      if (caption) figure.appendChild(caption); // keep the caption last
      figure.classList.add("ce-ready");
      const svg = figure.querySelector("svg");
      if (svg) {
        spreadKeys(svg);
        window.addEventListener("resize", () => spreadKeys(svg));
      }
    }
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
