/*
 * text.h - tiny character helpers shared by the parsers (inline, pure).
 */
#ifndef P2D_TEXT_H
#define P2D_TEXT_H

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
