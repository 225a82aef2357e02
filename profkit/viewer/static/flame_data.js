/* profkit viewer: the flame payload and its calling-context trees.
 *
 * PF.Data wraps the payload of profkit.views.flame (interned strings, nodes, a
 * root-first stack table), with the search (PF.Data.matching, share) and each
 * node's colour. PF.Trie builds a calling-context tree from it as flat typed
 * arrays (no object per frame): normal, inverted (leaf first) or rooted at the
 * frames matching a pivot. Values and percentages are written as pprof writes them
 * (PF.formatValue, PF.formatPct). Drawing is flame_draw.js.
 */
"use strict";
var PF = window.PF = window.PF || {};

PF.escapeRegex = function (s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/,/g, "\\x2c");
};

/* ---------- units, as pprof's measurement package prints them ---------- */
var UNITS = [
  [["B", 1], ["kB", 1024], ["MB", 1048576], ["GB", 1073741824], ["TB", 1099511627776],
    ["PB", 1125899906842624]],
  [["ns", 1], ["us", 1e3], ["ms", 1e6], ["s", 1e9], ["hrs", 3600e9]]
];
var ALIASES = { b: [0, 1], byte: [0, 1], kb: [0, 1024], kilobyte: [0, 1024], mb: [0, 1048576],
  megabyte: [0, 1048576], gb: [0, 1073741824], ns: [1, 1], nanosecond: [1, 1], us: [1, 1e3],
  microsecond: [1, 1e3], ms: [1, 1e6], millisecond: [1, 1e6], s: [1, 1e9], sec: [1, 1e9],
  second: [1, 1e9] };

PF.formatValue = function (value, unit) {
  var u = (unit || "").toLowerCase();
  if (u.length > 2 && u.charAt(u.length - 1) === "s") u = u.slice(0, -1);
  var found = ALIASES[u], text, name = "";
  var sign = value < 0 ? "-" : "", v = Math.abs(value);
  if (found) {
    var base = v * found[1], units = UNITS[found[0]], best = 0;
    for (var i = 0; i < units.length; i++) {
      if (units[i][1] >= best && base / units[i][1] >= 1) { best = units[i][1]; name = units[i][0]; }
    }
    if (!best) { best = found[0] ? 1e9 : 1; name = found[0] ? "s" : "B"; }
    v = base / best;
  }
  text = v.toFixed(2);
  if (text.slice(-3) === ".00") text = text.slice(0, -3);
  if (text === "0") return "0";
  return sign + text + name;
};

PF.formatPct = function (value, total) {
  var r = total ? Math.abs(value / total) * 100 : 0;
  if (r >= 99.95 && r <= 100.05) return "100%";
  if (r >= 1) return r.toFixed(2) + "%";
  if (r === 0) return "0%";
  return Number(r.toPrecision(2)).toString() + "%";
};

/* ---------- the payload ---------- */
PF.Data = function (p) {
  if (p.format !== "profkit-flame/1") throw new Error("unknown payload format " + p.format);
  this.p = p;
  var s = p.strings, nn = p.nodes.name.length;
  this.names = new Array(nn);
  this.files = new Array(nn);
  for (var i = 0; i < nn; i++) { this.names[i] = s[p.nodes.name[i]]; this.files[i] = s[p.nodes.file[i]]; }
  this.lines = p.nodes.line;
  this.stacks = p.stacks;
  this.values = p.values;
  this.base = p.base || null;
  this.diff = !!p.base;
  this.total = p.total;
  this.unit = p.unit;
};

PF.Data.prototype.fmt = function (v) { return PF.formatValue(v, this.unit); };
PF.Data.prototype.pct = function (v) { return PF.formatPct(v, this.total); };

/** Return a Uint8Array over nodes: 1 where the name or file matches ``re``.
 *  Each distinct string is tested once (nodes share files, and names at file or
 *  line granularity); the last few results are kept by pattern (Back, retyping). */
PF.Data.prototype.matching = function (re) {
  var key = re.source + "/" + re.flags, cache = this._matches || (this._matches = []);
  for (var c = 0; c < cache.length; c++) if (cache[c][0] === key) return cache[c][1];
  var out = new Uint8Array(this.names.length), seen = new Map();
  function test(s) {
    var hit = seen.get(s);
    if (hit === undefined) { re.lastIndex = 0; hit = re.test(s); seen.set(s, hit); }
    return hit;
  }
  for (var i = 0; i < out.length; i++) {
    if (test(this.names[i]) || (this.files[i] && test(this.files[i]))) out[i] = 1;
  }
  cache.unshift([key, out]);
  if (cache.length > 8) cache.pop();
  return out;
};

/** The fill colour of node ``n`` (a hue of its package), computed once per node. */
PF.Data.prototype.nodeColor = function (n) {
  var cs = this._colors || (this._colors = new Array(this.names.length));
  var c = cs[n];
  if (c === undefined) {
    var h = hue(this.names[n]);
    c = cs[n] = "hsl(" + (10 + (h % 45)) + "," + (70 + (h >> 8) % 20) + "%," + (62 + (h >> 16) % 12) + "%)";
  }
  return c;
};

/** Net value (new - base) of the stacks holding a matching node, once per stack. */
PF.Data.prototype.share = function (match) {
  var shares = this._shares || (this._shares = new WeakMap()), known = shares.get(match);
  if (known !== undefined) return known;
  var sum = 0, st = this.stacks;
  for (var i = 0; i < st.length; i++) {
    var s = st[i];
    for (var j = 0; j < s.length; j++) {
      if (match[s[j]]) { sum += this.values[i] - (this.base ? this.base[i] : 0); break; }
    }
  }
  shares.set(match, sum);
  return sum;
};

/* ---------- the calling-context tree, as typed arrays ---------- */
/* mode: "normal" (root first), "inverted" (leaf first), "callees"/"callers" of the
 * nodes set in ``pivot`` (first match in each stack; stacks without one are left out). */
PF.Trie = function (data, mode, pivot) {
  var stacks = data.stacks, vals = data.values, base = data.base;
  var paths = [], pv = [], pb = [];
  for (var i = 0; i < stacks.length; i++) {
    var s = stacks[i], path;
    if (mode === "normal") path = s;
    else if (mode === "inverted") path = s.slice().reverse();
    else {
      var at = -1;
      for (var k = 0; k < s.length; k++) { if (pivot[s[k]]) { at = k; break; } }
      if (at < 0) continue;
      path = mode === "callees" ? s.slice(at) : s.slice(0, at + 1).reverse();
    }
    paths.push(path); pv.push(vals[i]); pb.push(base ? base[i] : 0);
  }
  // Sorted paths share prefixes with their predecessor only: no hash lookups.
  var order = new Array(paths.length);
  for (var o = 0; o < order.length; o++) order[o] = o;
  if (!sortedPaths(paths)) order.sort(function (x, y) { return comparePaths(paths[x], paths[y]) || x - y; });
  var frames = 1;
  for (var f = 0; f < paths.length; f++) frames += paths[f].length;
  var node = new Int32Array(frames), parent = new Int32Array(frames);
  var v = new Float64Array(frames), b = new Float64Array(frames), w = new Float64Array(frames);
  var sv = new Float64Array(frames), sb = new Float64Array(frames);
  node[0] = -1; parent[0] = -1;
  var n = 1, chain = [], prev = [];
  for (var r = 0; r < order.length; r++) {
    var q = order[r], P = paths[q], nv = pv[q], nb = pb[q];
    var width = base ? Math.max(nv, nb) : Math.abs(nv), same = 0;
    var lim = Math.min(P.length, prev.length);
    while (same < lim && P[same] === prev[same]) same++;
    chain.length = same;
    v[0] += nv; b[0] += nb; w[0] += width;
    var cur = 0;
    for (var d = 0; d < P.length; d++) {
      if (d < same) cur = chain[d];
      else { node[n] = P[d]; parent[n] = cur; cur = n++; chain.push(cur); }
      v[cur] += nv; b[cur] += nb; w[cur] += width;
    }
    sv[cur] += nv; sb[cur] += nb;
    prev = P;
  }
  this.size = n; this.node = node; this.parent = parent;
  this.v = v; this.b = b; this.w = w; this.sv = sv; this.sb = sb;
  this.data = data; this.mode = mode;
  // children, grouped by parent (counting sort), each group by decreasing width
  var count = new Int32Array(n + 1);
  for (var c1 = 1; c1 < n; c1++) count[parent[c1] + 1]++;
  for (var c2 = 0; c2 < n; c2++) count[c2 + 1] += count[c2];
  var kids = new Int32Array(Math.max(n - 1, 1)), fill = count.slice(0, n);
  for (var c3 = 1; c3 < n; c3++) kids[fill[parent[c3]]++] = c3;
  for (var p = 0; p < n; p++) {
    var lo = count[p], hi = count[p + 1];
    if (hi - lo > 1) {
      var group = Array.prototype.slice.call(kids, lo, hi);
      group.sort(function (x, y) { return w[y] - w[x] || x - y; });
      for (var g = 0; g < group.length; g++) kids[lo + g] = group[g];
    }
  }
  this.kidStart = count; this.kids = kids;
};

PF.Trie.prototype.child = function (t, nodeId) {
  for (var k = this.kidStart[t]; k < this.kidStart[t + 1]; k++) {
    if (this.node[this.kids[k]] === nodeId) return this.kids[k];
  }
  return -1;
};

function comparePaths(a, b) {
  var m = Math.min(a.length, b.length);
  for (var i = 0; i < m; i++) { if (a[i] !== b[i]) return a[i] - b[i]; }
  return a.length - b.length;
}

function sortedPaths(paths) {
  for (var i = 1; i < paths.length; i++) { if (comparePaths(paths[i - 1], paths[i]) > 0) return false; }
  return true;
}

/** Node ids from the root to trie index ``t`` (the URL form of a zoom). */
PF.Trie.prototype.pathOf = function (t) {
  var out = [];
  for (; t > 0; t = this.parent[t]) out.push(this.node[t]);
  return out.reverse();
};

PF.Trie.prototype.find = function (path) {
  var t = 0;
  for (var i = 0; i < path.length && t >= 0; i++) t = this.child(t, path[i]);
  return t;
};

function hue(name) {
  var pkg = name.split(/[. /:]/)[0], h = 0;
  for (var i = 0; i < pkg.length; i++) h = (h * 31 + pkg.charCodeAt(i)) >>> 0;
  return h;
}
