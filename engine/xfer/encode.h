/*
 * encode.h - appends rows to a Doris Stream Load body, as CSV or as JSON
 * lines, from decoded COPY fields (or raw values) and per-column value
 * rules (schema/typemap.h). Pure: no I/O, no globals; one encoder per
 * thread. Values Doris cannot hold exactly come back as value issues; the
 * caller adds table and key and reports them (DESIGN §4 invariant 4).
 *
 * CSV bodies need these Stream Load headers (docs/doris-protocol.md §1.6,
 * §1.7): column_separator \t (default), line_delimiter \n (default),
 * enclose: " and escape: \ ; trim_double_quotes must not be set. JSON
 * bodies need format: json, read_json_by_line: true and num_as_string: true
 * (numbers are written with their exact PostgreSQL spelling, and Doris must
 * not pass them through a double). docs/type-mapping.md has the details.
 */
#ifndef P2D_ENCODE_H
#define P2D_ENCODE_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "schema/typemap.h"
#include "snapshot/copy_decode.h"

enum p2d_encode_format {
    P2D_ENCODE_CSV,
    P2D_ENCODE_JSON,
};

/* One destination column, in row order; built from struct p2d_dcol. */
struct p2d_encode_col {
    const char *name; /* Doris column name (JSON key); create copies it */
    enum p2d_value_rule rule;
    uint32_t max_bytes; /* value byte limit (0: none) */
    uint8_t scale;      /* DATETIME(p) fraction digits, for clamped values */
    bool not_null;      /* a rule that would write NULL rejects the row instead */
};

/* A value that did not land exactly. text/len borrow the caller's field
 * bytes (COPY-escaped unless the field was P2D_FIELD_RAW). */
struct p2d_value_issue {
    int column;
    enum p2d_value_rule rule;
    enum p2d_issue_kind kind;
    enum p2d_issue_action action;
    const char *text;
    uint32_t len;
};

/* A caller-supplied value after the table columns (_is_deleted, _version,
 * _record_id, ...). text borrowed until p2d_encode_row returns. */
struct p2d_extra_value {
    const char *text;
    uint32_t len;
    bool is_null;
    bool is_number; /* written bare in JSON (must be a valid JSON number) */
};

struct p2d_encoder;

/*
 * Creates an encoder for rows of ncols columns (copied, names included),
 * followed by nextra extra values named extra_names[i] (copied; NULL when
 * nextra is 0) and, when delete_sign is true, __DORIS_DELETE_SIGN__ last.
 * Returns NULL on allocation failure or bad arguments.
 */
struct p2d_encoder *p2d_encoder_create(enum p2d_encode_format format,
                                       const struct p2d_encode_col *cols, int ncols,
                                       const char *const *extra_names, int nextra,
                                       bool delete_sign);

/* Turns the CSV whole-row fast path off (or back on where the columns
 * allow it). The output is the same either way; tests compare the two. */
void p2d_encoder_set_fast_path(struct p2d_encoder *enc, bool on);

/* Frees the encoder. Accepts NULL. */
void p2d_encoder_destroy(struct p2d_encoder *enc);

/* Fills col from a typemap result; name is borrowed (create copies it). */
void p2d_encode_col_from(struct p2d_encode_col *col, const char *name, const struct p2d_dcol *dcol);

/*
 * Appends one row to out: fields[0..nfields) (borrowed until return; COPY
 * fields from p2d_copy_decode, or P2D_FIELD_RAW values), then extra[0..nextra)
 * as configured, then the delete sign (0 or 1) when configured.
 *
 * Returns 0 when the row was written; its value issues (clamped, nulled,
 * replaced) are in issues[0..min(*nissues, issues_max)). On failure out is
 * unchanged and the result is P2D_EDATA (a value forced the row out; see the
 * REJECTED issue), P2D_EPROTO (field count differs from the columns, or a
 * bad COPY escape), P2D_EFULL (out reached its cap: seal the body, start a
 * new one, encode the row again) or P2D_ENOMEM. No allocation per row once
 * out and the internal scratch space have grown to the largest row.
 */
int p2d_encode_row(struct p2d_encoder *enc, const struct p2d_field *fields, int nfields,
                   const struct p2d_extra_value *extra, int delete_sign, struct p2d_buf *out,
                   struct p2d_value_issue *issues, int issues_max, int *nissues)
    __attribute__((warn_unused_result));

/*
 * CSV fast path straight from COPY text, without p2d_copy_decode: row[0..n)
 * is one CopyData message ('\n' last). When every field is one the
 * whole-row fast path copies unchanged (no escape but a whole-field \N, no
 * '"' or CR, a value its rule passes with no issue) and the field count is
 * right, appends the row, then extra[0..nextra) and the delete sign as
 * configured, to out and sets *written. Otherwise, including any malformed
 * row and an encoder that is not CSV or has the fast path off, writes nothing
 * and leaves *written false: decode the row and call p2d_encode_row, which
 * produces the same bytes and reports issues and errors. Returns 0, or
 * P2D_EFULL / P2D_ENOMEM (out unchanged) when a row that takes this path
 * does not fit. Borrows row and extra until return.
 */
int p2d_encode_copy_row(struct p2d_encoder *enc, const char *row, size_t n,
                        const struct p2d_extra_value *extra, int delete_sign, struct p2d_buf *out,
                        bool *written) __attribute__((warn_unused_result));

/* Why p2d_encode_copy_rows stopped. */
enum p2d_copy_run_stop {
    P2D_COPY_RUN_END,  /* the run ended: no whole CopyData message left */
    P2D_COPY_RUN_ROW,  /* the next row is not one p2d_encode_copy_row takes */
    P2D_COPY_RUN_FULL, /* the next row does not fit in out (out->max) */
};

/*
 * p2d_encode_copy_row over a run of CopyData messages as the server sends
 * them ('d', int32 length counting itself, row), back to back in
 * msgs[0..len), for an encoder without extras or delete sign: appends each
 * row the COPY-to-CSV path takes to out, in order, and stops at the first
 * row it does not take (P2D_COPY_RUN_ROW, at once for an encoder whose
 * rows never take the COPY-to-CSV path), one that does not fit, or the
 * first byte that does not start a whole CopyData message
 * (p2d_copy_data_len). *used gets the bytes of the messages
 * written (whole messages), *rows their count. Exactly the bytes the
 * per-row calls would write (encode_test compares them); it only saves the
 * per-row calls.
 */
enum p2d_copy_run_stop p2d_encode_copy_rows(struct p2d_encoder *enc, const uint8_t *msgs,
                                            size_t len, struct p2d_buf *out, size_t *used,
                                            size_t *rows);

#endif
