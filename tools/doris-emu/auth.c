/*
 * auth.c - doris-emu's users and privileges.
 *
 * A users file lists grants, one per line:
 *
 *   name:password:PRIV[,PRIV...][:db[.table]]
 *
 * PRIV is SELECT, LOAD, ALTER, CREATE, DROP, ADMIN or ALL (the five
 * table privileges, not ADMIN, as Doris's GRANT ALL on a database). The
 * scope defaults to '*'; "db" alone means every table of db; db and table
 * may use fnmatch(3) globs ('*', '?'). A user may appear on several lines;
 * every line must give the same password. Without a file there is one
 * user, "root" with an empty password and ADMIN, as in a fresh Doris.
 *
 * The set is read once at start and never changes, so lookups take no lock.
 */
#include "emu.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct grant {
    char *user;
    char *password;
    unsigned privs;   /* EMU_PRIV_* bits */
    char *db_glob;    /* never NULL */
    char *table_glob; /* never NULL; "*" for a database-wide grant */
};

struct emu_auth {
    struct grant *grants;
    int ngrants;
};

static char *dup_or_die(const char *s)
{
    char *p = strdup(s);

    if (!p)
        abort();
    return p;
}

static void add_grant(struct emu_auth *a, const char *user, const char *password, unsigned privs,
                      const char *db_glob, const char *table_glob)
{
    struct grant *g = realloc(a->grants, sizeof(*g) * (size_t)(a->ngrants + 1));

    if (!g)
        abort();
    a->grants = g;
    g += a->ngrants++;
    g->user = dup_or_die(user);
    g->password = dup_or_die(password);
    g->privs = privs;
    g->db_glob = dup_or_die(db_glob);
    g->table_glob = dup_or_die(table_glob);
}

void emu_auth_free(struct emu_auth *a)
{
    if (!a)
        return;
    for (int i = 0; i < a->ngrants; i++) {
        free(a->grants[i].user);
        free(a->grants[i].password);
        free(a->grants[i].db_glob);
        free(a->grants[i].table_glob);
    }
    free(a->grants);
    free(a);
}

/* Parses "SELECT,LOAD" into bits; returns -1 naming the bad word in err. */
static int parse_privs(const char *text, unsigned *out, const char *path, int lineno,
                       struct emu_err *err)
{
    static const struct {
        const char *name;
        unsigned bits;
    } names[] = {
        {"SELECT", EMU_PRIV_SELECT},
        {"LOAD", EMU_PRIV_LOAD},
        {"ALTER", EMU_PRIV_ALTER},
        {"CREATE", EMU_PRIV_CREATE},
        {"DROP", EMU_PRIV_DROP},
        {"ADMIN", EMU_PRIV_ADMIN},
        {"ALL", EMU_PRIV_SELECT | EMU_PRIV_LOAD | EMU_PRIV_ALTER | EMU_PRIV_CREATE | EMU_PRIV_DROP},
    };
    const char *p = text;

    *out = 0;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        bool found = false;

        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
            if (strlen(names[i].name) == n && strncasecmp(names[i].name, p, n) == 0) {
                *out |= names[i].bits;
                found = true;
            }
        }
        if (!found) {
            emu_err_set(err, "users",
                        "%s:%d: unknown privilege \"%.*s\"\n"
                        "hint: use SELECT, LOAD, ALTER, CREATE, DROP, ADMIN or ALL",
                        path, lineno, (int)n, p);
            return -1;
        }
        p += n;
        if (*p == ',')
            p++;
    }
    if (*out == 0) {
        emu_err_set(err, "users", "%s:%d: no privilege given", path, lineno);
        return -1;
    }
    return 0;
}

static const char *password_of(const struct emu_auth *a, const char *user)
{
    for (int i = 0; i < a->ngrants; i++)
        if (strcmp(a->grants[i].user, user) == 0)
            return a->grants[i].password;
    return NULL;
}

/* Parses one non-comment line "name:password:PRIVS[:scope]" (modified in place). */
static int parse_line(struct emu_auth *a, char *line, const char *path, int lineno,
                      struct emu_err *err)
{
    char *fields[4] = {NULL, NULL, NULL, NULL};
    int nfields = 0;
    char *p = line;
    unsigned privs;
    const char *db_glob = "*", *table_glob = "*";
    const char *known;

    while (nfields < 4) {
        char *colon = nfields < 3 ? strchr(p, ':') : NULL;

        fields[nfields++] = p;
        if (!colon)
            break;
        *colon = '\0';
        p = colon + 1;
    }
    if (nfields < 3) {
        emu_err_set(err, "users", "%s:%d: expected name:password:PRIV[,PRIV...][:db[.table]]", path,
                    lineno);
        return -1;
    }
    if (!fields[0][0]) {
        emu_err_set(err, "users", "%s:%d: empty user name", path, lineno);
        return -1;
    }
    if (parse_privs(fields[2], &privs, path, lineno, err) < 0)
        return -1;
    if (nfields == 4 && fields[3][0]) {
        char *dot = strchr(fields[3], '.');

        db_glob = fields[3];
        if (dot) {
            *dot = '\0';
            table_glob = dot + 1;
        }
        if (!db_glob[0] || !table_glob[0]) {
            emu_err_set(err, "users", "%s:%d: empty database or table in the scope", path, lineno);
            return -1;
        }
    }
    known = password_of(a, fields[0]);
    if (known && strcmp(known, fields[1]) != 0) {
        emu_err_set(err, "users", "%s:%d: user \"%s\" is given two different passwords", path,
                    lineno, fields[0]);
        return -1;
    }
    add_grant(a, fields[0], fields[1], privs, db_glob, table_glob);
    return 0;
}

struct emu_auth *emu_auth_load(const char *path, struct emu_err *err)
{
    struct emu_auth *a = calloc(1, sizeof(*a));
    FILE *f;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int lineno = 0;

    if (!a)
        abort();
    if (!path) {
        add_grant(a, "root", "", EMU_PRIV_ADMIN, "*", "*");
        return a;
    }
    f = fopen(path, "r");
    if (!f) {
        emu_err_set(err, "users", "could not open users file \"%s\": %s", path, strerror(errno));
        emu_auth_free(a);
        return NULL;
    }
    while ((len = getline(&line, &cap, f)) >= 0) {
        char *s = line;

        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        while (*s == ' ' || *s == '\t')
            s++;
        if (!*s || *s == '#')
            continue;
        if (parse_line(a, s, path, lineno, err) < 0)
            goto fail;
    }
    if (a->ngrants == 0) {
        emu_err_set(err, "users", "users file \"%s\" lists no user", path);
        goto fail;
    }
    free(line);
    fclose(f);
    return a;
fail:
    free(line);
    fclose(f);
    emu_auth_free(a);
    return NULL;
}

bool emu_auth_login(const struct emu_auth *a, const char *user, const char *password)
{
    const char *known = a && user ? password_of(a, user) : NULL;

    return known && password && strcmp(known, password) == 0;
}

bool emu_auth_has(const struct emu_auth *a, const char *user, unsigned priv, const char *db,
                  const char *table)
{
    if (!a || !user)
        return false;
    for (int i = 0; i < a->ngrants; i++) {
        const struct grant *g = &a->grants[i];

        if (strcmp(g->user, user) != 0)
            continue;
        /* ADMIN is global in Doris: it covers every privilege everywhere. */
        if (g->privs & EMU_PRIV_ADMIN)
            return true;
        if ((g->privs & priv) != priv)
            continue;
        if (fnmatch(g->db_glob, db ? db : "", 0) != 0)
            continue;
        /* A database-level need ("" table) is met only by a database-wide grant. */
        if (!table || !*table) {
            if (strcmp(g->table_glob, "*") == 0)
                return true;
            continue;
        }
        if (fnmatch(g->table_glob, table, 0) == 0)
            return true;
    }
    return false;
}
