/*
 * verify.h - `pg2doris verify`: compares each selected source table with
 * its Doris table. Row counts first; then the rows: every row with --full,
 * else up to P2D_VERIFY_SAMPLE_RANGES ranges of P2D_VERIFY_PAGE_ROWS
 * consecutive rows spread over the table (a table the ranges would cover
 * is compared whole).
 *
 * Tables with a key (Unique model) are compared in key order, key by key.
 * Rows stream in pages of P2D_VERIFY_PAGE_ROWS: the source page is chosen
 * with keyset pagination (WHERE (k1, k2) > (last) ORDER BY k LIMIT n), and
 * the destination is asked for exactly the key range the page covers, so
 * memory is bounded by one page on each side whatever the table size.
 *
 * Duplicate-model tables are compared as multisets of rows (a row twice in
 * the source must be twice in the destination), against the source state
 * their change log holds (the log net of delete markers; with a source
 * key, the latest change of each key). Both sides are read in one order,
 * by every column but JSON ones, through a source cursor and destination
 * pages over the value range of each source chunk; rows that differ only
 * in JSON are matched in memory. More than P2D_VERIFY_PAGE_ROWS - 1
 * distinct rows with equal sort values (a table of JSON columns only, say)
 * cannot be paged: the comparison stops there and the report says so.
 *
 * Values are compared after the value rule the encoder applies
 * (schema/typemap.h, docs/type-mapping.md): a clamped date equals its
 * clamp, a NaN equals NULL, booleans are 1/0, timestamptz loses "+00".
 * The comparison itself is pure and unit-tested (p2d_verify_value_equal,
 * p2d_verify_key_cmp).
 */
#ifndef P2D_VERIFY_H
#define P2D_VERIFY_H

#include <stdbool.h>

#include <jansson.h>

#include "base/buf.h"
#include "job/job.h"
#include "schema/typemap.h"

#define P2D_VERIFY_PAGE_ROWS     1000 /* rows per page on each side */
#define P2D_VERIFY_SAMPLE_RANGES 10   /* sampled ranges per table without --full */
#define P2D_VERIFY_REPORT_KEYS   5    /* differing keys / rows printed per table */

/*
 * Runs the verification of job (borrowed until return): prints one line per
 * table (match / MISMATCH with counts and the first differing keys with the
 * column and both values, or for a multiset the first differing rows with
 * their copies on each side) and a summary on stdout, errors on stderr. full
 * compares every row. Returns the exit code: P2D_EXIT_OK when everything
 * matches, P2D_EXIT_MISMATCH on any difference, P2D_EXIT_SOURCE /
 * P2D_EXIT_DEST when a side failed, P2D_EXIT_PRECHECK when nothing is
 * selected or a table cannot be planned. No secret is printed.
 */
int p2d_verify_run(const struct p2d_job *job, bool full);

/*
 * True when the Doris value doris (borrowed; a JSON value of a query answer,
 * json null for NULL; NULL is taken as json null) is what the encoder makes
 * of PostgreSQL's text pg_text (NUL-terminated, NULL for SQL NULL) under
 * rule. scale is the DATETIME(p) precision (for the clamped maximum).
 * Numbers (int, decimal) are compared exactly as decimals, whatever their
 * spelling (JSON number or string, trailing zeros, exponent); floats as
 * doubles; dates and datetimes after fraction normalization; JSON
 * documents semantically; text byte for byte.
 */
bool p2d_verify_value_equal(enum p2d_value_rule rule, unsigned scale, const char *pg_text,
                            const json_t *doris);

/*
 * Orders a source key value against a destination key value the way both
 * sides sort (numbers numerically, dates in time, text by bytes): *cmp < 0
 * when the source value sorts first, 0 when equal, > 0 after. Returns 0, or
 * P2D_EINVAL when either value cannot be read under rule (or is a JSON
 * document, which has no order).
 */
int p2d_verify_key_cmp(enum p2d_value_rule rule, unsigned scale, const char *pg_text,
                       const json_t *doris, int *cmp) __attribute__((warn_unused_result));

/*
 * Appends to b the condition "(expr...) >= (lit...)" over n sort columns in
 * the order verify reads rows (column by column, NULL first): "> " when
 * strict, "(expr...) <= (lit...)" when upper. expr[k] is SQL text (a quoted
 * name or an expression), lit[k] a SQL literal or NULL for SQL NULL; both
 * borrowed until return. The condition is nested, e1 > l1 OR (e1 = l1 AND
 * (...)), so each literal appears twice at most, and uses only comparison,
 * IS [NOT] NULL, AND and OR (no row comparison). n = 0 gives "1 = 1".
 * Returns 0, P2D_EFULL or P2D_ENOMEM. Pure.
 */
int p2d_verify_order_bound(struct p2d_buf *b, size_t n, const char *const *expr,
                           const char *const *lit, bool upper, bool strict)
    __attribute__((warn_unused_result));

#endif
