/* conv: SQLite's value conversions (sqlite3_column_int64/double/text/blob/
 * bytes) applied to a remote row's values (struct hr_value), so that a
 * REMOTE statement's column_* calls answer exactly as a local one would on
 * the same value: the conversions of SQLite 3.40 (integer/real to text with
 * "%!.15g", a text's leading number, saturation at the int64 range).
 * Pure functions; any thread. */
#ifndef SQLWIRE_CONV_H
#define SQLWIRE_CONV_H
#include "hrana.h"
#include <stddef.h>
#include <stdint.h>

/* SQLite's type code (1 INTEGER, 2 FLOAT, 3 TEXT, 4 BLOB, 5 NULL); NULL v is NULL. */
int conv_type(const struct hr_value *v);
int64_t conv_int64(const struct hr_value *v);
double conv_double(const struct hr_value *v);
/* The text form, NUL-terminated. It points into v (TEXT) or into *cache,
 * which conv allocates with malloc when a conversion is needed (the caller
 * frees it; a previous *cache is freed first). NULL for NULL values or on
 * out of memory (then *nomem = 1). *n = its length in bytes. */
const char *conv_text(const struct hr_value *v, char **cache, int *n, int *nomem);
/* The blob form: like conv_text, but NULL for a zero-length value. */
const void *conv_blob(const struct hr_value *v, char **cache, int *n, int *nomem);
/* Parsers on the bytes of a text (not NUL-terminated), exposed for tests. */
int64_t conv_atoi64(const char *z, size_t n);
double conv_atof(const char *z, size_t n);
/* Formats a REAL as SQLite's text form into buf[32]; returns the length. */
int conv_ftoa(double r, char buf[32]);
#endif
