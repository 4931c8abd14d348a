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

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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

/*
 * The row of the whole CopyData message at p[0..avail) (type 'd', an int32
 * length that counts itself, then the row): its length, or -1 when p does
 * not start one that is all there (another message type, a bad length, or
 * bytes not received yet). For the COPY reader (snapshot/copy_wire) and the
 * encoder's run of rows (p2d_encode_copy_rows), which walk the same bytes.
 */
static inline int64_t p2d_copy_data_len(const uint8_t *p, size_t avail)
{
    uint32_t mlen;

    if (avail < 5 || p[0] != 'd')
        return -1;
    mlen = (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 8 | (uint32_t)p[4];
    if (mlen < 4 || mlen - 4 > avail - 5)
        return -1;
    return (int64_t)(mlen - 4);
}

/*
 * For scanners that take the common row without splitting it into fields
 * (the encoder's COPY-to-CSV path, xfer/encode.h): the bytes of a 16-byte
 * block that matter to the splitter, as bit masks (bit i for byte i).
 * Returns the mask of '\\', '"', '\r' and '\n'; *tabs gets the mask of
 * TAB. Inline because they run once per 16 bytes of every row; SSE2 does a
 * block in one load and five compares.
 *
 * p2d__copy_block16_masks: the 16 bytes at p, all of them inside the row.
 */
static inline uint32_t p2d__copy_block16_masks(const uint8_t *p, uint32_t *tabs)
{
#if defined(__SSE2__)
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i other = _mm_or_si128(
        _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\\')), _mm_cmpeq_epi8(v, _mm_set1_epi8('"'))),
        _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\r')),
                     _mm_cmpeq_epi8(v, _mm_set1_epi8('\n'))));

    *tabs = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('\t')));
    return (uint32_t)_mm_movemask_epi8(other);
#else
    uint32_t t = 0, other = 0;

    for (int i = 0; i < 16; i++) {
        t |= (uint32_t)(p[i] == '\t') << i;
        other |= (uint32_t)(p[i] == '\\' || p[i] == '"' || p[i] == '\r' || p[i] == '\n') << i;
    }
    *tabs = t;
    return other;
#endif
}

/*
 * p2d__copy_block_masks: the block p[base..base + 16) of a row of n bytes,
 * which may end inside it (bits only for base + i < n). Requires base < n.
 * Near the end of a row of 16 bytes or more the last 16 bytes are loaded and
 * those before base dropped, so nothing past p + n is read.
 */
static inline uint32_t p2d__copy_block_masks(const uint8_t *p, size_t base, size_t n,
                                             uint32_t *tabs)
{
    if (n >= 16) {
        size_t at = n - base < 16 ? n - 16 : base;
        unsigned shift = (unsigned)(base - at);
        uint32_t other = p2d__copy_block16_masks(p + at, tabs);

        *tabs >>= shift;
        return other >> shift;
    }
    {
        uint32_t t = 0, other = 0;
        size_t end = n - base;

        for (size_t i = 0; i < end; i++) {
            uint8_t c = p[base + i];

            t |= (uint32_t)(c == '\t') << i;
            other |= (uint32_t)(c == '\\' || c == '"' || c == '\r' || c == '\n') << i;
        }
        *tabs = t;
        return other;
    }
}

#endif
