/* hex: hexadecimal digits and percent-decoding, for the text formats that
 * carry them (HTTP chunk sizes, grpc-message trailers, URI parameters,
 * UUIDs, JSON \u escapes). Pure functions; any thread. */
#ifndef SQLWIRE_HEX_H
#define SQLWIRE_HEX_H
#include <stddef.h>

/* The value of hexadecimal digit c (0-9, a-f, A-F), or -1. */
int hex_digit(int c);

/* Percent-decodes s[0..n) into out, which has room for n + 1 bytes: each
 * "%XY" with two hex digits becomes that byte, anything else (a lone or
 * malformed '%', '+') is copied as it is. NUL-terminates out and returns the
 * decoded length. */
size_t hex_pct_decode(const char *s, size_t n, char *out);
#endif
