/* err: the non-allocating error report every internal function may fill
 * (DESIGN.md §4): return 0 or a negative code, and say why in *e if e != NULL. */
#ifndef SQLWIRE_ERR_H
#define SQLWIRE_ERR_H
struct err {
	char msg[512];
};
/* Formats into e->msg (truncating); does nothing when e is NULL. Returns -1. */
int err_set(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#endif
