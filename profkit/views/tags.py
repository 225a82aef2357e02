"""``tags``: the samples broken down by label key and value, as ``go tool pprof -tags``.

Semantics follow pprof (``internal/report.printTags``):

* every string label value and every numeric label value of every sample left
  after the filters adds the sample's value (the report's sample index) to
  (key, value); a numeric value is named by its scaled label in the key's unit
  (``1kB``, ``5ms``, ``42``; the unit pprof infers, see ``views.traces``;
  ``options.unit`` when set);
* keys are listed by name; a key's values by |value|, largest first, then name;
  a value's share is of its key's total;
* ``tagshow`` / ``taghide`` (when the options carry them) keep only the keys
  matching / drop the keys matching a regex, as pprof's ``FilterTagsByName``.

Linear in the labels of the samples.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Dict, List, Tuple

from profkit.analysis.filter import compile_regex
from profkit.analysis.measurement import scaled_label
from profkit.report import Report
from profkit.views.traces import num_label_units

__all__ = ["TagKey", "TagsView", "tags_from_report"]


@dataclass
class TagKey:
    """One label key: its total and its values, largest first."""

    key: str
    total: int
    values: List[Tuple[str, int]]


@dataclass
class TagsView:
    """The tags report: one TagKey per label key, by key name."""

    keys: List[TagKey]
    sample_type: str
    sample_unit: str
    output_unit: str = "minimum"

    def to_dict(self) -> Dict[str, object]:
        """Return a JSON-ready dict (values in the sample unit, shares in percent)."""
        return {
            "sample_type": self.sample_type,
            "unit": self.sample_unit,
            "tags": [
                {
                    "key": k.key, "total": k.total,
                    "values": [
                        {"value": name, "count": c,
                         "percent": abs(c / k.total) * 100 if k.total else 0.0}
                        for name, c in k.values
                    ],
                }
                for k in self.keys
            ],
        }


def tags_from_report(r: Report) -> TagsView:
    """Return the label breakdown of ``r``'s filtered samples (see module doc).

    Raises InputError when tagshow/taghide is not a valid regex.
    """
    t, si = r.table, r.sample_index
    options = r.request.options
    show = compile_regex("tagshow", getattr(options, "tagshow", "") or "")
    hide = compile_regex("taghide", getattr(options, "taghide", "") or "")
    units_table = r.unfiltered if r.unfiltered.num_labels is not None else t
    units = num_label_units(units_table)
    out_unit = getattr(options, "unit", "minimum") or "minimum"
    sums: Dict[str, Dict[str, int]] = defaultdict(lambda: defaultdict(int))
    labels = t.labels or ()
    for vals, labs in zip(t.values, labels):
        if labs:
            v = vals[si]
            for key, vs in labs.items():
                m = sums[key]
                for val in vs:
                    m[val] += v
    names: Dict[Tuple[int, str], str] = {}
    for vals, nums in zip(t.values, t.num_labels or ()):
        if nums:
            v = vals[si]
            for key, ns in nums.items():
                m = sums[key]
                unit = units.get(key, key)
                for n in ns:
                    name = names.get((n, unit))
                    if name is None:
                        name = names[(n, unit)] = scaled_label(n, unit, out_unit)
                    m[name] += v
    keys: List[TagKey] = []
    for key in sorted(sums):
        if (show is not None and not show.search(key)) or (hide is not None and hide.search(key)):
            continue
        values = sorted(sums[key].items(), key=lambda kv: (-abs(kv[1]), kv[0]))
        keys.append(TagKey(key, sum(c for _n, c in values), values))
    st = r.sample_type
    return TagsView(keys, st.type, st.unit, out_unit)
