/* t.h: the unit-test harness. Each tests/unit/test_<module>.c is one binary
 * whose main() calls T_RUN(fn) for each case and returns T_DONE(); it prints
 * "N passed, N failed" so tests/run.sh can add the counts up. */
#ifndef SQLWIRE_T_H
#define SQLWIRE_T_H
#include <stdio.h>
#include <string.h>

static int t_pass, t_fail, t_case_failed;
static const char *t_case;

#define CHECK(cond)                                                                    \
	do {                                                                           \
		if (!(cond)) {                                                         \
			fprintf(stderr, "%s:%d: %s: CHECK(%s) failed\n", __FILE__, __LINE__, \
				t_case, #cond);                                        \
			t_case_failed = 1;                                             \
		}                                                                      \
	} while (0)
#define CHECK_STR(a, b)                                                                \
	do {                                                                           \
		const char *t_a = (a), *t_b = (b);                                     \
		if (!t_a || !t_b || strcmp(t_a, t_b) != 0) {                           \
			fprintf(stderr, "%s:%d: %s: \"%s\" != \"%s\"\n", __FILE__, __LINE__, \
				t_case, t_a ? t_a : "(null)", t_b ? t_b : "(null)");   \
			t_case_failed = 1;                                             \
		}                                                                      \
	} while (0)
#define T_RUN(fn)                                                 \
	do {                                                      \
		t_case = #fn;                                     \
		t_case_failed = 0;                                \
		fn();                                             \
		if (t_case_failed)                                \
			t_fail++;                                 \
		else                                              \
			t_pass++;                                 \
	} while (0)
#define T_DONE() (printf("%d passed, %d failed\n", t_pass, t_fail), t_fail ? 1 : 0)
#endif
