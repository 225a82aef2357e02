/* profkit viewer: drawing a flame graph on a canvas.
 *
 * PF.Flame draws a PF.Trie (flame_data.js) as an icicle on a <canvas>: root on
 * top, children by decreasing width, boxes narrower than 1 px skipped; it also
 * answers which box is under a point (hit) and that box's hover text (details).
 * Diff boxes are coloured by PF.diffColor. Names only ever reach the page as
 * canvas text or textContent.
 */
"use strict";
var PF = window.PF = window.PF || {};

/* ---------- drawing ---------- */
var ROW = 18;

/** Kind of a diff box: "new", "vanished", "grow", "shrink" or "same". */
PF.diffKind = function (v, b) {
  if (b === 0 && v !== 0) return "new";
  if (v === 0 && b !== 0) return "vanished";
  if (v > b) return "grow";
  if (v < b) return "shrink";
  return "same";
};

PF.diffColor = function (v, b) {
  var kind = PF.diffKind(v, b), r = Math.abs(v - b) / Math.max(Math.abs(v), Math.abs(b), 1);
  if (kind === "new") return "rgb(200,0,0)";
  if (kind === "vanished") return "rgb(30,70,200)";
  var light = Math.round(235 - 130 * Math.min(1, r));
  if (kind === "grow") return "rgb(255," + light + "," + light + ")";
  if (kind === "shrink") return "rgb(" + light + "," + light + ",255)";
  return "rgb(225,225,225)";
};

PF.Flame = function (canvas, trie, opts) {
  this.canvas = canvas; this.trie = trie; this.opts = opts || {};
  this.zoom = 0; this.match = null; this.hover = -1;
  this.rects = null;
};

/** Lay out the boxes of the current zoom: arrays of trie index, x, width, row. */
PF.Flame.prototype.layout = function (width) {
  var t = this.trie, out = { idx: [], x: [], w: [], row: [], depth: 0 };
  var anc = [], z = this.zoom;
  for (var a = z; a >= 0; a = t.parent[a]) anc.push(a);
  anc.reverse();
  for (var r = 0; r < anc.length - 1; r++) {
    out.idx.push(anc[r]); out.x.push(0); out.w.push(width); out.row.push(r);
  }
  var scale = t.w[z] > 0 ? width / t.w[z] : 0, base = anc.length - 1;
  var stack = [z, 0, base];
  while (stack.length) {
    var row = stack.pop(), x = stack.pop(), node = stack.pop();
    var bw = node === z ? width : t.w[node] * scale;
    out.idx.push(node); out.x.push(x); out.w.push(bw); out.row.push(row);
    if (row > out.depth) out.depth = row;
    var cx = x;
    for (var k = t.kidStart[node]; k < t.kidStart[node + 1]; k++) {
      var c = t.kids[k], cw = t.w[c] * scale;
      if (cw < 1) break;  // sorted by width: the rest are narrower still
      stack.push(c, cx, row + 1);
      cx += cw;
    }
  }
  if (anc.length - 1 > out.depth) out.depth = anc.length - 1;
  return out;
};

PF.Flame.prototype.nameOf = function (i) {
  var n = this.trie.node[i];
  return n < 0 ? (this.opts.rootName || "root") : this.trie.data.names[n];
};

PF.Flame.prototype.colorOf = function (i) {
  var t = this.trie, n = t.node[i];
  if (this.match && n >= 0 && this.match[n]) return "rgb(230,60,230)";
  if (t.data.diff) return PF.diffColor(t.v[i], t.b[i]);
  if (n < 0) return "rgb(200,200,200)";
  return t.data.nodeColor(n);
};

PF.Flame.prototype.labelOf = function (i) {
  var t = this.trie, name = this.nameOf(i);
  if (t.data.diff && t.node[i] >= 0) {
    var kind = PF.diffKind(t.v[i], t.b[i]);
    if (kind === "new") return "[new] " + name;
    if (kind === "vanished") return "[vanished] " + name;
  }
  return name;
};

/* draw(): a full paint when the layout changes (zoom, width, trie); otherwise (a
 * search, a hover) only the boxes whose look changed are painted again. Every box
 * is painted by paintBox alone (text held inside it by fillText's maxWidth), so a
 * partial paint leaves the canvas as a full one would. */
PF.Flame.prototype.draw = function () {
  var t0 = performance.now();
  var canvas = this.canvas, dpr = window.devicePixelRatio || 1;
  var width = canvas.parentNode.clientWidth || 800;
  var key = this.zoom + "/" + width + "/" + dpr, L = this.rects, ctx = canvas.getContext("2d");
  var hoverNode = this.hover >= 0 ? this.trie.node[this.hover] : -2, i;
  if (L && this._key === key && this._trie === this.trie) {
    var looks = this._looks;
    for (i = 0; i < L.idx.length; i++) {
      var look = this.lookOf(L.idx[i], hoverNode);
      if (look !== looks[i]) { looks[i] = look; this.paintBox(ctx, L, i, hoverNode, true); }
    }
    this.lastDrawMs = performance.now() - t0;
    return L;
  }
  L = this.layout(width);
  var height = (L.depth + 1) * ROW, cw = Math.round(width * dpr), ch = Math.round(height * dpr);
  if (canvas.width !== cw || canvas.height !== ch) {
    canvas.style.width = width + "px"; canvas.style.height = height + "px";
    canvas.width = cw; canvas.height = ch;
  } else {
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, cw, ch);
  }
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.font = "12px system-ui, sans-serif";
  ctx.textBaseline = "middle";
  this._charW = ctx.measureText("abcdefghijklmnopqrstuvwxyz").width / 26;
  this._looks = new Array(L.idx.length);
  for (i = 0; i < L.idx.length; i++) {
    this._looks[i] = this.lookOf(L.idx[i], hoverNode);
    this.paintBox(ctx, L, i, hoverNode, false);
  }
  this.rects = L; this._key = key; this._trie = this.trie;
  this.lastDrawMs = performance.now() - t0;
  return L;
};

/** What decides how trie index ``idx`` looks (its colour and whether it is hovered). */
PF.Flame.prototype.lookOf = function (idx, hoverNode) {
  var n = this.trie.node[idx];
  return this.colorOf(idx) + (n === hoverNode && n >= 0 ? "|h" : "");
};

/** Paint layout box ``i`` (``again``: over its old paint, which is cleared first). */
PF.Flame.prototype.paintBox = function (ctx, L, i, hoverNode, again) {
  var idx = L.idx[i], x = L.x[i], w = L.w[i], y = L.row[i] * ROW, bw = Math.max(w - 1, 1);
  if (again) ctx.clearRect(x, y, bw, ROW - 1);
  ctx.fillStyle = this.colorOf(idx);
  ctx.fillRect(x, y, bw, ROW - 1);
  var kind = this.trie.data.diff ? PF.diffKind(this.trie.v[idx], this.trie.b[idx]) : "";
  if (kind === "vanished" && w > 3) {
    ctx.strokeStyle = "rgb(255,255,255)"; ctx.setLineDash([3, 2]);
    ctx.strokeRect(x + 2.5, y + 2.5, w - 6, ROW - 6); ctx.setLineDash([]);
  }
  if (this.trie.node[idx] === hoverNode && hoverNode >= 0) {
    ctx.strokeStyle = "rgb(0,0,0)"; ctx.lineWidth = 1.5;
    ctx.strokeRect(x + 0.75, y + 0.75, Math.max(w - 2.5, 1), ROW - 2.5); ctx.lineWidth = 1;
  }
  var chars = Math.floor((w - 6) / this._charW);
  if (chars >= 3) {
    var label = this.labelOf(idx);
    if (label.length > chars) label = label.slice(0, chars - 1) + "…";
    ctx.fillStyle = (kind === "new" || kind === "vanished") ? "#fff" : "#000";
    ctx.fillText(label, x + 3, y + ROW / 2, w - 6);
  }
};

/** The drawn boxes as plain objects (for tests and benchmarks): name, label, x, y, w, colour. */
PF.Flame.prototype.boxes = function () {
  var L = this.rects, out = [];
  if (!L) return out;
  for (var i = 0; i < L.idx.length; i++) {
    var idx = L.idx[i], t = this.trie;
    out.push({ name: this.nameOf(idx), label: this.labelOf(idx), x: L.x[i], y: L.row[i] * ROW,
      w: L.w[i], h: ROW, color: this.colorOf(idx),
      kind: t.data.diff ? PF.diffKind(t.v[idx], t.b[idx]) : "" });
  }
  return out;
};

/** Return the trie index under canvas point (x, y), or -1. */
PF.Flame.prototype.hit = function (x, y) {
  var L = this.rects;
  if (!L) return -1;
  var row = Math.floor(y / ROW);
  for (var i = 0; i < L.idx.length; i++) {
    if (L.row[i] === row && x >= L.x[i] && x < L.x[i] + L.w[i]) return L.idx[i];
  }
  return -1;
};

/** Lines of the hover details of trie index ``i`` (plain text; shown via textContent). */
PF.Flame.prototype.details = function (i) {
  var t = this.trie, d = t.data, n = t.node[i], out = [this.nameOf(i)];
  if (n >= 0 && d.files[n]) out.push(d.files[n] + (d.lines[n] ? ":" + d.lines[n] : ""));
  var net = t.v[i] - t.b[i], self = t.sv[i] - t.sb[i];
  out.push("self " + d.fmt(self) + " (" + d.pct(self) + ")");
  out.push("total " + d.fmt(net) + " (" + d.pct(net) + " of all, " +
           PF.formatPct(t.w[i], t.w[this.zoom]) + " of zoomed frame)");
  if (d.diff) {
    var kind = PF.diffKind(t.v[i], t.b[i]);
    out.push((kind === "new" ? "new: " : kind === "vanished" ? "vanished: " : "") +
             "base " + d.fmt(t.b[i]) + " → new " + d.fmt(t.v[i]) + " (" +
             (net >= 0 ? "+" : "") + d.fmt(net) + ", " + (net >= 0 ? "+" : "-") + d.pct(net) + ")");
  }
  return out;
};
