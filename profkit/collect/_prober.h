/* _prober.h: the CPU sampler's clock, a plain thread that probes at each period.
 *
 * Included by _cpuwake.c on CPython 3.11 (Linux), after tick_probe and tick_to_py.
 * The prober wakes at each deadline, probes (who is on a CPU, and their own recording
 * of where: _sigstack.h) and keeps the tick; the sampler's Python thread takes what has
 * been kept whenever it gets the GIL (prober_take), like any other thread: the sampler
 * never asks the running thread to hand the GIL over, so a capture does not reshuffle
 * which request thread runs next, and the rate does not depend on when the GIL comes.
 *
 * prober_take waits until the oldest kept tick is batch_ns old before it asks for the GIL:
 * every hand-over to the sampler costs the running thread a switch, so fewer and fuller
 * takes cost the program less than one per tick.
 *
 * The GIL's hand-over is not fair: with several CPU-bound threads a waiter can wait for
 * seconds. So once the oldest kept tick is batch_ns + PB_FORCE_AFTER_NS old, the prober
 * lowers the switch interval to switch_us, so that every waiter asks for the GIL after
 * switch_us and the sampler's turn comes; prober_take puts it back. The prober never asks for the GIL
 * itself: a drop request from a thread that is not waiting can leave the holder waiting
 * for a switch that never comes (CPython's FORCE_SWITCHING). After PB_MAX kept ticks
 * (nobody takes them) it skips ticks, counting them.
 */
#define PB_MAX 512
#define PB_FORCE_AFTER_NS 50000000LL

static pthread_mutex_t pb_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pb_cv;       /* the prober waits for a start or its next deadline */
static pthread_cond_t pb_kept_cv;  /* prober_take waits for a tick */
static int pb_started = 0;
static long pb_tid = 0;            /* the prober's own kernel id */
static long long pb_next = 0;      /* next deadline (CLOCK_MONOTONIC); 0: stopped */
static long long pb_period = 0, pb_probe_ns = 0, pb_capture_min = 0;
static long pb_sampler = 0;        /* the sampler's kernel id: not probed */
static unsigned long pb_switch_us = 200, pb_saved_us = 5000;
static int pb_lowered = 0;
static long long pb_oldest = 0;    /* when the oldest kept tick was taken */
static long long pb_batch = 0;     /* prober_take waits until the oldest is this old */
static long long pb_skipped = 0;
static Tick pb_ticks[PB_MAX];
static int pb_n = 0;

static void *pb_main(void *arg) {
    (void)arg;
    pb_tid = (long)syscall(SYS_gettid);
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    pthread_mutex_lock(&pb_mu);
    for (;;) {
        if (pb_next == 0) {
            pthread_cond_wait(&pb_cv, &pb_mu);
            continue;
        }
        long long now = mono_ns();
        long long force_at = pb_n > 0 ? pb_oldest + pb_batch + PB_FORCE_AFTER_NS : 0;
        if (force_at && !pb_lowered && now >= force_at) {
            unsigned long cur = _PyEval_GetSwitchInterval();
            if (cur > pb_switch_us) {
                pb_saved_us = cur;
                _PyEval_SetSwitchInterval(pb_switch_us);
                pb_lowered = 1;
            }
        }
        if (now < pb_next) {
            long long wake = force_at && !pb_lowered && force_at < pb_next ? force_at : pb_next;
            struct timespec ts = ns_ts(wake);
            pthread_cond_timedwait(&pb_cv, &pb_mu, &ts);
            continue;
        }
        long long at = pb_next;
        pb_next = at + pb_period;
        if (pb_next < now) pb_next = now + pb_period / 2; /* fell behind: start afresh */
        if (pb_n == PB_MAX) {
            pb_skipped++;
            continue;
        }
        long sampler = pb_sampler;
        long long probe_ns = pb_probe_ns, capture_min = pb_capture_min;
        pthread_mutex_unlock(&pb_mu);
        Tick t;
        tick_probe(&t, sampler, pb_tid, probe_ns, capture_min, 1);
        pthread_mutex_lock(&pb_mu);
        if (pb_next != 0 && pb_n < PB_MAX && t.n >= 0) {
            if (pb_n == 0) pb_oldest = at;
            pb_ticks[pb_n++] = t;
            if (pb_n == 1) pthread_cond_signal(&pb_kept_cv); /* the taker then waits for the batch */
        } else {
            tick_free(&t); /* stopped meanwhile */
        }
    }
    return NULL;
}

static void pb_after_fork_child(void) {
    pthread_mutex_init(&pb_mu, NULL);
    pthread_mutex_init(&probe_mu, NULL);
    pb_started = 0; /* the prober thread is not in the child; its kept ticks are dropped */
    pb_next = 0;
    pb_n = 0;
    pb_tid = 0;
    pb_lowered = 0;
}

/* With pb_mu held: drop what is kept and put the switch interval back. */
static void pb_reset_locked(void) {
    for (int i = 0; i < pb_n; i++) tick_free(&pb_ticks[i]);
    pb_n = 0;
    if (pb_lowered && _PyEval_GetSwitchInterval() == pb_switch_us) _PyEval_SetSwitchInterval(pb_saved_us);
    pb_lowered = 0;
}

static long long pb_cpu_ns(void) {
    struct timespec ts;
    if (pb_tid == 0 || clock_gettime(thread_clock(pb_tid), &ts) != 0) return 0;
    return ts_ns(ts);
}

/* prober_start(period_ns, probe_ns, capture_min_ns, switch_us, label_var) -> the prober
 * thread's CPU ns so far, or -1 (unavailable): start probing on behalf of the calling
 * thread (the sampler). */
static PyObject *prober_start(PyObject *module, PyObject *args) {
    long long period_ns, probe_ns, capture_min_ns;
    unsigned long switch_us;
    PyObject *label_var;
    if (!PyArg_ParseTuple(args, "LLLkO", &period_ns, &probe_ns, &capture_min_ns, &switch_us,
                          &label_var))
        return NULL;
    if (period_ns <= 0 || capture_min_ns <= 0 || sig_install() != 0) return PyLong_FromLong(-1);
    set_label_var(label_var);
    if (!pb_started) {
        pthread_condattr_t attr;
        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        pthread_cond_init(&pb_cv, &attr);
        pthread_cond_init(&pb_kept_cv, &attr);
        pthread_condattr_destroy(&attr);
        pthread_t t;
        if (pthread_create(&t, NULL, pb_main, NULL) != 0) return PyLong_FromLong(-1);
        pthread_detach(t);
        static int atfork = 0;
        if (!atfork && pthread_atfork(NULL, NULL, pb_after_fork_child) == 0) atfork = 1;
        pb_started = 1;
    }
    pthread_mutex_lock(&pb_mu);
    pb_reset_locked();
    pb_sampler = (long)syscall(SYS_gettid);
    pb_period = period_ns;
    pb_probe_ns = probe_ns;
    pb_capture_min = capture_min_ns;
    pb_switch_us = switch_us > 0 ? switch_us : 200;
    pb_skipped = 0;
    pb_next = mono_ns() + period_ns;
    pthread_cond_signal(&pb_cv);
    pthread_mutex_unlock(&pb_mu);
    return PyLong_FromLongLong(pb_cpu_ns());
}

/* prober_take(timeout_ns, alive, batch_ns) -> the ticks kept since the last take, oldest
 * first, each as wait_and_read's with every thread's clock; waits up to timeout_ns
 * (without the GIL) until the oldest kept tick is batch_ns old. */
static PyObject *prober_take(PyObject *module, PyObject *args) {
    long long timeout_ns;
    PyObject *alive;
    long long batch_ns = 0;
    if (!PyArg_ParseTuple(args, "LO|L", &timeout_ns, &alive, &batch_ns)) return NULL;
    Tick *taken = NULL;
    int n = 0;
    Py_BEGIN_ALLOW_THREADS
    pthread_mutex_lock(&pb_mu);
    pb_batch = batch_ns > 0 ? batch_ns : 0;
    long long until = mono_ns() + (timeout_ns > 0 ? timeout_ns : 0);
    while (timeout_ns > 0 && pb_next != 0) {
        long long now = mono_ns(), ready = pb_n > 0 ? pb_oldest + pb_batch : until;
        if (now >= until || (pb_n > 0 && now >= ready)) break;
        struct timespec ts = ns_ts(ready < until ? ready : until);
        pthread_cond_timedwait(&pb_kept_cv, &pb_mu, &ts);
    }
    pthread_mutex_unlock(&pb_mu);
    Py_END_ALLOW_THREADS
    pthread_mutex_lock(&pb_mu); /* with the GIL now: what came meanwhile too */
    if (pb_n > 0 && (taken = malloc(sizeof(Tick) * (size_t)pb_n)) != NULL) {
        memcpy(taken, pb_ticks, sizeof(Tick) * (size_t)pb_n);
        n = pb_n;
        pb_n = 0;
    }
    pb_reset_locked(); /* frees nothing left if taken; puts the interval back */
    pthread_mutex_unlock(&pb_mu);
    PyObject *out = PyList_New(0);
    for (int i = 0; i < n && out != NULL; i++) {
        PyObject *w = tick_to_py(&taken[i], alive, 1, 1);
        if (w == NULL || PyList_Append(out, w) < 0) Py_CLEAR(out);
        Py_XDECREF(w);
    }
    for (int i = 0; i < n; i++) tick_free(&taken[i]);
    free(taken);
    return out;
}

/* prober_stop() -> (ticks skipped because nobody took them, the prober thread's CPU ns
 * so far): stop probing. */
static PyObject *prober_stop(PyObject *module, PyObject *unused) {
    pthread_mutex_lock(&pb_mu);
    pb_next = 0;
    pb_reset_locked();
    long long skipped = pb_skipped;
    pthread_mutex_unlock(&pb_mu);
    return Py_BuildValue("LL", skipped, pb_cpu_ns());
}
