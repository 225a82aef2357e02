/* _heaphook: a sampling allocation hook for profkit's heap profiler.
 *
 * Wraps the PYMEM_DOMAIN_MEM and PYMEM_DOMAIN_OBJ allocators (both are called with
 * the GIL held, which serialises everything here; the RAW domain is left alone, so
 * pymalloc's fallback to raw malloc is not counted twice). Sampling follows Go's
 * runtime.MemProfileRate: a countdown of bytes drawn from an exponential
 * distribution with mean `interval`; the allocation that crosses zero is sampled,
 * i.e. an allocation of s bytes is sampled with probability 1 - exp(-s/interval).
 *
 * For a sampled allocation the Python stack (code object, line) is captured,
 * interned in a stack table and the pointer is kept in a hash table so that its
 * free is seen. The stack table holds unsampled estimates: a sampled block of s
 * bytes stands for 1/p blocks and s/p bytes, p = 1 - exp(-s/interval) (its own
 * sampling probability), both when allocated and when freed. This equals Go's
 * scaleHeapSample applied to each (stack, size) bucket, so a line that allocates
 * blocks of different sizes is not scaled by their average (which undercounts
 * small blocks and biases bytes).
 *
 * Frees: every free of the process goes through hook_free, and only the rare sampled
 * blocks are of interest. An inline filter rejects almost all of them before the
 * pointer table is touched: nothing is live (n_live == 0), or the pointer's bit in a
 * 16 KiB bitmap (one bit per hashed pointer, set for every live sampled block) is
 * clear. Bits are not cleared on removal; the bitmap is rebuilt from the table once
 * removals since the last rebuild exceed the live count (plus a constant), which
 * keeps false positives near n_live / 2^17 at an amortised cost of O(1) per
 * sampled free.
 *
 * Reentrancy: while the hook captures a stack (which may create frame objects on
 * 3.11+) or while Python reads the tables, `busy` is set and allocations pass
 * straight through unsampled; the cyclic GC is disabled around the capture so no
 * finalizer can run inside an allocator call. Bookkeeping memory comes from libc
 * malloc, never from the hooked allocators.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#if PY_VERSION_HEX < 0x030B0000
#include <frameobject.h> /* PyFrameObject.f_globals before 3.11 */
#endif
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef Py_GIL_DISABLED
#error "_heaphook needs the GIL (free-threaded builds use the tracemalloc fallback)"
#endif

#define MAX_DEPTH 64

typedef struct {
    PyCodeObject *code; /* strong reference */
    PyObject *module;   /* the frame's globals["__name__"]: strong reference or NULL */
    int line;
} frame_t;

typedef struct {
    uint64_t hash;
    uint32_t offset; /* into frames */
    uint32_t depth;
    double alloc_count, alloc_bytes, free_count, free_bytes; /* unsampled estimates */
} stack_t_;

typedef struct {
    uintptr_t ptr; /* 0 = empty */
    uint32_t stack;
    size_t size;
} live_t;

static PyMemAllocatorEx orig_mem, orig_obj;
static int installed = 0;
static int sampling = 0;
static int busy = 0;
static double interval = 524288.0;
static int64_t countdown = 0;
static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static stack_t_ *stacks = NULL;
static uint32_t n_stacks = 0, cap_stacks = 0;
static uint32_t *stack_index = NULL; /* open addressing: stack id + 1, 0 = empty */
static uint32_t cap_index = 0;
static frame_t *frames = NULL;
static uint32_t n_frames = 0, cap_frames = 0;
static live_t *live = NULL;
static size_t n_live = 0, cap_live = 0;
#define FILTER_LOG2 17 /* bits in the free filter: 2^17 bits = 16 KiB */
static uint64_t live_filter[(1u << FILTER_LOG2) / 64];
static size_t filter_stale = 0; /* removals since the filter was last rebuilt */
static uint64_t n_sampled = 0;
static int hook_seen = -1; /* counts hook_malloc calls while was_removed() probes */
static PyObject *name_key = NULL; /* interned "__name__" */

static uint64_t rng_next(void) {
    uint64_t x = rng_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static int64_t next_countdown(void) {
    /* uniform in (0, 1] -> exponential with mean `interval` */
    double u = ((double)(rng_next() >> 11) + 1.0) / 9007199254740992.0;
    double v = -log(u) * interval;
    if (v < 1.0) v = 1.0;
    if (v > 9.0e18) v = 9.0e18;
    return (int64_t)v;
}

/* 1/p for a block of `size` bytes: how many blocks one sample of that size stands for. */
static double sample_weight(size_t size) {
    if (interval <= 1.0 || size == 0) return 1.0;
    double p = -expm1(-(double)size / interval);
    return p > 0.0 ? 1.0 / p : 1.0;
}

static inline size_t ptr_hash(uintptr_t p) {
    uint64_t h = (uint64_t)p;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return (size_t)h;
}

static inline size_t filter_bit(uintptr_t p) {
    return (size_t)((((uint64_t)p >> 4) * 0x9E3779B97F4A7C15ULL) >> (64 - FILTER_LOG2));
}

static inline void filter_set(uintptr_t p) {
    size_t b = filter_bit(p);
    live_filter[b >> 6] |= (uint64_t)1 << (b & 63);
}

/* False means ptr is certainly not a live sampled block. */
static inline int filter_maybe(uintptr_t p) {
    size_t b = filter_bit(p);
    return (live_filter[b >> 6] >> (b & 63)) & 1;
}

static void filter_rebuild(void) {
    memset(live_filter, 0, sizeof(live_filter));
    for (size_t i = 0; i < cap_live; i++) {
        if (live[i].ptr) filter_set(live[i].ptr);
    }
    filter_stale = 0;
}

static int live_grow(void) {
    size_t new_cap = cap_live ? cap_live * 2 : 1024;
    live_t *t = (live_t *)calloc(new_cap, sizeof(live_t));
    if (!t) return -1;
    for (size_t i = 0; i < cap_live; i++) {
        if (live[i].ptr) {
            size_t j = ptr_hash(live[i].ptr) & (new_cap - 1);
            while (t[j].ptr) j = (j + 1) & (new_cap - 1);
            t[j] = live[i];
        }
    }
    free(live);
    live = t;
    cap_live = new_cap;
    return 0;
}

static void live_add(void *ptr, uint32_t stack, size_t size) {
    if ((n_live + 1) * 2 > cap_live && live_grow() < 0) return;
    size_t j = ptr_hash((uintptr_t)ptr) & (cap_live - 1);
    while (live[j].ptr && live[j].ptr != (uintptr_t)ptr) j = (j + 1) & (cap_live - 1);
    if (!live[j].ptr) n_live++;
    filter_set((uintptr_t)ptr);
    live[j].ptr = (uintptr_t)ptr;
    live[j].stack = stack;
    live[j].size = size;
}

/* Remove ptr if it is a sampled live block; account its free. */
static void live_remove(void *ptr) {
    if (!n_live || !ptr) return;
    size_t mask = cap_live - 1;
    size_t j = ptr_hash((uintptr_t)ptr) & mask;
    while (live[j].ptr) {
        if (live[j].ptr == (uintptr_t)ptr) {
            stack_t_ *s = &stacks[live[j].stack];
            double w = sample_weight(live[j].size);
            s->free_count += w;
            s->free_bytes += w * (double)live[j].size;
            /* backward-shift deletion keeps probe chains intact */
            size_t i = j;
            for (;;) {
                live[i].ptr = 0;
                size_t k = i;
                for (;;) {
                    k = (k + 1) & mask;
                    if (!live[k].ptr) {
                        n_live--;
                        if (++filter_stale > n_live + 4096) filter_rebuild();
                        return;
                    }
                    size_t home = ptr_hash(live[k].ptr) & mask;
                    if (i <= k ? (i < home && home <= k) : (i < home || home <= k)) continue;
                    break;
                }
                live[i] = live[k];
                i = k;
            }
        }
        j = (j + 1) & mask;
    }
}

/* The hot path of every free: reject, inline, pointers that cannot be sampled blocks. */
static inline void on_free(void *ptr) {
    if (__builtin_expect(n_live == 0, 0)) return;
    if (__builtin_expect(!filter_maybe((uintptr_t)ptr), 1)) return;
    live_remove(ptr);
}

static int index_grow(void) {
    uint32_t new_cap = cap_index ? cap_index * 2 : 1024;
    uint32_t *t = (uint32_t *)calloc(new_cap, sizeof(uint32_t));
    if (!t) return -1;
    for (uint32_t i = 0; i < n_stacks; i++) {
        uint32_t j = (uint32_t)stacks[i].hash & (new_cap - 1);
        while (t[j]) j = (j + 1) & (new_cap - 1);
        t[j] = i + 1;
    }
    free(stack_index);
    stack_index = t;
    cap_index = new_cap;
    return 0;
}

/* Intern the captured stack; returns its id or -1 (out of memory). Takes the
 * code references in `fr` (released here if the stack already exists). */
static int64_t intern_stack(frame_t *fr, uint32_t depth) {
    uint64_t h = 1469598103934665603ULL;
    for (uint32_t i = 0; i < depth; i++) {
        h = (h ^ (uint64_t)(uintptr_t)fr[i].code) * 1099511628211ULL;
        h = (h ^ (uint64_t)fr[i].line) * 1099511628211ULL;
    }
    if ((n_stacks + 1) * 2 > cap_index && index_grow() < 0) goto fail;
    uint32_t j = (uint32_t)h & (cap_index - 1);
    while (stack_index[j]) {
        stack_t_ *s = &stacks[stack_index[j] - 1];
        int same = s->hash == h && s->depth == depth;
        for (uint32_t i = 0; same && i < depth; i++) {
            same = frames[s->offset + i].code == fr[i].code && frames[s->offset + i].line == fr[i].line;
        }
        if (same) {
            for (uint32_t i = 0; i < depth; i++) {
                Py_DECREF(fr[i].code);
                Py_XDECREF(fr[i].module);
            }
            return stack_index[j] - 1;
        }
        j = (j + 1) & (cap_index - 1);
    }
    if (n_stacks == cap_stacks) {
        uint32_t nc = cap_stacks ? cap_stacks * 2 : 256;
        stack_t_ *t = (stack_t_ *)realloc(stacks, nc * sizeof(stack_t_));
        if (!t) goto fail;
        stacks = t;
        cap_stacks = nc;
    }
    if (n_frames + depth > cap_frames) {
        uint32_t nc = cap_frames ? cap_frames * 2 : 4096;
        while (nc < n_frames + depth) nc *= 2;
        frame_t *t = (frame_t *)realloc(frames, nc * sizeof(frame_t));
        if (!t) goto fail;
        frames = t;
        cap_frames = nc;
    }
    memcpy(&frames[n_frames], fr, depth * sizeof(frame_t));
    stack_t_ *s = &stacks[n_stacks];
    memset(s, 0, sizeof(*s));
    s->hash = h;
    s->offset = n_frames;
    s->depth = depth;
    n_frames += depth;
    stack_index[j] = n_stacks + 1;
    return n_stacks++;
fail:
    for (uint32_t i = 0; i < depth; i++) {
        Py_DECREF(fr[i].code);
        Py_XDECREF(fr[i].module);
    }
    return -1;
}

/* globals["__name__"] of the frame if it is a str (new reference), else NULL. */
static PyObject *frame_module(PyFrameObject *f) {
#if PY_VERSION_HEX >= 0x030B0000
    PyObject *globals = PyFrame_GetGlobals(f); /* new reference */
#else
    PyObject *globals = f->f_globals;
    Py_XINCREF(globals);
#endif
    PyObject *name = NULL;
    if (globals != NULL && PyDict_Check(globals)) {
        name = PyDict_GetItemWithError(globals, name_key); /* borrowed */
        if (name != NULL && PyUnicode_Check(name)) {
            Py_INCREF(name);
        } else {
            name = NULL;
        }
    }
    Py_XDECREF(globals);
    return name;
}

static uint32_t capture(frame_t *out) {
#if PY_VERSION_HEX >= 0x030D0000
    PyThreadState *ts = PyThreadState_GetUnchecked();
#else
    PyThreadState *ts = _PyThreadState_UncheckedGet();
#endif
    if (ts == NULL) return 0;
    PyFrameObject *f = PyThreadState_GetFrame(ts); /* new reference or NULL */
    uint32_t depth = 0;
    while (f != NULL && depth < MAX_DEPTH) {
        out[depth].code = PyFrame_GetCode(f); /* new reference */
        out[depth].line = PyFrame_GetLineNumber(f);
        out[depth].module = frame_module(f);
        depth++;
        PyFrameObject *back = PyFrame_GetBack(f);
        Py_DECREF(f);
        f = back;
    }
    Py_XDECREF(f);
    return depth;
}

static void sample(void *ptr, size_t size) {
    frame_t fr[MAX_DEPTH];
    busy = 1;
    PyObject *et, *ev, *etb;
    PyErr_Fetch(&et, &ev, &etb);
#if PY_VERSION_HEX >= 0x030A0000
    int gc_was_enabled = PyGC_Disable();
#endif
    uint32_t depth = capture(fr);
    if (PyErr_Occurred()) PyErr_Clear();
#if PY_VERSION_HEX >= 0x030A0000
    if (gc_was_enabled) PyGC_Enable();
#endif
    PyErr_Restore(et, ev, etb);
    int64_t id = intern_stack(fr, depth);
    if (id >= 0) {
        double w = sample_weight(size);
        stacks[id].alloc_count += w;
        stacks[id].alloc_bytes += w * (double)size;
        live_add(ptr, (uint32_t)id, size);
        n_sampled++;
    }
    busy = 0;
}

#define NOT_SAMPLING_COUNTDOWN ((int64_t)1 << 62)

/* Hot path: one subtraction and one well-predicted branch per allocation. While not
 * sampling (or probing), countdown is huge, so the slow path is (almost) never taken. */
static inline void on_alloc(void *ptr, size_t size) {
    countdown -= (int64_t)size;
    if (__builtin_expect(countdown > 0, 1)) return;
    if (hook_seen >= 0) { /* was_removed() probe: count, and keep forcing this path */
        hook_seen++;
        countdown = 0;
        return;
    }
    if (!sampling) {
        countdown = NOT_SAMPLING_COUNTDOWN;
        return;
    }
    if (ptr == NULL || busy) {
        countdown += (int64_t)size; /* not this one: give the bytes back */
        if (countdown <= 0) countdown = 1;
        return;
    }
    countdown = next_countdown();
    sample(ptr, size);
}

static void *hook_malloc(void *ctx, size_t size) {
    PyMemAllocatorEx *a = (PyMemAllocatorEx *)ctx;
    void *p = a->malloc(a->ctx, size);
    on_alloc(p, size);
    return p;
}

static void *hook_calloc(void *ctx, size_t nelem, size_t elsize) {
    PyMemAllocatorEx *a = (PyMemAllocatorEx *)ctx;
    void *p = a->calloc(a->ctx, nelem, elsize);
    on_alloc(p, nelem * elsize);
    return p;
}

static void *hook_realloc(void *ctx, void *ptr, size_t new_size) {
    PyMemAllocatorEx *a = (PyMemAllocatorEx *)ctx;
    void *p = a->realloc(a->ctx, ptr, new_size);
    if (p != NULL) {
        /* accounted as free(old) + malloc(new), like tracemalloc and memray */
        on_free(ptr);
        on_alloc(p, new_size);
    }
    return p;
}

static void hook_free(void *ctx, void *ptr) {
    PyMemAllocatorEx *a = (PyMemAllocatorEx *)ctx;
    on_free(ptr);
    a->free(a->ctx, ptr);
}

static PyMemAllocatorEx hook_mem = {&orig_mem, hook_malloc, hook_calloc, hook_realloc, hook_free};
static PyMemAllocatorEx hook_obj = {&orig_obj, hook_malloc, hook_calloc, hook_realloc, hook_free};

static void clear_tables(void) {
    busy = 1;
    for (uint32_t i = 0; i < n_frames; i++) {
        Py_DECREF(frames[i].code);
        Py_XDECREF(frames[i].module);
    }
    n_frames = 0;
    n_stacks = 0;
    if (stack_index) memset(stack_index, 0, cap_index * sizeof(uint32_t));
    if (live) memset(live, 0, cap_live * sizeof(live_t));
    memset(live_filter, 0, sizeof(live_filter));
    filter_stale = 0;
    n_live = 0;
    n_sampled = 0;
    busy = 0;
}

/* True if our hook is no longer in the allocator chain (e.g. tracemalloc, started
 * before us, restored what it had wrapped when stopped): probe with one allocation. */
static int was_removed(void) {
    int64_t saved = countdown;
    hook_seen = 0;
    countdown = 0; /* force the slow path: a hook in the chain counts the probe */
    PyMem_Free(PyMem_Malloc(16));
    PyObject_Free(PyObject_Malloc(16));
    int seen = hook_seen;
    hook_seen = -1;
    countdown = saved;
    return seen < 2;
}

static PyObject *hh_start(PyObject *self, PyObject *args) {
    double iv;
    unsigned long long seed = 0;
    if (!PyArg_ParseTuple(args, "d|K", &iv, &seed)) return NULL;
    if (iv < 1.0) {
        PyErr_SetString(PyExc_ValueError, "interval must be >= 1 byte");
        return NULL;
    }
    if (sampling) {
        PyErr_SetString(PyExc_RuntimeError, "heap profiling already running");
        return NULL;
    }
    if (installed && was_removed()) installed = 0;
    clear_tables();
    interval = iv;
    if (seed) {
        uint64_t z = (uint64_t)seed + 0x9E3779B97F4A7C15ULL; /* splitmix64 */
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        rng_state = (z ^ (z >> 31)) | 1;
    }
    countdown = next_countdown();
    if (!installed) {
        PyMem_GetAllocator(PYMEM_DOMAIN_MEM, &orig_mem);
        PyMem_GetAllocator(PYMEM_DOMAIN_OBJ, &orig_obj);
        PyMem_SetAllocator(PYMEM_DOMAIN_MEM, &hook_mem);
        PyMem_SetAllocator(PYMEM_DOMAIN_OBJ, &hook_obj);
        installed = 1;
    }
    sampling = 1;
    Py_RETURN_NONE;
}

static PyObject *hh_stop(PyObject *self, PyObject *unused) {
    sampling = 0;
    if (installed && was_removed()) {
        installed = 0; /* frees are not seen any more: forget live blocks */
        if (live) memset(live, 0, cap_live * sizeof(live_t));
        memset(live_filter, 0, sizeof(live_filter));
        n_live = 0;
    }
    if (installed) {
        PyMemAllocatorEx cur_mem, cur_obj;
        PyMem_GetAllocator(PYMEM_DOMAIN_MEM, &cur_mem);
        PyMem_GetAllocator(PYMEM_DOMAIN_OBJ, &cur_obj);
        /* Only unhook if nobody (tracemalloc, memray) hooked on top of us;
         * otherwise stay installed as a pass-through (sampling = 0). */
        if (cur_mem.malloc == hook_malloc && cur_mem.ctx == &orig_mem &&
            cur_obj.malloc == hook_malloc && cur_obj.ctx == &orig_obj) {
            PyMem_SetAllocator(PYMEM_DOMAIN_MEM, &orig_mem);
            PyMem_SetAllocator(PYMEM_DOMAIN_OBJ, &orig_obj);
            installed = 0;
            /* Live blocks freed from now on are not seen: forget them. */
            if (live) memset(live, 0, cap_live * sizeof(live_t));
            memset(live_filter, 0, sizeof(live_filter));
            n_live = 0;
        }
    }
    Py_RETURN_NONE;
}

static PyObject *hh_is_running(PyObject *self, PyObject *unused) {
    return PyBool_FromLong(sampling);
}

/* records() -> list of (((code, line, module or None), ...), alloc_count, alloc_bytes,
 * free_count, free_bytes), the counts being unsampled estimates (floats) */
static PyObject *hh_records(PyObject *self, PyObject *unused) {
    int was_busy = busy;
    busy = 1; /* our own allocations below are not sampled and cannot change the tables */
    uint32_t n = n_stacks;
    PyObject *out = PyList_New(0);
    if (!out) goto done;
    for (uint32_t i = 0; i < n; i++) {
        stack_t_ s = stacks[i];
        PyObject *st = PyTuple_New(s.depth);
        if (!st) goto error;
        for (uint32_t d = 0; d < s.depth; d++) {
            frame_t fr = frames[s.offset + d];
            PyObject *pair = Py_BuildValue("(OiO)", (PyObject *)fr.code, fr.line,
                                           fr.module ? fr.module : Py_None);
            if (!pair) { Py_DECREF(st); goto error; }
            PyTuple_SET_ITEM(st, d, pair);
        }
        PyObject *rec = Py_BuildValue("(Ndddd)", st, s.alloc_count, s.alloc_bytes,
                                      s.free_count, s.free_bytes);
        if (!rec || PyList_Append(out, rec) < 0) { Py_XDECREF(rec); goto error; }
        Py_DECREF(rec);
    }
    goto done;
error:
    Py_CLEAR(out);
done:
    busy = was_busy;
    return out;
}

static PyObject *hh_stats(PyObject *self, PyObject *unused) {
    return Py_BuildValue("{s:K,s:n,s:I,s:d}", "sampled", (unsigned long long)n_sampled,
                         "live", (Py_ssize_t)n_live, "stacks", (unsigned int)n_stacks,
                         "interval", interval);
}

static PyObject *hh_reset(PyObject *self, PyObject *unused) {
    if (sampling) {
        PyErr_SetString(PyExc_RuntimeError, "stop heap profiling before reset");
        return NULL;
    }
    clear_tables();
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"start", hh_start, METH_VARARGS, "start(interval_bytes, seed=0): install and sample."},
    {"stop", hh_stop, METH_NOARGS, "stop(): stop sampling and unhook if possible."},
    {"is_running", hh_is_running, METH_NOARGS, "is_running() -> bool"},
    {"records", hh_records, METH_NOARGS, "records() -> list of per-stack unsampled estimates."},
    {"stats", hh_stats, METH_NOARGS, "stats() -> dict of internal counters."},
    {"reset", hh_reset, METH_NOARGS, "reset(): drop recorded data (when stopped)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef moduledef = {
    PyModuleDef_HEAD_INIT, "_heaphook", "Sampling allocation hook (see _heaphook.c).", -1,
    methods,
};

PyMODINIT_FUNC PyInit__heaphook(void) {
    if (name_key == NULL) {
        name_key = PyUnicode_InternFromString("__name__");
        if (name_key == NULL) return NULL;
    }
    return PyModule_Create(&moduledef);
}
