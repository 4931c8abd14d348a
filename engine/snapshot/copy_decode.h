/*
 * copy_decode.h - splits one row of PostgreSQL COPY TEXT output (one
 * CopyData message: fields separated by TAB, NULL as \N, ending in '\n')
 * into field slices that point into the row, without copying or
 * unescaping (docs/pg-replication.md §7.4). Pure: no I/O, no globals.
 */
#ifndef P2D_COPY_DECODE_H
#define P2D_COPY_DECODE_H

#include <stddef.h>
#include <stdint.h>

/* p2d_field.flags */
#define P2D_FIELD_NULL          0x01 /* SQL NULL (the field was exactly \N) */
#define P2D_FIELD_HAS_BACKSLASH 0x02 /* COPY escapes inside: unescape before use */
#define P2D_FIELD_HAS_SPECIAL   0x04 /* an unescaped '"' or raw '\r' (CSV must enclose) */
#define P2D_FIELD_RAW                                                                              \
    0x08 /* bytes are the value itself, not COPY text                                              \
            (set by producers such as pgoutput, never here) */

/*
 * One field of a row. p points into the row given to the decoder (borrowed:
 * valid while those bytes are). For a NULL field p points at the raw \N and
 * len is 0. len counts the escaped bytes; the value is never longer.
 */
struct p2d_field {
    const char *p;
    uint32_t len;
    uint8_t flags;
};

/*
 * Decodes one row: p[0..n) must be the whole CopyData message, '\n' last.
 * Fills fields[0..*nfields). Returns 0, or P2D_EPROTO when the row is
 * malformed (no final newline, a newline before the end, more than
 * nfields_max fields, a backslash escaping the final newline), or
 * P2D_EINVAL for bad arguments (n > UINT32_MAX). Whether the field count
 * matches the table is the caller's check (the encoder does it).
 * p2d_copy_explain() words the reason. Borrows p and fields until return.
 */
int p2d_copy_decode(const uint8_t *p, size_t n, struct p2d_field *fields, int nfields_max,
                    int *nfields) __attribute__((warn_unused_result));

/*
 * Writes into msg (size msgsz, always NUL-terminated) why p2d_copy_decode()
 * refused this row, e.g. "row has more than 4 fields" or "row does not end
 * with a newline (escaped by a backslash at byte 17)". Slow; for error paths.
 */
void p2d_copy_explain(const uint8_t *p, size_t n, int nfields_max, char *msg, size_t msgsz);

/*
 * Unescapes a COPY text value (§7.4: \\ \t \n \r \b \f \v, octal \ooo, hex
 * \xhh, and \c = c for any other c) from src[0..len) into dst, which must
 * hold len bytes (the value is never longer). Sets *outlen. Returns 0, or
 * P2D_EPROTO for a backslash at the very end. src and dst may not overlap,
 * except dst == src (in place).
 */
int p2d_copy_unescape(const char *src, uint32_t len, char *dst, uint32_t *outlen)
    __attribute__((warn_unused_result));

/* Length of the unescaped value of src[0..len) (same rules), or -1 on a
 * trailing backslash. */
int64_t p2d_copy_unescaped_len(const char *src, uint32_t len);

#endif
