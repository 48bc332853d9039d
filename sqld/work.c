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
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

struct work_thread {
	pthread_t tid;
	pthread_cond_t cv;
	struct work_job *job;      /* handed over by work_submit */
	struct work_thread *next;  /* idle stack */
};

static pthread_mutex_t work_mu = PTHREAD_MUTEX_INITIALIZER;
static struct work_job *work_head, *work_tail; /* jobs no idle worker took */
static struct work_thread *work_idle;          /* most recently idle first */
static struct work_thread *work_threads;
static int work_nthreads;
static bool work_stopping;

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
			while (!t->job && !work_stopping)
				pthread_cond_wait(&t->cv, &work_mu);
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
		j->run(j);
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
	atomic_fetch_add(&work_inflight, 1);
	pthread_mutex_lock(&work_mu);
	struct work_thread *t = work_idle;
	if (t) {
		work_idle = t->next;
		t->job = j;
	} else if (work_tail) {
		work_tail->next = j;
		work_tail = j;
	} else {
		work_head = work_tail = j;
	}
	pthread_mutex_unlock(&work_mu);
	if (t)
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
