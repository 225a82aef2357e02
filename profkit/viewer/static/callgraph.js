/* profkit viewer: the call graph tab (`profkit dot` as SVG, from api/dot.svg).
 *
 * The SVG is fetched once per set of report options and parsed as XML, so every
 * name stays the text Graphviz wrote (it escapes <, > and &); PF.cleanSvg then
 * removes anything that could run or load. Pan and zoom move the SVG's viewBox:
 * the wheel zooms around the pointer, a drag pans, "Reset view" shows the whole
 * graph again. The viewBox is page state in the URL, gv=x,y,width,height in SVG
 * units (absent: the whole graph): a drag is one history entry when it ends, a
 * wheel gesture one entry when it pauses, so Back/Forward and reload restore it.
 * A change of report options drops gv (url_state.js): it is a view of one graph.
 */
"use strict";
(function () {
  var PF = window.PF, $ = PF.$;
  var WHEEL_PAUSE_MS = 300;          // a wheel gesture ends when no event came for this long
  var MIN_WIDTH = 1 / 50, MAX_WIDTH = 10;  // the viewBox width, relative to the whole graph
  var DRAG_MIN_PX = 3;               // a press that moves less is not a pan
  var graph = { key: null, svg: null, home: null, loading: false, shown: null };
  var wheelTimer = null;

  /** Remove what could run or load from an SVG document (scripts, handlers, links out). */
  PF.cleanSvg = function (root) {
    root.querySelectorAll("script, foreignObject, iframe, object, embed").forEach(function (n) { n.remove(); });
    root.querySelectorAll("*").forEach(function (el) {
      Array.prototype.slice.call(el.attributes).forEach(function (a) {
        var v = a.value.trim().toLowerCase();
        if (a.name.slice(0, 2).toLowerCase() === "on" || ((a.name === "href" || a.name === "xlink:href") &&
            !/^#/.test(v))) el.removeAttribute(a.name);
      });
    });
    return root;
  };

  /** The box [x, y, width, height] that ``text`` (a gv= value) names, or null. */
  PF.parseGraphView = function (text) {
    var parts = (text || "").split(",");
    if (parts.length !== 4) return null;
    var box = parts.map(Number);
    if (!box.every(isFinite) || parts.some(function (p) { return !p.trim(); })) return null;
    return box[2] > 0 && box[3] > 0 ? box : null;
  };

  function round(v) { return Math.round(v * 100) / 100; }
  function boxOf(svg) { var b = svg.viewBox.baseVal; return [b.x, b.y, b.width, b.height]; }
  function textOf(box) { return box.map(function (v) { return String(round(v)); }).join(","); }
  function setBox(svg, box) {
    var b = svg.viewBox.baseVal;
    b.x = box[0]; b.y = box[1]; b.width = box[2]; b.height = box[3];
  }

  /** Show the viewBox the URL names (the whole graph without gv, or when gv overlaps none of it).
   *  A wheel gesture not yet in the URL is kept while the URL's gv is the one it started from (a
   *  render for a resize, say); a new gv (Back, Forward) wins over it. */
  function show(q) {
    var gv = q.get("gv") || "";
    if (!graph.home || (wheelTimer && gv === graph.shown)) return;
    clearTimeout(wheelTimer); wheelTimer = null;
    graph.shown = gv;
    var box = PF.parseGraphView(gv), h = graph.home;
    if (!box || box[0] > h[0] + h[2] || box[0] + box[2] < h[0] || box[1] > h[1] + h[3] ||
        box[1] + box[3] < h[1]) box = h;
    setBox(graph.svg, box);
  }

  /** Put the shown viewBox in the URL (a new history entry) if it differs from it. */
  function commit() {
    clearTimeout(wheelTimer); wheelTimer = null;
    var svg = graph.svg, q = PF.params();
    if (!svg || !svg.isConnected || q.get("view") !== "callgraph") return;
    var text = textOf(boxOf(svg)), want = text === textOf(graph.home) ? null : text;
    if ((q.get("gv") || null) !== want) PF.navigate({ gv: want });
  }

  function userPoint(svg, matrix, clientX, clientY) {
    var p = svg.createSVGPoint();
    p.x = clientX; p.y = clientY;
    return p.matrixTransform(matrix);
  }

  function panZoom(svg) {
    var vb = svg.viewBox.baseVal, home = graph.home, drag = null;
    svg.removeAttribute("width"); svg.removeAttribute("height");
    svg.addEventListener("wheel", function (ev) {
      ev.preventDefault();
      var ctm = svg.getScreenCTM();
      if (!ctm) return;
      var dy = ev.deltaY * (ev.deltaMode === 1 ? 16 : ev.deltaMode === 2 ? 400 : 1);
      var k = Math.pow(1.0015, Math.max(-500, Math.min(500, dy)));
      k = Math.max(home[2] * MIN_WIDTH, Math.min(home[2] * MAX_WIDTH, vb.width * k)) / vb.width;
      var p = userPoint(svg, ctm.inverse(), ev.clientX, ev.clientY);
      setBox(svg, [p.x - (p.x - vb.x) * k, p.y - (p.y - vb.y) * k, vb.width * k, vb.height * k]);
      clearTimeout(wheelTimer);
      wheelTimer = setTimeout(commit, WHEEL_PAUSE_MS);
    }, { passive: false });
    svg.addEventListener("pointerdown", function (ev) {
      if (ev.button !== 0 || !svg.getScreenCTM()) return;
      var m = svg.getScreenCTM().inverse();
      drag = { m: m, at: userPoint(svg, m, ev.clientX, ev.clientY), x: vb.x, y: vb.y,
               cx: ev.clientX, cy: ev.clientY, moved: false };
      svg.setPointerCapture(ev.pointerId);
      svg.classList.add("dragging");
      ev.preventDefault();
    });
    svg.addEventListener("pointermove", function (ev) {
      if (!drag) return;
      if (!drag.moved && Math.abs(ev.clientX - drag.cx) + Math.abs(ev.clientY - drag.cy) < DRAG_MIN_PX) return;
      var p = userPoint(svg, drag.m, ev.clientX, ev.clientY);
      drag.moved = true;
      vb.x = drag.x - (p.x - drag.at.x); vb.y = drag.y - (p.y - drag.at.y);
    });
    function end() {
      if (!drag) return;
      var moved = drag.moved;
      drag = null;
      svg.classList.remove("dragging");
      if (moved) commit();
    }
    svg.addEventListener("pointerup", end);
    svg.addEventListener("pointercancel", end);
  }

  /** Show the call graph of the URL's report options (fetched when they changed) at its gv. */
  PF.renderCallgraph = function (q) {
    var target = $("callgraph"), key = PF.serverQuery(q);
    if (graph.key === key && graph.svg && graph.svg.isConnected) { show(q); return; }
    if (graph.key === key && graph.loading) return;  // shows the URL's view when it arrives
    var mine = graph = { key: key, svg: null, home: null, loading: true, shown: null };
    target.textContent = "loading…";
    PF.fetchText("api/dot.svg" + (key ? "?" + key : "")).then(function (text) {
      if (graph !== mine) return;  // the options changed meanwhile
      var doc = new DOMParser().parseFromString(text, "image/svg+xml");
      if (doc.documentElement.nodeName !== "svg") throw new Error("the call graph is not SVG");
      var svg = PF.cleanSvg(document.importNode(doc.documentElement, true));
      target.textContent = "";
      target.appendChild(svg);
      mine.loading = false; mine.svg = svg;
      if (!svg.viewBox || !svg.viewBox.baseVal || !svg.viewBox.baseVal.width) return;  // not Graphviz's
      mine.home = boxOf(svg);
      panZoom(svg);
      show(PF.params());
    }).catch(function (e) {
      if (graph !== mine) return;
      graph = { key: null, svg: null, home: null, loading: false, shown: null };  // asked again next time
      target.textContent = e.message;
    });
  };

  $("graph-reset").addEventListener("click", function () {
    clearTimeout(wheelTimer); wheelTimer = null;
    if (PF.params().has("gv")) PF.navigate({ gv: null });
    else if (graph.home) setBox(graph.svg, graph.home);
  });
})();
