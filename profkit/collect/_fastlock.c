/* _fastlock: the C fast path of profkit's profiled threading.Lock.
 *
 * FastLockBase is a lock built on PyThread_type_lock (like _thread.lock) whose
 * uncontended acquire/release never leave C. Only two cases call back into Python:
 *  - a blocking acquire that finds the lock taken calls self._acquire_slow(timeout),
 *    which does the profiling bookkeeping and calls self._block(timeout);
 *  - a release that has waiters to charge (at most every `min_charge_ns` per lock)
 *    or a pending block sample calls self._release_slow(), which calls
 *    self._raw_release().
 * The waiter bookkeeping fields are exposed as attributes for the Python subclass.
 * Blocking follows CPython's acquire_timed: the GIL is released, signals are
 * handled (an exception from a handler aborts the wait), the timeout is honoured.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <pythread.h>

typedef struct {
    PyObject_HEAD
    PyThread_type_lock lock;
    char locked;
    long long n_waiters, mark_sum, last_reset;
    PyObject *pending;
    PyObject *site;
    PyObject *weakreflist;
    PyObject *dict;
    unsigned long owner; /* RLock only: owning thread ident (valid while count > 0) */
    unsigned long count; /* RLock only: recursion depth */
} FastLock;

static long long min_charge_ns = 50000;
static PyObject *str_acquire_slow, *str_release_slow;

static long long now_ns(void) {
#if PY_VERSION_HEX >= 0x030D0000
    PyTime_t t;
    if (PyTime_PerfCounterRaw(&t) < 0) return 0;
    return (long long)t;
#else
    return (long long)_PyTime_GetPerfCounter();
#endif
}

static PyObject *FastLock_new(PyTypeObject *type, PyObject *args, PyObject *kw) {
    FastLock *self = (FastLock *)type->tp_alloc(type, 0);
    if (self == NULL) return NULL;
    self->lock = PyThread_allocate_lock();
    if (self->lock == NULL) {
        Py_DECREF(self);
        PyErr_SetString(PyExc_MemoryError, "cannot allocate lock");
        return NULL;
    }
    self->pending = Py_None;
    Py_INCREF(Py_None);
    self->site = PyUnicode_FromString("?");
    if (self->site == NULL) {
        Py_DECREF(self);
        return NULL;
    }
    return (PyObject *)self;
}

static int FastLock_traverse(FastLock *self, visitproc visit, void *arg) {
    Py_VISIT(self->pending);
    Py_VISIT(self->site);
    Py_VISIT(self->dict);
    return 0;
}

static int FastLock_clear(FastLock *self) {
    Py_CLEAR(self->pending);
    Py_CLEAR(self->site);
    Py_CLEAR(self->dict);
    return 0;
}

static void FastLock_dealloc(FastLock *self) {
    PyTypeObject *tp = Py_TYPE(self);
    if (PyObject_GC_IsTracked((PyObject *)self)) PyObject_GC_UnTrack(self);
    if (self->weakreflist != NULL) PyObject_ClearWeakRefs((PyObject *)self);
    if (self->lock != NULL) {
        if (self->locked) PyThread_release_lock(self->lock);
        PyThread_free_lock(self->lock);
    }
    FastLock_clear(self);
    tp->tp_free((PyObject *)self);
}

/* Blocking acquire with the GIL released; CPython's acquire_timed. */
static PyLockStatus acquire_timed(PyThread_type_lock lock, long long timeout_us) {
    PyLockStatus r = PyThread_acquire_lock_timed(lock, 0, 0);
    if (r == PY_LOCK_FAILURE && timeout_us != 0) {
        long long deadline_ns = timeout_us > 0 ? now_ns() + timeout_us * 1000 : 0;
        for (;;) {
            Py_BEGIN_ALLOW_THREADS
            r = PyThread_acquire_lock_timed(lock, timeout_us, 1);
            Py_END_ALLOW_THREADS
            if (r != PY_LOCK_INTR) break;
            if (Py_MakePendingCalls() < 0) return PY_LOCK_INTR;
            if (timeout_us > 0) {
                long long left = deadline_ns - now_ns();
                if (left <= 0) {
                    r = PY_LOCK_FAILURE;
                    break;
                }
                timeout_us = left / 1000;
            }
        }
    }
    return r;
}

static int timeout_to_us(double timeout, long long *out) {
    if (timeout == -1) {
        *out = -1;
        return 0;
    }
    if (timeout < 0) {
        PyErr_SetString(PyExc_ValueError, "timeout value must be a non-negative number");
        return -1;
    }
    if (timeout * 1e6 > (double)PY_TIMEOUT_MAX) {
        PyErr_SetString(PyExc_OverflowError, "timeout value is too large");
        return -1;
    }
    *out = (long long)(timeout * 1e6);
    return 0;
}

static PyObject *call_slow(FastLock *self, double timeout) {
    PyObject *t = PyFloat_FromDouble(timeout);
    if (t == NULL) return NULL;
    PyObject *r = PyObject_CallMethodOneArg((PyObject *)self, str_acquire_slow, t);
    Py_DECREF(t);
    return r;
}

/* Parse acquire()'s (blocking, timeout) like _thread.lock; -1 with an exception set on error. */
static int parse_acquire_args(PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames,
                              int *blocking, double *timeout) {
    Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
    if (nargs > 2) {
        PyErr_SetString(PyExc_TypeError, "acquire() takes at most 2 arguments");
        return -1;
    }
    for (Py_ssize_t i = 0; i < nargs + nkw; i++) {
        const char *name = i < nargs ? (i == 0 ? "blocking" : "timeout")
                                     : PyUnicode_AsUTF8(PyTuple_GET_ITEM(kwnames, i - nargs));
        if (name == NULL) return -1;
        if (strcmp(name, "blocking") == 0) {
            *blocking = PyObject_IsTrue(args[i]);
            if (*blocking < 0) return -1;
        } else if (strcmp(name, "timeout") == 0) {
            *timeout = PyFloat_AsDouble(args[i]);
            if (*timeout == -1 && PyErr_Occurred()) return -1;
        } else {
            PyErr_Format(PyExc_TypeError, "acquire() got an unexpected keyword argument '%s'", name);
            return -1;
        }
    }
    if (!*blocking && *timeout != -1) {
        PyErr_SetString(PyExc_ValueError, "can't specify a timeout for a non-blocking call");
        return -1;
    }
    return 0;
}

/* acquire(blocking=True, timeout=-1) */
static PyObject *FastLock_acquire(FastLock *self, PyObject *const *args, Py_ssize_t nargs,
                                  PyObject *kwnames) {
    if (nargs == 0 && kwnames == NULL) {
        if (PyThread_acquire_lock_timed(self->lock, 0, 0) == PY_LOCK_ACQUIRED) {
            self->locked = 1;
            Py_RETURN_TRUE;
        }
        return call_slow(self, -1.0);
    }
    int blocking = 1;
    double timeout = -1;
    if (parse_acquire_args(args, nargs, kwnames, &blocking, &timeout) < 0) return NULL;
    long long us;
    if (timeout_to_us(timeout, &us) < 0) return NULL;
    if (PyThread_acquire_lock_timed(self->lock, 0, 0) == PY_LOCK_ACQUIRED) {
        self->locked = 1;
        Py_RETURN_TRUE;
    }
    if (!blocking || us == 0) Py_RETURN_FALSE;
    return call_slow(self, timeout);
}

/* _block(timeout) -> bool: blocking acquire, no profiling (called by _acquire_slow). */
static PyObject *FastLock_block(FastLock *self, PyObject *arg) {
    double timeout = PyFloat_AsDouble(arg);
    if (timeout == -1 && PyErr_Occurred()) return NULL;
    long long us;
    if (timeout_to_us(timeout, &us) < 0) return NULL;
    PyLockStatus r = acquire_timed(self->lock, us);
    if (r == PY_LOCK_INTR) return NULL;
    if (r == PY_LOCK_ACQUIRED) {
        self->locked = 1;
        Py_RETURN_TRUE;
    }
    Py_RETURN_FALSE;
}

static PyObject *FastLock_raw_release(FastLock *self, PyObject *unused) {
    if (!self->locked) {
        PyErr_SetString(PyExc_RuntimeError, "release unlocked lock");
        return NULL;
    }
    self->locked = 0;
    PyThread_release_lock(self->lock);
    Py_RETURN_NONE;
}

static PyObject *FastLock_release(FastLock *self, PyObject *unused) {
    if (!self->locked) {
        PyErr_SetString(PyExc_RuntimeError, "release unlocked lock");
        return NULL;
    }
    if (self->pending == Py_None || self->pending == NULL) {
        if (self->n_waiters == 0 || now_ns() - self->last_reset < min_charge_ns) {
            self->locked = 0;
            PyThread_release_lock(self->lock);
            Py_RETURN_NONE;
        }
    }
    return PyObject_CallMethodNoArgs((PyObject *)self, str_release_slow);
}

static PyObject *FastLock_enter(FastLock *self, PyObject *unused) {
    return FastLock_acquire(self, NULL, 0, NULL);
}

static PyObject *FastLock_exit(FastLock *self, PyObject *const *args, Py_ssize_t nargs) {
    return FastLock_release(self, NULL);
}

static PyObject *FastLock_locked(FastLock *self, PyObject *unused) {
    return PyBool_FromLong(self->locked);
}

static PyObject *FastLock_at_fork_reinit(FastLock *self, PyObject *unused) {
    PyThread_type_lock fresh = PyThread_allocate_lock();
    if (fresh == NULL) {
        PyErr_SetString(PyExc_MemoryError, "cannot allocate lock");
        return NULL;
    }
    /* the old lock may be held by a thread that does not exist in the child: drop it */
    self->lock = fresh;
    self->locked = 0;
    self->n_waiters = self->mark_sum = self->last_reset = 0;
    Py_INCREF(Py_None);
    Py_XSETREF(self->pending, Py_None);
    Py_RETURN_NONE;
}

static PyMethodDef FastLock_methods[] = {
    {"acquire", (PyCFunction)(void (*)(void))FastLock_acquire, METH_FASTCALL | METH_KEYWORDS,
     "acquire(blocking=True, timeout=-1) -> bool"},
    {"release", (PyCFunction)FastLock_release, METH_NOARGS, "release()"},
    {"acquire_lock", (PyCFunction)(void (*)(void))FastLock_acquire, METH_FASTCALL | METH_KEYWORDS, NULL},
    {"release_lock", (PyCFunction)FastLock_release, METH_NOARGS, NULL},
    {"__enter__", (PyCFunction)FastLock_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)(void (*)(void))FastLock_exit, METH_FASTCALL, NULL},
    {"locked", (PyCFunction)FastLock_locked, METH_NOARGS, "locked() -> bool"},
    {"locked_lock", (PyCFunction)FastLock_locked, METH_NOARGS, NULL},
    {"_block", (PyCFunction)FastLock_block, METH_O, "_block(timeout) -> bool (no profiling)"},
    {"_raw_release", (PyCFunction)FastLock_raw_release, METH_NOARGS, "release, no profiling"},
    {"_at_fork_reinit", (PyCFunction)FastLock_at_fork_reinit, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef FastLock_members[] = {
    {"_n_waiters", T_LONGLONG, offsetof(FastLock, n_waiters), 0, NULL},
    {"_mark_sum", T_LONGLONG, offsetof(FastLock, mark_sum), 0, NULL},
    {"_last_reset", T_LONGLONG, offsetof(FastLock, last_reset), 0, NULL},
    {"_pending", T_OBJECT, offsetof(FastLock, pending), 0, NULL},
    {"_site", T_OBJECT, offsetof(FastLock, site), 0, NULL},
    {"__weaklistoffset__", T_PYSSIZET, offsetof(FastLock, weakreflist), READONLY, NULL},
    {"__dictoffset__", T_PYSSIZET, offsetof(FastLock, dict), READONLY, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyTypeObject FastLockType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "profkit.collect._fastlock.FastLockBase",
    .tp_basicsize = sizeof(FastLock),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "Lock with a C fast path; subclassed by profkit's ProfiledLock.",
    .tp_new = FastLock_new,
    .tp_dealloc = (destructor)FastLock_dealloc,
    .tp_traverse = (traverseproc)FastLock_traverse,
    .tp_clear = (inquiry)FastLock_clear,
    .tp_methods = FastLock_methods,
    .tp_members = FastLock_members,
    .tp_weaklistoffset = offsetof(FastLock, weakreflist),
    .tp_dictoffset = offsetof(FastLock, dict),
};


/* ---- FastRLockBase: the same, reentrant (owner + recursion count) ---- */

static PyObject *FastRLock_acquire(FastLock *self, PyObject *const *args, Py_ssize_t nargs,
                                   PyObject *kwnames) {
    unsigned long tid = PyThread_get_thread_ident();
    if (self->count > 0 && self->owner == tid) {
        if (nargs == 0 && kwnames == NULL) {
            self->count++;
            Py_RETURN_TRUE;
        }
    } else if (nargs == 0 && kwnames == NULL) {
        if (PyThread_acquire_lock_timed(self->lock, 0, 0) == PY_LOCK_ACQUIRED) {
            self->locked = 1;
            self->owner = tid;
            self->count = 1;
            Py_RETURN_TRUE;
        }
        return call_slow(self, -1.0);
    }
    /* arguments given: validate like _thread.RLock, then the same steps */
    int blocking = 1;
    double timeout = -1;
    if (parse_acquire_args(args, nargs, kwnames, &blocking, &timeout) < 0) return NULL;
    long long us;
    if (timeout_to_us(timeout, &us) < 0) return NULL;
    if (self->count > 0 && self->owner == tid) {
        self->count++;
        Py_RETURN_TRUE;
    }
    if (PyThread_acquire_lock_timed(self->lock, 0, 0) == PY_LOCK_ACQUIRED) {
        self->locked = 1;
        self->owner = tid;
        self->count = 1;
        Py_RETURN_TRUE;
    }
    if (!blocking || us == 0) Py_RETURN_FALSE;
    return call_slow(self, timeout);
}

static PyObject *FastRLock_block(FastLock *self, PyObject *arg) {
    PyObject *r = FastLock_block(self, arg);
    if (r == Py_True) {
        self->owner = PyThread_get_thread_ident();
        self->count = 1;
    }
    return r;
}

static PyObject *FastRLock_raw_release(FastLock *self, PyObject *unused) {
    if (self->count == 0 || self->owner != PyThread_get_thread_ident()) {
        PyErr_SetString(PyExc_RuntimeError, "cannot release un-acquired lock");
        return NULL;
    }
    if (--self->count == 0) {
        self->owner = 0;
        self->locked = 0;
        PyThread_release_lock(self->lock);
    }
    Py_RETURN_NONE;
}

static PyObject *FastRLock_release(FastLock *self, PyObject *unused) {
    if (self->count == 0 || self->owner != PyThread_get_thread_ident()) {
        PyErr_SetString(PyExc_RuntimeError, "cannot release un-acquired lock");
        return NULL;
    }
    if (self->count > 1) {
        self->count--;
        Py_RETURN_NONE;
    }
    if (self->pending == Py_None || self->pending == NULL) {
        if (self->n_waiters == 0 || now_ns() - self->last_reset < min_charge_ns) {
            self->count = 0;
            self->owner = 0;
            self->locked = 0;
            PyThread_release_lock(self->lock);
            Py_RETURN_NONE;
        }
    }
    return PyObject_CallMethodNoArgs((PyObject *)self, str_release_slow);
}

static PyObject *FastRLock_enter(FastLock *self, PyObject *unused) {
    return FastRLock_acquire(self, NULL, 0, NULL);
}

static PyObject *FastRLock_exit(FastLock *self, PyObject *const *args, Py_ssize_t nargs) {
    return FastRLock_release(self, NULL);
}

static PyObject *FastRLock_is_owned(FastLock *self, PyObject *unused) {
    return PyBool_FromLong(self->count > 0 && self->owner == PyThread_get_thread_ident());
}

static PyObject *FastRLock_recursion_count(FastLock *self, PyObject *unused) {
    int mine = self->count > 0 && self->owner == PyThread_get_thread_ident();
    return PyLong_FromUnsignedLong(mine ? self->count : 0);
}

/* _raw_release_save() -> (count, owner): release completely (Condition.wait) */
static PyObject *FastRLock_raw_release_save(FastLock *self, PyObject *unused) {
    if (self->count == 0) {
        PyErr_SetString(PyExc_RuntimeError, "cannot release un-acquired lock");
        return NULL;
    }
    unsigned long count = self->count, owner = self->owner;
    self->count = 0;
    self->owner = 0;
    self->locked = 0;
    PyThread_release_lock(self->lock);
    return Py_BuildValue("(kk)", count, owner);
}

static PyObject *FastRLock_acquire_restore(FastLock *self, PyObject *state) {
    unsigned long count, owner;
    if (!PyArg_ParseTuple(state, "kk:_acquire_restore", &count, &owner)) return NULL;
    PyLockStatus r = acquire_timed(self->lock, -1);
    if (r != PY_LOCK_ACQUIRED) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_RuntimeError, "couldn't acquire lock");
        return NULL;
    }
    self->locked = 1;
    self->owner = owner;
    self->count = count;
    Py_RETURN_NONE;
}

static PyObject *FastRLock_at_fork_reinit(FastLock *self, PyObject *unused) {
    PyObject *r = FastLock_at_fork_reinit(self, unused);
    self->owner = 0;
    self->count = 0;
    return r;
}

static PyMethodDef FastRLock_methods[] = {
    {"acquire", (PyCFunction)(void (*)(void))FastRLock_acquire, METH_FASTCALL | METH_KEYWORDS,
     "acquire(blocking=True, timeout=-1) -> bool"},
    {"release", (PyCFunction)FastRLock_release, METH_NOARGS, "release()"},
    {"__enter__", (PyCFunction)FastRLock_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)(void (*)(void))FastRLock_exit, METH_FASTCALL, NULL},
    {"_is_owned", (PyCFunction)FastRLock_is_owned, METH_NOARGS, NULL},
    {"_recursion_count", (PyCFunction)FastRLock_recursion_count, METH_NOARGS, NULL},
    {"_raw_release_save", (PyCFunction)FastRLock_raw_release_save, METH_NOARGS, NULL},
    {"_acquire_restore", (PyCFunction)FastRLock_acquire_restore, METH_O, NULL},
    {"_block", (PyCFunction)FastRLock_block, METH_O, "_block(timeout) -> bool (no profiling)"},
    {"_raw_release", (PyCFunction)FastRLock_raw_release, METH_NOARGS, "release, no profiling"},
    {"_at_fork_reinit", (PyCFunction)FastRLock_at_fork_reinit, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject FastRLockType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "profkit.collect._fastlock.FastRLockBase",
    .tp_basicsize = sizeof(FastLock),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "Reentrant lock with a C fast path; subclassed by profkit's ProfiledRLock.",
    .tp_new = FastLock_new,
    .tp_dealloc = (destructor)FastLock_dealloc,
    .tp_traverse = (traverseproc)FastLock_traverse,
    .tp_clear = (inquiry)FastLock_clear,
    .tp_methods = FastRLock_methods,
    .tp_members = FastLock_members,
    .tp_weaklistoffset = offsetof(FastLock, weakreflist),
    .tp_dictoffset = offsetof(FastLock, dict),
};

static PyObject *set_min_charge_ns(PyObject *mod, PyObject *arg) {
    long long v = PyLong_AsLongLong(arg);
    if (v == -1 && PyErr_Occurred()) return NULL;
    min_charge_ns = v;
    Py_RETURN_NONE;
}

static PyMethodDef module_methods[] = {
    {"set_min_charge_ns", set_min_charge_ns, METH_O, "Rate limit of mutex charges per lock."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef moduledef = {
    PyModuleDef_HEAD_INIT, "_fastlock", "C fast path of profkit's profiled Lock.", -1,
    module_methods,
};

PyMODINIT_FUNC PyInit__fastlock(void) {
    str_acquire_slow = PyUnicode_InternFromString("_acquire_slow");
    str_release_slow = PyUnicode_InternFromString("_release_slow");
    if (!str_acquire_slow || !str_release_slow) return NULL;
    if (PyType_Ready(&FastLockType) < 0) return NULL;
    if (PyType_Ready(&FastRLockType) < 0) return NULL;
    PyObject *m = PyModule_Create(&moduledef);
    if (m == NULL) return NULL;
    Py_INCREF(&FastLockType);
    if (PyModule_AddObject(m, "FastLockBase", (PyObject *)&FastLockType) < 0) {
        Py_DECREF(&FastLockType);
        Py_DECREF(m);
        return NULL;
    }
    Py_INCREF(&FastRLockType);
    if (PyModule_AddObject(m, "FastRLockBase", (PyObject *)&FastRLockType) < 0) {
        Py_DECREF(&FastRLockType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
