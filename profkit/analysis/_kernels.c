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
    if (overflow) {
        result = Py_None;
        Py_INCREF(result);
        goto done;
    }
    PyObject *fd = to_dict(flat, tflat, n_nodes), *cd = fd ? to_dict(cum, tcum, n_nodes) : NULL;
    if (cd) result = PyTuple_Pack(2, fd, cd);
    Py_XDECREF(fd);
    Py_XDECREF(cd);
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

static PyMethodDef methods[] = {
    {"flat_cum", flat_cum, METH_VARARGS,
     "flat_cum(stacks, values, si, loc_nodes, n_nodes) -> (flat, cum) | None"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef moduledef = {
    PyModuleDef_HEAD_INIT, "_kernels", "Per-frame loops of profkit's reports.", -1,
    methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__kernels(void) { return PyModule_Create(&moduledef); }
