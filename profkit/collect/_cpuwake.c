/* _cpuwake: the sampler's wake-up, with the GIL released (Linux).
 *
 * wait_and_read(deadline_ns, probe_ns, switch_us) sleeps until CLOCK_MONOTONIC reaches
 * deadline_ns; then, still without the GIL, reads the CPU clock of every other thread
 * of the process (listed from /proc/self/task), sleeps probe_ns, and reads those
 * clocks again: a thread whose clock advanced in between was on a CPU at that instant
 * (it held the GIL, ran C code without it, or was in the kernel). A thread waiting
 * for the GIL, for I/O or for a lock does not advance. Nothing of the program is
 * disturbed while this is measured: the sampler has not asked for the GIL yet.
 *
 * Then it lowers the GIL switch interval to switch_us while it waits for the GIL, and
 * puts the interval back once it holds it. The thread running Python is thereby asked
 * to hand the GIL over ~switch_us after the probe, at whatever line it is on, instead
 * of up to 5 ms later or wherever it next releases the GIL on its own (a write, a log
 * line): its stack, read next, is where it was spending CPU.
 *
 * Returns (probe_wall_ns, {kernel_tid: (cpu ns advanced during the probe, cpu ns at
 * its end)}), only threads that advanced. The sampler keeps a thread's sample as "on
 * a CPU" only if the thread ran little between the probe and the reading of its
 * stack (it may have taken the GIL back meanwhile and moved on).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030C0000
/* 3.11: the thread holding the GIL is _PyRuntime.gilstate.tstate_current (what py-spy
 * --gil reads). Other versions: no holder is reported. */
#define Py_BUILD_CORE 1
#undef _PyGC_FINALIZED /* pycore_gc.h defines it again */
#include "internal/pycore_runtime.h"
#undef Py_BUILD_CORE
#define HAVE_GIL_HOLDER 1
static uintptr_t gil_holder(void) {
    return (uintptr_t)_Py_atomic_load_relaxed(&_PyRuntime.gilstate.tstate_current);
}
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

#include <dirent.h>
#include <sys/prctl.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define CPUCLOCK_SCHED_PERTHREAD 6 /* CPUCLOCK_SCHED (2) | CPUCLOCK_PERTHREAD_MASK (4) */

typedef struct {
    long tid;
    long long cpu_ns;
    long long advance_ns;
} Reading;

static long long mono_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static clockid_t thread_clock(long tid) {
    return (clockid_t)(((~(unsigned long)tid) << 3) | CPUCLOCK_SCHED_PERTHREAD);
}

/* Read every other thread's CPU clock into *out (malloc'd); return the count or -1. */
static Py_ssize_t read_all(long self_tid, Reading **out) {
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
        if (tid <= 0 || tid == self_tid) continue;
        struct timespec ts;
        if (clock_gettime(thread_clock(tid), &ts) != 0) continue; /* exited meanwhile */
        if (n == cap) {
            Reading *grown = realloc(buf, sizeof(Reading) * cap * 2);
            if (grown == NULL) break;
            buf = grown;
            cap *= 2;
        }
        buf[n].tid = tid;
        buf[n].cpu_ns = (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
        buf[n].advance_ns = 0;
        n++;
    }
    closedir(dir);
    *out = buf;
    return n;
}

static void sleep_ns(long long ns) {
    struct timespec ts;
    ts.tv_sec = (time_t)(ns / 1000000000LL);
    ts.tv_nsec = (long)(ns % 1000000000LL);
    while (nanosleep(&ts, &ts) == EINTR) {
    }
}

static PyObject *wait_and_read(PyObject *module, PyObject *args) {
    long long deadline_ns, probe_ns;
    unsigned long switch_us;
    if (!PyArg_ParseTuple(args, "LLk", &deadline_ns, &probe_ns, &switch_us)) return NULL;
    long self_tid = (long)syscall(SYS_gettid);
    Reading *readings = NULL;
    Py_ssize_t n;
    long long probe_start = 0, probe_end = 0;
    uintptr_t holder = 0;
    unsigned long saved = _PyEval_GetSwitchInterval();
    int lowered = 0;

    Py_BEGIN_ALLOW_THREADS
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0); /* this thread's sleeps end on time (default 50 us late) */
    struct timespec until;
    until.tv_sec = (time_t)(deadline_ns / 1000000000LL);
    until.tv_nsec = (long)(deadline_ns % 1000000000LL);
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) == EINTR) {
    }
    probe_start = mono_ns();
    holder = gil_holder();
    n = read_all(self_tid, &readings);
    if (n > 0) {
        if (probe_ns > 0) sleep_ns(probe_ns);
        for (Py_ssize_t i = 0; i < n; i++) {
            struct timespec ts;
            if (clock_gettime(thread_clock(readings[i].tid), &ts) != 0) {
                readings[i].advance_ns = -1; /* exited */
                continue;
            }
            long long now = (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
            readings[i].advance_ns = now - readings[i].cpu_ns;
            readings[i].cpu_ns = now;
        }
    }
    probe_end = mono_ns();
    if (switch_us > 0 && switch_us < saved) {
        _PyEval_SetSwitchInterval(switch_us);
        lowered = 1;
    }
    Py_END_ALLOW_THREADS

    /* put back what was there, unless the program changed it meanwhile */
    if (lowered && _PyEval_GetSwitchInterval() == switch_us) _PyEval_SetSwitchInterval(saved);
    unsigned long holder_ident = ident_of(holder);
    if (n < 0) return PyErr_SetFromErrnoWithFilename(PyExc_OSError, "/proc/self/task");
    PyObject *advanced = PyDict_New();
    if (advanced == NULL) goto fail;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (readings[i].advance_ns <= 0) continue;
        PyObject *k = PyLong_FromLong(readings[i].tid);
        PyObject *v = Py_BuildValue("LL", readings[i].advance_ns, readings[i].cpu_ns);
        int err = (k == NULL || v == NULL) ? -1 : PyDict_SetItem(advanced, k, v);
        Py_XDECREF(k);
        Py_XDECREF(v);
        if (err < 0) goto fail;
    }
    free(readings);
    return Py_BuildValue("LNk", probe_end - probe_start, advanced, holder_ident);
fail:
    free(readings);
    Py_XDECREF(advanced);
    return NULL;
}

static PyMethodDef methods[] = {
    {"wait_and_read", wait_and_read, METH_VARARGS,
     "wait_and_read(deadline_ns, probe_ns, switch_us) -> (probe_ns, {tid: (advanced, cpu_ns)}, holder)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef moduledef = {
    PyModuleDef_HEAD_INIT, "_cpuwake", "The CPU sampler's wake-up without the GIL.", -1, methods,
};

PyMODINIT_FUNC PyInit__cpuwake(void) { return PyModule_Create(&moduledef); }
