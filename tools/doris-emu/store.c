/*
 * store.c - doris-emu's storage: a SQLite database (a file or ":memory:")
 * holding the catalog, the label / transaction log, staged 2PC batches,
 * error logs, and one SQLite table per Doris table.
 *
 * Layout inside SQLite:
 *   _emu_tables(id, db, name, def)     def = the table definition as JSON
 *   _emu_dbs(name, id)
 *   _emu_txns(id, db, label, tbl, state, ...)   one row per load transaction
 *   _emu_error_logs(token, body)
 *   "db.t$"   the rows of Doris table db.t; Unique tables add the hidden
 *             __DORIS_DELETE_SIGN__ (tombstones for sequence ordering) and,
 *             with function_column.sequence_type, __DORIS_SEQUENCE_COL__
 *   "db.t"    a view with the Doris columns in Doris order, tombstones
 *             filtered: SELECT rewriting only swaps table references
 *             (both, and the key index, made at first need: ensure_physical)
 *   "information_schema.COLUMNS" / TABLES / SCHEMATA   plain tables kept in
 *             step by DDL, table by table (TABLE_ROWS recounted lazily)
 *
 * Declared column types carry both the SQLite affinity and the Doris type
 * for result metadata: "DECIMAL_TEXT" has TEXT affinity and the collation
 * emu_decimal so that ORDER BY and comparisons are numeric.
 *
 * DESIGN (threads): one mutex serialises every use of the connection. The
 * catalog is cached as immutable, reference-counted emu_table snapshots;
 * DDL replaces a snapshot, never changes one, so running loads keep theirs.
 * A load applies in one SQLite transaction with statements prepared once
 * per load: all rows or none.
 */
#include "emu.h"
#include "sqlparse.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

/* Appends a string literal (length computed by the compiler). */
#define EMU_PUT(b, lit) emu_buf_append((b), (lit), sizeof(lit) - 1)

struct emu_store {
    pthread_mutex_t mu;
    sqlite3 *db;
    bool discard;
    int ntables;
    int cap;
    struct emu_table **tables; /* cache of current snapshots */
    struct table_meta *meta;   /* beside tables[i] */
    int *index;                /* hash of (db, name): position + 1, 0 = empty slot */
    int index_cap;             /* slots, a power of two (0: not built yet) */
    bool index_stale;          /* a table left the cache: rebuild before the next lookup */
    int made_physical_in_tx;   /* table made physical inside the open transaction, or -1 */
    uint64_t errlog_seq;
};

/* What the store knows about a cached table beyond its definition. */
struct table_meta {
    bool rows_dirty; /* its TABLE_ROWS in information_schema may be stale */
    bool physical;   /* its SQLite table, index and view exist (see ensure_physical) */
};

static int64_t now_ms(void)
{
    struct timeval tv;

    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* Appends a SQLite-quoted identifier ("a""b"). */
static void put_ident(struct emu_buf *b, const char *name)
{
    EMU_PUT(b, "\"");
    for (const char *p = name; *p; p++) {
        if (*p == '"')
            EMU_PUT(b, "\"");
        emu_buf_append(b, p, 1);
    }
    EMU_PUT(b, "\"");
}

static void put_ident2(struct emu_buf *b, const char *db, const char *name, const char *suffix)
{
    struct emu_buf tmp;

    emu_buf_init(&tmp);
    emu_buf_printf(&tmp, "%s.%s%s", db, name, suffix);
    put_ident(b, tmp.data);
    emu_buf_fini(&tmp);
}

static void put_literal(struct emu_buf *b, const char *s, size_t n)
{
    EMU_PUT(b, "'");
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\'')
            EMU_PUT(b, "'");
        emu_buf_append(b, s + i, 1);
    }
    EMU_PUT(b, "'");
}

static int exec_sql(struct emu_store *s, const char *sql, struct emu_err *err)
{
    char *msg = NULL;

    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        emu_err_set(err, "1105", "sqlite: %s", msg ? msg : "error");
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Numeric text collation                                                    */

/* Compares two decimal texts numerically ("-1.50" < "2" < "10.0"). Texts
 * that are not numbers compare bytewise after all numbers. */
static int numeric_cmp(const char *a, int na, const char *b, int nb)
{
    bool nega = na > 0 && a[0] == '-', negb = nb > 0 && b[0] == '-';
    const char *ia, *ib, *fa, *fb, *ea = a + na, *eb = b + nb;
    int la, lb, r;

    if (nega != negb)
        return nega ? -1 : 1;
    ia = a + (nega || (na && a[0] == '+'));
    ib = b + (negb || (nb && b[0] == '+'));
    while (ia < ea && *ia == '0' && ia + 1 < ea && ia[1] != '.')
        ia++;
    while (ib < eb && *ib == '0' && ib + 1 < eb && ib[1] != '.')
        ib++;
    fa = memchr(ia, '.', (size_t)(ea - ia));
    fb = memchr(ib, '.', (size_t)(eb - ib));
    la = (int)((fa ? fa : ea) - ia);
    lb = (int)((fb ? fb : eb) - ib);
    if (la != lb) {
        r = la < lb ? -1 : 1;
    } else {
        r = memcmp(ia, ib, (size_t)la);
        if (r == 0) {
            const char *pa = fa ? fa + 1 : ea, *pb = fb ? fb + 1 : eb;

            while (r == 0 && (pa < ea || pb < eb)) {
                char ca = pa < ea ? *pa++ : '0', cb = pb < eb ? *pb++ : '0';

                r = (ca > cb) - (ca < cb);
            }
        }
        r = r < 0 ? -1 : r > 0;
    }
    return nega ? -r : r;
}

static int decimal_collate(void *arg, int na, const void *a, int nb, const void *b)
{
    return numeric_cmp(a, na, b, nb);
}

/* SQL functions a Doris client may call that SQLite lacks. */
static void fn_version(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    sqlite3_result_text(ctx, "5.7.99", -1, SQLITE_STATIC);
}

static __thread const char *session_db_tls;

static void fn_database(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (session_db_tls && *session_db_tls)
        sqlite3_result_text(ctx, session_db_tls, -1, SQLITE_TRANSIENT);
    else
        sqlite3_result_null(ctx);
}

/* ------------------------------------------------------------------------ */
/* Table definitions <-> JSON                                                */

static json_t *table_to_json(const struct emu_table *t)
{
    json_t *j = json_object(), *cols = json_array(), *dist = json_array();
    struct emu_buf tb;

    emu_buf_init(&tb);
    for (int i = 0; i < t->ncols; i++) {
        const struct emu_column *c = &t->cols[i];
        json_t *cj = json_object();

        tb.len = 0;
        emu_type_format(&c->type, false, &tb);
        json_object_set_new(cj, "name", json_string(c->name));
        json_object_set_new(cj, "type", json_string(tb.data));
        json_object_set_new(cj, "nullable", json_boolean(c->nullable));
        json_object_set_new(cj, "key", json_boolean(c->is_key));
        json_object_set_new(cj, "default",
                            c->default_value ? json_string(c->default_value) : json_null());
        json_object_set_new(cj, "comment", json_string(c->comment ? c->comment : ""));
        json_array_append_new(cols, cj);
    }
    for (int i = 0; i < t->ndist; i++)
        json_array_append_new(dist, json_integer(t->dist_cols[i]));
    json_object_set_new(j, "id", json_integer(t->table_id));
    json_object_set_new(j, "keys_type", json_integer(t->keys_type));
    json_object_set_new(j, "nkeys", json_integer(t->nkeys));
    json_object_set_new(j, "cols", cols);
    json_object_set_new(j, "dist", dist);
    json_object_set_new(j, "buckets", json_integer(t->buckets));
    json_object_set_new(j, "mow", json_boolean(t->merge_on_write));
    json_object_set_new(j, "lsc", json_boolean(t->light_schema_change));
    json_object_set_new(j, "seq_col", json_integer(t->seq_col));
    if (t->has_seq_type) {
        tb.len = 0;
        emu_type_format(&t->seq_type, false, &tb);
        json_object_set_new(j, "seq_type", json_string(tb.data));
    }
    json_object_set_new(j, "properties",
                        t->properties ? json_deep_copy(t->properties) : json_object());
    json_object_set_new(j, "comment", json_string(t->comment ? t->comment : ""));
    json_object_set_new(j, "schema_version", json_integer(t->schema_version));
    emu_buf_fini(&tb);
    return j;
}

static struct emu_table *table_from_json(const char *db, const char *name, json_t *j)
{
    struct emu_table *t = calloc(1, sizeof(*t));
    json_t *cols = json_object_get(j, "cols"), *dist = json_object_get(j, "dist");
    struct emu_err err;
    size_t i;
    json_t *v;

    if (!t)
        abort();
    t->refcount = 1;
    t->db = strdup(db);
    t->name = strdup(name);
    t->table_id = json_integer_value(json_object_get(j, "id"));
    t->keys_type = (enum emu_keys_type)json_integer_value(json_object_get(j, "keys_type"));
    t->nkeys = (int)json_integer_value(json_object_get(j, "nkeys"));
    t->ncols = (int)json_array_size(cols);
    t->cols = calloc((size_t)t->ncols + 1, sizeof(*t->cols));
    json_array_foreach(cols, i, v)
    {
        struct emu_column *c = &t->cols[i];
        json_t *d = json_object_get(v, "default");

        c->name = strdup(json_string_value(json_object_get(v, "name")));
        if (emu_type_parse(json_string_value(json_object_get(v, "type")), &c->type, &err) < 0)
            c->type.kind = EMU_STRING;
        c->nullable = json_is_true(json_object_get(v, "nullable"));
        c->is_key = json_is_true(json_object_get(v, "key"));
        c->default_value = json_is_string(d) ? strdup(json_string_value(d)) : NULL;
        c->comment = strdup(json_string_value(json_object_get(v, "comment")));
    }
    t->ndist = (int)json_array_size(dist);
    t->dist_cols = calloc((size_t)t->ndist + 1, sizeof(int));
    json_array_foreach(dist, i, v)
    {
        t->dist_cols[i] = (int)json_integer_value(v);
    }
    t->buckets = (int)json_integer_value(json_object_get(j, "buckets"));
    t->merge_on_write = json_is_true(json_object_get(j, "mow"));
    t->light_schema_change = json_is_true(json_object_get(j, "lsc"));
    t->seq_col = (int)json_integer_value(json_object_get(j, "seq_col"));
    if (json_is_string(json_object_get(j, "seq_type")) &&
        emu_type_parse(json_string_value(json_object_get(j, "seq_type")), &t->seq_type, &err) == 0)
        t->has_seq_type = true;
    t->properties = json_deep_copy(json_object_get(j, "properties"));
    t->comment = strdup(json_string_value(json_object_get(j, "comment")));
    t->schema_version = json_integer_value(json_object_get(j, "schema_version"));
    return t;
}

/* ------------------------------------------------------------------------ */
/* Catalog cache (caller holds s->mu)                                        */
/*
 * The snapshots live in an array (iteration order: creation, except that a
 * removal moves the last table into the hole) with an open-addressing hash
 * index over (db, name) beside it, so a lookup costs the same with 5 tables
 * or 5000. A removal marks the index stale; the next lookup rebuilds it.
 * The hash folds ASCII case, so names that differ only in case (which
 * SQLite cannot hold side by side) probe the same slots.
 */

static uint32_t name_hash(const char *db, const char *name)
{
    uint32_t h = 2166136261u; /* FNV-1a */

    for (const unsigned char *p = (const unsigned char *)db; *p; p++)
        h = (h ^ (unsigned char)tolower(*p)) * 16777619u;
    h *= 16777619u; /* the NUL between the parts */
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ (unsigned char)tolower(*p)) * 16777619u;
    return h;
}

static void index_insert(struct emu_store *s, int pos)
{
    uint32_t mask = (uint32_t)s->index_cap - 1;
    uint32_t h = name_hash(s->tables[pos]->db, s->tables[pos]->name) & mask;

    while (s->index[h])
        h = (h + 1) & mask;
    s->index[h] = pos + 1;
}

/* Sizes the index for at least twice the tables and fills it. */
static void index_rebuild(struct emu_store *s)
{
    int cap = 64;

    while (cap < 2 * (s->ntables + 1))
        cap *= 2;
    if (cap != s->index_cap) {
        free(s->index);
        s->index = malloc(sizeof(*s->index) * (size_t)cap);
        if (!s->index)
            abort();
        s->index_cap = cap;
    }
    memset(s->index, 0, sizeof(*s->index) * (size_t)cap);
    for (int i = 0; i < s->ntables; i++)
        index_insert(s, i);
    s->index_stale = false;
}

/* Position of db.name (exact names; fold_case: ASCII case ignored), or -1. */
static int cache_lookup(struct emu_store *s, const char *db, const char *name, bool fold_case)
{
    uint32_t mask;

    if (s->index_stale || s->index_cap == 0)
        index_rebuild(s);
    mask = (uint32_t)s->index_cap - 1;
    for (uint32_t h = name_hash(db, name) & mask; s->index[h]; h = (h + 1) & mask) {
        int i = s->index[h] - 1;

        if (fold_case ? !strcasecmp(s->tables[i]->db, db) && !strcasecmp(s->tables[i]->name, name)
                      : !strcmp(s->tables[i]->db, db) && !strcmp(s->tables[i]->name, name))
            return i;
    }
    return -1;
}

static int cache_find(struct emu_store *s, const char *db, const char *name)
{
    return cache_lookup(s, db, name, false);
}

/* Takes ownership of t: replaces the snapshot of the same name (keeping
 * its meta) or adds it with meta. */
static void cache_put(struct emu_store *s, struct emu_table *t, struct table_meta meta)
{
    int i = cache_find(s, t->db, t->name);

    if (i >= 0) {
        emu_table_unref(s->tables[i]);
        s->tables[i] = t;
        return;
    }
    if (s->ntables == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->tables = realloc(s->tables, sizeof(*s->tables) * (size_t)s->cap);
        s->meta = realloc(s->meta, sizeof(*s->meta) * (size_t)s->cap);
        if (!s->tables || !s->meta)
            abort();
    }
    s->meta[s->ntables] = meta;
    s->tables[s->ntables++] = t;
    if (2 * (s->ntables + 1) > s->index_cap)
        index_rebuild(s);
    else
        index_insert(s, s->ntables - 1);
}

static void cache_drop_at(struct emu_store *s, int i)
{
    emu_table_unref(s->tables[i]);
    s->ntables--;
    s->tables[i] = s->tables[s->ntables];
    s->meta[i] = s->meta[s->ntables];
    s->index_stale = true;
}

static bool db_exists_locked(struct emu_store *s, const char *db)
{
    sqlite3_stmt *st;
    bool found = false;

    if (!strcasecmp(db, "information_schema"))
        return true;
    if (sqlite3_prepare_v2(s->db, "SELECT 1 FROM _emu_dbs WHERE name = ?1", -1, &st, NULL) !=
        SQLITE_OK)
        return false;
    sqlite3_bind_text(st, 1, db, -1, SQLITE_STATIC);
    found = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return found;
}

/* ------------------------------------------------------------------------ */
/* Physical tables                                                           */

/* The declared type of a stored column: SQLite affinity plus, for result
 * metadata, the Doris type (see meta_type_of_decl). */
static const char *decl_of(const struct emu_type *t)
{
    switch (t->kind) {
    case EMU_BOOLEAN:
        return "BOOLEAN_INT";
    case EMU_TINYINT:
        return "TINYINT";
    case EMU_SMALLINT:
        return "SMALLINT";
    case EMU_INT:
        return "INT";
    case EMU_BIGINT:
        return "BIGINT";
    case EMU_LARGEINT:
        return "LARGE_NUM_TEXT COLLATE emu_decimal";
    case EMU_FLOAT:
        return "FLOAT";
    case EMU_DOUBLE:
        return "DOUBLE";
    case EMU_DECIMAL:
        return "DECIMAL_TEXT COLLATE emu_decimal";
    case EMU_DATE:
        return "DATE_TEXT";
    case EMU_DATETIME:
        return "DATETIME_TEXT";
    case EMU_CHAR:
        return "CHAR";
    case EMU_VARCHAR:
        return "VARCHAR";
    case EMU_STRING:
        return "STRING_TEXT";
    case EMU_JSON:
        return "JSON_TEXT";
    case EMU_ARRAY:
        return "ARRAY_TEXT";
    case EMU_IPV4:
        return "IPV4_TEXT";
    case EMU_IPV6:
        return "IPV6_TEXT";
    }
    return "TEXT";
}

static const char *meta_type_of_decl(const char *decl)
{
    static const struct {
        const char *decl, *meta;
    } map[] = {
        {"BOOLEAN_INT", "BOOLEAN"},
        {"TINYINT", "TINYINT"},
        {"SMALLINT", "SMALLINT"},
        {"INT", "INT"},
        {"BIGINT", "BIGINT"},
        {"LARGE_NUM_TEXT", "LARGEINT"},
        {"FLOAT", "FLOAT"},
        {"DOUBLE", "DOUBLE"},
        {"DECIMAL_TEXT", "DECIMAL"},
        {"DATE_TEXT", "DATE"},
        {"DATETIME_TEXT", "DATETIME"},
        {"CHAR", "CHAR"},
        {"VARCHAR", "VARCHAR"},
        {"STRING_TEXT", "VARCHAR"},
        {"JSON_TEXT", "JSON"},
        {"ARRAY_TEXT", "ARRAY"},
        {"IPV4_TEXT", "IPV4"},
        {"IPV6_TEXT", "IPV6"},
    };

    if (!decl)
        return NULL;
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (!strcasecmp(decl, map[i].decl))
            return map[i].meta;
    return NULL;
}

static bool has_tombstones(const struct emu_table *t)
{
    return t->keys_type == EMU_UNIQUE_KEYS;
}

static void build_view_sql(const struct emu_table *t, struct emu_buf *b)
{
    EMU_PUT(b, "CREATE VIEW ");
    put_ident2(b, t->db, t->name, "");
    EMU_PUT(b, " AS SELECT ");
    for (int i = 0; i < t->ncols; i++) {
        if (i)
            EMU_PUT(b, ", ");
        put_ident(b, t->cols[i].name);
    }
    EMU_PUT(b, " FROM ");
    put_ident2(b, t->db, t->name, "$");
    if (has_tombstones(t))
        emu_buf_printf(b, " WHERE __DORIS_DELETE_SIGN__ = 0");
}

/* Canonical stored form of a column default (CURRENT_TIMESTAMP excluded). */
static void default_literal(const struct emu_column *c, struct emu_buf *b)
{
    struct emu_buf sc;
    struct emu_value v;

    if (!c->default_value || !strcasecmp(c->default_value, "CURRENT_TIMESTAMP")) {
        EMU_PUT(b, "NULL");
        return;
    }
    emu_buf_init(&sc);
    if (emu_value_convert(&c->type, c->default_value, strlen(c->default_value), NULL, &sc, &v, NULL,
                          0) != EMU_CONV_OK)
        v.kind = EMU_V_NULL;
    switch (v.kind) {
    case EMU_V_NULL:
        EMU_PUT(b, "NULL");
        break;
    case EMU_V_INT:
        emu_buf_printf(b, "%" PRId64, v.i);
        break;
    case EMU_V_REAL:
        emu_buf_printf(b, "%.17g", v.r);
        break;
    case EMU_V_TEXT:
        put_literal(b, v.s, v.n);
        break;
    }
    emu_buf_fini(&sc);
}

static int create_physical(struct emu_store *s, const struct emu_table *t, struct emu_err *err)
{
    struct emu_buf b;
    int rc;

    emu_buf_init(&b);
    EMU_PUT(&b, "CREATE TABLE ");
    put_ident2(&b, t->db, t->name, "$");
    EMU_PUT(&b, " (");
    for (int i = 0; i < t->ncols; i++) {
        if (i)
            EMU_PUT(&b, ", ");
        put_ident(&b, t->cols[i].name);
        emu_buf_printf(&b, " %s", decl_of(&t->cols[i].type));
    }
    if (has_tombstones(t))
        emu_buf_printf(&b, ", __DORIS_DELETE_SIGN__ INTEGER NOT NULL DEFAULT 0");
    if (t->has_seq_type)
        emu_buf_printf(&b, ", __DORIS_SEQUENCE_COL__ %s", decl_of(&t->seq_type));
    EMU_PUT(&b, ");\n");
    if (t->keys_type == EMU_UNIQUE_KEYS && t->nkeys > 0) {
        EMU_PUT(&b, "CREATE INDEX ");
        put_ident2(&b, t->db, t->name, "$keys");
        EMU_PUT(&b, " ON ");
        put_ident2(&b, t->db, t->name, "$");
        EMU_PUT(&b, " (");
        for (int i = 0; i < t->nkeys; i++) {
            if (i)
                EMU_PUT(&b, ", ");
            put_ident(&b, t->cols[i].name);
        }
        EMU_PUT(&b, ");\n");
    }
    build_view_sql(t, &b);
    rc = exec_sql(s, b.data, err);
    emu_buf_fini(&b);
    return rc;
}

static int drop_physical(struct emu_store *s, const char *db, const char *name, struct emu_err *err)
{
    struct emu_buf b;
    int rc;

    emu_buf_init(&b);
    EMU_PUT(&b, "DROP VIEW IF EXISTS ");
    put_ident2(&b, db, name, "");
    EMU_PUT(&b, "; DROP TABLE IF EXISTS ");
    put_ident2(&b, db, name, "$");
    rc = exec_sql(s, b.data, err);
    emu_buf_fini(&b);
    return rc;
}

/*
 * A table's SQLite objects (rows table, key index, view) are created when
 * something first needs them: a load that stores rows, or a SELECT naming
 * the table. CREATE TABLE itself only writes the catalog, because every
 * SQLite DDL statement costs time in proportion to the objects that exist
 * (it clears a cache on every table and rescans sqlite_master): creating N
 * tables cost N^2, and a --discard emulator now creates none unless they
 * are queried. Inside a transaction the creation is undone with it
 * (rollback_tx). Caller holds s->mu.
 */
static int ensure_physical(struct emu_store *s, int i, struct emu_err *err)
{
    if (s->meta[i].physical)
        return 0;
    if (create_physical(s, s->tables[i], err) < 0)
        return -1;
    s->meta[i].physical = true;
    if (!sqlite3_get_autocommit(s->db))
        s->made_physical_in_tx = i;
    return 0;
}

static int save_def(struct emu_store *s, const struct emu_table *t, bool insert,
                    struct emu_err *err)
{
    sqlite3_stmt *st;
    json_t *j = table_to_json(t);
    char *text = json_dumps(j, JSON_COMPACT);
    int rc;

    json_decref(j);
    rc = sqlite3_prepare_v2(s->db,
                            insert
                                ? "INSERT INTO _emu_tables(id, db, name, def) VALUES (?1,?2,?3,?4)"
                                : "UPDATE _emu_tables SET def = ?4 WHERE id = ?1",
                            -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, t->table_id);
        if (insert) {
            sqlite3_bind_text(st, 2, t->db, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 3, t->name, -1, SQLITE_STATIC);
        }
        sqlite3_bind_text(st, 4, text, -1, SQLITE_STATIC);
        rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
        sqlite3_finalize(st);
    }
    free(text);
    if (rc != SQLITE_OK) {
        emu_err_set(err, "1105", "sqlite: %s", sqlite3_errmsg(s->db));
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* information_schema                                                        */

static const char info_schema_ddl[] =
    "CREATE TABLE IF NOT EXISTS \"information_schema.SCHEMATA\" (CATALOG_NAME VARCHAR, "
    "SCHEMA_NAME VARCHAR, DEFAULT_CHARACTER_SET_NAME VARCHAR, DEFAULT_COLLATION_NAME VARCHAR, "
    "SQL_PATH VARCHAR, DEFAULT_ENCRYPTION VARCHAR);"
    "CREATE TABLE IF NOT EXISTS \"information_schema.TABLES\" (TABLE_CATALOG VARCHAR, "
    "TABLE_SCHEMA VARCHAR, TABLE_NAME VARCHAR, TABLE_TYPE VARCHAR, ENGINE VARCHAR, VERSION "
    "BIGINT, ROW_FORMAT VARCHAR, TABLE_ROWS BIGINT, AVG_ROW_LENGTH BIGINT, DATA_LENGTH BIGINT, "
    "MAX_DATA_LENGTH BIGINT, INDEX_LENGTH BIGINT, DATA_FREE BIGINT, AUTO_INCREMENT BIGINT, "
    "CREATE_TIME DATETIME_TEXT, UPDATE_TIME DATETIME_TEXT, CHECK_TIME DATETIME_TEXT, "
    "TABLE_COLLATION VARCHAR, CHECKSUM BIGINT, CREATE_OPTIONS VARCHAR, TABLE_COMMENT VARCHAR);"
    "CREATE TABLE IF NOT EXISTS \"information_schema.COLUMNS\" (TABLE_CATALOG VARCHAR, "
    "TABLE_SCHEMA VARCHAR, TABLE_NAME VARCHAR, COLUMN_NAME VARCHAR, ORDINAL_POSITION BIGINT, "
    "COLUMN_DEFAULT VARCHAR, IS_NULLABLE VARCHAR, DATA_TYPE VARCHAR, CHARACTER_MAXIMUM_LENGTH "
    "BIGINT, CHARACTER_OCTET_LENGTH BIGINT, NUMERIC_PRECISION BIGINT, NUMERIC_SCALE BIGINT, "
    "DATETIME_PRECISION BIGINT, CHARACTER_SET_NAME VARCHAR, COLLATION_NAME VARCHAR, COLUMN_TYPE "
    "VARCHAR, COLUMN_KEY VARCHAR, EXTRA VARCHAR, PRIVILEGES VARCHAR, COLUMN_COMMENT VARCHAR, "
    "COLUMN_SIZE BIGINT, DECIMAL_DIGITS BIGINT, GENERATION_EXPRESSION VARCHAR, SRS_ID BIGINT);"
    /* lookups by schema and table (DDL keeping them in step, filtered queries) */
    "CREATE INDEX IF NOT EXISTS \"information_schema.TABLES$names\" ON "
    "\"information_schema.TABLES\" (TABLE_SCHEMA, TABLE_NAME);"
    "CREATE INDEX IF NOT EXISTS \"information_schema.COLUMNS$names\" ON "
    "\"information_schema.COLUMNS\" (TABLE_SCHEMA, TABLE_NAME);";

static void bind_opt_int(sqlite3_stmt *st, int i, bool set, int64_t v)
{
    if (set)
        sqlite3_bind_int64(st, i, v);
    else
        sqlite3_bind_null(st, i);
}

/*
 * The information_schema tables are kept in step with the catalog one table
 * at a time: DDL inserts or deletes the rows of the tables it touches, inside
 * its own SQLite transaction, so neither DDL nor a query costs more with
 * more tables. The whole set is rebuilt only when the store opens. TABLE_ROWS
 * is counted lazily: a load or TRUNCATE marks its table (rows_dirty), and a
 * query that reads information_schema.TABLES recounts the marked ones.
 * Caller holds s->mu for all of these.
 */

struct info_ins {
    sqlite3_stmt *tables, *columns;
    struct emu_buf scratch;
};

static int info_ins_init(struct emu_store *s, struct info_ins *ins)
{
    ins->tables = ins->columns = NULL;
    emu_buf_init(&ins->scratch);
    sqlite3_prepare_v2(s->db,
                       "INSERT INTO \"information_schema.TABLES\" VALUES ('internal', ?1, ?2, "
                       "'BASE TABLE', 'Doris', NULL, NULL, ?3, 0, 0, NULL, NULL, NULL, NULL, "
                       "NULL, NULL, NULL, 'utf-8', NULL, NULL, ?4)",
                       -1, &ins->tables, NULL);
    sqlite3_prepare_v2(s->db,
                       "INSERT INTO \"information_schema.COLUMNS\" VALUES ('internal', ?1, ?2, "
                       "?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, NULL, NULL, ?13, ?14, '', "
                       "'SELECT', ?15, ?16, ?17, NULL, NULL)",
                       -1, &ins->columns, NULL);
    return ins->tables && ins->columns ? 0 : -1;
}

static void info_ins_fini(struct info_ins *ins)
{
    sqlite3_finalize(ins->tables);
    sqlite3_finalize(ins->columns);
    emu_buf_fini(&ins->scratch);
}

/* Inserts t's TABLES row (TABLE_ROWS = rows) and its COLUMNS rows. */
static void info_ins_table(struct info_ins *ins, const struct emu_table *t, int64_t rows)
{
    sqlite3_stmt *st = ins->tables, *cins = ins->columns;
    struct emu_buf *b = &ins->scratch;

    sqlite3_bind_text(st, 1, t->db, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, t->name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, rows);
    sqlite3_bind_text(st, 4, t->comment ? t->comment : "", -1, SQLITE_STATIC);
    sqlite3_step(st);
    sqlite3_reset(st);
    for (int c = 0; c < t->ncols; c++) {
        const struct emu_column *col = &t->cols[c];
        const struct emu_type *ty = &col->type;
        bool is_char = ty->kind == EMU_CHAR || ty->kind == EMU_VARCHAR;
        bool is_str = is_char || ty->kind == EMU_STRING;
        bool is_num = ty->kind >= EMU_TINYINT && ty->kind <= EMU_DECIMAL;
        static const int int_prec[] = {
            [EMU_TINYINT] = 3,   [EMU_SMALLINT] = 5, [EMU_INT] = 10,    [EMU_BIGINT] = 19,
            [EMU_LARGEINT] = 39, [EMU_FLOAT] = 7,    [EMU_DOUBLE] = 15, [EMU_DECIMAL] = 0};
        int prec = ty->kind == EMU_DECIMAL ? ty->precision : is_num ? int_prec[ty->kind] : 0;
        const char *key = "";

        if (col->is_key)
            key = t->keys_type == EMU_UNIQUE_KEYS ? "UNI"
                  : t->keys_type == EMU_AGG_KEYS  ? "AGG"
                                                  : "DUP";
        b->len = 0;
        emu_type_format(ty, true, b);
        sqlite3_bind_text(cins, 1, t->db, -1, SQLITE_STATIC);
        sqlite3_bind_text(cins, 2, t->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(cins, 3, col->name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(cins, 4, c + 1);
        if (col->default_value)
            sqlite3_bind_text(cins, 5, col->default_value, -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(cins, 5);
        sqlite3_bind_text(cins, 6, col->nullable ? "YES" : "NO", -1, SQLITE_STATIC);
        sqlite3_bind_text(cins, 7, emu_type_kind_name(ty->kind), -1, SQLITE_STATIC);
        bind_opt_int(cins, 8, is_str,
                     is_char                  ? ty->length
                     : ty->kind == EMU_STRING ? 2147483643
                                              : 0);
        bind_opt_int(cins, 9, is_str,
                     is_char                  ? ty->length
                     : ty->kind == EMU_STRING ? 2147483643
                                              : 0);
        bind_opt_int(cins, 10, is_num, prec);
        bind_opt_int(cins, 11, is_num && ty->kind != EMU_FLOAT && ty->kind != EMU_DOUBLE,
                     ty->kind == EMU_DECIMAL ? ty->scale : 0);
        bind_opt_int(cins, 12, ty->kind == EMU_DATETIME, ty->scale);
        sqlite3_bind_text(cins, 13, b->data, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(cins, 14, key, -1, SQLITE_STATIC);
        sqlite3_bind_text(cins, 15, col->comment ? col->comment : "", -1, SQLITE_STATIC);
        bind_opt_int(cins, 16, is_str || is_num, is_char ? ty->length : prec);
        bind_opt_int(cins, 17, ty->kind == EMU_DECIMAL || ty->kind == EMU_DATETIME, ty->scale);
        sqlite3_step(cins);
        sqlite3_reset(cins);
    }
}

/* Runs sql with ?1 = a and ?2 = b (NULL: not bound). */
static void exec_bound(struct emu_store *s, const char *sql, const char *a, const char *b)
{
    sqlite3_stmt *st;

    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        return;
    sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
    if (b)
        sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
    sqlite3_step(st);
    sqlite3_finalize(st);
}

/* Adds the rows of a new (or just altered) table. */
static void info_schema_add_table(struct emu_store *s, const struct emu_table *t, int64_t rows)
{
    struct info_ins ins;

    if (info_ins_init(s, &ins) == 0)
        info_ins_table(&ins, t, rows);
    info_ins_fini(&ins);
}

/* Removes the rows of db.name, or of every table of db when name is NULL. */
static void info_schema_remove(struct emu_store *s, const char *db, const char *name)
{
    if (name) {
        exec_bound(s,
                   "DELETE FROM \"information_schema.TABLES\" WHERE TABLE_SCHEMA = ?1 AND "
                   "TABLE_NAME = ?2",
                   db, name);
        exec_bound(s,
                   "DELETE FROM \"information_schema.COLUMNS\" WHERE TABLE_SCHEMA = ?1 AND "
                   "TABLE_NAME = ?2",
                   db, name);
    } else {
        exec_bound(s, "DELETE FROM \"information_schema.TABLES\" WHERE TABLE_SCHEMA = ?1", db,
                   NULL);
        exec_bound(s, "DELETE FROM \"information_schema.COLUMNS\" WHERE TABLE_SCHEMA = ?1", db,
                   NULL);
    }
}

/* Rebuilds SCHEMATA (one row per database: small). */
static void info_schema_schemata(struct emu_store *s)
{
    sqlite3_exec(s->db,
                 "SAVEPOINT info; DELETE FROM \"information_schema.SCHEMATA\";"
                 "INSERT INTO \"information_schema.SCHEMATA\" VALUES ('internal', "
                 "'information_schema', 'utf8', 'utf8_general_ci', NULL, 'NO');"
                 "INSERT INTO \"information_schema.SCHEMATA\" SELECT 'internal', name, 'utf8', "
                 "'utf8_general_ci', NULL, 'NO' FROM _emu_dbs ORDER BY name; RELEASE info;",
                 NULL, NULL, NULL);
}

/* Rebuilds everything from the catalog (at open); every TABLE_ROWS is
 * counted by the first query that reads it. */
static void info_schema_rebuild(struct emu_store *s)
{
    struct info_ins ins;

    sqlite3_exec(s->db,
                 "SAVEPOINT info; DELETE FROM \"information_schema.TABLES\";"
                 "DELETE FROM \"information_schema.COLUMNS\";",
                 NULL, NULL, NULL);
    info_schema_schemata(s);
    if (info_ins_init(s, &ins) == 0)
        for (int i = 0; i < s->ntables; i++) {
            info_ins_table(&ins, s->tables[i], 0);
            s->meta[i].rows_dirty = true;
        }
    info_ins_fini(&ins);
    sqlite3_exec(s->db, "RELEASE info", NULL, NULL, NULL);
}

/* Recounts TABLE_ROWS of the tables whose rows changed since their last count. */
static void info_schema_count_rows(struct emu_store *s)
{
    sqlite3_stmt *upd = NULL;
    struct emu_buf b;
    bool open = false;

    emu_buf_init(&b);
    for (int i = 0; i < s->ntables; i++) {
        const struct emu_table *t = s->tables[i];
        sqlite3_stmt *cnt;
        int64_t rows = 0;

        if (!s->meta[i].rows_dirty)
            continue;
        if (!s->meta[i].physical) { /* no rows table yet: no rows */
            s->meta[i].rows_dirty = false;
            continue;
        }
        if (!open) {
            sqlite3_exec(s->db, "SAVEPOINT info", NULL, NULL, NULL);
            open = true;
            if (sqlite3_prepare_v2(s->db,
                                   "UPDATE \"information_schema.TABLES\" SET TABLE_ROWS = ?3 "
                                   "WHERE TABLE_SCHEMA = ?1 AND TABLE_NAME = ?2",
                                   -1, &upd, NULL) != SQLITE_OK)
                break;
        }
        b.len = 0;
        EMU_PUT(&b, "SELECT count(*) FROM ");
        put_ident2(&b, t->db, t->name, "");
        if (sqlite3_prepare_v2(s->db, b.data, -1, &cnt, NULL) == SQLITE_OK) {
            if (sqlite3_step(cnt) == SQLITE_ROW)
                rows = sqlite3_column_int64(cnt, 0);
            sqlite3_finalize(cnt);
        }
        sqlite3_bind_text(upd, 1, t->db, -1, SQLITE_STATIC);
        sqlite3_bind_text(upd, 2, t->name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(upd, 3, rows);
        sqlite3_step(upd);
        sqlite3_reset(upd);
        s->meta[i].rows_dirty = false;
    }
    sqlite3_finalize(upd);
    if (open)
        sqlite3_exec(s->db, "RELEASE info", NULL, NULL, NULL);
    emu_buf_fini(&b);
}

/* ------------------------------------------------------------------------ */
/* Exact SUM                                                                 */

/*
 * Doris sums DECIMAL columns exactly (DECIMAL(38, s) result). DECIMAL and
 * LARGEINT values are stored as canonical text, which SQLite's own sum()
 * would turn into doubles, so sum() is replaced by this aggregate: integer
 * inputs sum as integers, decimal text sums as a scaled 128-bit integer
 * and comes back as text with the largest scale seen, anything else
 * (REAL, other text) falls back to a double sum as SQLite does. A decimal
 * sum that overflows 128 bits also falls back to a double.
 */
struct exact_sum {
    int mode; /* 0 nothing yet, 1 integer, 2 decimal, 3 real */
    int64_t isum;
    __int128 dsum;
    int scale;
    double rsum;
};

static bool parse_dec_text(const unsigned char *p, int n, __int128 *mant, int *scale)
{
    bool neg = false, any = false, dot = false;
    __int128 m = 0;
    int sc = 0, i = 0;

    if (n > 0 && (p[0] == '-' || p[0] == '+')) {
        neg = p[0] == '-';
        i = 1;
    }
    for (; i < n; i++) {
        if (p[i] == '.' && !dot) {
            dot = true;
            continue;
        }
        if (p[i] < '0' || p[i] > '9')
            return false;
        if (__builtin_mul_overflow(m, 10, &m) || __builtin_add_overflow(m, p[i] - '0', &m))
            return false;
        any = true;
        if (dot)
            sc++;
    }
    if (!any || sc > 38)
        return false;
    *mant = neg ? -m : m;
    *scale = sc;
    return true;
}

static __int128 pow10_128(int k)
{
    __int128 r = 1;

    while (k-- > 0)
        r *= 10;
    return r;
}

static void sum_to_real(struct exact_sum *a)
{
    if (a->mode == 1)
        a->rsum = (double)a->isum;
    else if (a->mode == 2)
        a->rsum = (double)a->dsum / (double)pow10_128(a->scale);
    a->mode = 3;
}

static void sum_to_decimal(struct exact_sum *a)
{
    if (a->mode == 1) {
        a->dsum = a->isum;
        a->scale = 0;
    }
    a->mode = 2;
}

/* SQLite's aggregate context is only 8-byte aligned; __int128 wants 16, so
 * the state is copied into an aligned local and back. */
static void exact_sum_add(struct exact_sum *a, sqlite3_value *v)
{
    switch (sqlite3_value_type(v)) {
    case SQLITE_NULL:
        return;
    case SQLITE_INTEGER: {
        int64_t x = sqlite3_value_int64(v), t;
        __int128 r;

        if (a->mode == 0)
            a->mode = 1;
        if (a->mode == 1) {
            if (!__builtin_add_overflow(a->isum, x, &t)) {
                a->isum = t;
                return;
            }
            sum_to_decimal(a);
        }
        if (a->mode == 2) {
            if (!__builtin_mul_overflow((__int128)x, pow10_128(a->scale), &r) &&
                !__builtin_add_overflow(a->dsum, r, &r)) {
                a->dsum = r;
                return;
            }
            sum_to_real(a);
        }
        a->rsum += (double)x;
        return;
    }
    case SQLITE_TEXT: {
        __int128 m, r;
        int sc;

        if (a->mode != 3 &&
            parse_dec_text(sqlite3_value_text(v), sqlite3_value_bytes(v), &m, &sc)) {
            if (a->mode != 2)
                sum_to_decimal(a);
            if (sc > a->scale) {
                if (__builtin_mul_overflow(a->dsum, pow10_128(sc - a->scale), &r)) {
                    sum_to_real(a);
                    a->rsum += sqlite3_value_double(v);
                    return;
                }
                a->dsum = r;
                a->scale = sc;
            } else if (__builtin_mul_overflow(m, pow10_128(a->scale - sc), &m)) {
                sum_to_real(a);
                a->rsum += sqlite3_value_double(v);
                return;
            }
            if (!__builtin_add_overflow(a->dsum, m, &r)) {
                a->dsum = r;
                return;
            }
            sum_to_real(a);
            a->rsum += sqlite3_value_double(v);
            return;
        }
        if (a->mode != 3)
            sum_to_real(a);
        a->rsum += sqlite3_value_double(v);
        return;
    }
    default:
        if (a->mode != 3)
            sum_to_real(a);
        a->rsum += sqlite3_value_double(v);
        return;
    }
}

static void exact_sum_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    void *mem = sqlite3_aggregate_context(ctx, sizeof(struct exact_sum));
    struct exact_sum a;

    (void)argc;
    if (!mem)
        return;
    memcpy(&a, mem, sizeof(a));
    exact_sum_add(&a, argv[0]);
    memcpy(mem, &a, sizeof(a));
}

static void exact_sum_final(sqlite3_context *ctx)
{
    void *mem = sqlite3_aggregate_context(ctx, 0);
    struct exact_sum state, *a = mem ? &state : NULL;
    char buf[64], digits[48];
    int n = 0, pos = 0;
    unsigned __int128 u;

    if (mem)
        memcpy(&state, mem, sizeof(state));
    if (!a || a->mode == 0) {
        sqlite3_result_null(ctx);
        return;
    }
    if (a->mode == 1) {
        sqlite3_result_int64(ctx, a->isum);
        return;
    }
    if (a->mode == 3) {
        sqlite3_result_double(ctx, a->rsum);
        return;
    }
    u = a->dsum < 0 ? (unsigned __int128)(-(a->dsum + 1)) + 1 : (unsigned __int128)a->dsum;
    do {
        digits[n++] = (char)('0' + (int)(u % 10));
        u /= 10;
    } while (u > 0 || n <= a->scale);
    if (a->dsum < 0)
        buf[pos++] = '-';
    while (n > 0) {
        if (n == a->scale)
            buf[pos++] = '.';
        buf[pos++] = digits[--n];
    }
    sqlite3_result_text(ctx, buf, pos, SQLITE_TRANSIENT);
}

/* ------------------------------------------------------------------------ */
/* Open / close                                                              */

static const char schema_ddl[] =
    "CREATE TABLE IF NOT EXISTS _emu_dbs(name TEXT PRIMARY KEY, id INTEGER);"
    "CREATE TABLE IF NOT EXISTS _emu_tables(id INTEGER PRIMARY KEY, db TEXT NOT NULL, "
    "name TEXT NOT NULL, def TEXT NOT NULL, UNIQUE(db, name));"
    "CREATE TABLE IF NOT EXISTS _emu_txns(id INTEGER PRIMARY KEY, db TEXT NOT NULL, "
    "label TEXT NOT NULL, tbl TEXT, state INTEGER NOT NULL, created_ms INTEGER, "
    "finished_ms INTEGER, reason TEXT, staged BLOB, staged_meta TEXT);"
    "CREATE INDEX IF NOT EXISTS _emu_txns_label ON _emu_txns(db, label);"
    "CREATE TABLE IF NOT EXISTS _emu_error_logs(token TEXT PRIMARY KEY, body BLOB, "
    "created_ms INTEGER);"
    "CREATE TABLE IF NOT EXISTS _emu_meta(k TEXT PRIMARY KEY, v INTEGER);";

struct emu_store *emu_store_open(const char *path, bool discard, struct emu_err *err)
{
    struct emu_store *s = calloc(1, sizeof(*s));
    sqlite3_stmt *st;

    if (!s)
        abort();
    pthread_mutex_init(&s->mu, NULL);
    s->discard = discard;
    s->made_physical_in_tx = -1;
    if (sqlite3_open_v2(path, &s->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        emu_err_set(err, "INTERNAL_ERROR", "could not open store \"%s\": %s", path,
                    s->db ? sqlite3_errmsg(s->db) : "out of memory");
        goto fail;
    }
    sqlite3_create_collation(s->db, "emu_decimal", SQLITE_UTF8, NULL, decimal_collate);
    sqlite3_create_function(s->db, "version", 0, SQLITE_UTF8, NULL, fn_version, NULL, NULL);
    sqlite3_create_function(s->db, "database", 0, SQLITE_UTF8, NULL, fn_database, NULL, NULL);
    sqlite3_create_function(s->db, "sum", 1, SQLITE_UTF8, NULL, NULL, exact_sum_step,
                            exact_sum_final);
    sqlite3_busy_timeout(s->db, 5000);
    if (exec_sql(s, "PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF; PRAGMA cache_size=-65536;",
                 err) < 0 ||
        exec_sql(s, schema_ddl, err) < 0 || exec_sql(s, info_schema_ddl, err) < 0)
        goto fail;
    /* Loads that were running when the process died never finished. */
    if (exec_sql(s,
                 "UPDATE _emu_txns SET state = 3, reason = 'emulator restarted' "
                 "WHERE state = 0",
                 err) < 0)
        goto fail;
    if (sqlite3_prepare_v2(s->db, "SELECT db, name, def FROM _emu_tables", -1, &st, NULL) !=
        SQLITE_OK) {
        emu_err_set(err, "INTERNAL_ERROR", "could not read the catalog: %s", sqlite3_errmsg(s->db));
        goto fail;
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
        json_t *j = json_loads((const char *)sqlite3_column_text(st, 2), 0, NULL);

        if (j) {
            cache_put(s,
                      table_from_json((const char *)sqlite3_column_text(st, 0),
                                      (const char *)sqlite3_column_text(st, 1), j),
                      (struct table_meta){.rows_dirty = true});
            json_decref(j);
        }
    }
    sqlite3_finalize(st);
    /* which tables have their SQLite objects already ("db.t$", see ensure_physical) */
    if (sqlite3_prepare_v2(s->db, "SELECT name FROM sqlite_master WHERE type = 'table'", -1, &st,
                           NULL) == SQLITE_OK) {
        while (sqlite3_step(st) == SQLITE_ROW) {
            const char *n = (const char *)sqlite3_column_text(st, 0);
            const char *dot = n ? strchr(n, '.') : NULL;
            size_t len = n ? strlen(n) : 0;
            char *db, *tn;
            int i;

            if (!dot || n[len - 1] != '$' || (size_t)(dot - n) + 2 > len)
                continue;
            db = strndup(n, (size_t)(dot - n));
            tn = strndup(dot + 1, len - (size_t)(dot - n) - 2);
            if (!db || !tn)
                abort();
            i = cache_find(s, db, tn);
            if (i >= 0)
                s->meta[i].physical = true;
            free(db);
            free(tn);
        }
        sqlite3_finalize(st);
    }
    info_schema_rebuild(s);
    return s;
fail:
    emu_store_close(s);
    return NULL;
}

void emu_store_close(struct emu_store *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->ntables; i++)
        emu_table_unref(s->tables[i]);
    free(s->tables);
    free(s->meta);
    free(s->index);
    if (s->db)
        sqlite3_close(s->db);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

bool emu_store_discard(const struct emu_store *s)
{
    return s->discard;
}

struct emu_table *emu_store_table(struct emu_store *s, const char *db, const char *table,
                                  struct emu_err *err)
{
    struct emu_table *t = NULL;
    int i;

    pthread_mutex_lock(&s->mu);
    i = cache_find(s, db, table);
    if (i >= 0)
        t = emu_table_ref(s->tables[i]);
    else if (!db_exists_locked(s, db))
        emu_err_set(err, "1049", "Unknown database '%s'", db);
    else
        emu_err_set(err, "1051", "Unknown table '%s'", table);
    pthread_mutex_unlock(&s->mu);
    return t;
}

bool emu_store_db_exists(struct emu_store *s, const char *db)
{
    bool r;

    pthread_mutex_lock(&s->mu);
    r = db_exists_locked(s, db);
    pthread_mutex_unlock(&s->mu);
    return r;
}

/* ------------------------------------------------------------------------ */
/* Transactions                                                              */

static int64_t txn_lookup_label(struct emu_store *s, const char *db, const char *label,
                                bool include_aborted, int *state)
{
    sqlite3_stmt *st;
    int64_t id = -1;

    if (sqlite3_prepare_v2(s->db,
                           include_aborted
                               ? "SELECT id, state FROM _emu_txns WHERE db = ?1 AND label = ?2 "
                                 "ORDER BY id DESC LIMIT 1"
                               : "SELECT id, state FROM _emu_txns WHERE db = ?1 AND label = ?2 "
                                 "AND state != 3 ORDER BY id DESC LIMIT 1",
                           -1, &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_text(st, 1, db, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, label, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        id = sqlite3_column_int64(st, 0);
        *state = sqlite3_column_int(st, 1);
    }
    sqlite3_finalize(st);
    return id;
}

int emu_store_txn_begin(struct emu_store *s, const char *db, const char *label, const char *table,
                        int64_t *txn_id, enum emu_txn_state *existing)
{
    int state = 0;
    int64_t id;
    sqlite3_stmt *st;
    int rc = -1;
    char gen[64];

    pthread_mutex_lock(&s->mu);
    if (!label || !*label) {
        /* The BE names unlabelled loads with a UUID. */
        uint64_t a = (uint64_t)now_ms() * 2654435761u ^ (uint64_t)rand();
        uint64_t b = ((uint64_t)rand() << 32) ^ (uint64_t)rand();

        snprintf(gen, sizeof(gen), "%08x-%04x-%04x-%04x-%012llx", (unsigned)(a >> 32),
                 (unsigned)(a >> 16) & 0xffff, (unsigned)a & 0xffff, (unsigned)(b >> 48),
                 (unsigned long long)(b & 0xffffffffffffULL));
        label = gen;
    }
    id = txn_lookup_label(s, db, label, false, &state);
    if (id >= 0) {
        *txn_id = id;
        if (existing)
            *existing = (enum emu_txn_state)state;
        rc = 1;
        goto out;
    }
    if (sqlite3_prepare_v2(s->db,
                           "INSERT INTO _emu_txns(id, db, label, tbl, state, created_ms) VALUES "
                           "((SELECT coalesce(max(id), 0) + 1 FROM _emu_txns), ?1, ?2, ?3, 0, ?4)",
                           -1, &st, NULL) != SQLITE_OK)
        goto out;
    sqlite3_bind_text(st, 1, db, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, label, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, table ? table : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, now_ms());
    if (sqlite3_step(st) == SQLITE_DONE) {
        *txn_id = sqlite3_last_insert_rowid(s->db);
        rc = 0;
    }
    sqlite3_finalize(st);
out:
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static void txn_set_state(struct emu_store *s, int64_t id, int state, const char *reason)
{
    sqlite3_stmt *st;

    if (sqlite3_prepare_v2(s->db,
                           "UPDATE _emu_txns SET state = ?2, reason = coalesce(?3, reason), "
                           "finished_ms = ?4 WHERE id = ?1",
                           -1, &st, NULL) != SQLITE_OK)
        return;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int(st, 2, state);
    if (reason)
        sqlite3_bind_text(st, 3, reason, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, now_ms());
    sqlite3_step(st);
    sqlite3_finalize(st);
}

static int txn_get(struct emu_store *s, int64_t id, char *db, size_t dblen, char *label,
                   size_t labellen)
{
    sqlite3_stmt *st;
    int state = -1;

    if (sqlite3_prepare_v2(s->db, "SELECT state, db, label FROM _emu_txns WHERE id = ?1", -1, &st,
                           NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    if (sqlite3_step(st) == SQLITE_ROW) {
        state = sqlite3_column_int(st, 0);
        if (db)
            snprintf(db, dblen, "%s", (const char *)sqlite3_column_text(st, 1));
        if (label)
            snprintf(label, labellen, "%s", (const char *)sqlite3_column_text(st, 2));
    }
    sqlite3_finalize(st);
    return state;
}

int emu_store_txn_state(struct emu_store *s, int64_t txn_id)
{
    int r;

    pthread_mutex_lock(&s->mu);
    r = txn_get(s, txn_id, NULL, 0, NULL, 0);
    pthread_mutex_unlock(&s->mu);
    return r;
}

int64_t emu_store_txn_count(struct emu_store *s)
{
    sqlite3_stmt *st;
    int64_t n = 0;

    pthread_mutex_lock(&s->mu);
    if (sqlite3_prepare_v2(s->db, "SELECT count(*) FROM _emu_txns", -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW)
            n = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    pthread_mutex_unlock(&s->mu);
    return n;
}

void emu_store_txn_abort(struct emu_store *s, int64_t txn_id, const char *reason)
{
    pthread_mutex_lock(&s->mu);
    if (txn_get(s, txn_id, NULL, 0, NULL, 0) == EMU_TXN_PREPARE)
        txn_set_state(s, txn_id, EMU_TXN_ABORTED, reason);
    pthread_mutex_unlock(&s->mu);
}

/* ------------------------------------------------------------------------ */
/* Apply                                                                     */

struct applier {
    struct emu_store *s;
    const struct emu_table *t; /* current snapshot */
    const struct emu_batch *b;
    int *val_of_col;            /* per current column: index into row values, or -1 */
    struct emu_value *defaults; /* per current column */
    struct emu_buf *default_bufs;
    int seq_src;     /* value index of the sequence (mapped column), or -1 */
    bool seq_hidden; /* sequence in __DORIS_SEQUENCE_COL__ */
    sqlite3_stmt *insert, *lookup, *update, *update_partial, *del;
    struct emu_value *vals;
};

static void bind_value(sqlite3_stmt *st, int i, const struct emu_value *v)
{
    switch (v->kind) {
    case EMU_V_NULL:
        sqlite3_bind_null(st, i);
        break;
    case EMU_V_INT:
        sqlite3_bind_int64(st, i, v->i);
        break;
    case EMU_V_REAL:
        sqlite3_bind_double(st, i, v->r);
        break;
    case EMU_V_TEXT:
        sqlite3_bind_text(st, i, v->s ? v->s : "", (int)v->n, SQLITE_STATIC);
        break;
    }
}

static int prepare(struct applier *a, sqlite3_stmt **st, struct emu_buf *sql, struct emu_err *err)
{
    if (sqlite3_prepare_v2(a->s->db, sql->data, (int)sql->len, st, NULL) != SQLITE_OK) {
        emu_err_set(err, "INTERNAL_ERROR", "sqlite: %s", sqlite3_errmsg(a->s->db));
        return -1;
    }
    return 0;
}

static void applier_fini(struct applier *a)
{
    sqlite3_finalize(a->insert);
    sqlite3_finalize(a->lookup);
    sqlite3_finalize(a->update);
    sqlite3_finalize(a->update_partial);
    sqlite3_finalize(a->del);
    if (a->default_bufs)
        for (int i = 0; i < a->t->ncols; i++)
            emu_buf_fini(&a->default_bufs[i]);
    free(a->default_bufs);
    free(a->defaults);
    free(a->val_of_col);
    free(a->vals);
}

/* Number of parameters of the full-row statements: columns, then the
 * delete sign (Unique), then the hidden sequence (sequence_type). */
static int applier_init(struct applier *a, struct emu_store *s, const struct emu_table *t,
                        const struct emu_batch *b, struct emu_err *err)
{
    struct emu_buf sql;
    bool uniq = t->keys_type == EMU_UNIQUE_KEYS;
    int np;
    char ts[40];
    time_t now = time(NULL);
    struct tm tmv;

    memset(a, 0, sizeof(*a));
    a->s = s;
    a->t = t;
    a->b = b;
    a->seq_src = -1;
    a->val_of_col = malloc(sizeof(int) * (size_t)(t->ncols + 1));
    a->defaults = calloc((size_t)t->ncols + 1, sizeof(*a->defaults));
    a->default_bufs = calloc((size_t)t->ncols + 1, sizeof(*a->default_bufs));
    a->vals = calloc((size_t)b->nvals + 1, sizeof(*a->vals));
    if (!a->val_of_col || !a->defaults || !a->default_bufs || !a->vals)
        abort();
    gmtime_r(&now, &tmv);
    strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S", &tmv);
    for (int c = 0; c < t->ncols; c++) {
        const struct emu_column *col = &t->cols[c];

        a->val_of_col[c] = -1;
        emu_buf_init(&a->default_bufs[c]);
        a->defaults[c].kind = EMU_V_NULL;
        if (col->default_value) {
            const char *d = col->default_value;

            if (!strcasecmp(d, "CURRENT_TIMESTAMP"))
                d = ts;
            if (emu_value_convert(&col->type, d, strlen(d), NULL, &a->default_bufs[c],
                                  &a->defaults[c], NULL, 0) != EMU_CONV_OK)
                a->defaults[c].kind = EMU_V_NULL;
            /* Canonical input comes back in place; d may be the local ts. */
            if (a->defaults[c].kind == EMU_V_TEXT && a->default_bufs[c].len == 0) {
                struct emu_buf *db = &a->default_bufs[c];

                emu_buf_append(db, a->defaults[c].s, a->defaults[c].n);
                a->defaults[c].s = db->data;
            }
        }
    }
    for (int v = 0; v < b->nvals; v++) {
        const char *name = b->table->cols[b->col_of_val[v]].name;
        int c = emu_table_column(t, name, strlen(name));

        if (c < 0) {
            emu_err_set(err, "INTERNAL_ERROR",
                        "column \"%s\" of table \"%s\" was dropped while the load ran", name,
                        t->name);
            return -1;
        }
        a->val_of_col[c] = v;
    }
    if (t->seq_col >= 0)
        a->seq_src = a->val_of_col[t->seq_col];
    a->seq_hidden = t->has_seq_type;

    emu_buf_init(&sql);
    /* INSERT of a whole row */
    EMU_PUT(&sql, "INSERT INTO ");
    put_ident2(&sql, t->db, t->name, "$");
    EMU_PUT(&sql, " (");
    for (int c = 0; c < t->ncols; c++) {
        if (c)
            EMU_PUT(&sql, ", ");
        put_ident(&sql, t->cols[c].name);
    }
    np = t->ncols;
    if (uniq) {
        emu_buf_printf(&sql, ", __DORIS_DELETE_SIGN__");
        np++;
    }
    if (a->seq_hidden) {
        emu_buf_printf(&sql, ", __DORIS_SEQUENCE_COL__");
        np++;
    }
    EMU_PUT(&sql, ") VALUES (");
    for (int i = 0; i < np; i++)
        emu_buf_printf(&sql, "%s?%d", i ? ", " : "", i + 1);
    EMU_PUT(&sql, ")");
    if (prepare(a, &a->insert, &sql, err) < 0)
        goto fail;
    if (!uniq) {
        emu_buf_fini(&sql);
        return 0;
    }
    /* lookup by key: rowid, delete sign, sequence */
    sql.len = 0;
    EMU_PUT(&sql, "SELECT rowid, __DORIS_DELETE_SIGN__, ");
    if (a->seq_hidden)
        emu_buf_printf(&sql, "__DORIS_SEQUENCE_COL__");
    else if (t->seq_col >= 0)
        put_ident(&sql, t->cols[t->seq_col].name);
    else
        emu_buf_printf(&sql, "NULL");
    EMU_PUT(&sql, " FROM ");
    put_ident2(&sql, t->db, t->name, "$");
    EMU_PUT(&sql, " WHERE ");
    for (int k = 0; k < t->nkeys; k++) {
        if (k)
            EMU_PUT(&sql, " AND ");
        put_ident(&sql, t->cols[k].name);
        emu_buf_printf(&sql, " IS ?%d", k + 1);
    }
    EMU_PUT(&sql, " LIMIT 1");
    if (prepare(a, &a->lookup, &sql, err) < 0)
        goto fail;
    /* UPDATE of a whole row by rowid (same parameter numbers as INSERT) */
    sql.len = 0;
    EMU_PUT(&sql, "UPDATE ");
    put_ident2(&sql, t->db, t->name, "$");
    EMU_PUT(&sql, " SET ");
    for (int c = 0; c < t->ncols; c++) {
        put_ident(&sql, t->cols[c].name);
        emu_buf_printf(&sql, " = ?%d, ", c + 1);
    }
    emu_buf_printf(&sql, "__DORIS_DELETE_SIGN__ = ?%d", t->ncols + 1);
    if (a->seq_hidden)
        emu_buf_printf(&sql, ", __DORIS_SEQUENCE_COL__ = ?%d", t->ncols + 2);
    emu_buf_printf(&sql, " WHERE rowid = ?%d", np + 1);
    if (prepare(a, &a->update, &sql, err) < 0)
        goto fail;
    /* partial UPDATE: only the loaded columns (same numbering) */
    if (b->partial) {
        sql.len = 0;
        EMU_PUT(&sql, "UPDATE ");
        put_ident2(&sql, t->db, t->name, "$");
        EMU_PUT(&sql, " SET ");
        for (int c = 0; c < t->ncols; c++) {
            if (a->val_of_col[c] < 0)
                continue;
            put_ident(&sql, t->cols[c].name);
            emu_buf_printf(&sql, " = ?%d, ", c + 1);
        }
        emu_buf_printf(&sql, "__DORIS_DELETE_SIGN__ = ?%d", t->ncols + 1);
        if (a->seq_hidden)
            emu_buf_printf(&sql, ", __DORIS_SEQUENCE_COL__ = ?%d", t->ncols + 2);
        emu_buf_printf(&sql, " WHERE rowid = ?%d", np + 1);
        if (prepare(a, &a->update_partial, &sql, err) < 0)
            goto fail;
    }
    sql.len = 0;
    EMU_PUT(&sql, "DELETE FROM ");
    put_ident2(&sql, t->db, t->name, "$");
    EMU_PUT(&sql, " WHERE rowid = ?1");
    if (prepare(a, &a->del, &sql, err) < 0)
        goto fail;
    emu_buf_fini(&sql);
    return 0;
fail:
    emu_buf_fini(&sql);
    return -1;
}

/* Binds a whole row (values, defaults for columns not loaded) to st. */
static void bind_row(struct applier *a, sqlite3_stmt *st, bool is_delete,
                     const struct emu_value *seq)
{
    const struct emu_table *t = a->t;
    int n = t->ncols;

    for (int c = 0; c < n; c++) {
        int v = a->val_of_col[c];

        bind_value(st, c + 1, v >= 0 ? &a->vals[v] : &a->defaults[c]);
    }
    if (t->keys_type == EMU_UNIQUE_KEYS) {
        sqlite3_bind_int(st, n + 1, is_delete ? 1 : 0);
        if (a->seq_hidden)
            bind_value(st, n + 2, seq);
    }
}

/* Compares a new sequence value with the stored one (NULL is smallest). */
static int seq_cmp(const struct emu_value *v, sqlite3_stmt *st, int col)
{
    int type = sqlite3_column_type(st, col);

    if (v->kind == EMU_V_NULL)
        return type == SQLITE_NULL ? 0 : -1;
    if (type == SQLITE_NULL)
        return 1;
    if (v->kind == EMU_V_INT && type == SQLITE_INTEGER) {
        int64_t o = sqlite3_column_int64(st, col);

        return (v->i > o) - (v->i < o);
    }
    if (v->kind == EMU_V_REAL || type == SQLITE_FLOAT) {
        double o = sqlite3_column_double(st, col);
        double nv = v->kind == EMU_V_REAL ? v->r : v->kind == EMU_V_INT ? (double)v->i : 0;

        return (nv > o) - (nv < o);
    }
    {
        const char *o = (const char *)sqlite3_column_text(st, col);
        int on = sqlite3_column_bytes(st, col);
        char tmp[32];
        const char *ns = v->s;
        int nn = (int)v->n;

        if (v->kind == EMU_V_INT) {
            nn = snprintf(tmp, sizeof(tmp), "%" PRId64, v->i);
            ns = tmp;
            return numeric_cmp(ns, nn, o, on);
        }
        {
            int r = memcmp(ns, o, (size_t)(nn < on ? nn : on));

            if (r == 0)
                r = nn - on;
            return (r > 0) - (r < 0);
        }
    }
}

static void key_text(struct applier *a, struct emu_buf *out)
{
    for (int k = 0; k < a->t->nkeys; k++) {
        int v = a->val_of_col[k];
        const struct emu_value *x = v >= 0 ? &a->vals[v] : &a->defaults[k];

        if (k)
            EMU_PUT(out, ", ");
        switch (x->kind) {
        case EMU_V_NULL:
            EMU_PUT(out, "NULL");
            break;
        case EMU_V_INT:
            emu_buf_printf(out, "%" PRId64, x->i);
            break;
        case EMU_V_REAL:
            emu_buf_printf(out, "%g", x->r);
            break;
        case EMU_V_TEXT:
            emu_buf_append(out, x->s, x->n);
            break;
        }
    }
}

static int step_done(struct applier *a, sqlite3_stmt *st, struct emu_err *err)
{
    int rc = sqlite3_step(st);

    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        emu_err_set(err, "INTERNAL_ERROR", "sqlite: %s", sqlite3_errmsg(a->s->db));
        return -1;
    }
    return 0;
}

static int apply_rows(struct applier *a, struct emu_err *err)
{
    const struct emu_table *t = a->t;
    const struct emu_batch *b = a->b;
    struct emu_batch_cursor cur = {b, 0};
    bool is_delete;
    struct emu_value seq = {EMU_V_NULL, 0, 0, NULL, 0};
    bool uniq = t->keys_type == EMU_UNIQUE_KEYS;
    bool use_seq = a->seq_hidden || t->seq_col >= 0;
    int np = t->ncols + (uniq ? 1 : 0) + (a->seq_hidden ? 1 : 0);
    bool seq_given = a->seq_hidden ? b->has_seq : a->seq_src >= 0;

    while (emu_batch_next(&cur, &is_delete, a->vals, &seq)) {
        const struct emu_value *row_seq;
        int64_t rowid = -1;
        bool tomb = false;
        int rc;

        if (!uniq) {
            bind_row(a, a->insert, false, NULL);
            if (step_done(a, a->insert, err) < 0)
                return -1;
            continue;
        }
        /* The row's sequence: the hidden value, the mapped column's loaded
         * value, or (full-row load without it) that column's default. A
         * partial update that does not carry the sequence keeps the stored
         * one and is not ordered against it. */
        if (!b->has_seq)
            seq.kind = EMU_V_NULL;
        if (a->seq_hidden)
            row_seq = &seq;
        else if (a->seq_src >= 0)
            row_seq = &a->vals[a->seq_src];
        else
            row_seq = t->seq_col >= 0 ? &a->defaults[t->seq_col] : &seq;
        for (int k = 0; k < t->nkeys; k++) {
            int v = a->val_of_col[k];

            bind_value(a->lookup, k + 1, v >= 0 ? &a->vals[v] : &a->defaults[k]);
        }
        rc = sqlite3_step(a->lookup);
        if (rc == SQLITE_ROW) {
            rowid = sqlite3_column_int64(a->lookup, 0);
            tomb = sqlite3_column_int(a->lookup, 1) != 0;
            if (use_seq && !(b->partial && !seq_given) && seq_cmp(row_seq, a->lookup, 2) < 0) {
                sqlite3_reset(a->lookup);
                continue; /* an older change: the stored row wins */
            }
        } else if (rc != SQLITE_DONE) {
            sqlite3_reset(a->lookup);
            emu_err_set(err, "INTERNAL_ERROR", "sqlite: %s", sqlite3_errmsg(a->s->db));
            return -1;
        }
        sqlite3_reset(a->lookup);

        if (is_delete) {
            if (use_seq) {
                /* Keep a tombstone carrying the sequence, so that older
                 * changes arriving later cannot bring the row back. */
                sqlite3_stmt *st = rowid >= 0 ? a->update : a->insert;

                bind_row(a, st, true, &seq);
                if (rowid >= 0)
                    sqlite3_bind_int64(st, np + 1, rowid);
                if (step_done(a, st, err) < 0)
                    return -1;
            } else if (rowid >= 0) {
                sqlite3_bind_int64(a->del, 1, rowid);
                if (step_done(a, a->del, err) < 0)
                    return -1;
            }
            continue;
        }
        if (b->partial && (rowid < 0 || tomb)) {
            if (b->new_key_error || b->strict) {
                struct emu_buf k;

                emu_buf_init(&k);
                key_text(a, &k);
                if (b->new_key_error)
                    emu_err_set(err, "E-7003",
                                "Can't append new rows in partial update when "
                                "partial_update_new_key_behavior is ERROR. Row with key=[%s] is "
                                "not in table.",
                                k.data ? k.data : "");
                else
                    emu_err_set(err, "INTERNAL_ERROR",
                                "too many filtered rows: can't insert new row with key=[%s] in "
                                "strict mode partial update",
                                k.data ? k.data : "");
                emu_buf_fini(&k);
                return -1;
            }
            for (int c = 0; c < t->ncols; c++)
                if (a->val_of_col[c] < 0 && !t->cols[c].nullable && !t->cols[c].default_value) {
                    emu_err_set(err, "INTERNAL_ERROR",
                                "the unmentioned column `%s` should have default value or be "
                                "nullable for newly inserted rows in non-strict mode partial "
                                "update",
                                t->cols[c].name);
                    return -1;
                }
        }
        if (rowid < 0) {
            bind_row(a, a->insert, false, &seq);
            if (step_done(a, a->insert, err) < 0)
                return -1;
        } else {
            sqlite3_stmt *st = b->partial && !tomb ? a->update_partial : a->update;

            bind_row(a, st, false, &seq);
            sqlite3_bind_int64(st, np + 1, rowid);
            if (step_done(a, st, err) < 0)
                return -1;
        }
    }
    return 0;
}

/* Applies a batch inside the caller's SQLite transaction. */
static int apply_batch(struct emu_store *s, struct emu_batch *b, struct emu_err *err)
{
    struct applier a;
    const struct emu_table *t;
    int i, rc;

    if (s->discard || !b || b->nrows == 0)
        return 0;
    i = cache_find(s, b->table->db, b->table->name);
    if (i < 0) {
        emu_err_set(err, "ANALYSIS_ERROR", "Unknown table '%s'", b->table->name);
        return -1;
    }
    t = s->tables[i];
    s->meta[i].rows_dirty = true; /* TABLE_ROWS recounted by the next query of it */
    if (t->keys_type == EMU_AGG_KEYS) {
        emu_err_set(err, "NOT_IMPLEMENTED", "the emulator does not store AGGREGATE KEY tables");
        return -1;
    }
    if (ensure_physical(s, i, err) < 0)
        return -1;
    rc = applier_init(&a, s, t, b, err);
    if (rc == 0)
        rc = apply_rows(&a, err);
    applier_fini(&a);
    return rc;
}

/* Serialises what a 2PC commit needs to rebuild the batch. */
static char *batch_meta(const struct emu_batch *b)
{
    json_t *j = json_object(), *cols = json_array();
    char *text;

    for (int v = 0; v < b->nvals; v++)
        json_array_append_new(cols, json_string(b->table->cols[b->col_of_val[v]].name));
    json_object_set_new(j, "cols", cols);
    json_object_set_new(j, "partial", json_boolean(b->partial));
    json_object_set_new(j, "new_key_error", json_boolean(b->new_key_error));
    json_object_set_new(j, "strict", json_boolean(b->strict));
    json_object_set_new(j, "has_seq", json_boolean(b->has_seq));
    json_object_set_new(j, "nrows", json_integer(b->nrows));
    json_object_set_new(j, "db", json_string(b->table->db));
    json_object_set_new(j, "table", json_string(b->table->name));
    text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return text;
}

static int begin_tx(struct emu_store *s, struct emu_err *err)
{
    s->made_physical_in_tx = -1;
    return exec_sql(s, "BEGIN IMMEDIATE", err);
}

static void rollback_tx(struct emu_store *s)
{
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    if (s->made_physical_in_tx >= 0) /* the ROLLBACK took its objects away */
        s->meta[s->made_physical_in_tx].physical = false;
    s->made_physical_in_tx = -1;
}

int emu_store_txn_finish(struct emu_store *s, int64_t txn_id, struct emu_batch *batch,
                         bool two_phase, struct emu_err *err)
{
    int state, rc = -1;

    pthread_mutex_lock(&s->mu);
    state = txn_get(s, txn_id, NULL, 0, NULL, 0);
    if (state != EMU_TXN_PREPARE) {
        emu_err_set(err, "INTERNAL_ERROR", "transaction [%" PRId64 "] is not running", txn_id);
        goto out;
    }
    if (begin_tx(s, err) < 0)
        goto abort;
    if (two_phase) {
        sqlite3_stmt *st;
        char *meta = batch ? batch_meta(batch) : NULL;

        if (sqlite3_prepare_v2(s->db,
                               "UPDATE _emu_txns SET state = 1, staged = ?2, staged_meta = ?3 "
                               "WHERE id = ?1",
                               -1, &st, NULL) != SQLITE_OK) {
            free(meta);
            emu_err_set(err, "INTERNAL_ERROR", "sqlite: %s", sqlite3_errmsg(s->db));
            rollback_tx(s);
            goto abort;
        }
        sqlite3_bind_int64(st, 1, txn_id);
        if (batch && !s->discard)
            sqlite3_bind_blob(st, 2, batch->rows.data ? batch->rows.data : "", (int)batch->rows.len,
                              SQLITE_STATIC);
        else
            sqlite3_bind_null(st, 2);
        if (meta)
            sqlite3_bind_text(st, 3, meta, -1, SQLITE_STATIC);
        rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
        sqlite3_finalize(st);
        free(meta);
    } else {
        rc = apply_batch(s, batch, err);
        if (rc == 0)
            txn_set_state(s, txn_id, EMU_TXN_VISIBLE, NULL);
    }
    if (rc == 0 && exec_sql(s, "COMMIT", err) == 0)
        goto out;
    rollback_tx(s);
abort:
    txn_set_state(s, txn_id, EMU_TXN_ABORTED, err ? err->msg : "load failed");
    rc = -1;
out:
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* Commits a PRECOMMITTED transaction: rebuilds and applies its batch. */
static int commit_staged(struct emu_store *s, int64_t id, struct emu_err *err)
{
    sqlite3_stmt *st;
    json_t *meta = NULL;
    struct emu_batch b;
    bool have_batch = false;
    int rc = -1;

    if (sqlite3_prepare_v2(s->db, "SELECT staged, staged_meta FROM _emu_txns WHERE id = ?1", -1,
                           &st, NULL) != SQLITE_OK) {
        emu_err_set(err, "INTERNAL_ERROR", "sqlite: %s", sqlite3_errmsg(s->db));
        return -1;
    }
    sqlite3_bind_int64(st, 1, id);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 1) != SQLITE_NULL)
        meta = json_loads((const char *)sqlite3_column_text(st, 1), 0, NULL);
    if (meta && sqlite3_column_type(st, 0) != SQLITE_NULL) {
        const char *db = json_string_value(json_object_get(meta, "db"));
        const char *tn = json_string_value(json_object_get(meta, "table"));
        json_t *cols = json_object_get(meta, "cols");
        int i = db && tn ? cache_find(s, db, tn) : -1;
        int n = (int)json_array_size(cols);
        int *cov = calloc((size_t)n + 1, sizeof(int));

        if (i < 0) {
            emu_err_set(err, "ANALYSIS_ERROR", "Unknown table '%s'", tn ? tn : "");
            free(cov);
            goto out;
        }
        for (int v = 0; v < n; v++) {
            const char *name = json_string_value(json_array_get(cols, (size_t)v));

            cov[v] = emu_table_column(s->tables[i], name, strlen(name));
            if (cov[v] < 0) {
                emu_err_set(err, "INTERNAL_ERROR",
                            "column \"%s\" was dropped after the transaction was precommitted",
                            name);
                free(cov);
                goto out;
            }
        }
        emu_batch_init(&b, s->tables[i], cov, n);
        free(cov);
        have_batch = true;
        b.partial = json_is_true(json_object_get(meta, "partial"));
        b.new_key_error = json_is_true(json_object_get(meta, "new_key_error"));
        b.strict = json_is_true(json_object_get(meta, "strict"));
        b.has_seq = json_is_true(json_object_get(meta, "has_seq"));
        b.nrows = json_integer_value(json_object_get(meta, "nrows"));
        emu_buf_append(&b.rows, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0));
    }
    rc = have_batch ? apply_batch(s, &b, err) : 0;
out:
    sqlite3_finalize(st);
    if (have_batch)
        emu_batch_fini(&b);
    json_decref(meta);
    return rc;
}

static const char *state_word(int state)
{
    switch (state) {
    case EMU_TXN_PREPARE:
        return "PREPARE";
    case EMU_TXN_PRECOMMITTED:
        return "PRECOMMITTED";
    case EMU_TXN_VISIBLE:
        return "VISIBLE";
    default:
        return "ABORTED";
    }
}

int emu_store_txn_2pc(struct emu_store *s, const char *db, int64_t txn_id, const char *label,
                      bool commit, char *msg, size_t msglen, struct emu_err *err)
{
    int state = -1, rc = -1;
    char tdb[256] = "";
    const char *op = commit ? "commit" : "abort";

    pthread_mutex_lock(&s->mu);
    if (txn_id < 0) {
        txn_id = txn_lookup_label(s, db, label ? label : "", true, &state);
        if (txn_id < 0) {
            emu_err_set(err, "ANALYSIS_ERROR", "label [%s] not found", label ? label : "");
            goto out;
        }
    }
    state = txn_get(s, txn_id, tdb, sizeof(tdb), NULL, 0);
    if (state < 0 || strcmp(tdb, db) != 0) {
        emu_err_set(err, "ANALYSIS_ERROR", "transaction [%" PRId64 "] not found", txn_id);
        goto out;
    }
    /* abort also takes a transaction whose load is still running */
    if (state != EMU_TXN_PRECOMMITTED && (commit || state != EMU_TXN_PREPARE)) {
        if (commit)
            emu_err_set(err, "ANALYSIS_ERROR",
                        "transaction [%" PRId64 "] is already %s, not pre-committed.", txn_id,
                        state == EMU_TXN_ABORTED ? "aborted" : state_word(state));
        else
            emu_err_set(err, "ANALYSIS_ERROR",
                        "transaction [%" PRId64 "] is already %s, could not abort.", txn_id,
                        state == EMU_TXN_ABORTED ? "aborted" : state_word(state));
        goto out;
    }
    if (commit) {
        if (begin_tx(s, err) < 0)
            goto out;
        if (commit_staged(s, txn_id, err) < 0) {
            rollback_tx(s);
            goto out;
        }
        txn_set_state(s, txn_id, EMU_TXN_VISIBLE, NULL);
        if (exec_sql(s, "UPDATE _emu_txns SET staged = NULL WHERE state = 2 AND staged IS NOT NULL",
                     err) < 0 ||
            exec_sql(s, "COMMIT", err) < 0) {
            rollback_tx(s);
            goto out;
        }
    } else {
        txn_set_state(s, txn_id, EMU_TXN_ABORTED, "user abort");
        exec_sql(s, "UPDATE _emu_txns SET staged = NULL WHERE state = 3 AND staged IS NOT NULL",
                 NULL);
    }
    if (label && *label)
        snprintf(msg, msglen, "label [%s] %s successfully.", label, op);
    else
        snprintf(msg, msglen, "transaction [%" PRId64 "] %s successfully.", txn_id, op);
    rc = 0;
out:
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Error logs                                                                */

char *emu_store_error_log_put(struct emu_store *s, const char *text, size_t len)
{
    sqlite3_stmt *st;
    char token[128];
    char *r = NULL;

    pthread_mutex_lock(&s->mu);
    s->errlog_seq++;
    snprintf(token, sizeof(token), "__shard_0/error_log_insert_stmt_%" PRIx64 "_%" PRIx64,
             (uint64_t)now_ms(), s->errlog_seq);
    if (sqlite3_prepare_v2(s->db,
                           "INSERT OR REPLACE INTO _emu_error_logs(token, body, created_ms) "
                           "VALUES (?1, ?2, ?3)",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, token, -1, SQLITE_STATIC);
        sqlite3_bind_blob(st, 2, text ? text : "", (int)len, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, now_ms());
        if (sqlite3_step(st) == SQLITE_DONE)
            r = strdup(token);
        sqlite3_finalize(st);
    }
    pthread_mutex_unlock(&s->mu);
    return r;
}

char *emu_store_error_log_get(struct emu_store *s, const char *token, size_t *len)
{
    sqlite3_stmt *st;
    char *r = NULL;

    pthread_mutex_lock(&s->mu);
    if (sqlite3_prepare_v2(s->db, "SELECT body FROM _emu_error_logs WHERE token = ?1", -1, &st,
                           NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, token, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) {
            size_t n = (size_t)sqlite3_column_bytes(st, 0);

            r = malloc(n + 1);
            if (!r)
                abort();
            if (n)
                memcpy(r, sqlite3_column_blob(st, 0), n);
            r[n] = '\0';
            if (len)
                *len = n;
        }
        sqlite3_finalize(st);
    }
    pthread_mutex_unlock(&s->mu);
    return r;
}

/* ------------------------------------------------------------------------ */
/* SQL over HTTP                                                             */

static json_t *exec_status(int64_t t0)
{
    json_t *r = json_object();

    json_object_set_new(r, "type", json_string("exec_status"));
    json_object_set_new(r, "status", json_object());
    json_object_set_new(r, "time", json_integer(now_ms() - t0));
    return r;
}

/* A result set under construction: meta names/types, then rows. */
struct rs {
    json_t *meta, *data;
    long limit;
};

static void rs_init(struct rs *r, long limit)
{
    r->meta = json_array();
    r->data = json_array();
    r->limit = limit;
}

static void rs_col(struct rs *r, const char *name, const char *type)
{
    json_t *m = json_object();

    json_object_set_new(m, "name", json_string(name));
    json_object_set_new(m, "type", json_string(type));
    json_array_append_new(r->meta, m);
}

static void rs_row(struct rs *r, json_t *row)
{
    if (r->limit >= 0 && (long)json_array_size(r->data) >= r->limit) {
        json_decref(row);
        return;
    }
    json_array_append_new(r->data, row);
}

static json_t *rs_finish(struct rs *r, int64_t t0)
{
    json_t *o = json_object();

    json_object_set_new(o, "type", json_string("result_set"));
    json_object_set_new(o, "meta", r->meta);
    json_object_set_new(o, "data", r->data);
    json_object_set_new(o, "time", json_integer(now_ms() - t0));
    return o;
}

static json_t *jstr_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* Numeric text as a JSON number when a double carries it exactly enough
 * (at most 15 significant digits), else as a string (see README). */
static json_t *numeric_text_json(const char *s, bool integral)
{
    int sig = 0;
    bool started = false;

    for (const char *c = s; *c; c++) {
        if (*c >= '1' && *c <= '9')
            started = true;
        if (started && isdigit((unsigned char)*c))
            sig++;
    }
    if (integral && sig <= 18)
        return json_integer(strtoll(s, NULL, 10));
    if (!integral && sig <= 15)
        return json_real(strtod(s, NULL));
    return json_string(s);
}

static json_t *cell_json(sqlite3_stmt *st, int i, const char *meta)
{
    int type = sqlite3_column_type(st, i);

    if (type == SQLITE_NULL)
        return json_null();
    if (meta && !strcmp(meta, "BOOLEAN") && type == SQLITE_INTEGER)
        return json_boolean(sqlite3_column_int64(st, i) != 0);
    if (type == SQLITE_INTEGER)
        return json_integer(sqlite3_column_int64(st, i));
    if (type == SQLITE_FLOAT) {
        double d = sqlite3_column_double(st, i);

        if (isinf(d))
            return json_string(d > 0 ? "Infinity" : "-Infinity");
        return json_real(d);
    }
    {
        const char *s = (const char *)sqlite3_column_text(st, i);

        if (meta && !strcmp(meta, "DECIMAL"))
            return numeric_text_json(s, false);
        if (meta && !strcmp(meta, "LARGEINT"))
            return numeric_text_json(s, true);
        return json_stringn(s, (size_t)sqlite3_column_bytes(st, i));
    }
}

static const char *meta_of_value(sqlite3_stmt *st, int i)
{
    switch (sqlite3_column_type(st, i)) {
    case SQLITE_INTEGER:
        return "BIGINT";
    case SQLITE_FLOAT:
        return "DOUBLE";
    case SQLITE_NULL:
        return "NULL_TYPE";
    default:
        return "VARCHAR";
    }
}

/* Maps SQLite errors of a rewritten SELECT to Doris's texts. */
static void select_error(struct emu_store *s, const char *session_db, struct emu_err *err)
{
    const char *m = sqlite3_errmsg(s->db);

    if (!strncmp(m, "no such column: ", 16))
        emu_err_set(err, "1054", "Unknown column '%s' in 'table list'", m + 16);
    else if (!strncmp(m, "no such table: ", 15)) {
        const char *full = m + 15, *dot = strchr(full, '.');

        if (dot)
            emu_err_set(err, "1105", "Table [%s] does not exist in database [%.*s].", dot + 1,
                        (int)(dot - full), full);
        else
            emu_err_set(err, "1105", "Table [%s] does not exist in database [%s].", full,
                        session_db ? session_db : "");
    } else
        emu_err_set(err, "1105", "%s", m);
}

static int run_select(struct emu_store *s, const struct emu_stmt *st, const char *sql,
                      const char *db, long limit, json_t **result, struct emu_err *err, int64_t t0)
{
    struct emu_buf q;
    sqlite3_stmt *ps = NULL;
    struct rs r;
    int ncol, rc, ti;
    const char **metas = NULL;

    for (int i = 0; i < st->nrefs; i++) {
        const char *rdb = st->refs[i].db[0] ? st->refs[i].db : db;

        if (!rdb || !*rdb) {
            emu_err_set(err, "1046", "No database selected");
            return -1;
        }
        if (!strcasecmp(rdb, "information_schema")) {
            if (!strcasecmp(st->refs[i].table, "TABLES"))
                info_schema_count_rows(s);
            continue;
        }
        if (!db_exists_locked(s, rdb)) {
            emu_err_set(err, "1049", "Unknown database '%s'", rdb);
            return -1;
        }
        ti = cache_find(s, rdb, st->refs[i].table);
        if (ti < 0) {
            emu_err_set(err, "1105", "Table [%s] does not exist in database [%s].",
                        st->refs[i].table, rdb);
            return -1;
        }
        if (ensure_physical(s, ti, err) < 0)
            return -1;
    }
    emu_buf_init(&q);
    emu_sql_rewrite_select(st, sql, db, &q);
    session_db_tls = db;
    rc = sqlite3_prepare_v2(s->db, q.data, (int)q.len, &ps, NULL);
    emu_buf_fini(&q);
    if (rc != SQLITE_OK) {
        select_error(s, db, err);
        session_db_tls = NULL;
        return -1;
    }
    rs_init(&r, limit);
    ncol = sqlite3_column_count(ps);
    metas = calloc((size_t)ncol + 1, sizeof(*metas));
    for (int i = 0; i < ncol; i++)
        metas[i] = meta_type_of_decl(sqlite3_column_decltype(ps, i));
    rc = sqlite3_step(ps);
    for (int i = 0; i < ncol; i++)
        rs_col(&r, sqlite3_column_name(ps, i),
               metas[i]           ? metas[i]
               : rc == SQLITE_ROW ? meta_of_value(ps, i)
                                  : "VARCHAR");
    while (rc == SQLITE_ROW) {
        json_t *row;

        if (limit >= 0 && (long)json_array_size(r.data) >= limit)
            break;
        row = json_array();
        for (int i = 0; i < ncol; i++)
            json_array_append_new(row, cell_json(ps, i, metas[i]));
        rs_row(&r, row);
        rc = sqlite3_step(ps);
    }
    session_db_tls = NULL;
    free(metas);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        select_error(s, db, err);
        sqlite3_finalize(ps);
        json_decref(r.meta);
        json_decref(r.data);
        return -1;
    }
    sqlite3_finalize(ps);
    *result = rs_finish(&r, t0);
    return 0;
}

static int create_db(struct emu_store *s, const struct emu_stmt *st, struct emu_err *err)
{
    sqlite3_stmt *ps;
    int rc;

    if (emu_sql_check_db_name(st->db, err) < 0)
        return -1;
    if (db_exists_locked(s, st->db)) {
        if (st->if_not_exists)
            return 0;
        emu_err_set(err, "1007", "Can't create database '%s'; database exists", st->db);
        return -1;
    }
    if (sqlite3_prepare_v2(s->db,
                           "INSERT INTO _emu_dbs(name, id) VALUES (?1, (SELECT coalesce(max(id), "
                           "10000) + 1 FROM _emu_dbs))",
                           -1, &ps, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_text(ps, 1, st->db, -1, SQLITE_STATIC);
    rc = sqlite3_step(ps) == SQLITE_DONE ? 0 : -1;
    sqlite3_finalize(ps);
    if (rc < 0)
        emu_err_set(err, "1105", "sqlite: %s", sqlite3_errmsg(s->db));
    info_schema_schemata(s);
    return rc;
}

static int delete_table_def(struct emu_store *s, const char *db, const char *name,
                            struct emu_err *err)
{
    sqlite3_stmt *ps;
    int rc;

    if (sqlite3_prepare_v2(s->db, "DELETE FROM _emu_tables WHERE db = ?1 AND name = ?2", -1, &ps,
                           NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_text(ps, 1, db, -1, SQLITE_STATIC);
    sqlite3_bind_text(ps, 2, name, -1, SQLITE_STATIC);
    rc = sqlite3_step(ps) == SQLITE_DONE ? 0 : -1;
    sqlite3_finalize(ps);
    if (rc < 0)
        emu_err_set(err, "1105", "sqlite: %s", sqlite3_errmsg(s->db));
    return rc;
}

static int drop_db(struct emu_store *s, const struct emu_stmt *st, struct emu_err *err)
{
    sqlite3_stmt *ps;

    if (!strcasecmp(st->db, "information_schema")) {
        emu_err_set(err, "1044", "Access denied for user 'root' to database 'information_schema'");
        return -1;
    }
    if (!db_exists_locked(s, st->db)) {
        if (st->if_exists)
            return 0;
        emu_err_set(err, "1008", "Can't drop database '%s'; database doesn't exist", st->db);
        return -1;
    }
    if (begin_tx(s, err) < 0)
        return -1;
    for (int i = s->ntables - 1; i >= 0; i--) {
        if (strcmp(s->tables[i]->db, st->db) != 0)
            continue;
        if ((s->meta[i].physical && drop_physical(s, st->db, s->tables[i]->name, err) < 0) ||
            delete_table_def(s, st->db, s->tables[i]->name, err) < 0) {
            rollback_tx(s);
            return -1;
        }
    }
    if (sqlite3_prepare_v2(s->db, "DELETE FROM _emu_dbs WHERE name = ?1", -1, &ps, NULL) ==
        SQLITE_OK) {
        sqlite3_bind_text(ps, 1, st->db, -1, SQLITE_STATIC);
        sqlite3_step(ps);
        sqlite3_finalize(ps);
    }
    info_schema_remove(s, st->db, NULL);
    if (exec_sql(s, "COMMIT", err) < 0) {
        rollback_tx(s);
        return -1;
    }
    for (int i = s->ntables - 1; i >= 0; i--)
        if (!strcmp(s->tables[i]->db, st->db))
            cache_drop_at(s, i);
    info_schema_schemata(s);
    return 0;
}

static int next_table_id(struct emu_store *s)
{
    sqlite3_stmt *ps;
    int64_t id = 10001;

    if (sqlite3_prepare_v2(s->db, "SELECT coalesce(max(id), 10000) + 1 FROM _emu_tables", -1, &ps,
                           NULL) == SQLITE_OK) {
        if (sqlite3_step(ps) == SQLITE_ROW)
            id = sqlite3_column_int64(ps, 0);
        sqlite3_finalize(ps);
    }
    return (int)id;
}

static int create_table(struct emu_store *s, const struct emu_stmt *st, const char *db,
                        struct emu_err *err)
{
    struct emu_table *t;

    if (!db_exists_locked(s, db) || !strcasecmp(db, "information_schema")) {
        emu_err_set(err, "1049", "Unknown database '%s'", db);
        return -1;
    }
    if (cache_find(s, db, st->table) >= 0) {
        if (st->if_not_exists)
            return 0;
        emu_err_set(err, "1050", "Table '%s' already exists", st->table);
        return -1;
    }
    t = emu_sql_build_table(st, db, err);
    if (!t)
        return -1;
    if (cache_lookup(s, db, st->table, true) >= 0) {
        /* SQLite names ignore ASCII case: what creating its rows table would say */
        emu_err_set(err, "1105", "sqlite: table \"%s.%s$\" already exists", db, st->table);
        emu_table_unref(t);
        return -1;
    }
    t->table_id = next_table_id(s);
    if (begin_tx(s, err) < 0 || save_def(s, t, true, err) < 0) {
        rollback_tx(s);
        emu_table_unref(t);
        return -1;
    }
    info_schema_add_table(s, t, 0);
    if (exec_sql(s, "COMMIT", err) < 0) {
        rollback_tx(s);
        emu_table_unref(t);
        return -1;
    }
    cache_put(s, t, (struct table_meta){0}); /* physical when first needed */
    return 0;
}

static int lookup_for_ddl(struct emu_store *s, const char *db, const char *name,
                          struct emu_err *err)
{
    int i;

    if (!db || !*db) {
        emu_err_set(err, "1046", "No database selected");
        return -1;
    }
    if (!db_exists_locked(s, db)) {
        emu_err_set(err, "1049", "Unknown database '%s'", db);
        return -1;
    }
    i = cache_find(s, db, name);
    if (i < 0)
        emu_err_set(err, "1051", "Unknown table '%s'", name);
    return i;
}

/* Rebuilds the physical table after ALTER: new table with the new column
 * set, rows copied by column name (new columns take their default). */
static int alter_physical(struct emu_store *s, const struct emu_table *old,
                          const struct emu_table *nt, struct emu_err *err)
{
    struct emu_buf b;
    int rc;

    emu_buf_init(&b);
    EMU_PUT(&b, "DROP VIEW IF EXISTS ");
    put_ident2(&b, old->db, old->name, "");
    EMU_PUT(&b, "; ALTER TABLE ");
    put_ident2(&b, old->db, old->name, "$");
    EMU_PUT(&b, " RENAME TO ");
    put_ident2(&b, old->db, old->name, "$old");
    EMU_PUT(&b, "; DROP INDEX IF EXISTS ");
    put_ident2(&b, old->db, old->name, "$keys");
    EMU_PUT(&b, ";");
    rc = exec_sql(s, b.data, err);
    if (rc == 0)
        rc = create_physical(s, nt, err);
    if (rc == 0) {
        b.len = 0;
        EMU_PUT(&b, "INSERT INTO ");
        put_ident2(&b, nt->db, nt->name, "$");
        EMU_PUT(&b, " SELECT ");
        for (int c = 0; c < nt->ncols; c++) {
            int oc = emu_table_column(old, nt->cols[c].name, strlen(nt->cols[c].name));

            if (c)
                EMU_PUT(&b, ", ");
            if (oc >= 0)
                put_ident(&b, nt->cols[c].name);
            else
                default_literal(&nt->cols[c], &b);
        }
        if (has_tombstones(nt))
            EMU_PUT(&b, ", __DORIS_DELETE_SIGN__");
        if (nt->has_seq_type)
            EMU_PUT(&b, ", __DORIS_SEQUENCE_COL__");
        EMU_PUT(&b, " FROM ");
        put_ident2(&b, old->db, old->name, "$old");
        EMU_PUT(&b, " ORDER BY rowid; DROP TABLE ");
        put_ident2(&b, old->db, old->name, "$old");
        rc = exec_sql(s, b.data, err);
    }
    emu_buf_fini(&b);
    return rc;
}

static int alter_table(struct emu_store *s, const struct emu_stmt *st, const char *db,
                       struct emu_err *err)
{
    int i = lookup_for_ddl(s, db, st->table, err);
    struct emu_table *nt;

    if (i < 0)
        return -1;
    nt = emu_sql_alter_table(st, s->tables[i], err);
    if (!nt)
        return -1;
    if (begin_tx(s, err) < 0 ||
        (s->meta[i].physical && alter_physical(s, s->tables[i], nt, err) < 0) ||
        save_def(s, nt, false, err) < 0) {
        rollback_tx(s);
        emu_table_unref(nt);
        return -1;
    }
    info_schema_remove(s, nt->db, nt->name);
    info_schema_add_table(s, nt, 0);
    if (exec_sql(s, "COMMIT", err) < 0) {
        rollback_tx(s);
        emu_table_unref(nt);
        return -1;
    }
    cache_put(s, nt, (struct table_meta){0}); /* replaces: keeps the meta */
    s->meta[i].rows_dirty = true;             /* its TABLES row was written with 0 rows */
    return 0;
}

static int drop_table(struct emu_store *s, const struct emu_stmt *st, const char *db,
                      struct emu_err *err)
{
    int i;

    if (!db || !*db) {
        emu_err_set(err, "1046", "No database selected");
        return -1;
    }
    if (!db_exists_locked(s, db)) {
        emu_err_set(err, "1049", "Unknown database '%s'", db);
        return -1;
    }
    i = cache_find(s, db, st->table);
    if (i < 0) {
        if (st->if_exists)
            return 0;
        emu_err_set(err, "1051", "Unknown table '%s'", st->table);
        return -1;
    }
    if (begin_tx(s, err) < 0 || (s->meta[i].physical && drop_physical(s, db, st->table, err) < 0) ||
        delete_table_def(s, db, st->table, err) < 0) {
        rollback_tx(s);
        return -1;
    }
    info_schema_remove(s, db, st->table);
    if (exec_sql(s, "COMMIT", err) < 0) {
        rollback_tx(s);
        return -1;
    }
    cache_drop_at(s, i);
    return 0;
}

static int truncate_table(struct emu_store *s, const struct emu_stmt *st, const char *db,
                          struct emu_err *err)
{
    int i = lookup_for_ddl(s, db, st->table, err);
    struct emu_buf b;
    int rc;

    if (i < 0)
        return -1;
    if (!s->meta[i].physical) /* never held a row */
        return 0;
    emu_buf_init(&b);
    EMU_PUT(&b, "DELETE FROM ");
    put_ident2(&b, db, st->table, "$");
    rc = exec_sql(s, b.data, err);
    emu_buf_fini(&b);
    s->meta[i].rows_dirty = true;
    return rc;
}

static json_t *type_json(const struct emu_type *t, bool lower)
{
    struct emu_buf b;
    json_t *j;

    emu_buf_init(&b);
    emu_type_format(t, lower, &b);
    j = json_string(b.data);
    emu_buf_fini(&b);
    return j;
}

static const char *extra_of(const struct emu_table *t, const struct emu_column *c)
{
    if (c->is_key)
        return "";
    return t->keys_type == EMU_UNIQUE_KEYS ? "REPLACE" : "NONE";
}

static void show_desc(const struct emu_table *t, struct rs *r)
{
    rs_col(r, "Field", "CHAR");
    rs_col(r, "Type", "CHAR");
    rs_col(r, "Null", "CHAR");
    rs_col(r, "Key", "CHAR");
    rs_col(r, "Default", "CHAR");
    rs_col(r, "Extra", "CHAR");
    for (int i = 0; i < t->ncols; i++) {
        const struct emu_column *c = &t->cols[i];
        json_t *row = json_array();

        json_array_append_new(row, json_string(c->name));
        json_array_append_new(row, type_json(&c->type, true));
        json_array_append_new(row, json_string(c->nullable ? "Yes" : "No"));
        json_array_append_new(row, json_string(c->is_key ? "true" : "false"));
        json_array_append_new(row, jstr_or_null(c->default_value));
        json_array_append_new(row, json_string(extra_of(t, c)));
        rs_row(r, row);
    }
}

static void show_full_columns(const struct emu_table *t, bool full, struct rs *r)
{
    rs_col(r, "Field", "CHAR");
    rs_col(r, "Type", "CHAR");
    if (full)
        rs_col(r, "Collation", "CHAR");
    rs_col(r, "Null", "CHAR");
    rs_col(r, "Key", "CHAR");
    rs_col(r, "Default", "CHAR");
    rs_col(r, "Extra", "CHAR");
    if (full) {
        rs_col(r, "Privileges", "CHAR");
        rs_col(r, "Comment", "CHAR");
    }
    for (int i = 0; i < t->ncols; i++) {
        const struct emu_column *c = &t->cols[i];
        json_t *row = json_array();

        json_array_append_new(row, json_string(c->name));
        json_array_append_new(row, type_json(&c->type, true));
        if (full)
            json_array_append_new(row, json_null());
        json_array_append_new(row, json_string(c->nullable ? "YES" : "NO"));
        json_array_append_new(row, json_string(c->is_key ? "YES" : "NO"));
        json_array_append_new(row, jstr_or_null(c->default_value));
        json_array_append_new(row, json_string(extra_of(t, c)));
        if (full) {
            json_array_append_new(row, json_string("select,insert,update,references"));
            json_array_append_new(row, json_string(c->comment ? c->comment : ""));
        }
        rs_row(r, row);
    }
}

static void put_bq(struct emu_buf *b, const char *name)
{
    EMU_PUT(b, "`");
    for (const char *p = name; *p; p++) {
        if (*p == '`')
            EMU_PUT(b, "`");
        emu_buf_append(b, p, 1);
    }
    EMU_PUT(b, "`");
}

static void put_sq_escaped(struct emu_buf *b, const char *s, char q)
{
    emu_buf_append(b, &q, 1);
    for (; *s; s++) {
        if (*s == q || *s == '\\')
            EMU_PUT(b, "\\");
        emu_buf_append(b, s, 1);
    }
    emu_buf_append(b, &q, 1);
}

/* SHOW CREATE TABLE text in Doris's style. */
static void create_table_text(const struct emu_table *t, struct emu_buf *b)
{
    static const char *const keys_word[] = {"DUPLICATE", "UNIQUE", "AGGREGATE"};
    json_t *part = json_object_get(t->properties, "__emu_partition");
    const char *k;
    json_t *v;

    EMU_PUT(b, "CREATE TABLE ");
    put_bq(b, t->name);
    EMU_PUT(b, " (\n");
    for (int i = 0; i < t->ncols; i++) {
        const struct emu_column *c = &t->cols[i];

        EMU_PUT(b, "  ");
        put_bq(b, c->name);
        EMU_PUT(b, " ");
        emu_type_format(&c->type, true, b);
        emu_buf_append(b, c->nullable ? " NULL" : " NOT NULL", c->nullable ? 5 : 9);
        if (c->default_value) {
            if (!strcasecmp(c->default_value, "CURRENT_TIMESTAMP"))
                EMU_PUT(b, " DEFAULT CURRENT_TIMESTAMP");
            else {
                EMU_PUT(b, " DEFAULT ");
                put_sq_escaped(b, c->default_value, '"');
            }
        }
        if (c->comment && *c->comment) {
            EMU_PUT(b, " COMMENT ");
            put_sq_escaped(b, c->comment, '\'');
        }
        emu_buf_append(b, i + 1 < t->ncols ? ",\n" : "\n", i + 1 < t->ncols ? 2 : 1);
    }
    EMU_PUT(b, ") ENGINE=OLAP\n");
    emu_buf_printf(b, "%s KEY(", keys_word[t->keys_type]);
    for (int i = 0; i < t->nkeys; i++) {
        if (i)
            EMU_PUT(b, ", ");
        put_bq(b, t->cols[i].name);
    }
    EMU_PUT(b, ")\nCOMMENT ");
    put_sq_escaped(b, t->comment && *t->comment ? t->comment : "OLAP", '\'');
    EMU_PUT(b, "\n");
    if (json_is_string(part))
        emu_buf_printf(b, "%s\n", json_string_value(part));
    if (t->ndist > 0) {
        EMU_PUT(b, "DISTRIBUTED BY HASH(");
        for (int i = 0; i < t->ndist; i++) {
            if (i)
                EMU_PUT(b, ", ");
            put_bq(b, t->cols[t->dist_cols[i]].name);
        }
        EMU_PUT(b, ")");
    } else {
        EMU_PUT(b, "DISTRIBUTED BY RANDOM");
    }
    if (t->buckets > 0)
        emu_buf_printf(b, " BUCKETS %d\n", t->buckets);
    else
        EMU_PUT(b, " BUCKETS AUTO\n");
    /* Doris 2.1 prints these properties, in this order, with these defaults. */
    static const char *const std_props[][2] = {
        {"min_load_replica_num", "-1"},
        {"is_being_synced", "false"},
        {"storage_medium", "hdd"},
        {"storage_format", "V2"},
        {"inverted_index_storage_format", "V1"},
        {"enable_unique_key_merge_on_write", NULL},
        {"light_schema_change", "true"},
        {"disable_auto_compaction", "false"},
        {"enable_single_replica_compaction", "false"},
        {"group_commit_interval_ms", "10000"},
        {"group_commit_data_bytes", "134217728"},
    };

    EMU_PUT(b, "PROPERTIES (\n");
    EMU_PUT(b, "\"replication_allocation\" = \"tag.location.default: 1\"");
    for (size_t i = 0; i < sizeof(std_props) / sizeof(std_props[0]); i++) {
        json_t *pv = json_object_get(t->properties, std_props[i][0]);
        const char *val = json_is_string(pv) ? json_string_value(pv) : std_props[i][1];

        if (val)
            emu_buf_printf(b, ",\n\"%s\" = \"%s\"", std_props[i][0], val);
    }
    if (t->seq_col >= 0)
        emu_buf_printf(b, ",\n\"function_column.sequence_col\" = \"%s\"", t->cols[t->seq_col].name);
    else if (t->has_seq_type) {
        EMU_PUT(b, ",\n\"function_column.sequence_type\" = \"");
        emu_type_format(&t->seq_type, true, b);
        EMU_PUT(b, "\"");
    }
    json_object_foreach(t->properties, k, v)
    {
        bool std = false;

        for (size_t i = 0; i < sizeof(std_props) / sizeof(std_props[0]); i++)
            if (!strcmp(k, std_props[i][0]))
                std = true;
        if (std || !strcmp(k, "replication_allocation") || !strcmp(k, "__emu_partition") ||
            !strncmp(k, "function_column.", 16) || !json_is_string(v))
            continue;
        emu_buf_printf(b, ",\n\"%s\" = \"%s\"", k, json_string_value(v));
    }
    EMU_PUT(b, "\n);");
}

static int cmp_cstr_ptr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int emu_store_exec_sql(struct emu_store *s, const char *db, const char *sql, long limit,
                       json_t **result, struct emu_err *err)
{
    struct emu_stmt st;
    int64_t t0 = now_ms();
    const char *tdb;
    struct rs r;
    int rc = 0, i;

    *result = NULL;
    if (emu_sql_parse(sql, &st, err) < 0)
        return -1;
    tdb = st.db[0] ? st.db : (db ? db : "");
    pthread_mutex_lock(&s->mu);
    switch (st.kind) {
    case EMU_STMT_CREATE_DB:
        rc = create_db(s, &st, err);
        break;
    case EMU_STMT_DROP_DB:
        rc = drop_db(s, &st, err);
        break;
    case EMU_STMT_CREATE_TABLE:
        if (!*tdb) {
            emu_err_set(err, "1046", "No database selected");
            rc = -1;
            break;
        }
        rc = create_table(s, &st, tdb, err);
        break;
    case EMU_STMT_ALTER_TABLE:
        rc = alter_table(s, &st, tdb, err);
        break;
    case EMU_STMT_DROP_TABLE:
        rc = drop_table(s, &st, tdb, err);
        break;
    case EMU_STMT_TRUNCATE:
        rc = truncate_table(s, &st, tdb, err);
        break;
    case EMU_STMT_USE:
        if (!db_exists_locked(s, st.db)) {
            emu_err_set(err, "1049", "Unknown database '%s'", st.db);
            rc = -1;
        }
        break;
    case EMU_STMT_SET:
        break;
    case EMU_STMT_SHOW_DATABASES: {
        sqlite3_stmt *ps;

        rs_init(&r, limit);
        rs_col(&r, "Database", "CHAR");
        rs_row(&r, json_pack("[s]", "information_schema"));
        if (sqlite3_prepare_v2(s->db, "SELECT name FROM _emu_dbs ORDER BY name", -1, &ps, NULL) ==
            SQLITE_OK) {
            while (sqlite3_step(ps) == SQLITE_ROW)
                rs_row(&r, json_pack("[s]", (const char *)sqlite3_column_text(ps, 0)));
            sqlite3_finalize(ps);
        }
        *result = rs_finish(&r, t0);
        break;
    }
    case EMU_STMT_SHOW_TABLES: {
        char colname[200];
        const char **names;
        int n = 0;

        if (!*tdb) {
            emu_err_set(err, "1046", "No database selected");
            rc = -1;
            break;
        }
        if (!db_exists_locked(s, tdb)) {
            emu_err_set(err, "1049", "Unknown database '%s'", tdb);
            rc = -1;
            break;
        }
        rs_init(&r, limit);
        snprintf(colname, sizeof(colname), "Tables_in_%s", tdb);
        rs_col(&r, colname, "CHAR");
        if (st.full)
            rs_col(&r, "Table_type", "CHAR");
        names = calloc((size_t)s->ntables + 1, sizeof(*names));
        for (i = 0; i < s->ntables; i++)
            if (!strcmp(s->tables[i]->db, tdb))
                names[n++] = s->tables[i]->name;
        qsort(names, (size_t)n, sizeof(*names), cmp_cstr_ptr);
        for (int a = 0; a < n; a++)
            rs_row(&r, st.full ? json_pack("[ss]", names[a], "BASE TABLE")
                               : json_pack("[s]", names[a]));
        free(names);
        *result = rs_finish(&r, t0);
        break;
    }
    case EMU_STMT_DESC:
    case EMU_STMT_SHOW_COLUMNS:
    case EMU_STMT_SHOW_CREATE_TABLE:
        i = lookup_for_ddl(s, tdb, st.table, err);
        if (i < 0) {
            rc = -1;
            break;
        }
        rs_init(&r, limit);
        if (st.kind == EMU_STMT_DESC) {
            show_desc(s->tables[i], &r);
        } else if (st.kind == EMU_STMT_SHOW_COLUMNS) {
            show_full_columns(s->tables[i], st.full, &r);
        } else {
            struct emu_buf b;

            emu_buf_init(&b);
            create_table_text(s->tables[i], &b);
            rs_col(&r, "Table", "CHAR");
            rs_col(&r, "Create Table", "CHAR");
            rs_row(&r, json_pack("[ss]", s->tables[i]->name, b.data));
            emu_buf_fini(&b);
        }
        *result = rs_finish(&r, t0);
        break;
    case EMU_STMT_SELECT:
        rc = run_select(s, &st, sql, db && *db ? db : NULL, limit, result, err, t0);
        break;
    }
    pthread_mutex_unlock(&s->mu);
    emu_stmt_fini(&st);
    if (rc == 0 && !*result)
        *result = exec_status(t0);
    return rc;
}

static const char *schema_type_name(const struct emu_type *t)
{
    switch (t->kind) {
    case EMU_BOOLEAN:
        return "BOOLEAN";
    case EMU_TINYINT:
        return "TINYINT";
    case EMU_SMALLINT:
        return "SMALLINT";
    case EMU_INT:
        return "INT";
    case EMU_BIGINT:
        return "BIGINT";
    case EMU_LARGEINT:
        return "LARGEINT";
    case EMU_FLOAT:
        return "FLOAT";
    case EMU_DOUBLE:
        return "DOUBLE";
    case EMU_DECIMAL:
        return t->precision <= 9 ? "DECIMAL32" : t->precision <= 18 ? "DECIMAL64" : "DECIMAL128";
    case EMU_DATE:
        return "DATEV2";
    case EMU_DATETIME:
        return "DATETIMEV2";
    case EMU_CHAR:
        return "CHAR";
    case EMU_VARCHAR:
        return "VARCHAR";
    case EMU_STRING:
        return "STRING";
    case EMU_JSON:
        return "JSONB";
    case EMU_ARRAY:
        return "ARRAY";
    case EMU_IPV4:
        return "IPV4";
    case EMU_IPV6:
        return "IPV6";
    }
    return "STRING";
}

json_t *emu_store_table_schema_json(const struct emu_table *t)
{
    static const char *const keys_name[] = {"DUP_KEYS", "UNIQUE_KEYS", "AGG_KEYS"};
    json_t *o = json_object(), *props = json_array();

    json_object_set_new(o, "status", json_integer(200));
    json_object_set_new(o, "keysType", json_string(keys_name[t->keys_type]));
    for (int i = 0; i < t->ncols; i++) {
        const struct emu_column *c = &t->cols[i];
        json_t *p = json_object();

        json_object_set_new(p, "name", json_string(c->name));
        json_object_set_new(
            p, "aggregation_type",
            json_string(c->is_key || t->keys_type == EMU_DUP_KEYS ? "" : "REPLACE"));
        json_object_set_new(p, "comment", json_string(c->comment ? c->comment : ""));
        json_object_set_new(p, "type", json_string(schema_type_name(&c->type)));
        if (c->type.kind == EMU_DECIMAL) {
            json_object_set_new(p, "precision", json_sprintf("%d", c->type.precision));
            json_object_set_new(p, "scale", json_sprintf("%d", c->type.scale));
        }
        json_array_append_new(props, p);
    }
    json_object_set_new(o, "properties", props);
    return o;
}
