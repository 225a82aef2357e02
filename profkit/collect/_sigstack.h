/* _sigstack.h: the stack and labels of a thread on a CPU, read by that thread itself.
 *
 * Included by _cpuwake.c on CPython 3.11 (Linux). At the probe instant the sampler
 * sends one signal to a thread it saw on a CPU; the handler, running on that thread
 * and so interrupting it wherever it is, records its frame chain (code object, last
 * instruction) and the value of the label context variable in its current context.
 * This is Go's design (the thread that spent the CPU is the one that records where)
 * and vmprof's: the stack is where the CPU went at that instant, however long the
 * sampler then waits for the GIL, so the sampler need not force a GIL hand-over for
 * the profile to be true.
 *
 * Safety. The handler calls no Python API and allocates nothing. It reads its own
 * thread state (alive while the thread runs) directly; every frame, context and HAMT
 * node through process_vm_readv on its own process, which fails with EFAULT instead of
 * faulting if the thread was interrupted while freeing a frame chunk. Code objects and
 * label values are only pointers until the sampler holds the GIL again; then a code
 * pointer is used only if it is one the sampler already holds a reference to, or if
 * its header still reads as a live code object (a freed block's first words are the
 * allocator's free-list links, which fail that check). A label value is used only if
 * labels.py keeps it alive (its registry of label sets). Anything that fails a check
 * leaves that thread to the GIL-time reading, as without this file.
 */
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/uio.h>

#define SIG_MAX_FRAMES 1024 /* deeper: the innermost ones, marked truncated */
#define SIG_SLOTS 8 /* threads recorded at once; more on a CPU at one probe wait their turn */
#define SIG_TIMEOUT_NS 2000000LL  /* a thread that has not run the handler by then: skipped */
#define SIG_STUCK_NS 200000000LL  /* a handler still running after this: capture turned off */

enum { SIG_IDLE = 0, SIG_ARMED = 1, SIG_BUSY = 2, SIG_DONE = 3 };
enum { LABEL_UNKNOWN = 0, LABEL_UNSET = 1, LABEL_FOUND = 2 };

typedef struct {
    uintptr_t code;
    int32_t instr; /* index of the last instruction, in code units; -1 before the first */
    char owner;
} SigFrame;

typedef struct {
    int n; /* frames recorded; -1: no thread state or an unreadable frame */
    int truncated; /* there were more than SIG_MAX_FRAMES */
    int label_state;
    uintptr_t label;
    SigFrame frames[SIG_MAX_FRAMES];
} SigStack;

typedef struct { PyObject_VAR_HEAD uint32_t b_bitmap; PyObject *b_array[1]; } HamtBitmap;
typedef struct { PyObject_HEAD PyObject *a_array[32]; Py_ssize_t a_count; } HamtArray;

typedef struct {
    _Atomic int state;
    _Atomic long tid;
    SigStack out;
} SigSlot;

static int sig_no = 0;     /* the signal in use; 0: capture unavailable */
static int sig_broken = 0; /* a handler never finished: capture stays off in this process */
static pid_t sig_pid = 0;
static SigSlot sig_slots[SIG_SLOTS];
static sem_t sig_done; /* posted by each handler that recorded */
static uintptr_t sig_label_var = 0; /* the ContextVar whose value is recorded */
static int32_t sig_label_hash = 0;  /* its hash as the HAMT folds it */
static uintptr_t sig_bitmap_type = 0, sig_array_type = 0;
static PyObject *sig_codes = NULL;  /* {address: code object} the sampler holds */
static PyObject *sig_frames = NULL; /* {(address, instruction, owner) packed: frame tuple} */
static PyObject *sig_empty = NULL;  /* () */

static int safe_read(void *dst, uintptr_t src, size_t n) {
    struct iovec local = {dst, n}, remote = {(void *)src, n};
    if (src == 0) return -1;
    return process_vm_readv(sig_pid, &local, 1, &remote, 1, 0) == (ssize_t)n ? 0 : -1;
}

/* The label variable's value in the context `ctx`, by the HAMT's own lookup. */
static void sig_find_label(SigStack *s, uintptr_t ctx) {
    s->label_state = LABEL_UNKNOWN;
    if (sig_label_var == 0) return;
    if (ctx == 0) {
        s->label_state = LABEL_UNSET;
        return;
    }
    PyContext c;
    PyHamtObject h;
    if (safe_read(&c, ctx, sizeof c) || safe_read(&h, (uintptr_t)c.ctx_vars, sizeof h)) return;
    uintptr_t node = (uintptr_t)h.h_root;
    uint32_t shift = 0;
    for (int depth = 0; depth < 8 && node != 0; depth++, shift += 5) {
        uint32_t bit = 1u << (((uint32_t)sig_label_hash >> shift) & 0x1f);
        PyObject head;
        if (safe_read(&head, node, sizeof head)) return;
        if ((uintptr_t)head.ob_type == sig_bitmap_type) {
            HamtBitmap b;
            if (safe_read(&b, node, offsetof(HamtBitmap, b_array))) return;
            if ((b.b_bitmap & bit) == 0) break;
            uintptr_t kv[2];
            size_t idx = (size_t)__builtin_popcount(b.b_bitmap & (bit - 1));
            if (safe_read(kv, node + offsetof(HamtBitmap, b_array) + idx * 2 * sizeof(void *),
                          sizeof kv))
                return;
            if (kv[0] == 0) { /* a sub-node */
                node = kv[1];
                continue;
            }
            if (kv[0] != sig_label_var) break;
            s->label = kv[1];
            s->label_state = LABEL_FOUND;
            return;
        } else if ((uintptr_t)head.ob_type == sig_array_type) {
            size_t slot = ((uint32_t)sig_label_hash >> shift) & 0x1f;
            if (safe_read(&node, node + offsetof(HamtArray, a_array) + slot * sizeof(void *),
                          sizeof node))
                return;
        } else {
            return; /* a collision node (or unreadable): leave it to the GIL-time reading */
        }
    }
    s->label_state = LABEL_UNSET;
}

#define SIG_MAX_CHUNKS 8
#define FRAME_HEAD offsetof(_PyInterpreterFrame, localsplus)

/* The thread's frame-stack chunks as [start, end) ranges a frame head may be read from
 * directly: chunks in the chain are mapped, and only this thread (interrupted now) frees
 * them, after unlinking them. The chain itself is read safely: a chunk being linked in
 * may not be fully written yet (then its range is empty or the walk stops). */
static int sig_chunks(PyThreadState *ts, uintptr_t *lo, uintptr_t *hi) {
    int k = 0;
    uintptr_t c = (uintptr_t)ts->datastack_chunk;
    while (c != 0 && k < SIG_MAX_CHUNKS) {
        _PyStackChunk head;
        if (safe_read(&head, c, offsetof(_PyStackChunk, data))) break;
        lo[k] = c + offsetof(_PyStackChunk, data);
        hi[k] = c + head.size >= lo[k] + FRAME_HEAD ? c + head.size - FRAME_HEAD : lo[k];
        k++;
        c = (uintptr_t)head.previous;
    }
    return k;
}

static void sig_walk(SigStack *s) {
    s->n = -1;
    s->truncated = 0;
    s->label_state = LABEL_UNKNOWN;
    PyThreadState *ts = PyGILState_GetThisThreadState(); /* pthread_getspecific */
    if (ts == NULL || ts->cframe == NULL) return;
    uintptr_t lo[SIG_MAX_CHUNKS], hi[SIG_MAX_CHUNKS];
    int nchunks = sig_chunks(ts, lo, hi);
    uintptr_t fp = (uintptr_t)ts->cframe->current_frame;
    int n = 0;
    while (fp != 0) {
        if (n == SIG_MAX_FRAMES) {
            s->truncated = 1;
            break;
        }
        _PyInterpreterFrame f;
        int direct = 0;
        for (int i = 0; i < nchunks && !direct; i++) direct = fp >= lo[i] && fp <= hi[i];
        if (direct)
            memcpy(&f, (const void *)fp, FRAME_HEAD); /* in a live chunk of this thread */
        else if (safe_read(&f, fp, FRAME_HEAD)) /* a generator's frame, or not readable */
            return;
        uintptr_t first = (uintptr_t)f.f_code + offsetof(PyCodeObject, co_code_adaptive);
        s->frames[n].code = (uintptr_t)f.f_code;
        s->frames[n].instr = (uintptr_t)f.prev_instr < first
                                 ? -1
                                 : (int32_t)(((uintptr_t)f.prev_instr - first) / sizeof(_Py_CODEUNIT));
        s->frames[n].owner = f.owner;
        n++;
        fp = (uintptr_t)f.previous;
    }
    s->n = n;
    sig_find_label(s, (uintptr_t)ts->context);
}

static void sig_handler(int signo, siginfo_t *info, void *uc) {
    (void)signo, (void)info, (void)uc;
    int saved = errno;
    long me = (long)syscall(SYS_gettid);
    for (int i = 0; i < SIG_SLOTS; i++) {
        int armed = SIG_ARMED;
        if (atomic_load(&sig_slots[i].tid) == me &&
            atomic_compare_exchange_strong(&sig_slots[i].state, &armed, SIG_BUSY)) {
            sig_walk(&sig_slots[i].out);
            atomic_store(&sig_slots[i].state, SIG_DONE);
            sem_post(&sig_done); /* async-signal-safe */
            break;
        }
    }
    errno = saved;
}

/* Is the handler on sig_no still ours (the program may have installed its own)? */
static int sig_ours(void) {
    struct sigaction cur;
    return sig_no != 0 && sigaction(sig_no, NULL, &cur) == 0 && (cur.sa_flags & SA_SIGINFO) &&
           cur.sa_sigaction == sig_handler;
}

static int sig_setup(void);

/* Install the handler on a free real-time signal (once set up, sig_setup), or check it
 * is still there. With the GIL. Returns 0, or -1 (capture unavailable; no error set). */
static int sig_install(void) {
    if (sig_broken) return -1;
    if (sig_no != 0) {
        if (sig_ours()) {
            sig_pid = getpid(); /* a forked child reads its own memory */
            return 0;
        }
        sig_no = 0; /* the program took that signal over since: find another one */
    }
    if (sig_setup() != 0) return -1;
    sig_pid = getpid();
    for (int s = SIGRTMIN + 4; s <= SIGRTMAX - 4; s++) {
        struct sigaction old;
        if (sigaction(s, NULL, &old) != 0 || old.sa_handler != SIG_DFL) continue;
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = sig_handler;
        sa.sa_flags = SA_SIGINFO | SA_RESTART;
        sigemptyset(&sa.sa_mask);
        if (sigaction(s, &sa, NULL) != 0) return -1;
        sig_no = s;
        return 0;
    }
    return -1;
}

/* Once per process: the HAMT node types from real contexts, the tables, the semaphore,
 * and whether process_vm_readv works here. 0, or -1 (capture stays unavailable). */
static int sig_setup_once(void) {
    PyObject *empty = PyContext_New(), *big = PyContext_New();
    int ok = empty != NULL && big != NULL && PyContext_Enter(big) == 0;
    for (int i = 0; ok && i < 64; i++) {
        PyObject *var = PyContextVar_New("profkit_probe", NULL), *tok = NULL;
        ok = var != NULL && (tok = PyContextVar_Set(var, Py_None)) != NULL;
        Py_XDECREF(tok);
        Py_XDECREF(var);
    }
    if (big != NULL && ((PyContext *)big)->ctx_entered) ok = PyContext_Exit(big) == 0 && ok;
    if (ok) {
        sig_bitmap_type = (uintptr_t)Py_TYPE(((PyContext *)empty)->ctx_vars->h_root);
        sig_array_type = (uintptr_t)Py_TYPE(((PyContext *)big)->ctx_vars->h_root);
        ok = strcmp(((PyTypeObject *)sig_bitmap_type)->tp_name, "hamt_bitmap_node") == 0 &&
             strcmp(((PyTypeObject *)sig_array_type)->tp_name, "hamt_array_node") == 0;
    }
    Py_XDECREF(empty);
    Py_XDECREF(big);
    PyErr_Clear();
    if (!ok) return -1;
    if ((sig_codes == NULL && (sig_codes = PyDict_New()) == NULL) ||
        (sig_frames == NULL && (sig_frames = PyDict_New()) == NULL) ||
        (sig_empty == NULL && (sig_empty = PyTuple_New(0)) == NULL)) {
        PyErr_Clear();
        return -1;
    }
    sig_pid = getpid();
    long probe = 0;
    if (safe_read(&probe, (uintptr_t)&sig_pid, sizeof sig_pid)) return -1; /* no process_vm_readv */
    if (sem_init(&sig_done, 0, 0) != 0) return -1;
    return 0;
}

static int sig_setup(void) {
    static int result = 1; /* 1: not tried yet */
    if (result == 1) result = sig_setup_once();
    return result;
}

/* Without the GIL: have each of threads tids[0..n) (n <= SIG_SLOTS) record its stack
 * at once; copy each recording into outs[i] (n = -1 there when it did not record). */
static void sig_capture(const long *tids, SigStack **outs, int n) {
    int sent = 0;
    for (int i = 0; i < n; i++) outs[i]->n = -1;
    while (sem_trywait(&sig_done) == 0) {
    }
    if (!sig_ours()) return; /* the program took the signal over since: send nothing */
    for (int i = 0; i < n; i++) {
        atomic_store(&sig_slots[i].tid, tids[i]);
        atomic_store(&sig_slots[i].state, SIG_ARMED);
        if (sig_no == 0 || syscall(SYS_tgkill, sig_pid, tids[i], sig_no) != 0)
            atomic_store(&sig_slots[i].state, SIG_IDLE);
        else
            sent++;
    }
    long long give_up = mono_ns() + SIG_TIMEOUT_NS;
    for (int done = 0; done < sent;) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts); /* sem_timedwait's clock */
        long long left = give_up - mono_ns();
        if (left <= 0) break;
        ts = ns_ts(ts_ns(ts) + left);
        if (sem_timedwait(&sig_done, &ts) == 0) done++;
        else if (errno != EINTR) break;
    }
    for (int i = 0; i < n; i++) {
        int armed = SIG_ARMED;
        if (atomic_compare_exchange_strong(&sig_slots[i].state, &armed, SIG_IDLE)) continue;
        long long stuck = mono_ns() + SIG_STUCK_NS; /* a handler started late: let it end */
        while (atomic_load(&sig_slots[i].state) == SIG_BUSY && mono_ns() < stuck) sleep_ns(5000);
        if (atomic_load(&sig_slots[i].state) == SIG_BUSY) {
            sig_broken = 1; /* never reuse a buffer a handler may still write */
            sig_no = 0;
            continue;
        }
        if (atomic_load(&sig_slots[i].state) == SIG_DONE) {
            SigStack *src = &sig_slots[i].out;
            outs[i]->n = src->n;
            outs[i]->label_state = src->label_state;
            outs[i]->label = src->label;
            outs[i]->truncated = src->truncated;
            if (src->n > 0) memcpy(outs[i]->frames, src->frames, sizeof(SigFrame) * (size_t)src->n);
        }
        atomic_store(&sig_slots[i].state, SIG_IDLE);
    }
}

/* With the GIL: the code object at `addr`, if the sampler may use it (borrowed), or NULL. */
static PyObject *sig_code(uintptr_t addr) {
    PyObject *key = PyLong_FromVoidPtr((void *)addr);
    if (key == NULL) return NULL;
    PyObject *code = PyDict_GetItemWithError(sig_codes, key);
    if (code == NULL && !PyErr_Occurred()) {
        PyObject head;
        if (safe_read(&head, addr, sizeof head) == 0 && head.ob_type == &PyCode_Type &&
            head.ob_refcnt > 0 && head.ob_refcnt < ((Py_ssize_t)1 << 40) &&
            PyDict_SetItem(sig_codes, key, (PyObject *)addr) == 0)
            code = (PyObject *)addr;
    }
    Py_DECREF(key);
    return code;
}

/* With the GIL: the frame (code, f_lasti, line) of `code` at instruction `instr`, from
 * sig_frames (new reference), or Py_None (a frame still being set up: skipped, as
 * sys._current_frames does) or NULL with no error (the address failed its check). A
 * cached frame holds its code object: an address found there is that object. */
static PyObject *sig_frame(const SigFrame *f) {
    int instr = f->instr;
    PyObject *key = NULL;
    if (instr >= -1 && instr < (1 << 19) && f->owner < 8) {
        unsigned long long k = ((unsigned long long)(f->code >> 3) << 23) |
                               ((unsigned long long)(instr + 1) << 3) | (unsigned long long)f->owner;
        if ((f->code >> 3) < (1ULL << 41) && (key = PyLong_FromUnsignedLongLong(k)) == NULL) return NULL;
        PyObject *hit = key ? PyDict_GetItemWithError(sig_frames, key) : NULL;
        if (hit != NULL) {
            Py_DECREF(key);
            return Py_NewRef(hit);
        }
        if (PyErr_Occurred()) {
            Py_XDECREF(key);
            return NULL;
        }
    }
    PyObject *code = sig_code(f->code);
    if (code == NULL) {
        Py_XDECREF(key);
        return NULL;
    }
    PyCodeObject *co = (PyCodeObject *)code;
    PyObject *t;
    if (f->owner != FRAME_OWNED_BY_GENERATOR && instr < co->_co_firsttraceable) {
        t = Py_NewRef(Py_None);
    } else {
        int lasti = instr < 0 ? -1 : instr * (int)sizeof(_Py_CODEUNIT);
        t = Py_BuildValue("(Oii)", code, lasti, PyCode_Addr2Line(co, lasti < 0 ? 0 : lasti));
    }
    if (t != NULL && key != NULL && PyDict_SetItem(sig_frames, key, t) < 0) Py_CLEAR(t);
    Py_XDECREF(key);
    return t;
}

/* With the GIL: ((code, lasti, line), ...) leaf first, the labels (a value of the
 * label variable, () when unset, Ellipsis when unknown) and whether frames nearer the
 * root were left out; or None if a code pointer failed its check. `alive` maps id() to
 * the label values labels.py keeps alive. */
static PyObject *sig_resolve(const SigStack *s, PyObject *alive) {
    PyObject *frames = PyTuple_New(s->n);
    if (frames == NULL) return NULL;
    Py_ssize_t kept = 0;
    for (int i = 0; i < s->n; i++) {
        PyObject *t = sig_frame(&s->frames[i]);
        if (t == NULL) {
            Py_DECREF(frames);
            if (PyErr_Occurred()) return NULL;
            Py_RETURN_NONE;
        }
        if (t == Py_None) {
            Py_DECREF(t);
            continue;
        }
        PyTuple_SET_ITEM(frames, kept++, t);
    }
    if (_PyTuple_Resize(&frames, kept) < 0) return NULL;
    PyObject *labels = Py_Ellipsis;
    if (s->label_state == LABEL_UNSET) {
        labels = sig_empty;
    } else if (s->label_state == LABEL_FOUND && alive != Py_None) {
        PyObject *key = PyLong_FromVoidPtr((void *)s->label);
        PyObject *v = key ? PyDict_GetItemWithError(alive, key) : NULL;
        Py_XDECREF(key);
        if (v != NULL) labels = v;
        else if (PyErr_Occurred()) {
            Py_DECREF(frames);
            return NULL;
        }
    }
    return Py_BuildValue("(NOO)", frames, labels, s->truncated ? Py_True : Py_False);
}
