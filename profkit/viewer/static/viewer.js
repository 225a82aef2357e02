/* profkit viewer: the page controller, loaded last.
 *
 * PF.apply loads the payload the URL names (url_state.js) and renders the view it
 * asks for: the flame graph and its inverted form (flame_draw.js), callers/callees
 * of a pivot regexp, the top table and source (tables.js), the call graph
 * (callgraph.js). init() wires the tabs, the bar's controls, search, Back/Forward
 * and resizes, and asks /api/meta which optional tabs and refine options exist.
 */
"use strict";
(function () {
  var PF = window.PF, page = PF.page, $ = PF.$, navigate = PF.navigate;
  PF.draws = 0;

  PF.flame = function (id) { return page.flames[id] || null; };

  PF.setData = function (p) {
    page.data = new PF.Data(p);
    page.tries = {}; page.flames = {};
    PF.header(p);
  };

  function trie(mode) {
    var tries = page.tries;
    if (!tries[mode]) tries[mode] = new PF.Trie(page.data, mode);
    return tries[mode];
  }

  function regex(text) {
    if (!text) return null;
    try { return new RegExp(text); } catch (e) { return undefined; }
  }

  function render() {
    var q = PF.params(), view = q.get("view") || "flame", meta = page.meta, data = page.data;
    if (view === "source" && meta.tabs.indexOf("source") < 0) view = "flame";
    if (view === "callgraph" && meta.tabs.indexOf("callgraph") < 0) view = "flame";
    document.querySelectorAll("#tabs button").forEach(function (b) {
      b.classList.toggle("active", b.dataset.view === view);
    });
    document.querySelectorAll("section.view").forEach(function (s) { s.hidden = s.id !== "view-" + view; });
    var search = q.get("search") || "";
    if ($("search").value !== search && document.activeElement !== $("search")) $("search").value = search;
    var re = regex(search), match = re ? data.matching(re) : null, status = "";
    if (re === undefined) status = "bad search regexp: " + search;
    else if (match) {
      var sh = data.share(match);
      status = "matched: " + data.fmt(sh) + " (" + data.pct(sh) + " of total)";
    }
    var t0 = performance.now();
    if (view === "flame" || view === "inverted") {
      var tr = trie(view === "flame" ? "normal" : "inverted");
      var f = PF.flameFor(view, tr, { rootName: "root" });
      var z = q.get("z");
      f.zoom = z ? Math.max(tr.find(z.split(".").map(Number)), 0) : 0;
      f.match = match; f.draw();
    } else if (view === "pivot") {
      var p = regex(q.get("p") || "");
      $("pivot-help").hidden = !!p;
      $("callers-title").textContent = p ? "Callers of " + q.get("p") + " (callers below)" : "";
      $("callees-title").textContent = p ? "Callees of " + q.get("p") : "";
      if (p) {
        var piv = data.matching(p);
        var callers = PF.flameFor("callers", new PF.Trie(data, "callers", piv), { rootName: "all callers", noZoom: true });
        var callees = PF.flameFor("callees", new PF.Trie(data, "callees", piv), { rootName: "all callees", noZoom: true });
        callers.match = match; callees.match = match;
        callers.draw(); callees.draw();
      }
    } else if (view === "top") {
      if ($("top-filter").value !== (q.get("tq") || "") && document.activeElement !== $("top-filter")) {
        $("top-filter").value = q.get("tq") || "";
      }
      var res = PF.renderTop($("top"), data, {
        sort: q.get("sort") || "flat", filter: q.get("tq") || "",
        onSort: function (k) { navigate({ sort: k === "flat" ? null : k }); },
        onPick: function (name, action) {
          var rx = "^" + PF.escapeRegex(name) + "$";
          navigate(action === "pivot" ? { view: "pivot", p: rx } : { view: null, search: rx, z: null });
        }
      });
      $("top-note").textContent = res.note;
    } else if (view === "source") {
      renderSource(q);
    } else if (view === "callgraph") {
      PF.renderCallgraph(q);
    }
    PF.lastRenderMs = performance.now() - t0;
    $("status").textContent = status;
    PF.links();
    PF.draws += 1;
    document.body.dataset.draws = String(PF.draws);
  }

  function renderSource(q) {
    var target = $("source"), name = q.get("p") || q.get("search") || "";
    target.textContent = name ? "loading…" : "Pick a function: right-click a frame, Show source.";
    if (!name) return;
    var sq = PF.serverQuery(q), url = "api/list?" + (sq ? sq + "&" : "") + "q=" + encodeURIComponent(name);
    PF.fetchText(url).then(function (t) { PF.renderSource(target, JSON.parse(t), page.data); })
      .catch(function (e) { target.textContent = e.message; });
  }

  function apply() {
    return PF.load().then(function () { PF.showError(""); render(); }).catch(function (e) {
      $("status").textContent = ""; PF.showError(e.message);
    });
  }
  PF.apply = apply;

  function init() {
    if (page.isStatic) document.body.classList.add("static");
    document.querySelectorAll("#tabs button").forEach(function (b) {
      b.addEventListener("click", function () {
        navigate({ view: b.dataset.view === "flame" ? null : b.dataset.view });
      });
    });
    $("sample").addEventListener("change", function () { navigate({ si: this.value, z: null }); });
    $("granularity").addEventListener("change", function () {
      navigate({ g: this.value === "functions" ? null : this.value, z: null });
    });
    $("label").addEventListener("change", function () {
      if (this.value !== "#none") navigate({ tf: this.value || null, z: null });
    });
    ["focus", "pointerdown", "keydown"].forEach(function (ev) { $("label").addEventListener(ev, PF.loadLabels); });
    var timer = null;
    $("search").addEventListener("input", function () {
      var v = this.value;
      clearTimeout(timer);
      timer = setTimeout(function () { navigate({ search: v || null }, true); }, 150);
    });
    $("search").addEventListener("keydown", function (ev) {
      if (ev.key === "Enter") { clearTimeout(timer); navigate({ search: this.value || null }); }
    });
    $("top-filter").addEventListener("input", function () { navigate({ tq: this.value || null }, true); });
    window.addEventListener("popstate", apply);
    window.addEventListener("hashchange", function () { if (page.isStatic) apply(); });
    var resizeTimer = null;
    window.addEventListener("resize", function () {
      clearTimeout(resizeTimer);
      resizeTimer = setTimeout(function () { if (page.data) render(); }, 100);
    });
    var ready = page.isStatic ? Promise.resolve() : PF.fetchText("api/meta").then(function (t) {
      page.meta = JSON.parse(t);
      page.meta.tabs.forEach(function (name) {
        var b = document.querySelector('#tabs button[data-view="' + name + '"]');
        if (b) b.hidden = false;
      });
      if (page.data) PF.header(page.data.p);  // the payload came first: its header had no title
    });
    // the payload is fetched while the page asks for its metadata, not after
    Promise.all([ready, PF.load().catch(function () { return null; })]).then(apply)
      .catch(function (e) { PF.showError(e.message); });
  }
  init();
})();
