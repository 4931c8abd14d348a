/*
 * error.c - names for the P2D_E* codes of p2d_error.h.
 */
#include "p2d_error.h"

const char *p2d_strerror(int code)
{
    switch (code) {
#define P2D_ERROR_CASE(name, value, text)                                                          \
    case value:                                                                                    \
        return text;
        P2D_ERRORS(P2D_ERROR_CASE)
#undef P2D_ERROR_CASE
    }
    return "unknown error";
}
