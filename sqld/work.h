/* work: the worker threads that run SQLite (DESIGN.md §2.6).
 *
 * The network thread submits jobs; a worker runs job->run(job); then the job
 * goes on the completion queue and the wake function is called (the network
 * layer passes one that interrupts its event loop). The network thread calls
 * work_drain() to run job->done(job) for every finished job, on its own
 * thread. Jobs are owned by whoever submitted them; work never frees one. */
#ifndef SQLWIRE_WORK_H
#define SQLWIRE_WORK_H
#include <stddef.h>

struct work_job {
	void (*run)(struct work_job *j);  /* worker thread */
	void (*done)(struct work_job *j); /* network thread, from work_drain() */
	struct work_job *next;            /* private to work */
};

int work_start(int nthreads, void (*wake)(void *), void *wake_arg);
void work_submit(struct work_job *j);          /* any thread */
void work_drain(void);                          /* runs done() of finished jobs */
size_t work_pending(void);                      /* jobs submitted and not yet drained */
void work_stop(void);                           /* finishes queued jobs, joins threads */
#endif
