/* profkit viewer: the controls around the views.
 *
 * PF.header fills the bar from a payload (title, sample type, granularity, the
 * label filter, the filter chips, the diff legend); the label filter's values come
 * from api/labels when it is first opened (PF.loadLabels). PF.flameFor gives a
 * canvas its PF.Flame and its mouse: hover shows the tooltip, a click zooms (z=),
 * a right-click opens the frame menu (focus, ignore, ... pivot, search, source).
 * Every name is set with textContent.
 */
"use strict";
(function () {
  var PF = window.PF, page = PF.page, $ = PF.$, navigate = PF.navigate;
  var REFINE = { f: "Focus on", i: "Ignore", h: "Hide", s: "Show only", sf: "Show from" };

  PF.header = function (p) {
    var meta = page.meta;
    var names = (meta && meta.title && meta.title !== "profkit") ? meta.title :
      p.sources.join(", ") + (p.bases.length ? " vs base " + p.bases.join(", ") : "");
    $("title").textContent = names;
    document.title = "profkit: " + names;
    var sel = $("sample");
    sel.textContent = "";
    p.sample_types.forEach(function (t, i) {
      sel.appendChild(new Option(t.type + " (" + t.unit + ")", t.type, false, i === p.sample_index));
    });
    sel.parentNode.hidden = p.sample_types.length < 2;
    $("granularity").value = p.granularity;
    fillLabels(p);
    var chips = $("filters");
    chips.textContent = "";
    Object.keys(p.filters).forEach(function (k) {
      if (k === "sort" || k === "si" || k === "g") return;
      var chip = document.createElement("span"), x = document.createElement("button");
      chip.className = "chip"; chip.textContent = k + "=" + p.filters[k];
      x.textContent = "×"; x.title = "remove this filter";
      if (page.isStatic) x.hidden = true;
      x.addEventListener("click", function () { var c = {}; c[k] = null; navigate(c); });
      chip.appendChild(x); chips.appendChild(chip);
    });
    var legend = $("legend");
    legend.textContent = "";
    if (p.diff) {
      [["rgb(255,120,120)", "grew"], ["rgb(120,120,255)", "shrank"], ["rgb(200,0,0)", "new"],
       ["rgb(30,70,200)", "vanished (only in the base)"]].forEach(function (l) {
        var sw = document.createElement("span"), t = document.createElement("span");
        sw.className = "sw"; sw.style.background = l[0]; t.textContent = l[1];
        legend.appendChild(sw); legend.appendChild(t);
      });
      var note = document.createElement("span");
      note.textContent = "  widths: max(base, new); percentages of the base total, as pprof gives them";
      legend.appendChild(note);
    }
  };

  /* The label filter: its values (with counts) come from api/labels, asked for only
   * when the control is opened (loading every sample's labels is what makes a big
   * profile slow), once per sample type; until then it offers "all samples" and the
   * current tf. */
  var labelCache = {};
  function labelKey() { return "si=" + encodeURIComponent(page.data.p.type); }
  function fillLabels(p) {
    var lab = $("label"), tf = p.filters.tf || "", got = labelCache[labelKey()];
    lab.textContent = "";
    lab.appendChild(new Option("all samples", ""));
    if (got) {
      var keys = Object.keys(got.labels);
      keys.forEach(function (k) {
        got.labels[k].forEach(function (row) {
          var text = k + " = " + row[0] + " (" + row[1] + " samples, " +
                     PF.formatValue(row[2], got.unit) + ")";
          // a numeric label (row[3]: pprof's exact-value tag filter, null when none applies)
          var value = row.length > 3 ? (row[3] === null ? "#none" : k + "=" + row[3])
                                  : k + "=^" + PF.escapeRegex(row[0]) + "$";
          var opt = new Option(text, value);
          opt.disabled = value === "#none";
          lab.appendChild(opt);
        });
      });
      if (!keys.length) {
        lab.appendChild(new Option("(no labels in this profile)", "#none"));
        lab.lastChild.disabled = true;
      }
    } else {
      var more = new Option("(open to load the labels…)", "#none");
      more.disabled = true;
      lab.appendChild(more);
    }
    lab.value = tf;
    if (lab.value !== tf) {  // a hand-written tf, or labels not loaded yet: keep it selectable
      lab.appendChild(new Option("tf=" + tf, tf, true, true));
    }
    lab.dataset.loaded = got ? "1" : "";
  }
  PF.loadLabels = function () {
    if (page.isStatic || !page.data || labelKey() in labelCache) return;
    var key = labelKey(), p = page.data.p;
    labelCache[key] = null;
    var wait = $("label").lastChild;
    if (wait && wait.value === "#none") wait.textContent = "(loading the labels…)";
    PF.fetchText("api/labels?" + key).then(function (t) {
      labelCache[key] = JSON.parse(t);
      if (page.data && page.data.p === p) fillLabels(p);
    }).catch(function (e) { delete labelCache[key]; PF.showError(e.message); });
  };

  /** The PF.Flame of canvas ``id`` drawing trie ``tr`` (a new one when the trie changed). */
  PF.flameFor = function (id, tr, opts) {
    var flames = page.flames, f = flames[id];
    if (!f || f.trie !== tr) {
      f = flames[id] = new PF.Flame($(id), tr, opts);
      bindCanvas(f);
    }
    return f;
  };

  function bindCanvas(f) {
    var c = f.canvas, tip = $("tooltip");
    if (c._bound) { c._flame = f; return; }
    c._bound = true; c._flame = f;
    function at(ev) {
      var r = c.getBoundingClientRect();
      return c._flame.hit(ev.clientX - r.left, ev.clientY - r.top);
    }
    c.addEventListener("mousemove", function (ev) {
      var fl = c._flame, i = at(ev);
      if (i !== fl.hover) { fl.hover = i; fl.draw(); }
      if (i < 0) { tip.hidden = true; return; }
      tip.textContent = fl.details(i).join("\n");
      tip.hidden = false;
      tip.style.left = Math.min(ev.clientX + 12, window.innerWidth - tip.offsetWidth - 4) + "px";
      tip.style.top = (ev.clientY + 14) + "px";
    });
    c.addEventListener("mouseleave", function () {
      tip.hidden = true; c._flame.hover = -1; c._flame.draw();
    });
    c.addEventListener("click", function (ev) {
      var fl = c._flame, i = at(ev);
      if (i < 0 || fl.opts.noZoom) return;
      navigate({ z: i === 0 ? null : fl.trie.pathOf(i).join(".") });
    });
    c.addEventListener("contextmenu", function (ev) {
      var fl = c._flame, i = at(ev);
      if (i <= 0 || fl.trie.node[i] < 0) return;
      ev.preventDefault();
      openMenu(fl.trie.data.names[fl.trie.node[i]], ev.clientX, ev.clientY);
    });
  }

  function openMenu(name, x, y) {
    var m = $("menu"), rx = "^" + PF.escapeRegex(name) + "$", meta = page.meta;
    m.textContent = "";
    function item(text, action) {
      var d = document.createElement("div");
      d.textContent = text;
      d.addEventListener("click", function () { m.hidden = true; action(); });
      m.appendChild(d);
    }
    if (!page.isStatic) {
      meta.refine.forEach(function (k) {
        item(REFINE[k] + " " + name, function () { var c = { z: null }; c[k] = rx; navigate(c); });
      });
    }
    item("Callers/callees of " + name, function () { navigate({ view: "pivot", p: rx, z: null }); });
    item("Search " + name, function () { navigate({ search: rx }); });
    if (meta.tabs.indexOf("source") >= 0) {
      item("Show source of " + name, function () { navigate({ view: "source", p: rx }); });
    }
    m.style.left = x + "px"; m.style.top = y + "px"; m.hidden = false;
  }
  document.addEventListener("click", function (ev) {
    if (!$("menu").contains(ev.target)) $("menu").hidden = true;
  });
})();
