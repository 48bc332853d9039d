/* work: see work.h. One FIFO of jobs under a mutex + condvar, one completion
 * list under another mutex. */
#include "work.h"
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

static pthread_mutex_t work_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work_cv = PTHREAD_COND_INITIALIZER;
static struct work_job *work_head, *work_tail;
static bool work_stopping;
static pthread_t *work_threads;
static int work_nthreads;

static pthread_mutex_t work_done_mu = PTHREAD_MUTEX_INITIALIZER;
static struct work_job *work_done_head, *work_done_tail;
static size_t work_inflight;
static void (*work_wake)(void *);
static void *work_wake_arg;

static void *work_main(void *arg)
{
	(void)arg;
	for (;;) {
		pthread_mutex_lock(&work_mu);
		while (!work_head && !work_stopping)
			pthread_cond_wait(&work_cv, &work_mu);
		struct work_job *j = work_head;
		if (!j) {
			pthread_mutex_unlock(&work_mu);
			return NULL;
		}
		work_head = j->next;
		if (!work_head)
			work_tail = NULL;
		pthread_mutex_unlock(&work_mu);

		j->run(j);

		j->next = NULL;
		pthread_mutex_lock(&work_done_mu);
		if (work_done_tail)
			work_done_tail->next = j;
		else
			work_done_head = j;
		work_done_tail = j;
		pthread_mutex_unlock(&work_done_mu);
		if (work_wake)
			work_wake(work_wake_arg);
	}
}

int work_start(int nthreads, void (*wake)(void *), void *wake_arg)
{
	work_wake = wake;
	work_wake_arg = wake_arg;
	work_stopping = false;
	work_threads = calloc((size_t)nthreads, sizeof *work_threads);
	if (!work_threads)
		abort();
	for (int i = 0; i < nthreads; i++)
		if (pthread_create(&work_threads[i], NULL, work_main, NULL) != 0)
			return -1;
	work_nthreads = nthreads;
	return 0;
}

void work_submit(struct work_job *j)
{
	j->next = NULL;
	pthread_mutex_lock(&work_mu);
	if (work_tail)
		work_tail->next = j;
	else
		work_head = j;
	work_tail = j;
	pthread_cond_signal(&work_cv);
	pthread_mutex_unlock(&work_mu);
	pthread_mutex_lock(&work_done_mu);
	work_inflight++;
	pthread_mutex_unlock(&work_done_mu);
}

void work_drain(void)
{
	pthread_mutex_lock(&work_done_mu);
	struct work_job *j = work_done_head;
	work_done_head = work_done_tail = NULL;
	pthread_mutex_unlock(&work_done_mu);
	while (j) {
		struct work_job *n = j->next;
		pthread_mutex_lock(&work_done_mu);
		work_inflight--;
		pthread_mutex_unlock(&work_done_mu);
		j->done(j);
		j = n;
	}
}

size_t work_pending(void)
{
	pthread_mutex_lock(&work_done_mu);
	size_t n = work_inflight;
	pthread_mutex_unlock(&work_done_mu);
	return n;
}

void work_stop(void)
{
	pthread_mutex_lock(&work_mu);
	work_stopping = true;
	pthread_cond_broadcast(&work_cv);
	pthread_mutex_unlock(&work_mu);
	for (int i = 0; i < work_nthreads; i++)
		pthread_join(work_threads[i], NULL);
	free(work_threads);
	work_threads = NULL;
	work_nthreads = 0;
}
