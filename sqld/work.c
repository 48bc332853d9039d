/* work: see work.h.
 *
 * Idle workers wait on a stack, each on a condition variable of its own, and
 * a new job goes straight to the worker that went idle last: with light load
 * the same one or two threads run everything and stay warm in cache, instead
 * of every job waking a different thread. Jobs that find no idle worker wait
 * in a FIFO. The network thread is woken once per batch of completions: only
 * a completion that finds the done list empty calls wake(). */
#include "work.h"
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

struct work_thread {
	pthread_t tid;
	pthread_cond_t cv;
	struct work_job *_Atomic job; /* handed over by work_submit */
	bool sleeping;             /* in pthread_cond_wait (under work_mu) */
	struct work_thread *next;  /* idle stack */
};

static pthread_mutex_t work_mu = PTHREAD_MUTEX_INITIALIZER;
static struct work_job *work_head, *work_tail; /* jobs no idle worker took */
static struct work_thread *work_idle;          /* most recently idle first */
static struct work_thread *work_threads;
static int work_nthreads;
static bool work_stopping;
/* One idle worker at a time polls for its next job for a short while before
 * it sleeps, and only while no other worker is running a job: a lone
 * client's next request usually comes one round trip after the answer, and
 * a job handed to a polling worker skips a futex wake-up (on the 2-core bench
 * machine, point-read p50 ~110 -> ~45 us). Under load the CPU is better
 * spent on the running jobs and the network thread: nobody polls while
 * another worker is busy or within WORK_CALM_NS of two jobs in flight at
 * once (8 clients on 2 cores lost a third of their throughput to it). The
 * poller yields its CPU every few microseconds: without that, a client or
 * the network thread scheduled on the poller's CPU waited out the whole
 * spin, and a benchmark's round trip took ~140 us instead of ~45 depending
 * on where the scheduler had put its threads. */
#define WORK_SPIN_NS 50000
static atomic_int work_spinners;
static atomic_int work_busy; /* workers running a job */
/* When a submit last found another job in flight (CLOCK_MONOTONIC ns):
 * within WORK_CALM_NS of it, the server has concurrent clients and nobody
 * polls. */
#define WORK_CALM_NS 20000000L
static _Atomic long long work_contended_ns;

static long long work_now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static inline void work_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

static pthread_mutex_t work_done_mu = PTHREAD_MUTEX_INITIALIZER;
static struct work_job *work_done_head, *work_done_tail;
static atomic_size_t work_inflight;
static void (*work_wake)(void *);
static void *work_wake_arg;

static void work_complete(struct work_job *j)
{
	j->next = NULL;
	pthread_mutex_lock(&work_done_mu);
	bool was_empty = !work_done_head;
	if (work_done_tail)
		work_done_tail->next = j;
	else
		work_done_head = j;
	work_done_tail = j;
	pthread_mutex_unlock(&work_done_mu);
	if (was_empty && work_wake)
		work_wake(work_wake_arg);
}

static void *work_main(void *arg)
{
	struct work_thread *t = arg;
	pthread_mutex_lock(&work_mu);
	for (;;) {
		struct work_job *j = t->job;
		t->job = NULL;
		if (!j && work_head) {
			j = work_head;
			work_head = j->next;
			if (!work_head)
				work_tail = NULL;
		}
		if (!j) {
			if (work_stopping)
				break;
			t->next = work_idle;
			work_idle = t;
			int no = 0;
			if (atomic_load(&work_busy) == 0 && atomic_load(&work_inflight) <= 1 &&
			    work_now_ns() - atomic_load(&work_contended_ns) > WORK_CALM_NS &&
			    atomic_compare_exchange_strong(&work_spinners, &no, 1)) {
				pthread_mutex_unlock(&work_mu);
				struct timespec t0, now;
				clock_gettime(CLOCK_MONOTONIC, &t0);
				for (unsigned i = 0; !atomic_load_explicit(&t->job, memory_order_acquire); i++) {
					work_cpu_relax();
					if ((i & 63) == 0) {
						if (atomic_load_explicit(&work_busy, memory_order_relaxed) != 0)
							break;
						/* a thread waiting for this CPU (the client, the
						 * network thread) runs now instead of after the spin */
						sched_yield();
						clock_gettime(CLOCK_MONOTONIC, &now);
						if ((now.tv_sec - t0.tv_sec) * 1000000000L + (now.tv_nsec - t0.tv_nsec) > WORK_SPIN_NS)
							break;
					}
				}
				atomic_store(&work_spinners, 0);
				pthread_mutex_lock(&work_mu);
			}
			while (!t->job && !work_stopping) {
				t->sleeping = true;
				pthread_cond_wait(&t->cv, &work_mu);
				t->sleeping = false;
			}
			if (!t->job) {
				/* stopping: leave the idle stack */
				for (struct work_thread **pp = &work_idle; *pp; pp = &(*pp)->next)
					if (*pp == t) {
						*pp = t->next;
						break;
					}
			}
			continue;
		}
		pthread_mutex_unlock(&work_mu);
		atomic_fetch_add(&work_busy, 1);
		j->run(j);
		atomic_fetch_sub(&work_busy, 1);
		work_complete(j);
		pthread_mutex_lock(&work_mu);
	}
	pthread_mutex_unlock(&work_mu);
	return NULL;
}

int work_start(int nthreads, void (*wake)(void *), void *wake_arg)
{
	work_wake = wake;
	work_wake_arg = wake_arg;
	work_stopping = false;
	work_threads = calloc((size_t)nthreads, sizeof *work_threads);
	if (!work_threads)
		abort();
	for (int i = 0; i < nthreads; i++) {
		pthread_cond_init(&work_threads[i].cv, NULL);
		if (pthread_create(&work_threads[i].tid, NULL, work_main, &work_threads[i]) != 0)
			return -1;
		work_nthreads = i + 1;
	}
	return 0;
}

void work_submit(struct work_job *j)
{
	j->next = NULL;
	if (atomic_fetch_add(&work_inflight, 1) >= 1)
		atomic_store(&work_contended_ns, work_now_ns());
	pthread_mutex_lock(&work_mu);
	struct work_thread *t = work_idle;
	bool sleeping = false;
	if (t) {
		work_idle = t->next;
		sleeping = t->sleeping;
		atomic_store_explicit(&t->job, j, memory_order_release);
	} else if (work_tail) {
		work_tail->next = j;
		work_tail = j;
	} else {
		work_head = work_tail = j;
	}
	pthread_mutex_unlock(&work_mu);
	if (t && sleeping)
		pthread_cond_signal(&t->cv);
}

void work_drain(void)
{
	pthread_mutex_lock(&work_done_mu);
	struct work_job *j = work_done_head;
	work_done_head = work_done_tail = NULL;
	pthread_mutex_unlock(&work_done_mu);
	while (j) {
		struct work_job *n = j->next;
		atomic_fetch_sub(&work_inflight, 1);
		j->done(j);
		j = n;
	}
}

size_t work_pending(void)
{
	return atomic_load(&work_inflight);
}

void work_stop(void)
{
	pthread_mutex_lock(&work_mu);
	work_stopping = true;
	for (int i = 0; i < work_nthreads; i++)
		pthread_cond_signal(&work_threads[i].cv);
	pthread_mutex_unlock(&work_mu);
	for (int i = 0; i < work_nthreads; i++) {
		pthread_join(work_threads[i].tid, NULL);
		pthread_cond_destroy(&work_threads[i].cv);
	}
	free(work_threads);
	work_threads = NULL;
	work_nthreads = 0;
	work_idle = NULL;
}
