/* Unit tests for sqld/work.c: every job runs once and completes once,
 * whether it finds a polling worker, a sleeping one or none; a lone
 * client's sequential jobs (the polling path) and bursts from several
 * threads (the queue) both; work_stop ends promptly while a worker polls. */
#include "t.h"
#include "work.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

struct tjob {
	struct work_job w;
	atomic_int runs, dones;
};

static pthread_mutex_t wmu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wcv = PTHREAD_COND_INITIALIZER;
static int wakes;

static void t_wake(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&wmu);
	wakes++;
	pthread_cond_signal(&wcv);
	pthread_mutex_unlock(&wmu);
}

static void t_run(struct work_job *w)
{
	atomic_fetch_add(&((struct tjob *)w)->runs, 1);
}

static void t_done(struct work_job *w)
{
	atomic_fetch_add(&((struct tjob *)w)->dones, 1);
}

/* Plays the network thread: drains until nothing is pending. */
static void drain_all(void)
{
	for (;;) {
		work_drain();
		if (work_pending() == 0)
			return;
		pthread_mutex_lock(&wmu);
		struct timespec dl;
		clock_gettime(CLOCK_REALTIME, &dl);
		dl.tv_nsec += 2000000;
		if (dl.tv_nsec >= 1000000000) {
			dl.tv_sec++;
			dl.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&wcv, &wmu, &dl);
		pthread_mutex_unlock(&wmu);
	}
}

static void sequential(void)
{
	CHECK(work_start(2, t_wake, NULL) == 0);
	enum { N = 2000 };
	struct tjob *j = calloc(N, sizeof *j);
	for (int i = 0; i < N; i++) {
		j[i].w.run = t_run;
		j[i].w.done = t_done;
		work_submit(&j[i].w);
		drain_all();
		/* pauses around the polling bound: some jobs find the worker
		 * polling, others asleep */
		if (i % 3 == 1)
			usleep((useconds_t)(rand() % 120));
	}
	int bad = 0;
	for (int i = 0; i < N; i++)
		bad += j[i].runs != 1 || j[i].dones != 1;
	CHECK(bad == 0);
	/* stop right after a job, while the worker that ran it may be polling */
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	work_stop();
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CHECK((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 < 1000);
	free(j);
}

enum { PT = 4, PN = 500 };
static struct tjob pj[PT][PN];

static void *producer(void *arg)
{
	struct tjob *j = arg;
	for (int i = 0; i < PN; i++) {
		j[i].w.run = t_run;
		j[i].w.done = t_done;
		work_submit(&j[i].w);
		if (i % 50 == 0)
			usleep(100);
	}
	return NULL;
}

static void concurrent(void)
{
	CHECK(work_start(3, t_wake, NULL) == 0);
	pthread_t th[PT];
	for (int t = 0; t < PT; t++)
		pthread_create(&th[t], NULL, producer, pj[t]);
	for (int t = 0; t < PT; t++)
		pthread_join(th[t], NULL);
	drain_all();
	int bad = 0;
	for (int t = 0; t < PT; t++)
		for (int i = 0; i < PN; i++)
			bad += pj[t][i].runs != 1 || pj[t][i].dones != 1;
	CHECK(bad == 0);
	CHECK(work_pending() == 0);
	work_stop();
}

int main(void)
{
	srand(1);
	T_RUN(sequential);
	T_RUN(concurrent);
	return T_DONE();
}
