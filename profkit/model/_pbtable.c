/* _pbtable: read a profile.proto message's wire format straight into the tables
 * reports are computed from (profkit.analysis.stacks_wire builds a StackTable of them).
 *
 * read(buf, with_labels, display_name) -> tuple | None
 *
 * The protobuf runtime builds a message object per sample, location and line, and
 * Python then reads them field by field: on a 20k-sample profile that is most of
 * `profkit top`. This walks the bytes once per top-level field kind, in C, and builds
 * only what the StackTable holds.
 *
 * Contract: it returns None, never raising (but MemoryError), for ANY input it does not
 * accept outright: truncated or malformed wire data, a group, a known field with a
 * wire type proto3 does not allow for it, invalid UTF-8 in a string, a second
 * period_type, and every violation analysis.stacks.from_message checks (string index
 * out of range, string_table[0] not "", reserved or repeated ids, a line without its
 * function, a location's missing mapping, a value count that differs from the sample
 * types, a sample's location id that no location has). The caller then takes the
 * protobuf path, which owns the one-line error messages; so this accepts a subset of
 * what that path accepts, and builds the same table for it.
 *
 * On success: (sample_types [(type, unit)], default_sample_type, time_nanos,
 * duration_nanos, comments [str], drop_frames, keep_frames, main_file, main_build_id,
 * loc_lines {id: ((name, file, line, start_line), ...)}, loc_mapfile {id: str},
 * stacks [tuple of ids], values [tuple], base [bool], labels [tuple of (key, str or
 * None, num, unit)] or None, counts (samples, locations, mappings, functions, strings,
 * comments + sample types), period_type (type, unit) or None, loc_address {id:
 * address} of the locations whose address is not 0). display_name(name, system_name) names a function unless
 * its name is set and differs from its system name.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const uint8_t *p, *end;
} Cur;

/* -1: fallback (input not accepted); -2: Python error set */
#define FB (-1)
#define PYERR (-2)
#define TRY(x) do { int rc_ = (x); if (rc_) return rc_; } while (0)

static int varint(Cur *c, uint64_t *out) {
    if (c->p < c->end && *c->p < 0x80) {
        *out = *c->p++;
        return 0;
    }
    uint64_t v = 0;
    for (int shift = 0; shift < 70 && c->p < c->end; shift += 7) {
        uint8_t b = *c->p++;
        if (shift == 63 && b > 1) return FB;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return FB;
}

static int sub(Cur *c, Cur *s) {
    uint64_t n;
    TRY(varint(c, &n));
    if (n > (uint64_t)(c->end - c->p)) return FB;
    s->p = c->p;
    s->end = c->p + n;
    c->p += n;
    return 0;
}

static int skip(Cur *c, int wt) {
    uint64_t n;
    Cur s;
    switch (wt) {
    case 0: return varint(c, &n);
    case 1: if (c->end - c->p < 8) return FB; c->p += 8; return 0;
    case 2: return sub(c, &s);
    case 5: if (c->end - c->p < 4) return FB; c->p += 4; return 0;
    default: return FB;
    }
}

/* Read a tag: field number and wire type; FB for number 0 or over 2^29-1. */
static int tag(Cur *c, uint32_t *field, int *wt) {
    uint64_t t;
    TRY(varint(c, &t));
    if (t >> 32 || (t >> 3) == 0 || (t >> 3) > 536870911u) return FB;
    *field = (uint32_t)(t >> 3);
    *wt = (int)(t & 7);
    return 0;
}

/* A growable array of 64-bit values. */
typedef struct {
    uint64_t *v;
    Py_ssize_t n, cap;
} Vec;

static int push(Vec *a, uint64_t x) {
    if (a->n == a->cap) {
        Py_ssize_t cap = a->cap ? a->cap * 2 : 64;
        uint64_t *v = realloc(a->v, (size_t)cap * sizeof(uint64_t));
        if (!v) { PyErr_NoMemory(); return PYERR; }
        a->v = v;
        a->cap = cap;
    }
    a->v[a->n++] = x;
    return 0;
}

/* A repeated scalar field, packed (wt 2) or not (wt 0), appended to a. */
static int repeated(Cur *c, int wt, Vec *a) {
    uint64_t x;
    if (wt == 0) {
        TRY(varint(c, &x));
        return push(a, x);
    }
    if (wt != 2) return FB;
    Cur s;
    TRY(sub(c, &s));
    while (s.p < s.end) {
        TRY(varint(&s, &x));
        TRY(push(a, x));
    }
    return 0;
}

/* Read a message made only of varint fields 1..nf into out[] (last one wins; fields
 * not present keep their value); other field numbers are skipped. */
static int scalars(Cur *c, uint64_t *out, uint32_t nf) {
    Cur s;
    TRY(sub(c, &s));
    while (s.p < s.end) {
        uint32_t f;
        int wt;
        TRY(tag(&s, &f, &wt));
        if (f <= nf) {
            if (wt != 0) return FB;
            TRY(varint(&s, &out[f - 1]));
        } else {
            TRY(skip(&s, wt));
        }
    }
    return 0;
}

/* An open-addressing map from 64-bit ids to (borrowed) objects. */
typedef struct {
    uint64_t *keys;
    PyObject **vals;
    size_t mask;
} IdMap;

static int idmap_init(IdMap *m, Py_ssize_t n) {
    size_t size = 16;
    while (size < (size_t)n * 2 + 2) size <<= 1;
    m->keys = calloc(size, sizeof(uint64_t));
    m->vals = calloc(size, sizeof(PyObject *));
    m->mask = size - 1;
    if (!m->keys || !m->vals) { PyErr_NoMemory(); return PYERR; }
    return 0;
}

static void idmap_free(IdMap *m) {
    free(m->keys);
    free(m->vals);
}

static size_t idslot(IdMap *m, uint64_t id) {
    size_t i = (size_t)((id * 0x9E3779B97F4A7C15ull) >> 17) & m->mask;
    while (m->vals[i] && m->keys[i] != id) i = (i + 1) & m->mask;
    return i;
}

static PyObject *idget(IdMap *m, uint64_t id) {
    return m->vals[idslot(m, id)];
}

/* Everything the passes share. */
typedef struct {
    const uint8_t *buf;
    Py_ssize_t len;
    PyObject *strs; /* list of str */
    Py_ssize_t nstr;
    Py_ssize_t counts[6];
} Ctx;

#define STR(i) PyList_GET_ITEM(ctx->strs, (Py_ssize_t)(i))
#define INRANGE(i) ((int64_t)(i) >= 0 && (int64_t)(i) < ctx->nstr)

/* Top-level scalars and counts (pass 1: the string table and everything but the
 * repeated messages, which are counted). */
typedef struct {
    Vec sample_types; /* type, unit, type, unit, ... */
    Vec comments;
    uint64_t period_type[2];
    uint64_t drop, keep, time_nanos, duration_nanos, default_st, doc_url;
    int has_period;
    Py_ssize_t count[6]; /* by field number 2..5 */
    uint8_t *flags;      /* per string: 1 = "pprof::base", 2 = "true" */
} Header;

static int header(Ctx *ctx, Header *h) {
    Cur c = {ctx->buf, ctx->buf + ctx->len};
    while (c.p < c.end) {
        uint32_t f;
        int wt;
        Cur s;
        TRY(tag(&c, &f, &wt));
        switch (f) {
        case 1: {
            uint64_t vt[2] = {0, 0};
            if (wt != 2) return FB;
            TRY(scalars(&c, vt, 2));
            TRY(push(&h->sample_types, vt[0]));
            TRY(push(&h->sample_types, vt[1]));
            break;
        }
        case 2: case 3: case 4: case 5:
            if (wt != 2) return FB;
            TRY(sub(&c, &s));
            h->count[f]++;
            break;
        case 6: {
            if (wt != 2) return FB;
            TRY(sub(&c, &s));
            PyObject *u = PyUnicode_DecodeUTF8((const char *)s.p, s.end - s.p, NULL);
            if (!u) {
                if (!PyErr_ExceptionMatches(PyExc_UnicodeDecodeError)) return PYERR;
                PyErr_Clear();
                return FB;
            }
            int rc = PyList_Append(ctx->strs, u);
            Py_DECREF(u);
            if (rc) return PYERR;
            break;
        }
        case 7: case 8: case 9: case 10: case 12: case 14: case 15: {
            uint64_t v, *dst = NULL;
            if (wt != 0) return FB;
            TRY(varint(&c, &v));
            switch (f) {
            case 7: dst = &h->drop; break;
            case 8: dst = &h->keep; break;
            case 9: dst = &h->time_nanos; break;
            case 10: dst = &h->duration_nanos; break;
            case 14: dst = &h->default_st; break;
            case 15: dst = &h->doc_url; break;
            default: break; /* period: not kept */
            }
            if (dst) *dst = v;
            break;
        }
        case 11:
            if (wt != 2) return FB;
            h->has_period = 1; /* a repeated period_type merges: fields present win */
            TRY(scalars(&c, h->period_type, 2));
            break;
        case 13:
            TRY(repeated(&c, wt, &h->comments));
            break;
        default:
            TRY(skip(&c, wt));
        }
    }
    ctx->nstr = PyList_GET_SIZE(ctx->strs);
    h->flags = calloc((size_t)ctx->nstr + 1, 1);
    if (!h->flags) { PyErr_NoMemory(); return PYERR; }
    for (Py_ssize_t i = 0; i < ctx->nstr; i++) {
        PyObject *u = STR(i);
        Py_ssize_t n = PyUnicode_GET_LENGTH(u);
        if (n == 11 && PyUnicode_CompareWithASCIIString(u, "pprof::base") == 0) h->flags[i] = 1;
        else if (n == 4 && PyUnicode_CompareWithASCIIString(u, "true") == 0) h->flags[i] = 2;
    }
    return 0;
}

/* Every string index the header holds must be in range, as from_message checks. */
static int header_indexes(Ctx *ctx, Header *h) {
    if (ctx->nstr == 0 || PyUnicode_GET_LENGTH(STR(0)) != 0) return FB;
    if (h->sample_types.n == 0) return FB; /* no sample types: the protobuf path decides */
    for (Py_ssize_t i = 0; i < h->sample_types.n; i++)
        if (!INRANGE(h->sample_types.v[i])) return FB;
    if (h->has_period && !(INRANGE(h->period_type[0]) && INRANGE(h->period_type[1]))) return FB;
    if (!INRANGE(h->drop) || !INRANGE(h->keep) || !INRANGE(h->doc_url)) return FB;
    if (!INRANGE(h->default_st)) return FB;
    for (Py_ssize_t i = 0; i < h->comments.n; i++)
        if (!INRANGE(h->comments.v[i])) return FB;
    return 0;
}

/* Move c to the payload of the next top-level field numbered `want` (its wire type is
 * 2: header() checked every one): 1 when found, 0 at the end, FB/PYERR on bad input. */
static int next_field(Cur *c, uint32_t want) {
    while (c->p < c->end) {
        uint32_t f;
        int wt;
        TRY(tag(c, &f, &wt));
        if (f == want) return 1;
        TRY(skip(c, wt));
    }
    return 0;
}

/* Pass over the mappings: {id: file name}, the first one's file and build id. */
static int mappings(Ctx *ctx, PyObject *mapfiles, PyObject **main_file, PyObject **main_build) {
    Cur c = {ctx->buf, ctx->buf + ctx->len};
    int first = 1;
    int found;
    while ((found = next_field(&c, 3)) == 1) {
        uint64_t m[10] = {0};
        TRY(scalars(&c, m, 10));
        if (m[0] == 0 || !INRANGE(m[4]) || !INRANGE(m[5])) return FB;
        PyObject *key = PyLong_FromUnsignedLongLong(m[0]);
        if (!key) return PYERR;
        int has = PyDict_Contains(mapfiles, key);
        int rc = has ? -1 : PyDict_SetItem(mapfiles, key, STR(m[4]));
        Py_DECREF(key);
        if (has > 0) return FB;
        if (rc) return PYERR;
        if (first) {
            *main_file = STR(m[4]);
            *main_build = STR(m[5]);
            first = 0;
        }
    }
    return found;
}

/* Whether display_name(x, name) is name for any x that is "" or name: it has none of
 * the characters pprof's C++ name rewriting looks for. */
static int plain(PyObject *name) {
    Py_ssize_t n;
    const char *u = PyUnicode_AsUTF8AndSize(name, &n);
    if (!u) {
        PyErr_Clear();
        return 0;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        char ch = u[i];
        if (ch == '<' || ch == '>' || ch == '[' || ch == ']' || ch == ':') return 0;
    }
    return 1;
}

/* Pass over the functions: funcs maps id -> (display name, file, start line); the
 * tuples are kept alive by `keep`. */
static int functions(Ctx *ctx, IdMap *funcs, PyObject *keep, PyObject *display_name) {
    Cur c = {ctx->buf, ctx->buf + ctx->len};
    PyObject **cache = calloc((size_t)ctx->nstr + 1, sizeof(PyObject *));
    int rc = 0;
    if (!cache) { PyErr_NoMemory(); return PYERR; }
    while ((rc = next_field(&c, 5)) == 1) {
        rc = 0;
        uint64_t fn[5] = {0};
        if ((rc = scalars(&c, fn, 5))) break;
        if (fn[0] == 0 || idget(funcs, fn[0]) || !INRANGE(fn[1]) || !INRANGE(fn[2]) ||
            !INRANGE(fn[3])) {
            rc = FB;
            break;
        }
        PyObject *name = STR(fn[1]), *sys = STR(fn[2]), *disp;
        int differs = fn[1] != fn[2] && PyUnicode_GET_LENGTH(name) > 0;
        if (differs) {
            int cmp = PyUnicode_Compare(name, sys);
            if (cmp == -1 && PyErr_Occurred()) { rc = PYERR; break; }
            differs = cmp != 0;
        }
        if (differs) {
            disp = name;
            Py_INCREF(disp);
        } else if (plain(sys)) {
            disp = sys; /* display_name changes only names with <>[] or :: */
            Py_INCREF(disp);
        } else if (cache[fn[2]]) {
            disp = cache[fn[2]];
            Py_INCREF(disp);
        } else {
            disp = PyObject_CallFunctionObjArgs(display_name, name, sys, NULL);
            if (!disp) { rc = PYERR; break; }
            if (!PyUnicode_Check(disp)) {
                Py_DECREF(disp);
                PyErr_SetString(PyExc_TypeError, "display_name must return str");
                rc = PYERR;
                break;
            }
            cache[fn[2]] = disp;
            Py_INCREF(disp);
        }
        PyObject *start = PyLong_FromLongLong((int64_t)fn[4]);
        PyObject *t = start ? PyTuple_Pack(3, disp, STR(fn[3]), start) : NULL;
        Py_DECREF(disp);
        Py_XDECREF(start);
        if (!t || PyList_Append(keep, t)) {
            Py_XDECREF(t);
            rc = PYERR;
            break;
        }
        Py_DECREF(t);
        size_t slot = idslot(funcs, fn[0]);
        funcs->keys[slot] = fn[0];
        funcs->vals[slot] = t;
    }
    for (Py_ssize_t i = 0; i <= ctx->nstr; i++) Py_XDECREF(cache[i]);
    free(cache);
    return rc;
}

/* Pass over the locations: loc_lines {id: lines}, loc_mapfile {id: file}; locs maps
 * id -> the dict's key object (so every stack shares it). */
static int locations(Ctx *ctx, IdMap *funcs, PyObject *mapfiles, PyObject *loc_lines,
                     PyObject *loc_mapfile, PyObject *loc_address, IdMap *locs,
                     PyObject *empty_str) {
    Cur c = {ctx->buf, ctx->buf + ctx->len};
    Vec lines = {0};
    int rc = 0;
    while ((rc = next_field(&c, 4)) == 1) {
        uint32_t f;
        int wt;
        Cur s;
        if ((rc = sub(&c, &s))) break;
        uint64_t id = 0, mid = 0, addr = 0, x;
        lines.n = 0;
        while (s.p < s.end && !rc) {
            if ((rc = tag(&s, &f, &wt))) break;
            if (f == 4) {
                uint64_t ln[3] = {0};
                if (wt != 2) { rc = FB; break; }
                if ((rc = scalars(&s, ln, 3))) break;
                if ((rc = push(&lines, ln[0])) || (rc = push(&lines, ln[1]))) break;
            } else if (f <= 5) {
                if (wt != 0) { rc = FB; break; }
                if ((rc = varint(&s, &x))) break;
                if (f == 1) id = x;
                else if (f == 2) mid = x;
                else if (f == 3) addr = x;
            } else {
                rc = skip(&s, wt);
            }
        }
        if (rc) break;
        if (id == 0 || idget(locs, id)) { rc = FB; break; }
        PyObject *mapfile = empty_str;
        if (mid) {
            PyObject *mkey = PyLong_FromUnsignedLongLong(mid);
            if (!mkey) { rc = PYERR; break; }
            mapfile = PyDict_GetItemWithError(mapfiles, mkey);
            Py_DECREF(mkey);
            if (!mapfile) { rc = PyErr_Occurred() ? PYERR : FB; break; }
        }
        Py_ssize_t nl = lines.n / 2;
        PyObject *tup = PyTuple_New(nl);
        if (!tup) { rc = PYERR; break; }
        for (Py_ssize_t i = 0; i < nl; i++) {
            PyObject *fn = idget(funcs, lines.v[2 * i]);
            if (!fn) { rc = FB; break; }
            PyObject *line = PyLong_FromLongLong((int64_t)lines.v[2 * i + 1]);
            PyObject *info = line ? PyTuple_Pack(4, PyTuple_GET_ITEM(fn, 0),
                                                 PyTuple_GET_ITEM(fn, 1), line,
                                                 PyTuple_GET_ITEM(fn, 2)) : NULL;
            Py_XDECREF(line);
            if (!info) { rc = PYERR; break; }
            PyObject_GC_UnTrack(info); /* strs and ints: never in a cycle */
            PyTuple_SET_ITEM(tup, i, info);
        }
        PyObject_GC_UnTrack(tup);
        PyObject *key = rc ? NULL : PyLong_FromUnsignedLongLong(id);
        if (!key || PyDict_SetItem(loc_lines, key, tup) || PyDict_SetItem(loc_mapfile, key, mapfile)) {
            Py_DECREF(tup);
            Py_XDECREF(key);
            if (!rc) rc = PYERR;
            break;
        }
        Py_DECREF(tup);
        if (addr) {
            PyObject *a = PyLong_FromUnsignedLongLong(addr);
            int arc = a ? PyDict_SetItem(loc_address, key, a) : -1;
            Py_XDECREF(a);
            if (arc) { Py_DECREF(key); rc = PYERR; break; }
        }
        size_t slot = idslot(locs, id);
        locs->keys[slot] = id;
        locs->vals[slot] = key; /* borrowed: loc_lines holds it */
        Py_DECREF(key);
    }
    free(lines.v);
    return rc;
}

/* Intern an int64 value (values repeat: one object each, as the decoder's arena held
 * them in 8 bytes). */
static PyObject *value(PyObject *cache, int64_t v) {
    PyObject *o = PyLong_FromLongLong(v);
    if (!o || (v >= -5 && v <= 256)) return o;
    PyObject *r = PyDict_SetDefault(cache, o, o);
    Py_XINCREF(r);
    Py_DECREF(o);
    return r;
}

typedef struct {
    PyObject *stacks, *values, *base, *labels; /* lists; labels may be NULL */
} Samples;

/* Pass over the samples. */
static int samples(Ctx *ctx, Header *h, IdMap *locs, Samples *out, PyObject *vcache) {
    Cur c = {ctx->buf, ctx->buf + ctx->len};
    Vec ids = {0}, vals = {0}, labs = {0};
    Py_ssize_t ntypes = h->sample_types.n / 2;
    int rc = 0;
    while ((rc = next_field(&c, 2)) == 1) {
        uint32_t f;
        int wt;
        Cur s;
        if ((rc = sub(&c, &s))) break;
        ids.n = vals.n = labs.n = 0;
        while (s.p < s.end && !rc) {
            if ((rc = tag(&s, &f, &wt))) break;
            if (f == 1) rc = repeated(&s, wt, &ids);
            else if (f == 2) rc = repeated(&s, wt, &vals);
            else if (f == 3) {
                uint64_t lab[4] = {0};
                if (wt != 2) { rc = FB; break; }
                if ((rc = scalars(&s, lab, 4))) break;
                for (int i = 0; i < 4 && !rc; i++) rc = push(&labs, lab[i]);
            } else rc = skip(&s, wt);
        }
        if (rc) break;
        if (vals.n != ntypes) { rc = FB; break; }
        int base = 0;
        for (Py_ssize_t i = 0; i < labs.n; i += 4) {
            uint64_t key = labs.v[i], str = labs.v[i + 1], unit = labs.v[i + 3];
            if (!INRANGE(key) || !(str ? INRANGE(str) : INRANGE(unit))) { rc = FB; break; }
            if (str && h->flags[key] == 1 && h->flags[str] == 2) base = 1;
        }
        if (rc) break;
        PyObject *stack = PyTuple_New(ids.n), *vt = stack ? PyTuple_New(vals.n) : NULL;
        if (!vt) { Py_XDECREF(stack); rc = PYERR; break; }
        for (Py_ssize_t i = 0; i < ids.n; i++) {
            PyObject *key = idget(locs, ids.v[i]);
            if (!key) { rc = FB; break; }
            Py_INCREF(key);
            PyTuple_SET_ITEM(stack, i, key);
        }
        for (Py_ssize_t i = 0; i < vals.n && !rc; i++) {
            PyObject *v = value(vcache, (int64_t)vals.v[i]);
            if (!v) { rc = PYERR; break; }
            PyTuple_SET_ITEM(vt, i, v);
        }
        /* tuples of ints are never in a cycle: untracked, a million of them cost the
         * collections that follow nothing (CPython untracks such tuples lazily too) */
        PyObject_GC_UnTrack(stack);
        PyObject_GC_UnTrack(vt);
        if (!rc && (PyList_Append(out->stacks, stack) || PyList_Append(out->values, vt) ||
                    PyList_Append(out->base, base ? Py_True : Py_False)))
            rc = PYERR;
        Py_DECREF(stack);
        Py_DECREF(vt);
        if (rc) break;
        if (!out->labels) continue;
        PyObject *lt = PyTuple_New(labs.n / 4);
        if (!lt) { rc = PYERR; break; }
        for (Py_ssize_t i = 0; i < labs.n / 4; i++) {
            uint64_t *l = &labs.v[4 * i];
            PyObject *num = PyLong_FromLongLong((int64_t)l[2]);
            PyObject *one = num ? PyTuple_Pack(4, STR(l[0]), l[1] ? STR(l[1]) : Py_None, num,
                                               l[1] ? Py_None : STR(l[3])) : NULL;
            Py_XDECREF(num);
            if (!one) { rc = PYERR; break; }
            PyObject_GC_UnTrack(one);
            PyTuple_SET_ITEM(lt, i, one);
        }
        PyObject_GC_UnTrack(lt);
        if (!rc && PyList_Append(out->labels, lt)) rc = PYERR;
        Py_DECREF(lt);
        if (rc) break;
    }
    free(ids.v);
    free(vals.v);
    free(labs.v);
    return rc;
}

static PyObject *strlist(Ctx *ctx, Vec *idx) {
    PyObject *l = PyList_New(idx->n);
    if (!l) return NULL;
    for (Py_ssize_t i = 0; i < idx->n; i++) {
        PyObject *s = STR(idx->v[i]);
        Py_INCREF(s);
        PyList_SET_ITEM(l, i, s);
    }
    return l;
}

static PyObject *pbtable_read(PyObject *self, PyObject *args) {
    Py_buffer view;
    int with_labels;
    PyObject *display_name;
    if (!PyArg_ParseTuple(args, "y*pO:read", &view, &with_labels, &display_name)) return NULL;
    Ctx ctx_ = {view.buf, view.len, PyList_New(0), 0, {0}}, *ctx = &ctx_;
    Header h = {{0}};
    IdMap funcs = {0}, locs = {0};
    Samples smp = {PyList_New(0), PyList_New(0), PyList_New(0), with_labels ? PyList_New(0) : NULL};
    PyObject *mapfiles = PyDict_New(), *keep = PyList_New(0), *loc_lines = PyDict_New();
    PyObject *loc_mapfile = PyDict_New(), *vcache = PyDict_New(), *empty = PyUnicode_New(0, 0);
    PyObject *loc_address = PyDict_New();
    PyObject *result = NULL, *main_file = empty, *main_build = empty;
    int rc = PYERR, gc_was = -1;
    if (!ctx->strs || !smp.stacks || !smp.values || !smp.base || (with_labels && !smp.labels) ||
        !mapfiles || !keep || !loc_lines || !loc_mapfile || !vcache || !empty || !loc_address)
        goto done;
    /* Only new tuples of ints and strs are made (no cycles): the collections their
     * allocations would trigger find nothing. */
    gc_was = PyGC_Disable();
    if ((rc = header(ctx, &h)) || (rc = header_indexes(ctx, &h))) goto done;
    if ((rc = idmap_init(&funcs, h.count[5])) || (rc = idmap_init(&locs, h.count[4]))) goto done;
    if ((rc = mappings(ctx, mapfiles, &main_file, &main_build))) goto done;
    if ((rc = functions(ctx, &funcs, keep, display_name))) goto done;
    if ((rc = locations(ctx, &funcs, mapfiles, loc_lines, loc_mapfile, loc_address, &locs,
                        empty)))
        goto done;
    if ((rc = samples(ctx, &h, &locs, &smp, vcache))) goto done;
    rc = PYERR;
    PyObject *types = PyList_New(h.sample_types.n / 2);
    if (!types) goto done;
    for (Py_ssize_t i = 0; i < h.sample_types.n / 2; i++) {
        PyObject *t = PyTuple_Pack(2, STR(h.sample_types.v[2 * i]), STR(h.sample_types.v[2 * i + 1]));
        if (!t) { Py_DECREF(types); goto done; }
        PyList_SET_ITEM(types, i, t);
    }
    PyObject *comments = strlist(ctx, &h.comments);
    if (!comments) { Py_DECREF(types); goto done; }
    PyObject *period = Py_None;
    Py_INCREF(period);
    if (h.has_period) {
        Py_DECREF(period);
        period = PyTuple_Pack(2, STR(h.period_type[0]), STR(h.period_type[1]));
        if (!period) { Py_DECREF(types); Py_DECREF(comments); goto done; }
    }
    result = Py_BuildValue(
        "(NOLLNOOOOOOOOOO(nnnnnn)NO)", types, STR(h.default_st), (long long)h.time_nanos,
        (long long)h.duration_nanos, comments, STR(h.drop), STR(h.keep), main_file, main_build,
        loc_lines, loc_mapfile, smp.stacks, smp.values, smp.base,
        smp.labels ? smp.labels : Py_None, h.count[2], h.count[4], h.count[3], h.count[5],
        ctx->nstr, h.comments.n + h.sample_types.n / 2, period, loc_address);
    rc = result ? 0 : PYERR;
done:
    if (gc_was > 0) PyGC_Enable();
    PyBuffer_Release(&view);
    free(h.sample_types.v);
    free(h.comments.v);
    free(h.flags);
    idmap_free(&funcs);
    idmap_free(&locs);
    Py_XDECREF(ctx->strs);
    Py_XDECREF(smp.stacks);
    Py_XDECREF(smp.values);
    Py_XDECREF(smp.base);
    Py_XDECREF(smp.labels);
    Py_XDECREF(mapfiles);
    Py_XDECREF(keep);
    Py_XDECREF(loc_lines);
    Py_XDECREF(loc_mapfile);
    Py_XDECREF(loc_address);
    Py_XDECREF(vcache);
    Py_XDECREF(empty);
    if (rc == FB) Py_RETURN_NONE;
    return rc ? NULL : result;
}

static PyMethodDef methods[] = {
    {"read", pbtable_read, METH_VARARGS,
     "read(buf, with_labels, display_name) -> tuple | None: a profile.proto message's "
     "StackTable parts, or None for anything the protobuf path must judge."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef moduledef = {
    PyModuleDef_HEAD_INIT, "_pbtable", "profile.proto wire format to report tables.", -1,
    methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__pbtable(void) { return PyModule_Create(&moduledef); }
