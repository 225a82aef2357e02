"""``dot``: the call graph as Graphviz source, styled as ``go tool pprof -dot`` styles it.

Nodes are numbered in pprof's entropy order; a node's label is its name split at
dots (``pkg\\nmod\\nfunc``), its flat and, when different, cum with percentages;
font size grows from 8 to 24 with sqrt(|flat| / max flat); colours go from grey to
red with cum / total, to green for negative cum (diffs). Edges carry their weight,
are wider and redder with weight / total, dotted when residual (nodes dropped in
between), marked ``(inline)`` for inlined calls. A legend box holds the header
lines (File, Type, Showing ..., Dropped ...). Label sets become pprof's nodelets
(up to 4 per node). Names are escaped for dot (quotes, backslashes, newlines).
"""

from __future__ import annotations

import math
import posixpath
import re
from typing import Callable, Dict, List, Optional

from profkit.analysis.measurement import percentage
from profkit.render.termsafe import term_safe
from profkit.render.text import output_unit, scaled_value, top_labels
from profkit.report import Report
from profkit.views.graph import Edge
from profkit.views.graph_mean import (
    numeric_divisors,
    shown_cum,
    shown_flat,
    shown_tag,
    shown_weight,
)
from profkit.views.graph_trim import MAX_NODELETS, TrimmedGraph
from profkit.views.nodes import NodeKey, name_parts
from profkit.views.top import TopTable

__all__ = ["dot_color", "dot_text", "escape_for_dot", "render_dot", "render_dot_json",
           "shorten_function_name"]

_GO = re.compile(r"^(?:[\w\-\.]+\/)+(.+)", re.ASCII)
_GO_VERSION = re.compile(r"^(.*?)/v(?:[2-9]|[1-9][0-9]+)([./].*)\Z", re.ASCII)
_JAVA = re.compile(
    r"^(?:[a-z]\w*\.)*([A-Z][\w\$]*\.(?:<init>|[a-z][\w\$]*(?:\$\d+)?))(?:(?:\()|\Z)", re.ASCII
)
_CPP = re.compile(r"^(?:[_a-zA-Z]\w*::)+(_*[A-Z]\w*::~?[_a-zA-Z]\w*(?:<.*>)?)", re.ASCII)
_CPP_ANON = re.compile(r"^\(anonymous namespace\)::")
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
LEGEND_HINT = "\nSee https://git.io/JfYMW for how to read the graph"


def shorten_function_name(name: str) -> str:
    """pprof's ``ShortenFunctionName``: drop Go package paths, Java/C++ namespaces."""
    name = _CPP_ANON.sub("", name, count=1)
    name = _GO_VERSION.sub(r"\1\2", name, count=1)
    for rx in (_GO, _JAVA, _CPP):
        m = rx.search(name)
        if m:
            return "".join(g or "" for g in m.groups())
    return name


def escape_for_dot(text: str) -> str:
    """Escape backslashes and quotes; a newline becomes dot's left-justified ``\\l``.

    Other control characters (which would also make the SVG invalid XML) are
    escaped as ``term_safe`` escapes them; ordinary names come out as pprof's.
    """
    if _UNSAFE.search(text):
        return "\\l".join(escape_for_dot(term_safe(part)) for part in text.split("\n"))
    return text.replace("\\", "\\\\").replace('"', '\\"')


def dot_color(score: float, background: bool) -> str:
    """pprof's ``dotColor``: -1 green, 0 grey, 1 red; light for backgrounds."""
    saturation, value = (0.1, 0.93) if background else (1.0, 0.7)
    score = max(-1.0, min(1.0, score))
    if abs(score) < 0.2:
        saturation *= abs(score) / 0.2
    if score > 0.0:
        score = math.pow(score, 1.0 - 0.7)
    if score < 0.0:
        score = -math.pow(-score, 1.0 - 0.7)
    if score < 0.0:
        g = value
        r = value * (1 + saturation * score)
    else:
        r = value
        g = value * (1 - saturation * score)
    b = value * (1 - saturation)
    return f"#{int(r * 255.0):02x}{int(g * 255.0):02x}{int(b * 255.0):02x}"


def _multiline_name(key: NodeKey) -> str:
    name = key[0]
    name = escape_for_dot(shorten_function_name(name)).replace("::", "\\n")
    name = name.replace("[...]", "[…]").replace(".", "\\n")
    parts = name_parts((name, key[1], key[2], key[3], key[4], key[5]), file_basename=True)
    return "\\n".join(parts) + "\\n"


def legend_lines(h: TopTable, tg: TrimmedGraph, fmt: Callable[[int], str],
                 edgefraction: float) -> List[str]:
    """pprof's full report labels: top's header plus dropped edges and the hint line."""
    lines = top_labels(h, output_unit(h))
    if h.total != 0 and tg.dropped_edges > 0:
        noun = "edges" if tg.dropped_edges > 1 else "edge"
        dropped = f"Dropped {tg.dropped_edges} {noun} (freq <= " \
                  f"{fmt(abs(int(h.total * edgefraction)))})"
        at = len(lines)
        if 0 < h.node_count < h.orig_count:
            at -= 1  # before "Showing top N nodes out of M"
        lines.insert(at, dropped)
    return lines + [LEGEND_HINT]


def _tag_name(name: str) -> str:
    return "\\n".join(escape_for_dot(part) for part in name.split("\\n"))


def _numeric_nodelets(tags: Dict[str, List[int]], flat_tags: bool, source: str, unit: str,
                      fmt: Callable[[int], str],
                      divisors: Optional[Dict[str, List[int]]] = None) -> List[str]:
    from profkit.views.graph_tags import collapsed_tags

    items = [(name, t[1], t[2], t[0]) for name, t in tags.items()]
    out = []
    for j, (name, flat, cum, _v) in enumerate(collapsed_tags(items, MAX_NODELETS, flat_tags,
                                                            unit, divisors)):
        w, attr = cum, ' style="dotted"'
        if flat_tags or flat == cum:
            w, attr = flat, ""
        if w != 0:
            wt = fmt(w)
            out.append(f'N{source}_{j} [label = "{escape_for_dot(name)}" id="N{source}_{j}" '
                       f'fontsize=8 shape=box3d tooltip="{wt}"]\n')
            out.append(f'{source} -> N{source}_{j} [label=" {wt}" weight=100 tooltip="{wt}" '
                       f'labeltooltip="{wt}"{attr}]\n')
    return out


def _nodelets(tg: TrimmedGraph, n: int, nid: int, fmt: Callable[[int], str], unit: str
              ) -> str:
    g = tg.graph
    tags = g.label_tags.get(n, {})
    numeric = g.numeric_tags.get(n, {})
    if not tags and not numeric:
        return ""
    flat_tags = bool(g.out_edges.get(n))
    items = sorted(tags.items(), key=lambda kv: (
        0 if flat_tags else -abs(kv[1][1]), -abs(kv[1][0]), kv[0]))[:MAX_NODELETS]
    out = []
    for i, (name, (flat, cum)) in enumerate(items):
        flat, cum = shown_tag(tg, n, name, flat, cum)
        w = flat if flat_tags else cum
        if w == 0:
            continue
        wt = fmt(w)
        out.append(f'N{nid}_{i} [label = "{_tag_name(name)}" id="N{nid}_{i}" fontsize=8 '
                   f'shape=box3d tooltip="{wt}"]\n')
        out.append(f'N{nid} -> N{nid}_{i} [label=" {wt}" weight=100 tooltip="{wt}" '
                   f'labeltooltip="{wt}"]\n')
        if numeric.get(name):
            out += _numeric_nodelets(numeric[name], flat_tags, f"N{nid}_{i}", unit, fmt,
                                     numeric_divisors(tg, n, name))
    if numeric.get(""):
        out += _numeric_nodelets(numeric[""], flat_tags, f"N{nid}", unit, fmt,
                                 numeric_divisors(tg, n, ""))
    return "".join(out)


def _node(tg: TrimmedGraph, n: int, nid: int, max_flat: int, total: int,
          fmt: Callable[[int], str]) -> str:
    g = tg.graph
    flat, cum = shown_flat(tg, n), shown_cum(tg, n)
    label = _multiline_name(g.keys[n])
    flat_text = fmt(flat)
    if flat != 0:
        label += f"{flat_text} ({percentage(flat, total).strip()})"
    else:
        label += "0"
    cum_text = flat_text
    if cum != flat:
        label += "\\n" if flat != 0 else " "
        cum_text = fmt(cum)
        label += f"of {cum_text} ({percentage(cum, total).strip()})"
    size = 8
    if max_flat != 0 and flat != 0 and abs(flat) <= max_flat:
        size += int(math.ceil(16.0 * math.sqrt(abs(flat) / max_flat)))
    score = cum / abs(total) if total else 0.0
    return (f'N{nid} [label="{label}" id="node{nid}" fontsize={size} shape=box '
            f'tooltip="{escape_for_dot(g.names[n])} ({cum_text})" '
            f'color="{dot_color(score, False)}" fillcolor="{dot_color(score, True)}"]\n')


def _edge(tg: TrimmedGraph, e: Edge, ids: Dict[int, int], total: int, minlen: bool,
          fmt: Callable[[int], str]) -> str:
    g = tg.graph
    value = shown_weight(tg, e)
    w = fmt(value)
    attr = f'label=" {w}{chr(92) + "n (inline)" if e.inline else ""}"'
    if total != 0:
        weight = 1 + min(abs(value * 100) // abs(total), 100)
        if weight > 1:
            attr += f" weight={weight}"
        width = 1 + min(abs(value * 5) // abs(total), 5)
        if width > 1:
            attr += f" penwidth={width}"
        attr += f' color="{dot_color(value / abs(total), False)}"'
    arrow = "..." if e.residual else "->"
    tip = (f'"{escape_for_dot(g.names[e.src])} {arrow} '
           f'{escape_for_dot(g.names[e.dest])} ({w})"')
    attr += f" tooltip={tip} labeltooltip={tip}"
    if e.residual:
        attr += ' style="dotted"'
    if minlen:
        attr += " minlen=2"
    return f"N{ids.get(e.src, 0)} -> N{ids.get(e.dest, 0)} [{attr}]\n"


def dot_text(tg: TrimmedGraph, h: TopTable, edgefraction: float,
             number_unit: str = "bytes") -> str:
    """Return the Graphviz source of a trimmed graph, as ``go tool pprof -dot`` writes it."""
    g, total = tg.graph, h.total
    unit = output_unit(h)

    def fmt(v: int) -> str:
        return scaled_value(h, v, unit)

    title = posixpath.basename(h.file) if h.file else ""
    labels = legend_lines(h, tg, fmt, edgefraction)
    out = [f'digraph "{title or "unnamed"}" {{\n', 'node [style=filled fillcolor="#f8f8f8"]\n']
    legend = "\\l".join(escape_for_dot(x) for x in labels)
    tip = f' tooltip="{title}"' if title else ""
    out.append(f'subgraph cluster_L {{ "{escape_for_dot(labels[0])}" [shape=box fontsize=16 '
               f'label="{legend}\\l"{tip}] }}\n')
    if g.nodes:
        ids = {n: i + 1 for i, n in enumerate(g.nodes)}
        max_flat = max(abs(shown_flat(tg, n)) for n in g.nodes)
        with_nodelets = set()
        edges: List[Edge] = []
        for n in g.nodes:
            out.append(_node(tg, n, ids[n], max_flat, total, fmt))
            nodelets = _nodelets(tg, n, ids[n], fmt, number_unit)
            if nodelets:
                out.append(nodelets)
                with_nodelets.add(n)
            edges.extend(g.out_edges.get(n, {}).values())
        for e in g.sorted_edges(edges):
            out.append(_edge(tg, e, ids, total, e.src in with_nodelets, fmt))
    out.append("}\n")
    return "".join(out)


def render_dot(report: Report) -> str:
    """Return the ``dot`` report of ``report`` (Graphviz source)."""
    from profkit.views.graph_tags import bytes_unit
    from profkit.views.tree import dot_graph_from_report, graph_limits

    tg, header = dot_graph_from_report(report)
    return dot_text(tg, header, graph_limits(report, visual=True).edgefraction,
                    bytes_unit(report.table))


def render_dot_json(report: Report) -> str:
    """Return the graph ``dot`` draws as JSON: legend lines, nodes (in dot's order, ids as
    in the dot source) with values and tags, and edges with weights and marks."""
    import json

    from profkit.views.tree import dot_graph_from_report, graph_limits

    tg, h = dot_graph_from_report(report)
    g, total = tg.graph, h.total
    unit = output_unit(h)

    def fmt(v: int) -> str:
        return scaled_value(h, v, unit)

    def pct(v: int) -> float:
        return abs(v / total) * 100 if total else 0.0

    ids = {n: i + 1 for i, n in enumerate(g.nodes)}
    edges: List[Edge] = [e for n in g.nodes for e in g.out_edges.get(n, {}).values()]
    data = {
        "sample_type": h.sample_type, "unit": h.sample_unit, "total": total,
        "diff": h.is_diff,
        "legend": legend_lines(h, tg, fmt, graph_limits(report, visual=True).edgefraction),
        "nodes": [{
            "id": ids[n], "name": g.names[n], "flat": shown_flat(tg, n), "cum": shown_cum(tg, n),
            "flat_pct": pct(shown_flat(tg, n)), "cum_pct": pct(shown_cum(tg, n)),
            "labels": {k: {"flat": t[0], "cum": t[1]} for k, t in g.label_tags.get(n, {}).items()},
        } for n in g.nodes],
        "edges": [{"src": ids.get(e.src, 0), "dest": ids.get(e.dest, 0), "weight": shown_weight(tg, e),
                   "residual": e.residual, "inline": e.inline} for e in g.sorted_edges(edges)],
    }
    return json.dumps(data, indent=1) + "\n"
