/*
 * verify.h - `pg2doris verify`: compares each selected source table with
 * its Doris table. Row counts first; then, for tables with a key (Unique
 * model), the rows in key order: every row with --full, else up to
 * P2D_VERIFY_SAMPLE_RANGES ranges of P2D_VERIFY_PAGE_ROWS consecutive keys
 * spread over the key space. Duplicate-model tables (no key) compare row
 * counts only, and the report says so.
 *
 * Rows stream in pages of P2D_VERIFY_PAGE_ROWS: the source page is chosen
 * with keyset pagination (WHERE (k1, k2) > (last) ORDER BY k LIMIT n), and
 * the destination is asked for exactly the key range the page covers, so
 * memory is bounded by one page on each side whatever the table size.
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

#include "job/job.h"
#include "schema/typemap.h"

#define P2D_VERIFY_PAGE_ROWS     1000 /* rows per page on each side */
#define P2D_VERIFY_SAMPLE_RANGES 10   /* sampled ranges per table without --full */
#define P2D_VERIFY_REPORT_KEYS   5    /* differing keys printed per table */

/*
 * Runs the verification of job (borrowed until return): prints one line per
 * table (match / MISMATCH with counts and the first differing keys with the
 * column and both values) and a summary on stdout, errors on stderr. full
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

#endif
