/*
 * sqlparse.c - the Doris SQL doris-emu understands: a MySQL-flavoured
 * tokenizer, a parser for the DDL and SHOW statements of the protocol
 * reference (§6, §7), Doris's CREATE / ALTER TABLE rules with Doris's
 * error texts, privilege needs (§6.5), and the SELECT rewrite for SQLite.
 *
 * Pure: works on the statement text only; the store applies the result.
 */
#include "sqlparse.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Appends a string literal (length computed by the compiler). */
#define EMU_PUT(b, lit) emu_buf_append((b), (lit), sizeof(lit) - 1)

/* ------------------------------------------------------------------------ */
/* Tokenizer                                                                 */

enum tok_kind {
    T_EOF,
    T_WORD,   /* bare identifier or keyword */
    T_QIDENT, /* `quoted` identifier */
    T_STRING, /* '...' or "..." */
    T_NUMBER,
    T_PUNCT,
};

struct tok {
    enum tok_kind kind;
    size_t start, end; /* bytes of the source */
    char *text;        /* decoded: identifier / string contents / punct */
};

struct lexer {
    const char *src;
    struct tok *toks;
    int ntoks, cap;
};

static void lex_push(struct lexer *lx, enum tok_kind k, size_t s, size_t e, char *text)
{
    if (lx->ntoks == lx->cap) {
        lx->cap = lx->cap ? lx->cap * 2 : 64;
        lx->toks = realloc(lx->toks, sizeof(*lx->toks) * (size_t)lx->cap);
        if (!lx->toks)
            abort();
    }
    lx->toks[lx->ntoks++] = (struct tok){k, s, e, text};
}

static char *xstrndup(const char *p, size_t n)
{
    char *r = malloc(n + 1);

    if (!r)
        abort();
    memcpy(r, p, n);
    r[n] = '\0';
    return r;
}

static void lex_free(struct lexer *lx)
{
    for (int i = 0; i < lx->ntoks; i++)
        free(lx->toks[i].text);
    free(lx->toks);
    lx->toks = NULL;
    lx->ntoks = 0;
}

/* Tokenizes src; returns 0 or -1 with err for unterminated text. */
static int lex(struct lexer *lx, const char *src, struct emu_err *err)
{
    size_t i = 0, n = strlen(src);

    memset(lx, 0, sizeof(*lx));
    lx->src = src;
    while (i < n) {
        unsigned char c = (unsigned char)src[i];
        size_t s = i;

        if (isspace(c)) {
            i++;
        } else if (c == '#' || (c == '-' && i + 1 < n && src[i + 1] == '-')) {
            while (i < n && src[i] != '\n')
                i++;
        } else if (c == '/' && i + 1 < n && src[i + 1] == '*') {
            const char *e = strstr(src + i + 2, "*/");

            if (!e) {
                emu_err_set(err, "1105", "Syntax error: unterminated comment");
                return -1;
            }
            i = (size_t)(e - src) + 2;
        } else if (c == '`') {
            struct emu_buf b;

            emu_buf_init(&b);
            i++;
            for (;;) {
                if (i >= n) {
                    emu_buf_fini(&b);
                    emu_err_set(err, "1105", "Syntax error: unterminated quoted identifier");
                    return -1;
                }
                if (src[i] == '`') {
                    if (i + 1 < n && src[i + 1] == '`') {
                        EMU_PUT(&b, "`");
                        i += 2;
                        continue;
                    }
                    i++;
                    break;
                }
                emu_buf_append(&b, src + i, 1);
                i++;
            }
            lex_push(lx, T_QIDENT, s, i, b.data ? b.data : xstrndup("", 0));
        } else if (c == '\'' || c == '"') {
            struct emu_buf b;

            emu_buf_init(&b);
            i++;
            for (;;) {
                if (i >= n) {
                    emu_buf_fini(&b);
                    emu_err_set(err, "1105", "Syntax error: unterminated string literal");
                    return -1;
                }
                if (src[i] == '\\' && i + 1 < n) {
                    char e = src[i + 1], o;

                    switch (e) {
                    case 'n':
                        o = '\n';
                        break;
                    case 't':
                        o = '\t';
                        break;
                    case 'r':
                        o = '\r';
                        break;
                    case '0':
                        o = '\0';
                        break;
                    case 'b':
                        o = '\b';
                        break;
                    case 'Z':
                        o = 26;
                        break;
                    default:
                        o = e;
                    }
                    emu_buf_append(&b, &o, 1);
                    i += 2;
                    continue;
                }
                if ((unsigned char)src[i] == c) {
                    if (i + 1 < n && (unsigned char)src[i + 1] == c) {
                        emu_buf_append(&b, src + i, 1);
                        i += 2;
                        continue;
                    }
                    i++;
                    break;
                }
                emu_buf_append(&b, src + i, 1);
                i++;
            }
            lex_push(lx, T_STRING, s, i, b.data ? b.data : xstrndup("", 0));
        } else if (isdigit(c) || (c == '.' && i + 1 < n && isdigit((unsigned char)src[i + 1]))) {
            while (i < n &&
                   (isalnum((unsigned char)src[i]) || src[i] == '.' ||
                    ((src[i] == '+' || src[i] == '-') && (src[i - 1] == 'e' || src[i - 1] == 'E'))))
                i++;
            {
                /* MySQL allows identifiers that start with a digit (1bad). */
                bool word = false;

                for (size_t k = s; k < i; k++)
                    if (isalpha((unsigned char)src[k]) && src[k] != 'e' && src[k] != 'E')
                        word = true;
                while (word && i < n && (isalnum((unsigned char)src[i]) || src[i] == '_'))
                    i++;
                lex_push(lx, word ? T_WORD : T_NUMBER, s, i, xstrndup(src + s, i - s));
            }
        } else if (isalpha(c) || c == '_' || c == '@' || c == '$' || c >= 0x80) {
            while (i < n && (isalnum((unsigned char)src[i]) || src[i] == '_' || src[i] == '$' ||
                             src[i] == '@' || (unsigned char)src[i] >= 0x80))
                i++;
            lex_push(lx, T_WORD, s, i, xstrndup(src + s, i - s));
        } else {
            static const char *const two[] = {"<=", ">=", "!=", "<>", "||", "&&", ":="};
            size_t len = 1;

            for (size_t k = 0; k < sizeof(two) / sizeof(two[0]); k++)
                if (i + 1 < n && src[i] == two[k][0] && src[i + 1] == two[k][1])
                    len = 2;
            i += len;
            lex_push(lx, T_PUNCT, s, i, xstrndup(src + s, len));
        }
    }
    lex_push(lx, T_EOF, n, n, xstrndup("", 0));
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Parser helpers                                                            */

struct parser {
    struct lexer lx;
    int pos;
    struct emu_err *err;
    bool failed;
};

static struct tok *peek(struct parser *p)
{
    return &p->lx.toks[p->pos];
}

static struct tok *peek_at(struct parser *p, int k)
{
    int i = p->pos + k;

    if (i >= p->lx.ntoks)
        i = p->lx.ntoks - 1;
    return &p->lx.toks[i];
}

static struct tok *advance(struct parser *p)
{
    struct tok *t = peek(p);

    if (t->kind != T_EOF)
        p->pos++;
    return t;
}

static bool is_kw(const struct tok *t, const char *kw)
{
    return t->kind == T_WORD && !strcasecmp(t->text, kw);
}

static bool accept_kw(struct parser *p, const char *kw)
{
    if (is_kw(peek(p), kw)) {
        advance(p);
        return true;
    }
    return false;
}

static bool is_punct(const struct tok *t, const char *s)
{
    return t->kind == T_PUNCT && !strcmp(t->text, s);
}

static bool accept_punct(struct parser *p, const char *s)
{
    if (is_punct(peek(p), s)) {
        advance(p);
        return true;
    }
    return false;
}

static int syntax_error(struct parser *p, const char *expecting)
{
    struct tok *t = peek(p);

    if (!p->failed)
        emu_err_set(p->err, "1105", "\nmismatched input '%s' expecting %s(line 1, pos %zu)",
                    t->kind == T_EOF ? "<EOF>" : t->text, expecting, t->start);
    p->failed = true;
    return -1;
}

static int expect_kw(struct parser *p, const char *kw)
{
    if (!accept_kw(p, kw))
        return syntax_error(p, kw);
    return 0;
}

static int expect_punct(struct parser *p, const char *s)
{
    if (!accept_punct(p, s))
        return syntax_error(p, s);
    return 0;
}

/* An identifier (bare or backticked); returns its text or NULL. */
static const char *ident(struct parser *p)
{
    struct tok *t = peek(p);

    if (t->kind == T_WORD || t->kind == T_QIDENT) {
        advance(p);
        return t->text;
    }
    syntax_error(p, "an identifier");
    return NULL;
}

/* [db.]name into db / name. */
static int qualified(struct parser *p, char *db, size_t dblen, char *name, size_t namelen)
{
    const char *a = ident(p);

    if (!a)
        return -1;
    if (accept_punct(p, ".")) {
        const char *b = ident(p);

        if (!b)
            return -1;
        snprintf(db, dblen, "%s", a);
        snprintf(name, namelen, "%s", b);
    } else {
        db[0] = '\0';
        snprintf(name, namelen, "%s", a);
    }
    return 0;
}

static void push_str(char ***arr, int *n, const char *s)
{
    *arr = realloc(*arr, sizeof(char *) * (size_t)(*n + 1));
    if (!*arr)
        abort();
    (*arr)[(*n)++] = strdup(s);
}

/* '(' name [, name ...] ')' */
static int name_list(struct parser *p, char ***arr, int *n)
{
    if (expect_punct(p, "(") < 0)
        return -1;
    do {
        const char *s = ident(p);

        if (!s)
            return -1;
        push_str(arr, n, s);
    } while (accept_punct(p, ","));
    return expect_punct(p, ")");
}

/* Skips a balanced (...) group starting at the current '('. */
static int skip_parens(struct parser *p)
{
    int depth = 0;

    do {
        struct tok *t = advance(p);

        if (t->kind == T_EOF)
            return syntax_error(p, "')'");
        if (is_punct(t, "("))
            depth++;
        else if (is_punct(t, ")"))
            depth--;
    } while (depth > 0);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Column definitions                                                        */

static void coldef_fini(struct emu_coldef *c)
{
    free(c->name);
    emu_type_fini(&c->type);
    free(c->default_value);
    free(c->comment);
    free(c->after);
}

/* A type: WORD [ '(' ... ')' ] | ARRAY '<' type '>' ; parsed from its text. */
static int parse_type(struct parser *p, struct emu_type *out)
{
    struct tok *first = peek(p), *last;
    int depth = 0;
    char *text;
    int rc;

    if (first->kind != T_WORD)
        return syntax_error(p, "a type");
    advance(p);
    last = first;
    if (is_punct(peek(p), "<")) {
        do {
            struct tok *t = advance(p);

            if (t->kind == T_EOF)
                return syntax_error(p, "'>'");
            if (is_punct(t, "<"))
                depth++;
            else if (is_punct(t, ">"))
                depth--;
            last = t;
        } while (depth > 0);
    } else if (is_punct(peek(p), "(")) {
        int start = p->pos;

        if (skip_parens(p) < 0)
            return -1;
        last = &p->lx.toks[p->pos - 1];
        (void)start;
    }
    text = xstrndup(p->lx.src + first->start, last->end - first->start);
    rc = emu_type_parse(text, out, p->err);
    free(text);
    if (rc < 0)
        p->failed = true;
    return rc;
}

static int parse_coldef(struct parser *p, struct emu_coldef *c, bool alter)
{
    const char *name = ident(p);

    memset(c, 0, sizeof(*c));
    c->nullable = -1;
    if (!name)
        return -1;
    c->name = strdup(name);
    if (parse_type(p, &c->type) < 0)
        return -1;
    for (;;) {
        struct tok *t = peek(p);

        if (accept_kw(p, "KEY")) {
            c->is_key = true;
        } else if (is_kw(t, "SUM") || is_kw(t, "MIN") || is_kw(t, "MAX") || is_kw(t, "REPLACE") ||
                   is_kw(t, "REPLACE_IF_NOT_NULL") || is_kw(t, "NONE") || is_kw(t, "HLL_UNION") ||
                   is_kw(t, "BITMAP_UNION")) {
            advance(p); /* aggregate type: only meaningful for AGGREGATE KEY */
        } else if (accept_kw(p, "NOT")) {
            if (expect_kw(p, "NULL") < 0)
                return -1;
            c->nullable = 0;
        } else if (accept_kw(p, "NULL")) {
            c->nullable = 1;
        } else if (accept_kw(p, "AUTO_INCREMENT")) {
            c->auto_inc = true;
            if (is_punct(peek(p), "(") && skip_parens(p) < 0)
                return -1;
        } else if (accept_kw(p, "DEFAULT")) {
            struct tok *v = peek(p);

            c->has_default = true;
            if (v->kind == T_STRING || v->kind == T_NUMBER) {
                advance(p);
                c->default_value = strdup(v->text);
            } else if (is_punct(v, "-") && peek_at(p, 1)->kind == T_NUMBER) {
                advance(p);
                v = advance(p);
                c->default_value = malloc(strlen(v->text) + 2);
                if (!c->default_value)
                    abort();
                sprintf(c->default_value, "-%s", v->text);
            } else if (accept_kw(p, "NULL")) {
                c->default_value = NULL;
            } else if (accept_kw(p, "CURRENT_TIMESTAMP")) {
                c->default_current_ts = true;
                c->default_value = strdup("CURRENT_TIMESTAMP");
                if (is_punct(peek(p), "(") && skip_parens(p) < 0)
                    return -1;
            } else {
                return syntax_error(p, "a default value");
            }
        } else if (accept_kw(p, "ON")) {
            if (expect_kw(p, "UPDATE") < 0 || expect_kw(p, "CURRENT_TIMESTAMP") < 0)
                return -1;
            if (is_punct(peek(p), "(") && skip_parens(p) < 0)
                return -1;
        } else if (accept_kw(p, "COMMENT")) {
            struct tok *v = peek(p);

            if (v->kind != T_STRING)
                return syntax_error(p, "a string");
            advance(p);
            free(c->comment);
            c->comment = strdup(v->text);
        } else if (alter && accept_kw(p, "AFTER")) {
            const char *a = ident(p);

            if (!a)
                return -1;
            c->after = strdup(a);
        } else if (alter && accept_kw(p, "FIRST")) {
            c->first = true;
        } else {
            break;
        }
    }
    return 0;
}

static void push_col(struct emu_stmt *st, struct emu_coldef *c)
{
    st->cols = realloc(st->cols, sizeof(*st->cols) * (size_t)(st->ncols + 1));
    if (!st->cols)
        abort();
    st->cols[st->ncols++] = *c;
}

static int parse_properties(struct parser *p, struct emu_stmt *st)
{
    if (expect_punct(p, "(") < 0)
        return -1;
    if (accept_punct(p, ")"))
        return 0;
    do {
        struct tok *k = peek(p), *v;

        if (k->kind != T_STRING && k->kind != T_WORD && k->kind != T_QIDENT)
            return syntax_error(p, "a property name");
        advance(p);
        if (expect_punct(p, "=") < 0)
            return -1;
        v = peek(p);
        if (v->kind != T_STRING && v->kind != T_NUMBER && v->kind != T_WORD)
            return syntax_error(p, "a property value");
        advance(p);
        push_str(&st->prop_names, &st->nprops, k->text);
        st->nprops--;
        push_str(&st->prop_values, &st->nprops, v->text);
    } while (accept_punct(p, ","));
    return expect_punct(p, ")");
}

/* ------------------------------------------------------------------------ */
/* Statements                                                                */

static int parse_create_table(struct parser *p, struct emu_stmt *st)
{
    st->kind = EMU_STMT_CREATE_TABLE;
    st->buckets = -1;
    if (accept_kw(p, "IF")) {
        if (expect_kw(p, "NOT") < 0 || expect_kw(p, "EXISTS") < 0)
            return -1;
        st->if_not_exists = true;
    }
    if (qualified(p, st->db, sizeof(st->db), st->table, sizeof(st->table)) < 0)
        return -1;
    if (expect_punct(p, "(") < 0)
        return -1;
    do {
        if (is_kw(peek(p), "INDEX")) {
            /* INDEX name (cols) [USING ...] [PROPERTIES (...)] [COMMENT '..']: ignored */
            while (!is_punct(peek(p), ",") && !is_punct(peek(p), ")") && peek(p)->kind != T_EOF) {
                if (is_punct(peek(p), "(")) {
                    if (skip_parens(p) < 0)
                        return -1;
                } else {
                    advance(p);
                }
            }
        } else {
            struct emu_coldef c;

            if (parse_coldef(p, &c, false) < 0) {
                coldef_fini(&c);
                return -1;
            }
            push_col(st, &c);
        }
    } while (accept_punct(p, ","));
    if (expect_punct(p, ")") < 0)
        return -1;
    for (;;) {
        struct tok *t = peek(p);

        if (accept_kw(p, "ENGINE")) {
            const char *e;

            if (expect_punct(p, "=") < 0 || !(e = ident(p)))
                return -1;
            if (strcasecmp(e, "OLAP") != 0) {
                emu_err_set(p->err, "1105", "The emulator only supports ENGINE=OLAP, not '%s'", e);
                return -1;
            }
        } else if (is_kw(t, "UNIQUE") || is_kw(t, "DUPLICATE") || is_kw(t, "AGGREGATE")) {
            advance(p);
            st->has_keys = true;
            st->keys_type = is_kw(t, "UNIQUE")      ? EMU_UNIQUE_KEYS
                            : is_kw(t, "DUPLICATE") ? EMU_DUP_KEYS
                                                    : EMU_AGG_KEYS;
            if (expect_kw(p, "KEY") < 0 || name_list(p, &st->keys, &st->nkeys) < 0)
                return -1;
        } else if (accept_kw(p, "COMMENT")) {
            struct tok *v = peek(p);

            if (v->kind != T_STRING)
                return syntax_error(p, "a string");
            advance(p);
            free(st->comment);
            st->comment = strdup(v->text);
        } else if (is_kw(t, "PARTITION") ||
                   (is_kw(t, "AUTO") && is_kw(peek_at(p, 1), "PARTITION"))) {
            size_t s = t->start, e;

            advance(p);
            while (peek(p)->kind != T_EOF && !is_kw(peek(p), "DISTRIBUTED") &&
                   !is_kw(peek(p), "PROPERTIES") && !is_kw(peek(p), "ROLLUP") &&
                   !is_punct(peek(p), ";")) {
                if (is_punct(peek(p), "(")) {
                    if (skip_parens(p) < 0)
                        return -1;
                } else {
                    advance(p);
                }
            }
            e = p->lx.toks[p->pos - 1].end;
            free(st->partition);
            st->partition = xstrndup(p->lx.src + s, e - s);
        } else if (accept_kw(p, "DISTRIBUTED")) {
            if (expect_kw(p, "BY") < 0)
                return -1;
            st->has_dist = true;
            if (accept_kw(p, "RANDOM")) {
                st->dist_random = true;
            } else {
                if (expect_kw(p, "HASH") < 0 || name_list(p, &st->dist, &st->ndist) < 0)
                    return -1;
            }
            if (accept_kw(p, "BUCKETS")) {
                struct tok *v = peek(p);

                if (accept_kw(p, "AUTO")) {
                    st->buckets = 0;
                } else if (v->kind == T_NUMBER) {
                    advance(p);
                    st->buckets = atoi(v->text);
                    if (st->buckets <= 0) {
                        emu_err_set(p->err, "1105",
                                    "Number of hash distribution should be greater than zero.");
                        return -1;
                    }
                } else {
                    return syntax_error(p, "a number or AUTO");
                }
            }
        } else if (accept_kw(p, "ROLLUP")) {
            if (!is_punct(peek(p), "(") || skip_parens(p) < 0)
                return -1;
        } else if (accept_kw(p, "PROPERTIES")) {
            if (parse_properties(p, st) < 0)
                return -1;
        } else {
            break;
        }
    }
    return 0;
}

static int parse_alter(struct parser *p, struct emu_stmt *st)
{
    st->kind = EMU_STMT_ALTER_TABLE;
    if (expect_kw(p, "TABLE") < 0 ||
        qualified(p, st->db, sizeof(st->db), st->table, sizeof(st->table)) < 0)
        return -1;
    if (accept_kw(p, "ADD")) {
        st->alter_op = EMU_ALTER_ADD;
        if (expect_kw(p, "COLUMN") < 0)
            return -1;
        if (accept_punct(p, "(")) {
            do {
                struct emu_coldef c;

                if (parse_coldef(p, &c, false) < 0) {
                    coldef_fini(&c);
                    return -1;
                }
                push_col(st, &c);
            } while (accept_punct(p, ","));
            if (expect_punct(p, ")") < 0)
                return -1;
        } else {
            struct emu_coldef c;

            if (parse_coldef(p, &c, true) < 0) {
                coldef_fini(&c);
                return -1;
            }
            push_col(st, &c);
        }
    } else if (accept_kw(p, "DROP")) {
        const char *c;

        st->alter_op = EMU_ALTER_DROP;
        if (expect_kw(p, "COLUMN") < 0 || !(c = ident(p)))
            return -1;
        st->drop_col = strdup(c);
    } else if (accept_kw(p, "MODIFY")) {
        struct emu_coldef c;

        st->alter_op = EMU_ALTER_MODIFY;
        if (expect_kw(p, "COLUMN") < 0)
            return -1;
        if (parse_coldef(p, &c, true) < 0) {
            coldef_fini(&c);
            return -1;
        }
        push_col(st, &c);
    } else {
        return syntax_error(p, "ADD COLUMN, DROP COLUMN or MODIFY COLUMN");
    }
    /* [TO rollup] [PROPERTIES (...)] */
    if (accept_kw(p, "TO") && !ident(p))
        return -1;
    if (accept_kw(p, "FROM") && !ident(p))
        return -1;
    if (accept_kw(p, "PROPERTIES") && parse_properties(p, st) < 0)
        return -1;
    return 0;
}

static const char *const clause_words[] = {
    "WHERE",   "GROUP",   "ORDER",  "LIMIT",     "HAVING", "JOIN",       "LEFT",
    "RIGHT",   "INNER",   "OUTER",  "CROSS",     "ON",     "USING",      "UNION",
    "FULL",    "NATURAL", "EXCEPT", "INTERSECT", "WINDOW", "QUALIFY",    "STRAIGHT_JOIN",
    "LATERAL", "INTO",    "FOR",    "SET",       "OFFSET", "TABLESAMPLE"};

static bool is_clause_word(const struct tok *t)
{
    if (t->kind != T_WORD)
        return false;
    for (size_t i = 0; i < sizeof(clause_words) / sizeof(clause_words[0]); i++)
        if (!strcasecmp(t->text, clause_words[i]))
            return true;
    return false;
}

/* Scans a SELECT for table references after FROM / JOIN and in FROM lists. */
static int parse_select(struct parser *p, struct emu_stmt *st)
{
    bool in_from[64] = {false};
    int depth = 0;

    st->kind = EMU_STMT_SELECT;
    while (peek(p)->kind != T_EOF && !is_punct(peek(p), ";")) {
        struct tok *t = peek(p);
        bool ref_next = false;

        if (is_punct(t, "(")) {
            advance(p);
            if (depth < 63)
                depth++;
            in_from[depth] = false;
            continue;
        }
        if (is_punct(t, ")")) {
            advance(p);
            in_from[depth] = false;
            if (depth > 0)
                depth--;
            continue;
        }
        if (is_kw(t, "FROM")) {
            in_from[depth] = true;
            ref_next = true;
        } else if (is_kw(t, "JOIN") || is_kw(t, "STRAIGHT_JOIN")) {
            ref_next = true;
        } else if (is_punct(t, ",") && in_from[depth]) {
            ref_next = true;
        } else if (is_clause_word(t) && !is_kw(t, "JOIN")) {
            /* join words and ON keep a FROM list going: FROM a JOIN b ON x, c */
            if (!is_kw(t, "LEFT") && !is_kw(t, "RIGHT") && !is_kw(t, "INNER") &&
                !is_kw(t, "OUTER") && !is_kw(t, "CROSS") && !is_kw(t, "FULL") &&
                !is_kw(t, "NATURAL") && !is_kw(t, "ON"))
                in_from[depth] = false;
        }
        advance(p);
        if (ref_next && (peek(p)->kind == T_WORD || peek(p)->kind == T_QIDENT) &&
            !is_clause_word(peek(p)) && !is_kw(peek(p), "SELECT")) {
            struct emu_tref r;

            memset(&r, 0, sizeof(r));
            r.start = peek(p)->start;
            if (qualified(p, r.db, sizeof(r.db), r.table, sizeof(r.table)) < 0)
                return -1;
            r.end = p->lx.toks[p->pos - 1].end;
            if (is_kw(peek(p), "AS") || ((peek(p)->kind == T_WORD || peek(p)->kind == T_QIDENT) &&
                                         !is_clause_word(peek(p))))
                r.has_alias = true;
            st->refs = realloc(st->refs, sizeof(*st->refs) * (size_t)(st->nrefs + 1));
            if (!st->refs)
                abort();
            st->refs[st->nrefs++] = r;
        }
    }
    return 0;
}

static int parse_stmt(struct parser *p, struct emu_stmt *st)
{
    struct tok *t = peek(p);

    if (accept_kw(p, "CREATE")) {
        if (accept_kw(p, "DATABASE") || accept_kw(p, "SCHEMA")) {
            const char *n;

            st->kind = EMU_STMT_CREATE_DB;
            if (accept_kw(p, "IF")) {
                if (expect_kw(p, "NOT") < 0 || expect_kw(p, "EXISTS") < 0)
                    return -1;
                st->if_not_exists = true;
            }
            if (!(n = ident(p)))
                return -1;
            snprintf(st->db, sizeof(st->db), "%s", n);
            if (accept_kw(p, "PROPERTIES") && parse_properties(p, st) < 0)
                return -1;
            return 0;
        }
        accept_kw(p, "EXTERNAL");
        if (expect_kw(p, "TABLE") < 0)
            return -1;
        return parse_create_table(p, st);
    }
    if (accept_kw(p, "DROP")) {
        if (accept_kw(p, "DATABASE") || accept_kw(p, "SCHEMA")) {
            const char *n;

            st->kind = EMU_STMT_DROP_DB;
            if (accept_kw(p, "IF")) {
                if (expect_kw(p, "EXISTS") < 0)
                    return -1;
                st->if_exists = true;
            }
            if (!(n = ident(p)))
                return -1;
            snprintf(st->db, sizeof(st->db), "%s", n);
            st->force = accept_kw(p, "FORCE");
            return 0;
        }
        if (expect_kw(p, "TABLE") < 0)
            return -1;
        st->kind = EMU_STMT_DROP_TABLE;
        if (accept_kw(p, "IF")) {
            if (expect_kw(p, "EXISTS") < 0)
                return -1;
            st->if_exists = true;
        }
        if (qualified(p, st->db, sizeof(st->db), st->table, sizeof(st->table)) < 0)
            return -1;
        st->force = accept_kw(p, "FORCE");
        return 0;
    }
    if (accept_kw(p, "ALTER"))
        return parse_alter(p, st);
    if (accept_kw(p, "TRUNCATE")) {
        st->kind = EMU_STMT_TRUNCATE;
        if (expect_kw(p, "TABLE") < 0)
            return -1;
        return qualified(p, st->db, sizeof(st->db), st->table, sizeof(st->table));
    }
    if (accept_kw(p, "DESC") || accept_kw(p, "DESCRIBE")) {
        st->kind = EMU_STMT_DESC;
        if (qualified(p, st->db, sizeof(st->db), st->table, sizeof(st->table)) < 0)
            return -1;
        accept_kw(p, "ALL");
        return 0;
    }
    if (accept_kw(p, "USE")) {
        const char *n;

        st->kind = EMU_STMT_USE;
        if (!(n = ident(p)))
            return -1;
        snprintf(st->db, sizeof(st->db), "%s", n);
        return 0;
    }
    if (accept_kw(p, "SET")) {
        st->kind = EMU_STMT_SET;
        while (peek(p)->kind != T_EOF && !is_punct(peek(p), ";"))
            advance(p);
        return 0;
    }
    if (accept_kw(p, "SHOW")) {
        if (accept_kw(p, "DATABASES") || accept_kw(p, "SCHEMAS")) {
            st->kind = EMU_STMT_SHOW_DATABASES;
            return 0;
        }
        if (accept_kw(p, "CREATE")) {
            st->kind = EMU_STMT_SHOW_CREATE_TABLE;
            if (expect_kw(p, "TABLE") < 0)
                return -1;
            return qualified(p, st->db, sizeof(st->db), st->table, sizeof(st->table));
        }
        st->full = accept_kw(p, "FULL");
        if (accept_kw(p, "TABLES")) {
            st->kind = EMU_STMT_SHOW_TABLES;
            if (accept_kw(p, "FROM") || accept_kw(p, "IN")) {
                const char *n = ident(p);

                if (!n)
                    return -1;
                snprintf(st->db, sizeof(st->db), "%s", n);
            }
            return 0;
        }
        if (accept_kw(p, "COLUMNS") || accept_kw(p, "FIELDS")) {
            st->kind = EMU_STMT_SHOW_COLUMNS;
            if (!accept_kw(p, "FROM") && !accept_kw(p, "IN"))
                return syntax_error(p, "FROM");
            if (qualified(p, st->db, sizeof(st->db), st->table, sizeof(st->table)) < 0)
                return -1;
            if (accept_kw(p, "FROM") || accept_kw(p, "IN")) {
                const char *n = ident(p);

                if (!n)
                    return -1;
                snprintf(st->db, sizeof(st->db), "%s", n);
            }
            return 0;
        }
        return syntax_error(p, "DATABASES, TABLES, CREATE TABLE or COLUMNS");
    }
    if (is_kw(t, "SELECT") || is_kw(t, "WITH") || is_punct(t, "("))
        return parse_select(p, st);
    return syntax_error(p, "a statement");
}

int emu_sql_parse(const char *sql, struct emu_stmt *st, struct emu_err *err)
{
    struct parser p;
    int rc;

    memset(st, 0, sizeof(*st));
    memset(&p, 0, sizeof(p));
    p.err = err;
    if (lex(&p.lx, sql, err) < 0) {
        lex_free(&p.lx);
        return -1;
    }
    rc = parse_stmt(&p, st);
    if (rc == 0) {
        accept_punct(&p, ";");
        if (peek(&p)->kind != T_EOF)
            rc = syntax_error(&p, "<EOF>");
    }
    lex_free(&p.lx);
    if (rc < 0)
        emu_stmt_fini(st);
    return rc;
}

static void free_strs(char **a, int n)
{
    for (int i = 0; i < n; i++)
        free(a[i]);
    free(a);
}

void emu_stmt_fini(struct emu_stmt *st)
{
    for (int i = 0; i < st->ncols; i++)
        coldef_fini(&st->cols[i]);
    free(st->cols);
    free_strs(st->keys, st->nkeys);
    free_strs(st->dist, st->ndist);
    free_strs(st->prop_names, st->nprops);
    free_strs(st->prop_values, st->nprops);
    free(st->comment);
    free(st->partition);
    free(st->drop_col);
    free(st->refs);
    memset(st, 0, sizeof(*st));
}

/* ------------------------------------------------------------------------ */
/* Privileges                                                                */

int emu_sql_required_privs(const char *sql, const char *session_db, struct emu_priv_need *needs,
                           int max, struct emu_err *err)
{
    struct emu_stmt st;
    int n = 0;
    const char *sdb = session_db ? session_db : "";

    if (emu_sql_parse(sql, &st, err) < 0)
        return -1;
#define NEED(p_, db_, t_)                                                                          \
    do {                                                                                           \
        if (n < max) {                                                                             \
            needs[n].priv = (p_);                                                                  \
            snprintf(needs[n].db, sizeof(needs[n].db), "%s", (db_));                               \
            snprintf(needs[n].table, sizeof(needs[n].table), "%s", (t_));                          \
            n++;                                                                                   \
        }                                                                                          \
    } while (0)
    switch (st.kind) {
    case EMU_STMT_CREATE_DB:
        NEED(EMU_PRIV_CREATE, st.db, "");
        break;
    case EMU_STMT_DROP_DB:
        NEED(EMU_PRIV_DROP, st.db, "");
        break;
    case EMU_STMT_CREATE_TABLE:
        NEED(EMU_PRIV_CREATE, st.db[0] ? st.db : sdb, st.table);
        break;
    case EMU_STMT_ALTER_TABLE:
        NEED(EMU_PRIV_ALTER, st.db[0] ? st.db : sdb, st.table);
        break;
    case EMU_STMT_DROP_TABLE:
        NEED(EMU_PRIV_DROP, st.db[0] ? st.db : sdb, st.table);
        break;
    case EMU_STMT_TRUNCATE:
        NEED(EMU_PRIV_LOAD, st.db[0] ? st.db : sdb, st.table);
        break;
    case EMU_STMT_DESC:
    case EMU_STMT_SHOW_CREATE_TABLE:
    case EMU_STMT_SHOW_COLUMNS:
        NEED(EMU_PRIV_SELECT, st.db[0] ? st.db : sdb, st.table);
        break;
    case EMU_STMT_SELECT:
        for (int i = 0; i < st.nrefs; i++) {
            const char *db = st.refs[i].db[0] ? st.refs[i].db : sdb;

            if (strcasecmp(db, "information_schema") != 0)
                NEED(EMU_PRIV_SELECT, db, st.refs[i].table);
        }
        break;
    case EMU_STMT_SHOW_DATABASES:
    case EMU_STMT_SHOW_TABLES:
    case EMU_STMT_USE:
    case EMU_STMT_SET:
        break;
    }
#undef NEED
    emu_stmt_fini(&st);
    return n;
}

/* ------------------------------------------------------------------------ */
/* Identifier rules (§7.3)                                                   */

static bool common_name_ok(const char *s, size_t maxlen)
{
    size_t n = strlen(s);

    if (n == 0 || n > maxlen || !isalpha((unsigned char)s[0]))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_')
            return false;
    return true;
}

int emu_sql_check_db_name(const char *name, struct emu_err *err)
{
    if (common_name_ok(name, 64))
        return 0;
    emu_err_set(err, "1102", "Incorrect database name '%s'", name);
    return -1;
}

int emu_sql_check_table_name(const char *name, struct emu_err *err)
{
    if (common_name_ok(name, 64))
        return 0;
    emu_err_set(err, "1103", "Incorrect table name '%s'. Table name regex is '%s'", name,
                "^[a-zA-Z][a-zA-Z0-9-_]*$");
    return -1;
}

int emu_sql_check_column_name(const char *name, struct emu_err *err)
{
    size_t n = strlen(name);
    bool ok = n > 0 && n <= 256;
    static const char first_ok[] = "_@<>/ \t";
    static const char rest_ok[] = ".+-/><?@#$%^&*\" ,:_\t";

    if (ok && !isalnum((unsigned char)name[0]) && !strchr(first_ok, name[0]))
        ok = false;
    for (size_t i = 1; ok && i < n; i++)
        if (!isalnum((unsigned char)name[i]) && !strchr(rest_ok, name[i]))
            ok = false;
    if (ok && (!strncasecmp(name, "__doris_shadow_", 15) || !strncmp(name, "mv_", 3) ||
               !strncmp(name, "mva_", 4)))
        ok = false;
    if (ok)
        return 0;
    emu_err_set(err, "1166", "Incorrect column name '%s'. Column regex is '%s'", name,
                "^[_a-zA-Z@0-9\\s<>/][.a-zA-Z0-9_+-/><?@#$%^&*\"\\s,:]{0,255}$");
    return -1;
}

/* ------------------------------------------------------------------------ */
/* CREATE TABLE rules                                                        */

static int key_byte_size(const struct emu_type *t)
{
    switch (t->kind) {
    case EMU_BOOLEAN:
    case EMU_TINYINT:
        return 1;
    case EMU_SMALLINT:
        return 2;
    case EMU_INT:
    case EMU_DATE:
    case EMU_IPV4:
        return 4;
    case EMU_BIGINT:
    case EMU_DATETIME:
        return 8;
    case EMU_LARGEINT:
    case EMU_IPV6:
        return 16;
    case EMU_DECIMAL:
        return t->precision <= 9 ? 4 : t->precision <= 18 ? 8 : 16;
    case EMU_CHAR:
        return t->length;
    case EMU_VARCHAR:
        return 20; /* Doris's index size for VARCHAR (see README) */
    default:
        return 1 << 20;
    }
}

static int find_col(const struct emu_column *cols, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcasecmp(cols[i].name, name))
            return i;
    return -1;
}

static const char *prop(const struct emu_stmt *st, const char *name)
{
    for (int i = 0; i < st->nprops; i++)
        if (!strcasecmp(st->prop_names[i], name))
            return st->prop_values[i];
    return NULL;
}

/* Reports Doris's key ban for column c (template may hold one %s). */
static int key_ban(const struct emu_column *c, struct emu_err *err)
{
    const char *ban = emu_type_key_ban(&c->type);
    const char *pct;

    if (!ban)
        return 0;
    pct = strstr(ban, "%s");
    if (pct)
        emu_err_set(err, "1105", "%.*s%s%s", (int)(pct - ban), ban, c->name, pct + 2);
    else
        emu_err_set(err, "1105", "%s", ban);
    return -1;
}

static bool is_bool_text(const char *v)
{
    return !strcasecmp(v, "true") || !strcasecmp(v, "false");
}

static int check_default(const struct emu_column *c, struct emu_err *err)
{
    struct emu_buf sc;
    struct emu_value v;
    char why[128];
    enum emu_conv r;

    if (!c->default_value)
        return 0;
    if (!strcasecmp(c->default_value, "CURRENT_TIMESTAMP")) {
        if (c->type.kind != EMU_DATETIME && c->type.kind != EMU_DATE) {
            emu_err_set(err, "1105",
                        "Types other than DATETIME and DATETIMEV2 cannot use current_timestamp "
                        "as the default value");
            return -1;
        }
        return 0;
    }
    emu_buf_init(&sc);
    r = emu_value_convert(&c->type, c->default_value, strlen(c->default_value), NULL, &sc, &v, why,
                          sizeof(why));
    emu_buf_fini(&sc);
    if (r != EMU_CONV_OK) {
        emu_err_set(err, "1105", "Invalid default value for '%s': %s", c->name, why);
        return -1;
    }
    return 0;
}

static void column_from_def(struct emu_column *c, const struct emu_coldef *d, bool is_key)
{
    memset(c, 0, sizeof(*c));
    c->name = strdup(d->name);
    if (emu_type_copy(&c->type, &d->type) < 0)
        abort();
    c->is_key = is_key;
    /* Not said: key columns NOT NULL, value columns NULL (see README). */
    c->nullable = d->nullable < 0 ? !is_key : d->nullable == 1;
    c->default_value = d->default_value ? strdup(d->default_value) : NULL;
    c->comment = strdup(d->comment ? d->comment : "");
}

static struct emu_table *table_alloc(void)
{
    struct emu_table *t = calloc(1, sizeof(*t));

    if (!t)
        abort();
    t->refcount = 1;
    t->seq_col = -1;
    return t;
}

struct emu_table *emu_sql_build_table(const struct emu_stmt *st, const char *db,
                                      struct emu_err *err)
{
    struct emu_table *t = NULL;
    const char *v;
    int nkeys = 0;

    if (emu_sql_check_table_name(st->table, err) < 0)
        return NULL;
    if (st->ncols == 0) {
        emu_err_set(err, "1105", "Table should have at least one column.");
        return NULL;
    }
    for (int i = 0; i < st->ncols; i++) {
        if (emu_sql_check_column_name(st->cols[i].name, err) < 0)
            return NULL;
        for (int j = 0; j < i; j++)
            if (!strcasecmp(st->cols[i].name, st->cols[j].name)) {
                emu_err_set(err, "1060", "Duplicate column name '%s'", st->cols[i].name);
                return NULL;
            }
    }
    if (st->has_keys && st->keys_type == EMU_AGG_KEYS) {
        emu_err_set(err, "1105", "doris-emu does not support the AGGREGATE KEY model");
        return NULL;
    }
    /* Keys: an ordered prefix of the columns (§5.3). */
    if (st->has_keys) {
        for (int i = 0; i < st->nkeys; i++) {
            bool exists = false;

            for (int j = 0; j < st->ncols; j++)
                if (!strcasecmp(st->cols[j].name, st->keys[i]))
                    exists = true;
            if (!exists) {
                emu_err_set(err, "1105", "Key column[%s] doesn't exist.", st->keys[i]);
                return NULL;
            }
            if (i >= st->ncols || strcasecmp(st->cols[i].name, st->keys[i]) != 0) {
                emu_err_set(err, "1105",
                            "Key columns should be a ordered prefix of the schema. KeyColumns[%d] "
                            "(starts from zero) is %s, but corresponding column is %s in the "
                            "previous columns declaration.",
                            i, st->keys[i], i < st->ncols ? st->cols[i].name : "");
                return NULL;
            }
        }
        nkeys = st->nkeys;
        if (nkeys == st->ncols && st->keys_type == EMU_UNIQUE_KEYS) {
            emu_err_set(err, "1105",
                        "The olap table must have at least one value column when keys type is "
                        "UNIQUE_KEYS");
            return NULL;
        }
    } else {
        /* Duplicate model over the leading columns, as Doris picks its
         * short key: at most 3 columns and 36 bytes, stopping after the
         * first VARCHAR and before a type that cannot be a key. */
        int bytes = 0;

        for (int i = 0; i < st->ncols; i++) {
            const struct emu_type *ty = &st->cols[i].type;

            bytes += key_byte_size(ty);
            if (nkeys >= 3 || bytes > 36) {
                if (nkeys == 0 && (ty->kind == EMU_CHAR || ty->kind == EMU_VARCHAR))
                    nkeys++;
                break;
            }
            if (emu_type_key_ban(ty))
                break;
            nkeys++;
            if (ty->kind == EMU_VARCHAR)
                break;
        }
    }

    t = table_alloc();
    t->db = strdup(db);
    t->name = strdup(st->table);
    t->keys_type = st->has_keys ? st->keys_type : EMU_DUP_KEYS;
    t->ncols = st->ncols;
    t->nkeys = nkeys;
    t->cols = calloc((size_t)st->ncols, sizeof(*t->cols));
    if (!t->cols)
        abort();
    for (int i = 0; i < st->ncols; i++)
        column_from_def(&t->cols[i], &st->cols[i], i < nkeys);
    for (int i = 0; i < nkeys; i++)
        if (key_ban(&t->cols[i], err) < 0)
            goto fail;
    for (int i = 0; i < st->ncols; i++) {
        if (check_default(&t->cols[i], err) < 0)
            goto fail;
        if (st->cols[i].auto_inc && (t->cols[i].type.kind != EMU_BIGINT || t->cols[i].nullable)) {
            emu_err_set(err, "1105", "the auto increment column should be BIGINT NOT NULL type");
            goto fail;
        }
    }

    /* Distribution (§5.3). Not given: Unique hashes on its keys, Duplicate
     * is RANDOM; BUCKETS AUTO. */
    t->buckets = st->buckets < 0 ? 0 : st->buckets;
    if (st->has_dist && st->dist_random) {
        if (t->keys_type == EMU_UNIQUE_KEYS) {
            emu_err_set(err, "1105",
                        "Should not be distributed by random when keys type is unique");
            goto fail;
        }
    } else if (st->has_dist) {
        t->ndist = st->ndist;
        t->dist_cols = calloc((size_t)st->ndist + 1, sizeof(int));
        for (int i = 0; i < st->ndist; i++) {
            int c = find_col(t->cols, t->ncols, st->dist[i]);

            if (c < 0) {
                emu_err_set(err, "1105", "Distribution column(%s) doesn't exist.", st->dist[i]);
                goto fail;
            }
            if (t->cols[c].type.kind == EMU_FLOAT || t->cols[c].type.kind == EMU_DOUBLE) {
                emu_err_set(err, "1105",
                            "Floating point type column can not be distribution column");
                goto fail;
            }
            if (t->keys_type != EMU_DUP_KEYS && !t->cols[c].is_key) {
                emu_err_set(err, "1105", "Distribution column[%s] is not key column", st->dist[i]);
                goto fail;
            }
            if (emu_type_key_ban(&t->cols[c].type)) {
                emu_err_set(err, "1105", "Distribution column[%s] type is not supported",
                            st->dist[i]);
                goto fail;
            }
            t->dist_cols[i] = c;
        }
    } else if (t->keys_type == EMU_UNIQUE_KEYS) {
        t->ndist = nkeys;
        t->dist_cols = calloc((size_t)nkeys + 1, sizeof(int));
        for (int i = 0; i < nkeys; i++)
            t->dist_cols[i] = i;
    }

    /* Properties */
    t->properties = json_object();
    for (int i = 0; i < st->nprops; i++)
        json_object_set_new(t->properties, st->prop_names[i], json_string(st->prop_values[i]));
    {
        int repl = 1;

        if ((v = prop(st, "replication_num")))
            repl = atoi(v);
        if ((v = prop(st, "replication_allocation"))) {
            const char *c = strrchr(v, ':');

            repl = c ? atoi(c + 1) : 0;
        }
        if (repl <= 0) {
            emu_err_set(err, "1105", "Total replication num should between 1 and 32767");
            goto fail;
        }
        if (repl > 1) {
            emu_err_set(err, "1105",
                        "Failed to find enough backend, please check the replication num,"
                        "replication tag and storage medium and avail capacity of backends or "
                        "maybe all be on decommission state.\nCreate failed replications:\n"
                        "replication tag: {\"location\" : \"default\"}, replication num: %d, "
                        "storage medium: HDD",
                        repl);
            goto fail;
        }
        json_object_del(t->properties, "replication_num");
        json_object_set_new(t->properties, "replication_allocation",
                            json_string("tag.location.default: 1"));
    }
    t->light_schema_change = true;
    if ((v = prop(st, "light_schema_change"))) {
        if (!is_bool_text(v)) {
            emu_err_set(err, "1105", "Property light_schema_change should be set to true or false");
            goto fail;
        }
        t->light_schema_change = !strcasecmp(v, "true");
    }
    if (t->keys_type == EMU_UNIQUE_KEYS) {
        t->merge_on_write = true;
        if ((v = prop(st, "enable_unique_key_merge_on_write"))) {
            if (!is_bool_text(v)) {
                emu_err_set(err, "1105",
                            "Invalid enable_unique_key_merge_on_write property value: %s", v);
                goto fail;
            }
            t->merge_on_write = !strcasecmp(v, "true");
        }
        json_object_set_new(t->properties, "enable_unique_key_merge_on_write",
                            json_string(t->merge_on_write ? "true" : "false"));
    } else if ((v = prop(st, "enable_unique_key_merge_on_write")) && !strcasecmp(v, "true")) {
        emu_err_set(err, "1105",
                    "enable_unique_key_merge_on_write property only support unique "
                    "key table");
        goto fail;
    }
    json_object_set_new(t->properties, "light_schema_change",
                        json_string(t->light_schema_change ? "true" : "false"));
    if ((v = prop(st, "function_column.sequence_col"))) {
        int c;

        if (t->keys_type != EMU_UNIQUE_KEYS) {
            emu_err_set(err, "1105", "sequence column only support UNIQUE_KEYS");
            goto fail;
        }
        c = find_col(t->cols, t->ncols, v);
        if (c < 0) {
            emu_err_set(err, "1105", "The specified sequence column[%s] not exists", v);
            goto fail;
        }
        if (!(t->cols[c].type.kind >= EMU_TINYINT && t->cols[c].type.kind <= EMU_LARGEINT) &&
            t->cols[c].type.kind != EMU_DATE && t->cols[c].type.kind != EMU_DATETIME) {
            emu_err_set(err, "1105", "Sequence type only support integer types and date types");
            goto fail;
        }
        t->seq_col = c;
    } else if ((v = prop(st, "function_column.sequence_type"))) {
        struct emu_err e2;

        if (t->keys_type != EMU_UNIQUE_KEYS) {
            emu_err_set(err, "1105", "sequence column only support UNIQUE_KEYS");
            goto fail;
        }
        if (emu_type_parse(v, &t->seq_type, &e2) < 0 ||
            (!(t->seq_type.kind >= EMU_TINYINT && t->seq_type.kind <= EMU_LARGEINT) &&
             t->seq_type.kind != EMU_DATE && t->seq_type.kind != EMU_DATETIME)) {
            emu_type_fini(&t->seq_type);
            emu_err_set(err, "1105", "Sequence type only support integer types and date types");
            goto fail;
        }
        t->has_seq_type = true;
    }
    if (st->partition)
        json_object_set_new(t->properties, "__emu_partition", json_string(st->partition));
    t->comment = strdup(st->comment ? st->comment : "");
    t->schema_version = 1;
    return t;
fail:
    emu_table_unref(t);
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* ALTER TABLE rules (§7.4)                                                  */

static struct emu_table *table_clone(const struct emu_table *src, int extra_cols)
{
    struct emu_table *t = table_alloc();

    t->table_id = src->table_id;
    t->db = strdup(src->db);
    t->name = strdup(src->name);
    t->keys_type = src->keys_type;
    t->ncols = src->ncols;
    t->nkeys = src->nkeys;
    t->cols = calloc((size_t)(src->ncols + extra_cols + 1), sizeof(*t->cols));
    if (!t->cols)
        abort();
    for (int i = 0; i < src->ncols; i++) {
        const struct emu_column *s = &src->cols[i];
        struct emu_column *c = &t->cols[i];

        c->name = strdup(s->name);
        if (emu_type_copy(&c->type, &s->type) < 0)
            abort();
        c->nullable = s->nullable;
        c->is_key = s->is_key;
        c->default_value = s->default_value ? strdup(s->default_value) : NULL;
        c->comment = strdup(s->comment ? s->comment : "");
    }
    t->ndist = src->ndist;
    t->dist_cols = calloc((size_t)src->ndist + 1, sizeof(int));
    if (src->ndist)
        memcpy(t->dist_cols, src->dist_cols, sizeof(int) * (size_t)src->ndist);
    t->buckets = src->buckets;
    t->merge_on_write = src->merge_on_write;
    t->light_schema_change = src->light_schema_change;
    t->seq_col = src->seq_col;
    t->has_seq_type = src->has_seq_type;
    if (src->has_seq_type && emu_type_copy(&t->seq_type, &src->seq_type) < 0)
        abort();
    t->properties = src->properties ? json_deep_copy(src->properties) : json_object();
    t->comment = strdup(src->comment ? src->comment : "");
    t->schema_version = src->schema_version + 1;
    return t;
}

/* Column index remap after inserting at pos / removing at pos. */
static void remap_index(struct emu_table *t, int pos, int delta)
{
    for (int i = 0; i < t->ndist; i++)
        if (t->dist_cols[i] >= pos)
            t->dist_cols[i] += delta;
    if (t->seq_col >= pos)
        t->seq_col += delta;
}

static void column_clear(struct emu_column *c)
{
    free(c->name);
    emu_type_fini(&c->type);
    free(c->default_value);
    free(c->comment);
    memset(c, 0, sizeof(*c));
}

static bool modify_allowed(const struct emu_type *from, const struct emu_type *to)
{
    enum emu_kind a = from->kind, b = to->kind;

    if (a == b) {
        if (a == EMU_VARCHAR || a == EMU_CHAR)
            return to->length >= from->length;
        if (a == EMU_DECIMAL)
            return to->scale == from->scale && to->precision >= from->precision;
        if (a == EMU_DATETIME)
            return to->scale >= from->scale;
        if (a == EMU_ARRAY)
            return false;
        return true;
    }
    if (a >= EMU_TINYINT && a <= EMU_LARGEINT && b >= EMU_TINYINT && b <= EMU_LARGEINT)
        return b > a;
    if (a == EMU_FLOAT && b == EMU_DOUBLE)
        return true;
    if (b == EMU_VARCHAR && (a <= EMU_DECIMAL || a == EMU_CHAR))
        return true;
    if (b == EMU_STRING && a != EMU_DATE && a != EMU_DATETIME && a != EMU_JSON && a != EMU_ARRAY)
        return true;
    if (a == EMU_DATE && b == EMU_DATETIME)
        return true;
    return false;
}

struct emu_table *emu_sql_alter_table(const struct emu_stmt *st, const struct emu_table *src,
                                      struct emu_err *err)
{
    struct emu_table *t = table_clone(src, st->ncols);

    if (st->alter_op == EMU_ALTER_DROP) {
        int c = find_col(t->cols, t->ncols, st->drop_col);

        if (c < 0) {
            emu_err_set(err, "1105", "Column does not exists: %s", st->drop_col);
            goto fail;
        }
        if (t->cols[c].is_key && t->keys_type == EMU_UNIQUE_KEYS) {
            emu_err_set(err, "1105", "Can not drop key column in Unique data model table");
            goto fail;
        }
        if (c == t->seq_col) {
            emu_err_set(err, "1105",
                        "Can not drop sequence mapping column[%s] in Unique data model table[%s]",
                        t->cols[c].name, t->name);
            goto fail;
        }
        for (int i = 0; i < t->ndist; i++)
            if (t->dist_cols[i] == c) {
                emu_err_set(err, "1105", "Can not drop distribution column: %s", t->cols[c].name);
                goto fail;
            }
        if (t->ncols == 1) {
            emu_err_set(err, "1105", "Can not drop all columns");
            goto fail;
        }
        if (t->cols[c].is_key && t->nkeys == 1) {
            emu_err_set(err, "1105", "Can not drop the only key column: %s", t->cols[c].name);
            goto fail;
        }
        if (t->cols[c].is_key)
            t->nkeys--;
        column_clear(&t->cols[c]);
        memmove(&t->cols[c], &t->cols[c + 1], sizeof(*t->cols) * (size_t)(t->ncols - c - 1));
        t->ncols--;
        remap_index(t, c + 1, -1);
        return t;
    }
    if (st->alter_op == EMU_ALTER_MODIFY) {
        const struct emu_coldef *d = &st->cols[0];
        int c = find_col(t->cols, t->ncols, d->name);
        struct emu_column nc;

        if (c < 0) {
            emu_err_set(err, "1105", "Column[%s] does not exist", d->name);
            goto fail;
        }
        for (int i = 0; i < t->ndist; i++)
            if (t->dist_cols[i] == c &&
                (d->type.kind != t->cols[c].type.kind || d->type.length != t->cols[c].type.length ||
                 d->type.precision != t->cols[c].type.precision)) {
                emu_err_set(err, "1105", "Can not modify distribution column[%s]. index[%s]",
                            d->name, t->name);
                goto fail;
            }
        if (c == t->seq_col && d->type.kind != t->cols[c].type.kind) {
            emu_err_set(err, "1105", "Can not alter sequence column[%s]", d->name);
            goto fail;
        }
        if (!modify_allowed(&t->cols[c].type, &d->type)) {
            struct emu_buf a, b;

            emu_buf_init(&a);
            emu_buf_init(&b);
            emu_type_format(&t->cols[c].type, false, &a);
            emu_type_format(&d->type, false, &b);
            emu_err_set(err, "1105", "Can not change %s to %s", a.data, b.data);
            emu_buf_fini(&a);
            emu_buf_fini(&b);
            goto fail;
        }
        if (d->is_key != t->cols[c].is_key && d->is_key) {
            emu_err_set(err, "1105", "Can not modify the key property of column[%s]", d->name);
            goto fail;
        }
        column_from_def(&nc, d, t->cols[c].is_key);
        if (d->nullable < 0)
            nc.nullable = t->cols[c].nullable;
        if (t->cols[c].nullable && !nc.nullable)
            emu_err_set(err, "1105", "Can not change from nullable to non-nullable");
        if ((t->cols[c].nullable && !nc.nullable) || check_default(&nc, err) < 0) {
            column_clear(&nc);
            goto fail;
        }
        column_clear(&t->cols[c]);
        t->cols[c] = nc;
        return t;
    }
    /* ADD COLUMN */
    for (int k = 0; k < st->ncols; k++) {
        const struct emu_coldef *d = &st->cols[k];
        int pos;
        bool key = d->is_key;

        if (emu_sql_check_column_name(d->name, err) < 0)
            goto fail;
        if (find_col(t->cols, t->ncols, d->name) >= 0) {
            emu_err_set(err, "1105", "Can not add column which already exists in base table: %s",
                        d->name);
            goto fail;
        }
        if (key && t->keys_type == EMU_UNIQUE_KEYS && t->merge_on_write) {
            emu_err_set(err, "1105", "Can not add key column %s to a merge-on-write Unique table",
                        d->name);
            goto fail;
        }
        if (d->nullable == 0 && !d->has_default) {
            emu_err_set(err, "1105",
                        "Can not add column which is not nullable and has no default value: %s",
                        d->name);
            goto fail;
        }
        if (d->first) {
            pos = 0;
        } else if (d->after) {
            int a = find_col(t->cols, t->ncols, d->after);

            if (a < 0) {
                emu_err_set(err, "1105", "Column[%s] does not exist", d->after);
                goto fail;
            }
            pos = a + 1;
        } else {
            pos = key ? t->nkeys : t->ncols;
        }
        if ((key && pos > t->nkeys) || (!key && pos < t->nkeys)) {
            emu_err_set(err, "1105", "Invalid column order. value should be after key. index[%s]",
                        t->name);
            goto fail;
        }
        memmove(&t->cols[pos + 1], &t->cols[pos], sizeof(*t->cols) * (size_t)(t->ncols - pos));
        column_from_def(&t->cols[pos], d, key);
        if (d->nullable < 0)
            t->cols[pos].nullable = true;
        t->ncols++;
        if (key)
            t->nkeys++;
        remap_index(t, pos, +1);
        if (key && emu_type_key_ban(&t->cols[pos].type)) {
            key_ban(&t->cols[pos], err);
            goto fail;
        }
        if (check_default(&t->cols[pos], err) < 0)
            goto fail;
    }
    return t;
fail:
    emu_table_unref(t);
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* SELECT rewrite                                                            */

static void put_dq(struct emu_buf *out, const char *s)
{
    EMU_PUT(out, "\"");
    for (; *s; s++) {
        if (*s == '"')
            EMU_PUT(out, "\"");
        emu_buf_append(out, s, 1);
    }
    EMU_PUT(out, "\"");
}

void emu_sql_rewrite_select(const struct emu_stmt *st, const char *sql, const char *session_db,
                            struct emu_buf *out)
{
    struct lexer lx;
    struct emu_err err;
    size_t prev = 0;
    int r = 0;

    if (lex(&lx, sql, &err) < 0) {
        emu_buf_append(out, sql, strlen(sql));
        return;
    }
    for (int i = 0; i < lx.ntoks; i++) {
        struct tok *t = &lx.toks[i];

        emu_buf_append(out, sql + prev, t->start - prev);
        prev = t->end;
        if (r < st->nrefs && t->start == st->refs[r].start) {
            const struct emu_tref *ref = &st->refs[r];
            const char *db = ref->db[0] ? ref->db : (session_db ? session_db : "");
            struct emu_buf name;

            emu_buf_init(&name);
            if (!strcasecmp(db, "information_schema")) {
                EMU_PUT(&name, "information_schema.");
                for (const char *c = ref->table; *c; c++) {
                    char u = (char)toupper((unsigned char)*c);

                    emu_buf_append(&name, &u, 1);
                }
            } else {
                emu_buf_printf(&name, "%s.%s", db, ref->table);
            }
            put_dq(out, name.data);
            emu_buf_fini(&name);
            if (!ref->has_alias) {
                EMU_PUT(out, " AS ");
                put_dq(out, ref->table);
            }
            while (i + 1 < lx.ntoks && lx.toks[i + 1].end <= ref->end)
                i++;
            prev = ref->end;
            r++;
            continue;
        }
        switch (t->kind) {
        case T_QIDENT:
            put_dq(out, t->text);
            break;
        case T_STRING: {
            EMU_PUT(out, "'");
            for (const char *c = t->text; *c; c++) {
                if (*c == '\'')
                    EMU_PUT(out, "'");
                emu_buf_append(out, c, 1);
            }
            EMU_PUT(out, "'");
            break;
        }
        default:
            emu_buf_append(out, sql + t->start, t->end - t->start);
        }
    }
    lex_free(&lx);
}
