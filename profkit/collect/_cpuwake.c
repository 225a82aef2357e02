/* _cpuwake: the CPU sampler's probes, without the GIL (Linux).
 *
 * A probe reads the CPU clock of every thread of the process but the sampler's (listed
 * from /proc/self/task), sleeps probe_ns, and reads those clocks again. A thread whose
 * clock advanced in between was on a CPU at that instant (it held the GIL, ran C code
 * without it, or was in the kernel); a thread waiting for the GIL, for I/O or for a lock
 * does not advance. With capture (capture_min_ns > 0, CPython 3.11), every thread that
 * advanced at least capture_min_ns records its own stack and the value of `label_var` in
 * its current context, in a signal handler, at that instant (_sigstack.h).
 *
 * prober_start / prober_take / prober_stop (_prober.h, with capture): a thread of its own
 * probes at every period; the sampler takes the ticks kept since its last turn whenever
 * it gets the GIL, and never asks the running thread to hand the GIL over.
 *
 * wait_and_read(deadline_ns, probe_ns, switch_us, capture_min_ns=0, label_var=None,
 * alive=None): the sampler's own thread sleeps until CLOCK_MONOTONIC reaches deadline_ns,
 * probes, then lowers the GIL switch interval to switch_us while it waits for the GIL (the
 * thread running Python hands it over ~switch_us after the probe at whatever line it is
 * on: its stack, read next, is where it was spending CPU) and puts it back once it holds
 * it. Used without capture, and for a CPU profile taken with a wall profile.
 *
 * A tick, as either returns it: (probe_ns, {kernel_tid: (cpu ns advanced during the
 * probe, cpu ns at its end)} of the threads that advanced, ident of the GIL holder at the
 * probe or 0, captures, clocks). captures is None without capture, else {kernel_tid:
 * (((code, f_lasti, line), ...) leaf first, labels, truncated)} of the threads that
 * recorded, labels being the variable's value (one of `alive`, a dict id -> value), ()
 * when unset, or Ellipsis when not known. clocks is None from wait_and_read, else
 * {kernel_tid: cpu ns at the probe} of every thread.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* A timespec as nanoseconds, and back (ns >= 0). */
static long long ts_ns(struct timespec ts) {
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static struct timespec ns_ts(long long ns) {
    struct timespec ts = {(time_t)(ns / 1000000000LL), (long)(ns % 1000000000LL)};
    return ts;
}

static long long mono_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts_ns(ts);
}

static void sleep_ns(long long ns) {
    struct timespec ts = ns_ts(ns);
    while (nanosleep(&ts, &ts) == EINTR) {
    }
}


#if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030C0000
/* 3.11: the thread holding the GIL is _PyRuntime.gilstate.tstate_current (what py-spy
 * --gil reads); the frame, context and HAMT layouts _sigstack.h reads. Other versions:
 * no holder, no capture, no prober. */
#define Py_BUILD_CORE 1
#undef _PyGC_FINALIZED /* pycore_gc.h defines it again */
#include "internal/pycore_runtime.h"
#include "internal/pycore_frame.h"
#include "internal/pycore_context.h"
#undef Py_BUILD_CORE
#define HAVE_CAPTURE 1
static uintptr_t gil_holder(void) {
    return (uintptr_t)_Py_atomic_load_relaxed(&_PyRuntime.gilstate.tstate_current);
}
#include "_sigstack.h"

#else
static uintptr_t gil_holder(void) { return 0; }
#endif

/* The ident of the thread whose state is `ts`, or 0 (it exited). Needs the GIL. */
static unsigned long ident_of(uintptr_t ts) {
    if (ts == 0) return 0;
    PyThreadState *t = PyInterpreterState_ThreadHead(PyInterpreterState_Get());
    for (; t != NULL; t = PyThreadState_Next(t)) {
        if ((uintptr_t)t == ts) return t->thread_id;
    }
    return 0;
}


#define CPUCLOCK_SCHED_PERTHREAD 6 /* CPUCLOCK_SCHED (2) | CPUCLOCK_PERTHREAD_MASK (4) */

typedef struct {
    long tid;
    long long cpu_ns;
    long long advance_ns;
} Reading;

static clockid_t thread_clock(long tid) {
    return (clockid_t)(((~(unsigned long)tid) << 3) | CPUCLOCK_SCHED_PERTHREAD);
}

/* Read the CPU clock of every thread but skip1 and skip2 into *out (malloc'd); return
 * the count or -1. */
static Py_ssize_t read_all(long skip1, long skip2, Reading **out) {
    DIR *dir = opendir("/proc/self/task");
    if (dir == NULL) return -1;
    Py_ssize_t n = 0, cap = 64;
    Reading *buf = malloc(sizeof(Reading) * cap);
    if (buf == NULL) {
        closedir(dir);
        return -1;
    }
    struct dirent *ent;
    while ((ent = readdir(dir)) != NULL) {
        if (ent->d_name[0] < '0' || ent->d_name[0] > '9') continue;
        long tid = strtol(ent->d_name, NULL, 10);
        if (tid <= 0 || tid == skip1 || tid == skip2) continue;
        struct timespec ts;
        if (clock_gettime(thread_clock(tid), &ts) != 0) continue; /* exited meanwhile */
        if (n == cap) {
            Reading *grown = realloc(buf, sizeof(Reading) * cap * 2);
            if (grown == NULL) break;
            buf = grown;
            cap *= 2;
        }
        buf[n].tid = tid;
        buf[n].cpu_ns = ts_ns(ts);
        buf[n].advance_ns = 0;
        n++;
    }
    closedir(dir);
    *out = buf;
    return n;
}


#ifndef HAVE_CAPTURE
typedef struct SigStack SigStack;
#endif
typedef struct {
    long tid;
    SigStack *stack; /* the thread's own recording at the probe */
} Captured;

/* One probe: who was on a CPU, and (with capture) where. */
typedef struct {
    long long probe_ns; /* how long the probe took */
    uintptr_t holder;   /* thread state holding the GIL at the probe */
    Py_ssize_t n;       /* readings; -1: /proc/self/task unreadable */
    Reading *readings;
    Py_ssize_t ncaps;
    Captured *caps;
} Tick;

static void tick_free(Tick *t) {
    for (Py_ssize_t i = 0; i < t->ncaps; i++) free(t->caps[i].stack);
    free(t->caps);
    free(t->readings);
    t->caps = NULL;
    t->readings = NULL;
    t->ncaps = 0;
}

static pthread_mutex_t probe_mu = PTHREAD_MUTEX_INITIALIZER; /* one probe at a time */

/* Without the GIL: read every thread's CPU clock (but skip1, skip2) over probe_ns; with
 * capture, every thread that advanced at least capture_min_ns records its stack. */
static void tick_probe(Tick *t, long skip1, long skip2, long long probe_ns,
                       long long capture_min_ns, int capture) {
    memset(t, 0, sizeof *t);
    pthread_mutex_lock(&probe_mu);
    long long start = mono_ns();
    t->holder = gil_holder();
    t->n = read_all(skip1, skip2, &t->readings);
    if (t->n > 0) {
        if (probe_ns > 0) sleep_ns(probe_ns);
        for (Py_ssize_t i = 0; i < t->n; i++) {
            struct timespec ts;
            Reading *r = &t->readings[i];
            if (clock_gettime(thread_clock(r->tid), &ts) != 0) {
                r->advance_ns = -1; /* exited */
                continue;
            }
            long long now = ts_ns(ts);
            r->advance_ns = now - r->cpu_ns;
            r->cpu_ns = now;
        }
    }
    t->probe_ns = mono_ns() - start;
#ifdef HAVE_CAPTURE
    /* every thread seen on a CPU records where it is, now */
    if (capture && t->n > 0 && (t->caps = calloc((size_t)t->n, sizeof(Captured))) != NULL) {
        for (Py_ssize_t i = 0; i < t->n; i++) {
            if (t->readings[i].advance_ns < capture_min_ns) continue;
            if ((t->caps[t->ncaps].stack = malloc(sizeof(SigStack))) == NULL) break;
            t->caps[t->ncaps++].tid = t->readings[i].tid;
        }
        for (Py_ssize_t i = 0; i < t->ncaps; i += SIG_SLOTS) {
            long tids[SIG_SLOTS];
            SigStack *outs[SIG_SLOTS];
            int k = (int)(t->ncaps - i < SIG_SLOTS ? t->ncaps - i : SIG_SLOTS);
            for (int j = 0; j < k; j++) {
                tids[j] = t->caps[i + j].tid;
                outs[j] = t->caps[i + j].stack;
            }
            sig_capture(tids, outs, k);
        }
        for (Py_ssize_t i = 0; i < t->ncaps; i++) { /* keep only the frames recorded */
            SigStack *st = t->caps[i].stack;
            size_t keep = offsetof(SigStack, frames) + sizeof(SigFrame) * (size_t)(st->n > 0 ? st->n : 0);
            SigStack *shrunk = realloc(st, keep);
            if (shrunk != NULL) t->caps[i].stack = shrunk;
        }
    }
#endif
    pthread_mutex_unlock(&probe_mu);
}

/* With the GIL: (probe_ns, {tid: (advanced, cpu_ns)} of threads that advanced, holder
 * ident, captures or None, {tid: cpu_ns} of every thread or None). */
static PyObject *tick_to_py(const Tick *t, PyObject *alive, int capture, int clocks) {
    PyObject *advanced = PyDict_New(), *caps = NULL, *all = NULL;
    if (advanced == NULL) return NULL;
    if (clocks && (all = PyDict_New()) == NULL) goto fail;
    for (Py_ssize_t i = 0; i < t->n; i++) {
        const Reading *r = &t->readings[i];
        if (r->advance_ns < 0) continue;
        PyObject *k = PyLong_FromLong(r->tid);
        if (k == NULL) goto fail;
        int err = 0;
        if (r->advance_ns > 0) {
            PyObject *v = Py_BuildValue("LL", r->advance_ns, r->cpu_ns);
            err = v == NULL ? -1 : PyDict_SetItem(advanced, k, v);
            Py_XDECREF(v);
        }
        if (!err && all != NULL) {
            PyObject *c = PyLong_FromLongLong(r->cpu_ns);
            err = c == NULL ? -1 : PyDict_SetItem(all, k, c);
            Py_XDECREF(c);
        }
        Py_DECREF(k);
        if (err) goto fail;
    }
    if (capture) {
        if ((caps = PyDict_New()) == NULL) goto fail;
#ifdef HAVE_CAPTURE
        for (Py_ssize_t i = 0; i < t->ncaps; i++) {
            if (t->caps[i].stack->n < 0) continue; /* did not record: read with the GIL */
            PyObject *v = sig_resolve(t->caps[i].stack, alive);
            PyObject *k = v ? PyLong_FromLong(t->caps[i].tid) : NULL;
            int err = (k == NULL) ? -1 : (v == Py_None ? 0 : PyDict_SetItem(caps, k, v));
            Py_XDECREF(k);
            Py_XDECREF(v);
            if (err < 0) goto fail;
        }
#endif
    } else {
        caps = Py_NewRef(Py_None);
    }
    if (all == NULL) all = Py_NewRef(Py_None);
    return Py_BuildValue("LNkNN", t->probe_ns, advanced, ident_of(t->holder), caps, all);
fail:
    Py_XDECREF(advanced);
    Py_XDECREF(caps);
    Py_XDECREF(all);
    return NULL;
}

static void set_label_var(PyObject *label_var) {
#ifdef HAVE_CAPTURE
    sig_label_var = 0;
    if (PyContextVar_CheckExact(label_var)) {
        Py_hash_t h = ((PyContextVar *)label_var)->var_hash;
        int32_t folded = (int32_t)(h & 0xffffffffl) ^ (int32_t)(h >> 32);
        sig_label_hash = folded == -1 ? -2 : folded;
        sig_label_var = (uintptr_t)label_var;
    }
#endif
}

#ifdef HAVE_CAPTURE
#include "_prober.h"
#endif

static PyObject *wait_and_read(PyObject *module, PyObject *args) {
    long long deadline_ns, probe_ns, capture_min_ns = 0;
    unsigned long switch_us;
    PyObject *label_var = Py_None, *alive = Py_None;
    if (!PyArg_ParseTuple(args, "LLk|LOO", &deadline_ns, &probe_ns, &switch_us, &capture_min_ns,
                          &label_var, &alive))
        return NULL;
    long self_tid = (long)syscall(SYS_gettid);
    unsigned long saved = _PyEval_GetSwitchInterval();
    int lowered = 0, capture = 0;
    Tick tick;
#ifdef HAVE_CAPTURE
    capture = capture_min_ns > 0 && sig_install() == 0;
    if (capture) set_label_var(label_var);
#endif

    Py_BEGIN_ALLOW_THREADS
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0); /* this thread's sleeps end on time (default 50 us late) */
    struct timespec until = ns_ts(deadline_ns);
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) == EINTR) {
    }
    tick_probe(&tick, self_tid, 0, probe_ns, capture_min_ns, capture);
    if (switch_us > 0 && switch_us < saved) {
        _PyEval_SetSwitchInterval(switch_us);
        lowered = 1;
    }
    Py_END_ALLOW_THREADS

    /* put back what was there, unless the program changed it meanwhile */
    if (lowered && _PyEval_GetSwitchInterval() == switch_us) _PyEval_SetSwitchInterval(saved);
    PyObject *out = NULL;
    if (tick.n < 0)
        PyErr_SetFromErrnoWithFilename(PyExc_OSError, "/proc/self/task");
    else
        out = tick_to_py(&tick, alive, capture, 0);
    tick_free(&tick);
    return out;
}

/* forget(): drop the code objects the captures kept alive (the sampler stopped). */
static PyObject *forget(PyObject *module, PyObject *unused) {
#ifdef HAVE_CAPTURE
    if (sig_frames != NULL) PyDict_Clear(sig_frames);
    if (sig_codes != NULL) PyDict_Clear(sig_codes);
#endif
    Py_RETURN_NONE;
}

/* capture_signal() -> the signal stacks are captured with, or 0: not on this build or
 * process (installs the handler on first call). */
static PyObject *capture_signal(PyObject *module, PyObject *unused) {
#ifdef HAVE_CAPTURE
    return PyLong_FromLong(sig_install() == 0 ? sig_no : 0);
#else
    return PyLong_FromLong(0);
#endif
}

static PyMethodDef methods[] = {
    {"wait_and_read", wait_and_read, METH_VARARGS,
     "wait_and_read(deadline_ns, probe_ns, switch_us, capture_min_ns=0, label_var=None, "
     "alive=None) -> (probe_ns, {tid: (advanced, cpu_ns)}, holder, captures, None)"},
#ifdef HAVE_CAPTURE
    {"prober_start", prober_start, METH_VARARGS,
     "prober_start(period_ns, probe_ns, capture_min_ns, switch_us, label_var) -> cpu ns or -1"},
    {"prober_take", prober_take, METH_VARARGS,
     "prober_take(timeout_ns, alive, batch_ns=0) -> [(probe_ns, advanced, holder, captures, "
     "clocks), ...]"},
    {"prober_stop", prober_stop, METH_NOARGS, "prober_stop() -> (skipped ticks, prober cpu ns)"},
#endif
    {"forget", forget, METH_NOARGS, "forget(): release the code objects captures kept"},
    {"capture_signal", capture_signal, METH_NOARGS,
     "capture_signal() -> the signal stacks are captured with, or 0 (unavailable)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef moduledef = {
    PyModuleDef_HEAD_INIT, "_cpuwake", "The CPU sampler's wake-up without the GIL.", -1, methods,
};

PyMODINIT_FUNC PyInit__cpuwake(void) {
    PyObject *m = PyModule_Create(&moduledef);
#ifdef HAVE_CAPTURE
    /* how many ticks the prober keeps until they are taken (then it skips, counting) */
    if (m != NULL && PyModule_AddIntConstant(m, "PROBER_KEEPS", PB_MAX) < 0) Py_CLEAR(m);
#endif
    return m;
}
