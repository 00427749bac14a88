"use strict";
var DATA = JSON.parse(document.getElementById("report-data").textContent);
var NS = "http://www.w3.org/2000/svg";

function el(tag, attrs, parent, text) {
  var e = document.createElementNS(NS, tag);
  for (var k in attrs) { e.setAttribute(k, attrs[k]); }
  if (text !== undefined) { e.textContent = text; }
  if (parent) { parent.appendChild(e); }
  return e;
}

function svg(parent, w, h) {
  return el("svg", { width: w, height: h, viewBox: "0 0 " + w + " " + h }, parent);
}

function fmt(x, d) { return (x >= 0 ? "+" : "") + x.toFixed(d); }

function showTab(name) {
  var tabs = document.querySelectorAll(".tab");
  if (!document.getElementById("tab-" + name)) { name = "summary"; }
  tabs.forEach(function (t) { t.classList.toggle("active", t.id === "tab-" + name); });
  document.querySelectorAll("nav a").forEach(function (a) {
    a.classList.toggle("active", a.getAttribute("href") === "#" + name);
  });
}

function weightsChart() {
  var box = document.getElementById("weights-chart");
  if (!box) { return; }
  var rows = [];
  DATA.model.fields.forEach(function (f) {
    f.levels.forEach(function (l) { rows.push({ f: f.field, l: l }); });
  });
  var max = 1;
  rows.forEach(function (r) { max = Math.max(max, Math.abs(r.l.weight)); });
  var W = 760, left = 300, mid = left + (W - left - 20) / 2, half = (W - left - 40) / 2, rh = 18;
  var s = svg(box, W, rows.length * rh + 30);
  el("line", { x1: mid, x2: mid, y1: 0, y2: rows.length * rh + 4, stroke: "#555" }, s);
  rows.forEach(function (r, i) {
    var y = i * rh + 4, w = r.l.weight / max * half;
    var bar = el("rect", { x: w < 0 ? mid + w : mid, y: y + 2, width: Math.abs(w), height: rh - 5,
      fill: w < 0 ? "#d9534f" : "#4c9a6a" }, s);
    el("title", {}, bar, r.f + " " + r.l.label + ": m " + r.l.m.toPrecision(4) + ", u " + r.l.u.toPrecision(4));
    el("text", { x: left - 6, y: y + rh - 6, "text-anchor": "end", "font-size": 12 }, s, r.f + " · " + r.l.label);
    el("text", { x: w < 0 ? mid + 4 : mid + w + 4, y: y + rh - 6, "font-size": 11, fill: "#333" }, s,
      fmt(r.l.weight, 2));
  });
  el("text", { x: mid, y: rows.length * rh + 24, "text-anchor": "middle", "font-size": 12 }, s,
    "match weight (log2 m/u), scale ±" + max.toFixed(1));
}

function histogramChart() {
  var box = document.getElementById("histogram-chart");
  var h = DATA.model.histogram;
  if (!box || !h) { return; }
  var W = 760, H = 260, pad = 40, n = h.counts.length, bw = (W - 2 * pad) / n;
  var top = 1;
  h.counts.forEach(function (c) { top = Math.max(top, Math.log10(1 + c)); });
  var s = svg(box, W, H + 40);
  var x = function (w) { return pad + (w - h.min) / h.width * bw; };
  h.counts.forEach(function (c, i) {
    var bh = Math.log10(1 + c) / top * H;
    var r = el("rect", { x: pad + i * bw + 1, y: pad / 2 + H - bh, width: bw - 2, height: bh, fill: "#7d9cd4" }, s);
    el("title", {}, r, "weight " + (h.min + i * h.width) + " to " + (h.min + (i + 1) * h.width) + ": " + c + " pairs");
  });
  [[DATA.model.match_weight, "match " + DATA.model.match_threshold, "#2e7d32"],
   [DATA.model.review_weight, "review " + DATA.model.review_threshold, "#ef6c00"]].forEach(function (t) {
    var tx = Math.max(pad, Math.min(W - pad, x(t[0])));
    el("line", { x1: tx, x2: tx, y1: pad / 2 - 10, y2: pad / 2 + H, stroke: t[2], "stroke-width": 2, "stroke-dasharray": "5 3" }, s);
    el("text", { x: tx + 4, y: pad / 2 + (t[2] === "#2e7d32" ? 0 : 14), "font-size": 12, fill: t[2] }, s, t[1]);
  });
  var most = Math.max.apply(null, h.counts);
  el("text", { x: pad, y: 12, "font-size": 11, fill: "#555" }, s, "tallest bar: " + most + " pairs");
  for (var w = h.min; w <= h.min + n * h.width; w += 10) {
    el("text", { x: x(w), y: pad / 2 + H + 16, "text-anchor": "middle", "font-size": 11 }, s, String(w));
  }
  el("text", { x: W / 2, y: H + 52, "text-anchor": "middle", "font-size": 12 }, s,
    "match weight (bins of " + h.width + "; outer bins hold everything beyond) · bar height log10(1 + pairs)");
}

function waterfall(box, steps, total) {
  var W = 80 + steps.length * 56, H = 200, pad = 30, lo = 0, hi = 0, acc = 0;
  steps.forEach(function (st) { acc += st.weight; lo = Math.min(lo, acc, acc - st.weight); hi = Math.max(hi, acc, acc - st.weight); });
  var y = function (v) { return pad + (hi - v) / Math.max(1e-9, hi - lo) * (H - 2 * pad); };
  var s = svg(box, W, H + 50);
  el("line", { x1: 40, x2: W, y1: y(0), y2: y(0), stroke: "#999" }, s);
  acc = 0;
  steps.forEach(function (st, i) {
    var from = acc; acc += st.weight;
    var bx = 44 + i * 56;
    el("rect", { x: bx, y: Math.min(y(from), y(acc)), width: 44, height: Math.max(1, Math.abs(y(from) - y(acc))),
      fill: st.weight < 0 ? "#d9534f" : "#4c9a6a" }, s);
    el("text", { x: bx + 22, y: Math.min(y(from), y(acc)) - 3, "text-anchor": "middle", "font-size": 10 }, s, fmt(st.weight, 2));
    el("text", { x: bx + 22, y: H + 8, "text-anchor": "end", "font-size": 10, transform: "rotate(-35 " + (bx + 22) + " " + (H + 8) + ")" }, s, st.label);
  });
  el("text", { x: 4, y: 14, "font-size": 11 }, s, "sum " + fmt(acc, 3) + " · match weight " + fmt(total, 3));
}

function waterfalls() {
  document.querySelectorAll(".waterfall").forEach(function (box) {
    var p = DATA.review.pairs[Number(box.getAttribute("data-pair"))];
    waterfall(box, p.steps, p.weight);
  });
}

function csvField(v) {
  return /[",\n\r]/.test(v) ? '"' + v.replace(/"/g, '""') + '"' : v;
}

function buildCsv() {
  var header = document.getElementById("export-template").textContent.trim();
  var author = document.getElementById("author").value || "steward";
  var date = new Date().toISOString().slice(0, 10);
  var lines = [header];
  document.querySelectorAll(".pair").forEach(function (p) {
    var checked = p.querySelector("input[type=radio]:checked");
    if (!checked || !checked.value) { return; }
    var reason = "review queue #" + p.getAttribute("data-rank") + " of run " + DATA.run_id;
    lines.push([p.getAttribute("data-left"), p.getAttribute("data-right"), checked.value, reason, author, date]
      .map(csvField).join(","));
  });
  return lines.join("\n") + "\n";
}

function countMarked() {
  var n = 0;
  document.querySelectorAll(".pair").forEach(function (p) {
    var c = p.querySelector("input[type=radio]:checked");
    var on = !!(c && c.value);
    p.classList.toggle("marked", on);
    if (on) { n += 1; }
  });
  document.getElementById("export-count").textContent = n + " pairs marked";
}

function download() {
  var blob = new Blob([buildCsv()], { type: "text/csv" });
  var a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = "manual.csv";
  document.body.appendChild(a);
  a.click();
  setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 0);
}

function selftest() {
  var pairs = document.querySelectorAll(".pair");
  for (var i = 0; i < Math.min(5, pairs.length); i++) {
    pairs[i].querySelector("input[value=must_link]").checked = true;
  }
  countMarked();
  document.getElementById("selftest-export").textContent = buildCsv();
}

function clusterById(id) {
  var found = null;
  DATA.clusters.clusters.forEach(function (c) { if (c.id === id) { found = c; } });
  return found;
}

function drawCluster(id) {
  var c = clusterById(id), box = document.getElementById("cluster-view");
  box.textContent = "";
  if (!c) { return; }
  var head = document.createElement("h3");
  head.textContent = c.id + " · " + c.size + " records · " + c.sources +
    (c.weakest === null ? "" : " · weakest link " + c.weakest.toFixed(4)) +
    (c.nodes.length < c.size ? " · first " + c.nodes.length + " records drawn" : "");
  box.appendChild(head);
  var n = c.nodes.length, R = Math.min(220, 40 + n * 12), W = 2 * R + 320, H = 2 * R + 60;
  var pos = c.nodes.map(function (_, i) {
    var a = 2 * Math.PI * i / Math.max(1, n) - Math.PI / 2;
    return [W / 2 + R * Math.cos(a), H / 2 + R * Math.sin(a)];
  });
  var s = svg(box, W, H);
  var weakestBridge = null;
  c.edges.forEach(function (e) { if (e.bridge && (weakestBridge === null || e.p < weakestBridge)) { weakestBridge = e.p; } });
  c.edges.forEach(function (e) {
    var a = pos[e.a], b = pos[e.b];
    var line = el("line", { x1: a[0], y1: a[1], x2: b[0], y2: b[1],
      stroke: e.bridge ? "#d32f2f" : (e.d === "manual" ? "#6a1b9a" : "#90a4ae"),
      "stroke-width": e.bridge ? (e.p === weakestBridge ? 5 : 3) : 1.5,
      "stroke-dasharray": e.d === "review" ? "4 3" : "" }, s);
    el("title", {}, line, c.nodes[e.a].id + " — " + c.nodes[e.b].id + ": " + e.d + ", p " + e.p.toFixed(4) + (e.bridge ? " (bridge)" : ""));
    if (c.edges.length <= 60) {
      el("text", { x: (a[0] + b[0]) / 2, y: (a[1] + b[1]) / 2, "font-size": 10, fill: e.bridge ? "#d32f2f" : "#455a64" }, s, e.p.toFixed(3));
    }
  });
  c.nodes.forEach(function (node, i) {
    var g = el("g", {}, s);
    el("circle", { cx: pos[i][0], cy: pos[i][1], r: 7, fill: "#1d2b44" }, g);
    el("title", {}, g, node.id + node.values.map(function (v) { return "\n" + v[0] + ": " + v[1]; }).join(""));
    el("text", { x: pos[i][0] + 9, y: pos[i][1] - 8, "font-size": 11 }, g, node.id);
  });
  memberTable(box, c);
}

function memberTable(box, c) {
  var t = document.createElement("table");
  c.nodes.forEach(function (node) {
    var tr = document.createElement("tr");
    [node.id].concat(node.values.map(function (v) { return v[0] + ": " + v[1]; })).forEach(function (text) {
      var td = document.createElement("td"); td.textContent = text; tr.appendChild(td);
    });
    t.appendChild(tr);
  });
  box.appendChild(t);
}

function search(q) {
  var list = document.getElementById("search-results");
  list.textContent = "";
  q = q.trim().toLowerCase();
  if (!q) { return; }
  DATA.clusters.clusters.filter(function (c) {
    return c.id.toLowerCase().indexOf(q) >= 0 ||
      c.nodes.some(function (n) { return n.id.toLowerCase().indexOf(q) >= 0; });
  }).forEach(function (c) {
    var li = document.createElement("li"), a = document.createElement("a");
    a.href = "#clusters"; a.setAttribute("data-cluster", c.id); a.textContent = c.id;
    li.appendChild(a); list.appendChild(li);
  });
  if (!list.children.length) { list.textContent = "no cluster in this page holds it"; }
}

function init() {
  weightsChart();
  histogramChart();
  waterfalls();
  document.getElementById("export-button").addEventListener("click", download);
  document.getElementById("tab-review").addEventListener("change", countMarked);
  document.getElementById("tab-clusters").addEventListener("click", function (ev) {
    var id = ev.target.getAttribute && ev.target.getAttribute("data-cluster");
    if (id) { drawCluster(id); }
  });
  document.getElementById("cluster-search").addEventListener("input", function (ev) { search(ev.target.value); });
  var first = DATA.clusters.weakest[0] || DATA.clusters.largest[0];
  if (first) { drawCluster(first.id); }
  var route = function () {
    var name = location.hash.replace("#", "");
    if (name === "selftest") { selftest(); name = "review"; }
    showTab(name);
  };
  window.addEventListener("hashchange", route);
  route();
}

init();
