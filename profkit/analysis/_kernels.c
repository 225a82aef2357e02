/* _kernels: the per-frame loops of reports, in C.
 *
 * flat_cum(stacks, values, si, loc_nodes, n_nodes) -> (flat, cum) | None
 *
 *   pprof's flat and cum per node: a sample's value (values[i][si]) goes to the flat of
 *   the innermost node of its first location, and once to the cum of every distinct
 *   node its locations map to. loc_nodes maps a location id to its node indexes
 *   (innermost line first; each < n_nodes). stacks[i] and values[i] are sequences of
 *   ints. Samples whose value is 0 or whose stack is empty are skipped. Returns two
 *   dicts {node: sum} holding every node a counted sample touched (sums may be 0), or
 *   None when a value or a sum does not fit int64 (the caller's Python loop then
 *   counts with Python ints). A location id loc_nodes lacks raises LookupError.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>

typedef struct {
    uint64_t *keys;
    Py_ssize_t *start; /* offset into nodes[], -1 = empty slot */
    Py_ssize_t *len;
    size_t mask;
} LocMap;

static size_t slot_of(LocMap *m, uint64_t id) {
    size_t i = (size_t)((id * 0x9E3779B97F4A7C15ull) >> 17) & m->mask;
    while (m->start[i] >= 0 && m->keys[i] != id) i = (i + 1) & m->mask;
    return i;
}

/* Flatten loc_nodes into m and nodes[]; -1 with an exception set on failure. */
static int build_map(PyObject *loc_nodes, Py_ssize_t n_nodes, LocMap *m, Py_ssize_t **nodes_out) {
    Py_ssize_t n = PyDict_Size(loc_nodes), total = 0, pos = 0, used = 0;
    PyObject *k, *v;
    size_t size = 16;
    while (size < (size_t)n * 2 + 2) size <<= 1;
    m->keys = malloc(size * sizeof(uint64_t));
    m->start = malloc(size * sizeof(Py_ssize_t));
    m->len = malloc(size * sizeof(Py_ssize_t));
    m->mask = size - 1;
    if (!m->keys || !m->start || !m->len) { PyErr_NoMemory(); return -1; }
    for (size_t i = 0; i < size; i++) m->start[i] = -1;
    while (PyDict_Next(loc_nodes, &pos, &k, &v)) {
        if (!PyTuple_Check(v)) { PyErr_SetString(PyExc_TypeError, "loc_nodes values must be tuples"); return -1; }
        total += PyTuple_GET_SIZE(v);
    }
    Py_ssize_t *nodes = malloc(((size_t)total + 1) * sizeof(Py_ssize_t));
    if (!nodes) { PyErr_NoMemory(); return -1; }
    *nodes_out = nodes;
    pos = 0;
    while (PyDict_Next(loc_nodes, &pos, &k, &v)) {
        uint64_t id = PyLong_AsUnsignedLongLong(k);
        if (id == (uint64_t)-1 && PyErr_Occurred()) return -1;
        size_t s = slot_of(m, id);
        m->keys[s] = id;
        m->start[s] = used;
        m->len[s] = PyTuple_GET_SIZE(v);
        for (Py_ssize_t j = 0; j < PyTuple_GET_SIZE(v); j++) {
            Py_ssize_t node = PyLong_AsSsize_t(PyTuple_GET_ITEM(v, j));
            if (node == -1 && PyErr_Occurred()) return -1;
            if (node < 0 || node >= n_nodes) {
                PyErr_SetString(PyExc_ValueError, "node index out of range");
                return -1;
            }
            nodes[used++] = node;
        }
    }
    return 0;
}

static PyObject *to_dict(const int64_t *sums, const uint8_t *touched, Py_ssize_t n) {
    PyObject *d = PyDict_New();
    if (!d) return NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (!touched[i]) continue;
        PyObject *k = PyLong_FromSsize_t(i), *v = k ? PyLong_FromLongLong(sums[i]) : NULL;
        int rc = v ? PyDict_SetItem(d, k, v) : -1;
        Py_XDECREF(k);
        Py_XDECREF(v);
        if (rc) { Py_DECREF(d); return NULL; }
    }
    return d;
}

/* (flat dict, cum dict) of the touched nodes, or None after an int64 overflow. */
static PyObject *flat_cum_result(int overflow, const int64_t *flat, const uint8_t *tflat,
                                 const int64_t *cum, const uint8_t *tcum, Py_ssize_t n) {
    if (overflow) Py_RETURN_NONE;
    PyObject *result = NULL, *fd = to_dict(flat, tflat, n), *cd = fd ? to_dict(cum, tcum, n) : NULL;
    if (cd) result = PyTuple_Pack(2, fd, cd);
    Py_XDECREF(fd);
    Py_XDECREF(cd);
    return result;
}

static PyObject *flat_cum(PyObject *self, PyObject *args) {
    PyObject *stacks, *values, *loc_nodes, *result = NULL;
    Py_ssize_t si, n_nodes;
    if (!PyArg_ParseTuple(args, "O!O!nO!n:flat_cum", &PyList_Type, &stacks, &PyList_Type,
                          &values, &si, &PyDict_Type, &loc_nodes, &n_nodes))
        return NULL;
    if (n_nodes < 0 || si < 0 || PyList_GET_SIZE(stacks) != PyList_GET_SIZE(values)) {
        PyErr_SetString(PyExc_ValueError, "flat_cum: bad arguments");
        return NULL;
    }
    LocMap m = {0};
    Py_ssize_t *nodes = NULL, *mark = calloc((size_t)n_nodes + 1, sizeof(Py_ssize_t));
    int64_t *flat = calloc((size_t)n_nodes + 1, sizeof(int64_t));
    int64_t *cum = calloc((size_t)n_nodes + 1, sizeof(int64_t));
    uint8_t *tflat = calloc((size_t)n_nodes + 1, 1), *tcum = calloc((size_t)n_nodes + 1, 1);
    int overflow = 0;
    if (!mark || !flat || !cum || !tflat || !tcum) { PyErr_NoMemory(); goto done; }
    if (build_map(loc_nodes, n_nodes, &m, &nodes)) goto done;
    Py_ssize_t ns = PyList_GET_SIZE(stacks);
    for (Py_ssize_t i = 0; i < ns && !overflow; i++) {
        PyObject *vals = PyList_GET_ITEM(values, i), *vo;
        if (PyTuple_Check(vals) && si < PyTuple_GET_SIZE(vals)) {
            vo = PyTuple_GET_ITEM(vals, si);
            Py_INCREF(vo);
        } else if (!(vo = PySequence_GetItem(vals, si))) {
            goto done;
        }
        int ovf = 0;
        long long v = PyLong_AsLongLongAndOverflow(vo, &ovf);
        Py_DECREF(vo);
        if (v == -1 && PyErr_Occurred()) goto done;
        if (ovf) { overflow = 1; break; }
        if (v == 0) continue;
        PyObject *stack = PySequence_Fast(PyList_GET_ITEM(stacks, i), "stacks hold sequences");
        if (!stack) goto done;
        Py_ssize_t depth = PySequence_Fast_GET_SIZE(stack);
        PyObject **ids = PySequence_Fast_ITEMS(stack);
        for (Py_ssize_t d = 0; d < depth; d++) {
            uint64_t id = PyLong_AsUnsignedLongLong(ids[d]);
            if (id == (uint64_t)-1 && PyErr_Occurred()) { Py_DECREF(stack); goto done; }
            size_t s = slot_of(&m, id);
            if (m.start[s] < 0) {
                Py_DECREF(stack);
                PyErr_SetString(PyExc_LookupError, "sample has nil location");
                goto done;
            }
            Py_ssize_t *ln = nodes + m.start[s];
            if (d == 0 && m.len[s] > 0) {
                if (__builtin_add_overflow(flat[ln[0]], (int64_t)v, &flat[ln[0]])) overflow = 1;
                tflat[ln[0]] = 1;
            }
            for (Py_ssize_t j = 0; j < m.len[s]; j++) {
                Py_ssize_t node = ln[j];
                if (mark[node] == i + 1) continue;
                mark[node] = i + 1;
                if (__builtin_add_overflow(cum[node], (int64_t)v, &cum[node])) overflow = 1;
                tcum[node] = 1;
            }
        }
        Py_DECREF(stack);
    }
    result = flat_cum_result(overflow, flat, tflat, cum, tcum, n_nodes);
done:
    free(m.keys);
    free(m.start);
    free(m.len);
    free(nodes);
    free(mark);
    free(flat);
    free(cum);
    free(tflat);
    free(tcum);
    return result;
}


/* Node PyLongs 0..n-1, shared by every path. */
static PyObject **node_objects(Py_ssize_t n) {
    PyObject **objs = calloc((size_t)n + 1, sizeof(PyObject *));
    if (!objs) { PyErr_NoMemory(); return NULL; }
    for (Py_ssize_t i = 0; i < n; i++) {
        if (!(objs[i] = PyLong_FromSsize_t(i))) {
            for (Py_ssize_t j = 0; j < i; j++) Py_DECREF(objs[j]);
            free(objs);
            return NULL;
        }
    }
    return objs;
}

static void free_objects(PyObject **objs, Py_ssize_t n) {
    if (!objs) return;
    for (Py_ssize_t i = 0; i < n; i++) Py_XDECREF(objs[i]);
    free(objs);
}

/* group_paths(stacks, values, si, divisor_index, loc_nodes, n_nodes) -> dict
 *
 * views.graph.stack_paths without labels: {(node path leaf first, inline flags or
 * None): summed value}. A sample counts if its stack is not empty and its value, or
 * values[divisor_index] (>= 0), is not 0. A path's entries are its locations' nodes,
 * innermost line first; flags (True = an inlined line, every line of a location but
 * its last) are given only when one of its locations has other than one line. */
static PyObject *group_paths(PyObject *self, PyObject *args) {
    PyObject *stacks, *values, *loc_nodes, *groups = NULL;
    Py_ssize_t si, div, n_nodes;
    if (!PyArg_ParseTuple(args, "O!O!nnO!n:group_paths", &PyList_Type, &stacks, &PyList_Type,
                          &values, &si, &div, &PyDict_Type, &loc_nodes, &n_nodes))
        return NULL;
    if (n_nodes < 0 || si < 0 || PyList_GET_SIZE(stacks) != PyList_GET_SIZE(values)) {
        PyErr_SetString(PyExc_ValueError, "group_paths: bad arguments");
        return NULL;
    }
    LocMap m = {0};
    Py_ssize_t *nodes = NULL, cap = 0;
    PyObject **objs = node_objects(n_nodes);
    Py_ssize_t *path = NULL;
    char *flags = NULL;
    if (!objs || build_map(loc_nodes, n_nodes, &m, &nodes) || !(groups = PyDict_New())) goto fail;
    Py_ssize_t ns = PyList_GET_SIZE(stacks);
    for (Py_ssize_t i = 0; i < ns; i++) {
        PyObject *vals = PySequence_Fast(PyList_GET_ITEM(values, i), "values hold sequences");
        if (!vals) goto fail;
        Py_ssize_t nv = PySequence_Fast_GET_SIZE(vals);
        if (si >= nv || div >= nv) {
            Py_DECREF(vals);
            PyErr_SetString(PyExc_IndexError, "sample value index out of range");
            goto fail;
        }
        PyObject *v = PySequence_Fast_GET_ITEM(vals, si);
        Py_INCREF(v);
        int counted = PyObject_IsTrue(v);
        if (counted == 0 && div >= 0) counted = PyObject_IsTrue(PySequence_Fast_GET_ITEM(vals, div));
        Py_DECREF(vals);
        if (counted < 0) { Py_DECREF(v); goto fail; }
        PyObject *stack = PySequence_Fast(PyList_GET_ITEM(stacks, i), "stacks hold sequences");
        if (!stack) { Py_DECREF(v); goto fail; }
        Py_ssize_t depth = PySequence_Fast_GET_SIZE(stack);
        if (!counted || depth == 0) { Py_DECREF(v); Py_DECREF(stack); continue; }
        PyObject **ids = PySequence_Fast_ITEMS(stack);
        Py_ssize_t len = 0;
        int multi = 0;
        for (Py_ssize_t d = 0; d < depth; d++) {
            uint64_t id = PyLong_AsUnsignedLongLong(ids[d]);
            if (id == (uint64_t)-1 && PyErr_Occurred()) { PyErr_Clear(); id = 0; }
            size_t s = slot_of(&m, id);
            if (m.start[s] < 0) {
                Py_DECREF(v);
                Py_DECREF(stack);
                PyErr_SetString(PyExc_LookupError, "sample has nil location");
                goto fail;
            }
            if (m.len[s] != 1) multi = 1;
            if (len + m.len[s] > cap) {
                cap = (len + m.len[s]) * 2 + 16;
                Py_ssize_t *np = realloc(path, (size_t)cap * sizeof(Py_ssize_t));
                char *nf = np ? realloc(flags, (size_t)cap) : NULL;
                if (np) path = np;
                if (nf) flags = nf;
                if (!np || !nf) { Py_DECREF(v); Py_DECREF(stack); PyErr_NoMemory(); goto fail; }
            }
            for (Py_ssize_t j = 0; j < m.len[s]; j++) {
                path[len] = nodes[m.start[s] + j];
                flags[len++] = j < m.len[s] - 1;
            }
        }
        Py_DECREF(stack);
        PyObject *pt = PyTuple_New(len), *ft = Py_None, *key = NULL, *sum = NULL;
        if (pt) {
            for (Py_ssize_t j = 0; j < len; j++) {
                Py_INCREF(objs[path[j]]);
                PyTuple_SET_ITEM(pt, j, objs[path[j]]);
            }
        }
        Py_INCREF(Py_None);
        if (pt && multi) {
            Py_DECREF(ft);
            if ((ft = PyTuple_New(len))) {
                for (Py_ssize_t j = 0; j < len; j++) {
                    PyObject *b = flags[j] ? Py_True : Py_False;
                    Py_INCREF(b);
                    PyTuple_SET_ITEM(ft, j, b);
                }
            }
        }
        if (pt && ft) key = PyTuple_Pack(2, pt, ft);
        if (key) { /* ints, bools and None: never in a cycle (see _pbtable.c) */
            PyObject_GC_UnTrack(pt);
            if (ft != Py_None) PyObject_GC_UnTrack(ft);
            PyObject_GC_UnTrack(key);
        }
        Py_XDECREF(pt);
        Py_XDECREF(ft);
        if (key) {
            PyObject *old = PyDict_GetItemWithError(groups, key);
            if (old) sum = PyNumber_Add(old, v);
            else if (!PyErr_Occurred()) { sum = v; Py_INCREF(sum); }
        }
        int rc = sum ? PyDict_SetItem(groups, key, sum) : -1;
        Py_DECREF(v);
        Py_XDECREF(key);
        Py_XDECREF(sum);
        if (rc) goto fail;
    }
    goto done;
fail:
    Py_CLEAR(groups);
done:
    free(m.keys);
    free(m.start);
    free(m.len);
    free(nodes);
    free(path);
    free(flags);
    free_objects(objs, n_nodes);
    return groups;
}

/* Read a set of node indexes (< n) into a byte array; NULL set -> NULL array. */
static int node_set(PyObject *set, Py_ssize_t n, uint8_t **out) {
    *out = NULL;
    if (set == Py_None) return 0;
    uint8_t *a = calloc((size_t)n + 1, 1);
    if (!a) { PyErr_NoMemory(); return -1; }
    *out = a;
    PyObject *it = PyObject_GetIter(set), *x;
    if (!it) return -1;
    while ((x = PyIter_Next(it))) {
        Py_ssize_t i = PyLong_AsSsize_t(x);
        Py_DECREF(x);
        if (i >= 0 && i < n) a[i] = 1;
        else if (PyErr_Occurred()) { Py_DECREF(it); return -1; }
    }
    Py_DECREF(it);
    return PyErr_Occurred() ? -1 : 0;
}

/* A path's node indexes into buf (grown as needed); -1 on error. */
static Py_ssize_t read_path(PyObject *p, Py_ssize_t n, Py_ssize_t **buf, Py_ssize_t *cap) {
    if (!PyTuple_Check(p)) { PyErr_SetString(PyExc_TypeError, "paths hold tuples"); return -1; }
    Py_ssize_t len = PyTuple_GET_SIZE(p);
    if (len > *cap) {
        Py_ssize_t *nb = realloc(*buf, ((size_t)len + 16) * sizeof(Py_ssize_t));
        if (!nb) { PyErr_NoMemory(); return -1; }
        *buf = nb;
        *cap = len + 16;
    }
    for (Py_ssize_t j = 0; j < len; j++) {
        Py_ssize_t x = PyLong_AsSsize_t(PyTuple_GET_ITEM(p, j));
        if (x < 0 || x >= n) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "node index out of range");
            return -1;
        }
        (*buf)[j] = x;
    }
    return len;
}

/* node_values(paths, weights, n_nodes, kept) -> (flat, cum) | None
 *
 * views.graph.node_values: cum once per path per node, flat to the leaf; only nodes
 * in kept (a set, or None for all). None when a weight or sum passes int64. */
static PyObject *node_values(PyObject *self, PyObject *args) {
    PyObject *paths, *weights, *kept, *result = NULL;
    Py_ssize_t n;
    if (!PyArg_ParseTuple(args, "O!O!nO:node_values", &PyList_Type, &paths, &PyList_Type,
                          &weights, &n, &kept))
        return NULL;
    Py_ssize_t np = PyList_GET_SIZE(paths), cap = 0, *path = NULL;
    if (n < 0 || PyList_GET_SIZE(weights) != np) {
        PyErr_SetString(PyExc_ValueError, "node_values: bad arguments");
        return NULL;
    }
    uint8_t *keep = NULL, *tf = calloc((size_t)n + 1, 1), *tc = calloc((size_t)n + 1, 1);
    int64_t *flat = calloc((size_t)n + 1, sizeof(int64_t)), *cum = calloc((size_t)n + 1, sizeof(int64_t));
    Py_ssize_t *mark = calloc((size_t)n + 1, sizeof(Py_ssize_t));
    int overflow = 0;
    if (!tf || !tc || !flat || !cum || !mark) { PyErr_NoMemory(); goto done; }
    if (node_set(kept, n, &keep)) goto done;
    for (Py_ssize_t i = 0; i < np && !overflow; i++) {
        int ovf = 0;
        long long w = PyLong_AsLongLongAndOverflow(PyList_GET_ITEM(weights, i), &ovf);
        if (w == -1 && PyErr_Occurred()) goto done;
        if (ovf) { overflow = 1; break; }
        Py_ssize_t len = read_path(PyList_GET_ITEM(paths, i), n, &path, &cap);
        if (len < 0) goto done;
        if (len && (!keep || keep[path[0]])) {
            overflow |= __builtin_add_overflow(flat[path[0]], (int64_t)w, &flat[path[0]]);
            tf[path[0]] = 1;
        }
        for (Py_ssize_t j = 0; j < len; j++) {
            Py_ssize_t x = path[j];
            if (mark[x] == i + 1 || (keep && !keep[x])) continue;
            mark[x] = i + 1;
            overflow |= __builtin_add_overflow(cum[x], (int64_t)w, &cum[x]);
            tc[x] = 1;
        }
    }
    result = flat_cum_result(overflow, flat, tf, cum, tc, n);
done:
    free(keep);
    free(tf);
    free(tc);
    free(flat);
    free(cum);
    free(mark);
    free(path);
    return result;
}


/* Edges of one graph: an open-addressing table from edge key to its sums. */
typedef struct {
    int64_t key;       /* caller * n + callee; -1 = empty */
    int64_t weight;    /* summed path weight of the paths using it */
    Py_ssize_t stamp;  /* last path that used it, + 1 */
    Py_ssize_t uses;   /* paths using it */
    Py_ssize_t inl;    /* paths whose root-most use was inlined */
    int residual;      /* a path's root-most use skipped dropped nodes */
} EdgeSlot;

typedef struct {
    EdgeSlot *slots;
    size_t mask, used;
} EdgeMap;

static EdgeSlot *edge_slot(EdgeMap *e, int64_t key) {
    if ((e->used + 1) * 2 > e->mask + 1) {
        size_t size = (e->mask + 1) * 2;
        EdgeSlot *ns = malloc(size * sizeof(EdgeSlot));
        if (!ns) { PyErr_NoMemory(); return NULL; }
        for (size_t i = 0; i < size; i++) ns[i].key = -1;
        for (size_t i = 0; i <= e->mask; i++) {
            if (e->slots[i].key < 0) continue;
            size_t j = (size_t)(((uint64_t)e->slots[i].key * 0x9E3779B97F4A7C15ull) >> 17) & (size - 1);
            while (ns[j].key >= 0) j = (j + 1) & (size - 1);
            ns[j] = e->slots[i];
        }
        free(e->slots);
        e->slots = ns;
        e->mask = size - 1;
    }
    size_t j = (size_t)(((uint64_t)key * 0x9E3779B97F4A7C15ull) >> 17) & e->mask;
    while (e->slots[j].key >= 0 && e->slots[j].key != key) j = (j + 1) & e->mask;
    if (e->slots[j].key < 0) {
        EdgeSlot z = {key, 0, 0, 0, 0, 0};
        e->slots[j] = z;
        e->used++;
    }
    return &e->slots[j];
}

/* edge_weights(paths, flags, weights, n_nodes, kept, touching)
 *     -> (weight {key: sum}, residual {key}, inline {key}) | None
 *
 * views.graph's edges (_edge_keys and build_graph's sums) at C speed. Paths are leaf
 * first; the edge of consecutive kept entries is caller * n_nodes + callee. Each path
 * counts an edge once, by its root-most use: that use is residual if dropped nodes
 * (not in kept) lay between the two, inlined if the callee entry is an inlined line
 * (flags[i][j]; flags[i] None: none is). Self-calls are left out; paths with fewer
 * than two kept nodes, or none in touching (a set, or None), count nothing. An edge
 * is inline if every path's root-most use of it was. None when a sum passes int64. */
static PyObject *edge_weights(PyObject *self, PyObject *args) {
    PyObject *paths, *flags_list, *weights, *kept, *touching, *result = NULL;
    Py_ssize_t n;
    if (!PyArg_ParseTuple(args, "O!O!O!nOO:edge_weights", &PyList_Type, &paths, &PyList_Type,
                          &flags_list, &PyList_Type, &weights, &n, &kept, &touching))
        return NULL;
    Py_ssize_t np = PyList_GET_SIZE(paths), cap = 0, *path = NULL;
    if (n < 0 || PyList_GET_SIZE(weights) != np || PyList_GET_SIZE(flags_list) != np) {
        PyErr_SetString(PyExc_ValueError, "edge_weights: bad arguments");
        return NULL;
    }
    uint8_t *keep = NULL, *touch = NULL, *inl = NULL;
    Py_ssize_t *kp = NULL;
    char *res = NULL;
    EdgeMap e = {malloc(64 * sizeof(EdgeSlot)), 63, 0};
    PyObject *wd = NULL, *rs = NULL, *is = NULL;
    int overflow = 0;
    if (!e.slots) { PyErr_NoMemory(); goto done; }
    for (int i = 0; i < 64; i++) e.slots[i].key = -1;
    if (node_set(kept, n, &keep) || node_set(touching, n, &touch)) goto done;
    for (Py_ssize_t i = 0; i < np && !overflow; i++) {
        Py_ssize_t len = read_path(PyList_GET_ITEM(paths, i), n, &path, &cap);
        if (len < 0) goto done;
        if (len < 2) continue;
        if (touch) {
            int any = 0;
            for (Py_ssize_t j = 0; j < len && !any; j++) any = touch[path[j]];
            if (!any) continue;
        }
        int ovf = 0;
        long long w = PyLong_AsLongLongAndOverflow(PyList_GET_ITEM(weights, i), &ovf);
        if (w == -1 && PyErr_Occurred()) goto done;
        if (ovf) { overflow = 1; break; }
        PyObject *fl = PyList_GET_ITEM(flags_list, i);
        if (fl != Py_None && (!PyTuple_Check(fl) || PyTuple_GET_SIZE(fl) != len)) {
            PyErr_SetString(PyExc_ValueError, "flags must match their path");
            goto done;
        }
        /* the kept entries, with "dropped nodes before the next kept one" and inline */
        Py_ssize_t *nkp = realloc(kp, ((size_t)len + 1) * sizeof(Py_ssize_t));
        if (nkp) kp = nkp;
        char *nres = nkp ? realloc(res, (size_t)len + 1) : NULL;
        if (nres) res = nres;
        uint8_t *ninl = nres ? realloc(inl, (size_t)len + 1) : NULL;
        if (ninl) inl = ninl;
        if (!ninl) { PyErr_NoMemory(); goto done; }
        Py_ssize_t nk = 0;
        int gap = 0;
        for (Py_ssize_t j = 0; j < len; j++) {
            if (keep && !keep[path[j]]) {
                gap = 1;
                continue;
            }
            if (nk > 0) res[nk - 1] = (char)gap;
            gap = 0;
            kp[nk] = path[j];
            inl[nk] = fl != Py_None && PyTuple_GET_ITEM(fl, j) == Py_True;
            res[nk++] = 0;
        }
        /* root-most first: the first time a path meets an edge is its root-most use */
        for (Py_ssize_t j = nk - 2; j >= 0; j--) {
            Py_ssize_t caller = kp[j + 1], callee = kp[j];
            if (caller == callee) continue;
            EdgeSlot *sl = edge_slot(&e, (int64_t)caller * n + callee);
            if (!sl) goto done;
            if (sl->stamp == i + 1) continue;
            sl->stamp = i + 1;
            sl->uses++;
            overflow |= __builtin_add_overflow(sl->weight, (int64_t)w, &sl->weight);
            if (res[j]) sl->residual = 1;
            if (inl[j]) sl->inl++;
        }
    }
    if (overflow) {
        result = Py_None;
        Py_INCREF(result);
        goto done;
    }
    if (!(wd = PyDict_New()) || !(rs = PySet_New(NULL)) || !(is = PySet_New(NULL))) goto done;
    for (size_t j = 0; j <= e.mask; j++) {
        EdgeSlot *sl = &e.slots[j];
        if (sl->key < 0) continue;
        PyObject *k = PyLong_FromLongLong(sl->key), *v = k ? PyLong_FromLongLong(sl->weight) : NULL;
        int rc = v ? PyDict_SetItem(wd, k, v) : -1;
        if (!rc && sl->residual) rc = PySet_Add(rs, k);
        if (!rc && sl->inl == sl->uses) rc = PySet_Add(is, k);
        Py_XDECREF(k);
        Py_XDECREF(v);
        if (rc) goto done;
    }
    result = PyTuple_Pack(3, wd, rs, is);
done:
    Py_XDECREF(wd);
    Py_XDECREF(rs);
    Py_XDECREF(is);
    free(e.slots);
    free(keep);
    free(touch);
    free(kp);
    free(res);
    free(inl);
    free(path);
    return result;
}


/* totals(values, base, si, mi) -> (sum |v[si]|, sum v[mi], the same over base
 * samples, any base sample) | None when a sum passes int64 (report.driver.total_of). */
static PyObject *totals(PyObject *self, PyObject *args) {
    PyObject *values, *base;
    Py_ssize_t si, mi;
    if (!PyArg_ParseTuple(args, "O!O!nn:totals", &PyList_Type, &values, &PyList_Type, &base,
                          &si, &mi))
        return NULL;
    Py_ssize_t n = PyList_GET_SIZE(values);
    if (PyList_GET_SIZE(base) != n || si < 0 || mi < 0) {
        PyErr_SetString(PyExc_ValueError, "totals: bad arguments");
        return NULL;
    }
    int64_t t = 0, d = 0, bt = 0, bd = 0;
    int any = 0, ovf = 0;
    for (Py_ssize_t i = 0; i < n && !ovf; i++) {
        PyObject *vals = PySequence_Fast(PyList_GET_ITEM(values, i), "values hold sequences");
        if (!vals) return NULL;
        if (si >= PySequence_Fast_GET_SIZE(vals) || mi >= PySequence_Fast_GET_SIZE(vals)) {
            Py_DECREF(vals);
            PyErr_SetString(PyExc_IndexError, "sample value index out of range");
            return NULL;
        }
        int o1 = 0, o2 = 0;
        long long v = PyLong_AsLongLongAndOverflow(PySequence_Fast_GET_ITEM(vals, si), &o1);
        long long w = PyLong_AsLongLongAndOverflow(PySequence_Fast_GET_ITEM(vals, mi), &o2);
        Py_DECREF(vals);
        if (PyErr_Occurred()) return NULL;
        if (o1 || o2 || v == INT64_MIN) { ovf = 1; break; }
        if (v < 0) v = -v;
        ovf |= __builtin_add_overflow(t, (int64_t)v, &t) | __builtin_add_overflow(d, (int64_t)w, &d);
        if (PyList_GET_ITEM(base, i) == Py_True) {
            any = 1;
            ovf |= __builtin_add_overflow(bt, (int64_t)v, &bt) | __builtin_add_overflow(bd, (int64_t)w, &bd);
        }
    }
    if (ovf) Py_RETURN_NONE;
    return Py_BuildValue("(LLLLO)", (long long)t, (long long)d, (long long)bt, (long long)bd,
                         any ? Py_True : Py_False);
}

static PyMethodDef methods[] = {
    {"flat_cum", flat_cum, METH_VARARGS,
     "flat_cum(stacks, values, si, loc_nodes, n_nodes) -> (flat, cum) | None"},
    {"group_paths", group_paths, METH_VARARGS,
     "group_paths(stacks, values, si, divisor_index, loc_nodes, n_nodes) -> dict"},
    {"edge_weights", edge_weights, METH_VARARGS,
     "edge_weights(paths, flags, weights, n_nodes, kept, touching) -> (weight, residual, inline) | None"},
    {"totals", totals, METH_VARARGS,
     "totals(values, base, si, mi) -> (total, div, base total, base div, any base) | None"},
    {"node_values", node_values, METH_VARARGS,
     "node_values(paths, weights, n_nodes, kept) -> (flat, cum) | None"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef moduledef = {
    PyModuleDef_HEAD_INIT, "_kernels", "Per-frame loops of profkit's reports.", -1,
    methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__kernels(void) { return PyModule_Create(&moduledef); }
