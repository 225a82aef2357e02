/* profkit viewer: the page's state in the URL, and loading the payload it names.
 *
 * All state is in the URL with pprof's parameter names: report options (si, f, i,
 * h, s, sf, tf, ti, g) go to the server (/api/flame); page state (view, z = zoom
 * path, search, p = pivot regexp, sort, tq = top filter, gv = call graph viewBox)
 * is applied in the page (viewer.js). Changes use history.pushState (PF.navigate), and popstate
 * re-applies the URL, so Back and Forward work. A page exported by `profkit
 * flamegraph` carries its payload in <script id="payload"> and keeps its state in
 * the URL's #fragment instead.
 *
 * PF.page is what the modules share: isStatic, meta (/api/meta), the current
 * PF.Data (data), the key it was loaded with, and the tries and flames built on it.
 */
"use strict";
(function () {
  var PF = window.PF = window.PF || {};
  var SERVER = ["si", "f", "i", "h", "s", "sf", "tf", "ti", "g"];
  var $ = PF.$ = function (id) { return document.getElementById(id); };
  var payloadEl = $("payload");
  var page = PF.page = {
    isStatic: !!payloadEl, meta: { tabs: [], refine: ["f", "i", "h", "s"] },
    data: null, loadedKey: null, flames: {}, tries: {}
  };

  /** The URL's parameters (its #fragment in an exported page). */
  PF.params = function () {
    return new URLSearchParams(page.isStatic ? location.hash.slice(1) : location.search);
  };

  /** The report options of ``q`` (URLSearchParams), as a query string. */
  PF.serverQuery = function (q) {
    var out = new URLSearchParams();
    SERVER.forEach(function (k) { if (q.has(k)) out.set(k, q.get(k)); });
    return out.toString();
  };

  /** Change the URL (null or "" removes a parameter), push (or ``replace``) it, apply it. */
  PF.navigate = function (changes, replace) {
    var q = PF.params();
    var newGraph = SERVER.some(function (k) { return k in changes && (changes[k] || "") !== (q.get(k) || ""); });
    if (newGraph && !("gv" in changes)) q.delete("gv");  // the call graph's view is of one graph
    Object.keys(changes).forEach(function (k) {
      if (changes[k] === null || changes[k] === "") q.delete(k); else q.set(k, changes[k]);
    });
    var s = q.toString(), url = page.isStatic ? "#" + s : (s ? "?" + s : location.pathname);
    if (replace) history.replaceState(null, "", url); else history.pushState(null, "", url);
    PF.apply();
  };

  PF.showError = function (msg) {
    var e = $("error");
    e.hidden = !msg; e.textContent = msg || "";
  };

  /** GET ``url`` as text; a status other than 2xx rejects with the body's one line. */
  PF.fetchText = function (url) {
    return fetch(url).then(function (r) {
      return r.text().then(function (t) {
        if (!r.ok) throw new Error(t.trim() || ("HTTP " + r.status));
        return t;
      });
    });
  };

  function loadStatic() {
    var body = JSON.parse(payloadEl.textContent), state = JSON.parse($("state").textContent);
    if (!location.hash && state && Object.keys(state).length) {
      history.replaceState(null, "", "#" + new URLSearchParams(state).toString());
    }
    if (body.encoding === "json") return Promise.resolve(body.data);
    var bin = atob(body.data), bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return new Response(stream).text().then(JSON.parse);
  }

  /** Load the payload the URL's report options name into PF.setData; resolves to
   *  whether it was loaded (false: the current data already is that payload). */
  PF.load = function () {
    if (page.isStatic) {
      if (page.data) return Promise.resolve(false);
      return loadStatic().then(function (p) { PF.setData(p); return true; });
    }
    var key = PF.serverQuery(PF.params());
    if (page.data && key === page.loadedKey) return Promise.resolve(false);
    $("status").textContent = "loading…";
    return PF.fetchText("api/flame" + (key ? "?" + key : "")).then(function (t) {
      page.loadedKey = key; PF.setData(JSON.parse(t)); return true;
    });
  };

  /** Point the download links at the current filters (and, for the page, view). */
  PF.links = function () {
    if (page.isStatic) return;
    var q = PF.params(), sq = PF.serverQuery(q), keep = new URLSearchParams(sq);
    ["view", "z", "search", "p", "sort", "tq"].forEach(function (k) { if (q.has(k)) keep.set(k, q.get(k)); });
    $("dl-pprof").href = "download/profile.pb.gz" + (sq ? "?" + sq : "");
    var ps = keep.toString();
    $("dl-html").href = "download/flamegraph.html" + (ps ? "?" + ps : "");
  };
})();
