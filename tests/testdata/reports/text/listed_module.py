"""A small module whose source ``profkit list`` annotates in the golden tests.

Its line numbers are part of the golden files: edit it only together with them
(PROFKIT_UPDATE_GOLDEN=1).
"""


def parse(text):
    words = text.split()
    counts = {}
    for w in words:
        counts[w] = counts.get(w, 0) + 1
    return counts


def render(counts):
    rows = sorted(counts.items(), key=lambda kv: -kv[1])
    return "\n".join(f"{k}\t{v}" for k, v in rows)


def main(text):
    counts = parse(text)
    return render(counts)
