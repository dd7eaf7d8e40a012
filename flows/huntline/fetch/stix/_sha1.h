/* SHA-1 (FIPS 180-4) in one call, for the uuid5 ids of _occurrences.c: with the CPU's SHA
 * instructions where it has them, else in portable C.  Python's hashlib gives the same digests
 * (tests/unit/fetch/test_sha1.py), but a call through it costs more than hashing a name. */
#ifndef HUNTLINE_SHA1_H
#define HUNTLINE_SHA1_H

#include <stddef.h>

/* The digest of ``data``; ``portable`` forces the portable code (to test both). */
void huntline_sha1(const void *data, size_t n, unsigned char out[20], int portable);

/* Whether this CPU has the SHA instructions (x86-64 SHA-NI). */
int huntline_sha1_accelerated(void);

#endif
