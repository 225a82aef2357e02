/* profkit viewer: the top table, computed in the browser from the stack table.
 *
 * Numbers follow `profkit top` (and go tool pprof): flat is the net value of the
 * stacks a node ends, cum the net value of the stacks holding it, once per stack;
 * percentages of the payload's total (pprof's denominator). Every name is set with
 * textContent.
 */
"use strict";
var PF = window.PF = window.PF || {};

/** Return {flat: Float64Array, cum: Float64Array} over nodes. */
PF.topValues = function (data) {
  var nn = data.names.length, flat = new Float64Array(nn), cum = new Float64Array(nn);
  var stamp = new Int32Array(nn).fill(-1), st = data.stacks;
  for (var i = 0; i < st.length; i++) {
    var s = st[i], v = data.values[i] - (data.base ? data.base[i] : 0);
    if (!s.length) continue;
    flat[s[s.length - 1]] += v;
    for (var j = 0; j < s.length; j++) {
      var n = s[j];
      if (stamp[n] !== i) { stamp[n] = i; cum[n] += v; }
    }
  }
  return { flat: flat, cum: cum };
};

var MAX_ROWS = 500;

function cell(tr, text, cls) {
  var td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  tr.appendChild(td);
  return td;
}

/**
 * Fill ``table`` (a <table>) with the top rows of ``data``.
 * opts: sort ("flat"|"cum"), filter (regex text), onPick(name, action), onSort(key).
 */
PF.renderTop = function (table, data, opts) {
  var tv = data._top || (data._top = PF.topValues(data));
  var flat = tv.flat, cum = tv.cum, byCum = opts.sort === "cum", re = null;
  if (opts.filter) { try { re = new RegExp(opts.filter); } catch (e) { re = null; } }
  var rows = [];
  for (var n = 0; n < data.names.length; n++) {
    if (!flat[n] && !cum[n]) continue;
    if (re && !re.test(data.names[n])) continue;
    rows.push(n);
  }
  rows.sort(function (a, b) {
    var ka = byCum ? Math.abs(cum[a]) : Math.abs(flat[a]), kb = byCum ? Math.abs(cum[b]) : Math.abs(flat[b]);
    if (ka !== kb) return kb - ka;
    var na = data.names[a], nb = data.names[b];
    return na < nb ? -1 : na > nb ? 1 : 0;
  });
  table.textContent = "";
  var head = document.createElement("thead"), htr = document.createElement("tr");
  [["flat", "flat"], ["flat%", ""], ["sum%", ""], ["cum", "cum"], ["cum%", ""], ["name", ""]]
    .forEach(function (h) {
      var th = document.createElement("th");
      th.textContent = h[0] + (h[1] && h[1] === (byCum ? "cum" : "flat") ? " ▼" : "");
      if (h[1]) {
        th.className = "sortable"; th.dataset.sort = h[1];
        th.addEventListener("click", function () { opts.onSort(h[1]); });
      }
      htr.appendChild(th);
    });
  head.appendChild(htr); table.appendChild(head);
  var body = document.createElement("tbody"), running = 0;
  for (var i = 0; i < rows.length && i < MAX_ROWS; i++) {
    var r = rows[i], tr = document.createElement("tr");
    running += flat[r];
    cell(tr, data.fmt(flat[r]), "num"); cell(tr, data.pct(flat[r]), "num");
    cell(tr, data.pct(running), "num"); cell(tr, data.fmt(cum[r]), "num");
    cell(tr, data.pct(cum[r]), "num");
    var td = cell(tr, "", "name"), a = document.createElement("a");
    a.textContent = data.names[r]; a.href = "#"; a.title = "show in the flame graph";
    a.dataset.node = String(r);
    td.appendChild(a);
    var peek = document.createElement("a");
    peek.textContent = "callers/callees"; peek.href = "#"; peek.className = "peek";
    peek.dataset.node = String(r);
    td.appendChild(peek);
    body.appendChild(tr);
  }
  body.addEventListener("click", function (ev) {
    var a = ev.target.closest("a");
    if (!a) return;
    ev.preventDefault();
    opts.onPick(data.names[Number(a.dataset.node)], a.className === "peek" ? "pivot" : "search");
  });
  table.appendChild(body);
  var note = rows.length > MAX_ROWS ? (rows.length - MAX_ROWS) + " more rows: refine the filter" : "";
  return { rows: rows.length, note: note };
};

/** Fill ``target`` with the `list` report (JSON of profkit's source view): a heat map per line. */
PF.renderSource = function (target, report, data) {
  target.textContent = "";
  var fns = report.functions || [];
  if (!fns.length) { target.textContent = "no function matches " + report.pattern; return; }
  fns.forEach(function (fn) {
    var h = document.createElement("h3"), file = document.createElement("div");
    h.textContent = fn.name + "  flat " + data.fmt(fn.flat) + ", cum " + data.fmt(fn.cum) +
      " (" + data.pct(fn.cum) + ")";
    file.className = "srcfile"; file.textContent = fn.file;
    target.appendChild(h); target.appendChild(file);
    if (fn.note) {
      var note = document.createElement("div");
      note.className = "note"; note.textContent = fn.note;
      target.appendChild(note);
    }
    var max = 0;
    fn.lines.forEach(function (l) { max = Math.max(max, Math.abs(l.cum)); });
    var table = document.createElement("table");
    table.className = "source";
    fn.lines.forEach(function (l) {
      var tr = document.createElement("tr");
      cell(tr, String(l.line), "num");
      cell(tr, l.flat ? data.fmt(l.flat) : ".", "num");
      cell(tr, l.cum ? data.fmt(l.cum) : ".", "num");
      var code = cell(tr, l.text, "code");
      var heat = max ? Math.abs(l.cum) / max : 0;
      if (heat) code.style.background = "rgba(255,80,0," + (0.08 + 0.6 * heat).toFixed(3) + ")";
      tr.dataset.line = String(l.line);
      table.appendChild(tr);
    });
    target.appendChild(table);
  });
};
