/* _threadctx: read a context variable in every thread's *current* context.
 *
 * context_values(var) -> {thread ident: value} for each thread whose current context
 * (the contextvars.Context it runs in right now: a task's while an asyncio task step
 * runs, the copy a thread pool runs a call in, else the thread's own) holds var.
 *
 * This is how profile labels follow the code rather than the thread: an asyncio task's
 * labels are in its context, and anyio/asgiref/asyncio.to_thread run sync calls inside a
 * copy of the caller's context, so a pool thread serving a request carries that
 * request's labels. The caller must hold the GIL (the sampler does): only the thread
 * owning a thread state changes its context, and only while holding the GIL. The thread
 * list is walked without the runtime's head lock, as faulthandler does; taking that
 * lock while allocating is what deadlocks sys._current_frames (gh-106883).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static PyObject *context_values(PyObject *self, PyObject *var) {
    if (!PyContextVar_CheckExact(var)) {
        PyErr_SetString(PyExc_TypeError, "context_values(var): var must be a ContextVar");
        return NULL;
    }
    PyObject *out = PyDict_New();
    if (!out) return NULL;
    PyInterpreterState *interp = PyInterpreterState_Get();
    for (PyThreadState *t = PyInterpreterState_ThreadHead(interp); t != NULL;
         t = PyThreadState_Next(t)) {
        PyObject *ctx = t->context;
        if (ctx == NULL) continue; /* never used contextvars: no labels */
        Py_INCREF(ctx);
        PyObject *value = PyObject_GetItem(ctx, var);
        Py_DECREF(ctx);
        if (value == NULL) {
            if (!PyErr_ExceptionMatches(PyExc_KeyError)) goto fail;
            PyErr_Clear();
            continue;
        }
        PyObject *key = PyLong_FromUnsignedLong(t->thread_id);
        int rc = key ? PyDict_SetItem(out, key, value) : -1;
        Py_XDECREF(key);
        Py_DECREF(value);
        if (rc) goto fail;
    }
    return out;
fail:
    Py_DECREF(out);
    return NULL;
}

static PyMethodDef methods[] = {
    {"context_values", context_values, METH_O,
     "context_values(var) -> {thread ident: value} of var in each thread's current context"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef moduledef = {
    PyModuleDef_HEAD_INIT, "_threadctx", "Context variables of every thread.", -1,
    methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__threadctx(void) { return PyModule_Create(&moduledef); }
