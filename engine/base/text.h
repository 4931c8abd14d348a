/*
 * text.h - tiny character helpers shared by the parsers (inline, pure).
 */
#ifndef P2D_TEXT_H
#define P2D_TEXT_H

#include <stddef.h>
#include <stdint.h>

#define P2D_FNV1A64_BASIS UINT64_C(0xcbf29ce484222325)

/* FNV-1a (64 bits) of p[0..n), continued from h (start: P2D_FNV1A64_BASIS).
 * For fingerprints and labels that must stay the same across runs. */
static inline uint64_t p2d_fnv1a64(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;

    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}

/* Value of a hexadecimal digit, or -1. */
static inline int p2d_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

#endif
