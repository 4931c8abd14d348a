/*
 * types.c - Doris column types: parse and print type names, the key and
 * bucket bans of doris-protocol.md §5.3, load time zones, and the per-field
 * conversion of loaded text into the stored form (§7.2 limits).
 *
 * emu_value_convert runs once per field of every loaded row, so it parses
 * by hand: no sscanf, no locale, no malloc per value. Canonical text goes
 * into the caller's scratch buffer, which is reset at the start of every
 * top-level conversion; values that need no rewriting (CHAR, VARCHAR,
 * STRING) point into the input instead.
 *
 * Internal converters append to the scratch buffer and report the text as an
 * offset, never as a pointer, because nested ARRAY elements grow the buffer
 * while earlier text is still being assembled.
 *
 * The only I/O is emu_tz_parse / zone lookup reading TZif files from
 * /usr/share/zoneinfo; parsed zones are cached for the life of the process
 * behind a mutex and are immutable once published.
 */
#include "emu.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Appends a string literal (length computed by the compiler). */
#define EMU_PUT(b, lit) emu_buf_append((b), (lit), sizeof(lit) - 1)

/* STRING / JSON byte limit (BE string_type_length_soft_limit_bytes). */
static size_t string_limit = 1048576;

void emu_types_set_string_limit(size_t bytes)
{
    string_limit = bytes;
}

/* ------------------------------------------------------------------------ */
/* Type names                                                                */

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    return p;
}

/* Reads up to two integer arguments "(a[,b])". Returns their count, or -1. */
static int parse_args(const char **pp, long *a, long *b)
{
    const char *p = skip_ws(*pp);
    int n = 0;

    if (*p != '(')
        return 0;
    p = skip_ws(p + 1);
    for (;;) {
        char *end;
        long v;

        if (!isdigit((unsigned char)*p))
            return -1;
        errno = 0;
        v = strtol(p, &end, 10);
        if (errno || n >= 2)
            return -1;
        if (n == 0)
            *a = v;
        else
            *b = v;
        n++;
        p = skip_ws(end);
        if (*p == ',') {
            p = skip_ws(p + 1);
            continue;
        }
        if (*p != ')')
            return -1;
        *pp = p + 1;
        return n;
    }
}

static int type_parse_at(const char **pp, struct emu_type *out, struct emu_err *err, int depth)
{
    const char *p = skip_ws(*pp);
    const char *start = p;
    char name[32];
    size_t n = 0;
    long a = 0, b = 0;
    int nargs;

    memset(out, 0, sizeof(*out));
    while (isalnum((unsigned char)p[n]) || p[n] == '_')
        n++;
    if (n == 0 || n >= sizeof(name)) {
        emu_err_set(err, "1105", "Unknown type '%.*s'", (int)(n ? n : strlen(p)), p);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        name[i] = (char)toupper((unsigned char)p[i]);
    name[n] = '\0';
    p += n;

    if (strcmp(name, "ARRAY") == 0) {
        p = skip_ws(p);
        if (*p != '<' || depth > 8) {
            emu_err_set(err, "1105", "Unknown type '%s'", start);
            return -1;
        }
        p++;
        out->kind = EMU_ARRAY;
        out->elem = calloc(1, sizeof(*out->elem));
        if (!out->elem)
            abort();
        if (type_parse_at(&p, out->elem, err, depth + 1) < 0) {
            emu_type_fini(out);
            return -1;
        }
        p = skip_ws(p);
        if (*p != '>') {
            emu_type_fini(out);
            emu_err_set(err, "1105", "Unknown type '%s'", start);
            return -1;
        }
        *pp = p + 1;
        return 0;
    }

    nargs = parse_args(&p, &a, &b);
    if (nargs < 0) {
        emu_err_set(err, "1105", "Unknown type '%s'", start);
        return -1;
    }
    if (!strcmp(name, "BOOLEAN") || !strcmp(name, "BOOL"))
        out->kind = EMU_BOOLEAN;
    else if (!strcmp(name, "TINYINT"))
        out->kind = EMU_TINYINT;
    else if (!strcmp(name, "SMALLINT"))
        out->kind = EMU_SMALLINT;
    else if (!strcmp(name, "INT") || !strcmp(name, "INTEGER"))
        out->kind = EMU_INT;
    else if (!strcmp(name, "BIGINT"))
        out->kind = EMU_BIGINT;
    else if (!strcmp(name, "LARGEINT"))
        out->kind = EMU_LARGEINT;
    else if (!strcmp(name, "FLOAT"))
        out->kind = EMU_FLOAT;
    else if (!strcmp(name, "DOUBLE"))
        out->kind = EMU_DOUBLE;
    else if (!strcmp(name, "DECIMAL") || !strcmp(name, "DECIMALV3") || !strcmp(name, "DECIMALV2") ||
             !strcmp(name, "NUMERIC")) {
        out->kind = EMU_DECIMAL;
        out->precision = nargs >= 1 ? (int)a : 38;
        out->scale = nargs >= 2 ? (int)b : (nargs == 1 ? 0 : 9);
        if (out->precision < 1 || out->precision > 38) {
            emu_err_set(err, "1105",
                        "Precision of decimal must between 1 and 38. Precision was set to: %ld.",
                        nargs >= 1 ? a : 38);
            return -1;
        }
        if (out->scale < 0 || out->scale > out->precision) {
            emu_err_set(err, "1105",
                        "Scale of decimal must between 0 and precision. Scale was set to: %ld.", b);
            return -1;
        }
        *pp = p;
        return 0;
    } else if (!strcmp(name, "DATE") || !strcmp(name, "DATEV2"))
        out->kind = EMU_DATE;
    else if (!strcmp(name, "DATETIME") || !strcmp(name, "DATETIMEV2")) {
        out->kind = EMU_DATETIME;
        out->scale = nargs >= 1 ? (int)a : 0;
        if (nargs > 1 || out->scale < 0 || out->scale > 6) {
            emu_err_set(err, "1105",
                        "Scale of Datetime/Time must between 0 and 6. Scale was set to: %ld.", a);
            return -1;
        }
        *pp = p;
        return 0;
    } else if (!strcmp(name, "CHAR")) {
        out->kind = EMU_CHAR;
        out->length = nargs >= 1 ? (int)a : 1;
        if (nargs > 1 || a > 255 || out->length < 1) {
            emu_err_set(err, "1105", "Char size must between 1 and 255. Size was set to: %ld.", a);
            return -1;
        }
        *pp = p;
        return 0;
    } else if (!strcmp(name, "VARCHAR")) {
        out->kind = EMU_VARCHAR;
        out->length = nargs >= 1 ? (int)a : 65533;
        if (nargs > 1 || a > 65533 || out->length < 1) {
            emu_err_set(err, "1105", "Varchar size must between 1 and 65533. Size was set to: %ld.",
                        a);
            return -1;
        }
        *pp = p;
        return 0;
    } else if (!strcmp(name, "STRING") || !strcmp(name, "TEXT"))
        out->kind = EMU_STRING;
    else if (!strcmp(name, "JSON") || !strcmp(name, "JSONB"))
        out->kind = EMU_JSON;
    else if (!strcmp(name, "IPV4"))
        out->kind = EMU_IPV4;
    else if (!strcmp(name, "IPV6"))
        out->kind = EMU_IPV6;
    else {
        emu_err_set(err, "1105", "Unknown type '%s'", name);
        return -1;
    }
    if (nargs > 0) {
        emu_err_set(err, "1105", "Unknown type '%s'", start);
        return -1;
    }
    *pp = p;
    return 0;
}

int emu_type_parse(const char *text, struct emu_type *out, struct emu_err *err)
{
    const char *p = text;

    if (type_parse_at(&p, out, err, 0) < 0)
        return -1;
    p = skip_ws(p);
    if (*p) {
        emu_type_fini(out);
        emu_err_set(err, "1105", "Unknown type '%s'", text);
        return -1;
    }
    return 0;
}

void emu_type_fini(struct emu_type *t)
{
    if (!t)
        return;
    if (t->elem) {
        emu_type_fini(t->elem);
        free(t->elem);
    }
    t->elem = NULL;
}

int emu_type_copy(struct emu_type *dst, const struct emu_type *src)
{
    *dst = *src;
    dst->elem = NULL;
    if (src->elem) {
        dst->elem = calloc(1, sizeof(*dst->elem));
        if (!dst->elem)
            return -1;
        if (emu_type_copy(dst->elem, src->elem) < 0) {
            free(dst->elem);
            dst->elem = NULL;
            return -1;
        }
    }
    return 0;
}

static const char *const kind_names[] = {
    [EMU_BOOLEAN] = "boolean", [EMU_TINYINT] = "tinyint",   [EMU_SMALLINT] = "smallint",
    [EMU_INT] = "int",         [EMU_BIGINT] = "bigint",     [EMU_LARGEINT] = "largeint",
    [EMU_FLOAT] = "float",     [EMU_DOUBLE] = "double",     [EMU_DECIMAL] = "decimal",
    [EMU_DATE] = "date",       [EMU_DATETIME] = "datetime", [EMU_CHAR] = "char",
    [EMU_VARCHAR] = "varchar", [EMU_STRING] = "text",       [EMU_JSON] = "json",
    [EMU_ARRAY] = "array",     [EMU_IPV4] = "ipv4",         [EMU_IPV6] = "ipv6",
};

const char *emu_type_kind_name(enum emu_kind k)
{
    return kind_names[k];
}

static void put_name(const char *name, bool lower, struct emu_buf *out)
{
    emu_buf_reserve(out, strlen(name));
    for (const char *c = name; *c; c++)
        out->data[out->len++] = lower ? *c : (char)toupper((unsigned char)*c);
    out->data[out->len] = '\0';
}

void emu_type_format(const struct emu_type *t, bool lower, struct emu_buf *out)
{
    put_name(kind_names[t->kind], lower, out);
    switch (t->kind) {
    case EMU_DECIMAL:
        emu_buf_printf(out, "(%d,%d)", t->precision, t->scale);
        break;
    case EMU_DATETIME:
        if (t->scale > 0)
            emu_buf_printf(out, "(%d)", t->scale);
        break;
    case EMU_CHAR:
    case EMU_VARCHAR:
        emu_buf_printf(out, "(%d)", t->length);
        break;
    case EMU_ARRAY:
        EMU_PUT(out, "<");
        emu_type_format(t->elem, lower, out);
        EMU_PUT(out, ">");
        break;
    default:
        break;
    }
}

const char *emu_type_key_ban(const struct emu_type *t)
{
    switch (t->kind) {
    case EMU_FLOAT:
    case EMU_DOUBLE:
        return "Float or double can not used as a key, use decimal instead.";
    case EMU_STRING:
        return "String Type should not be used in key column[%s].";
    case EMU_JSON:
        return "JSONB type should not be used in key column[%s].";
    case EMU_ARRAY:
        return "Array can only be used in the non-key column of the duplicate table at present.";
    default:
        return NULL;
    }
}

/* ------------------------------------------------------------------------ */
/* Calendar arithmetic (proleptic Gregorian, Howard Hinnant's algorithms)    */

static bool is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
    static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    return m == 2 && is_leap(y) ? 29 : dm[m - 1];
}

static int64_t days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
    int64_t era, doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

/* ------------------------------------------------------------------------ */
/* Time zones                                                                */

struct tz_zone {
    struct tz_zone *next;
    char name[64];
    int ntrans;
    int64_t *trans_at;  /* UTC seconds, ascending */
    int32_t *trans_off; /* offset in effect from trans_at[i] */
    int32_t first_off;  /* offset before the first transition */
};

static pthread_mutex_t tz_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tz_zone *tz_cache;

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

/* Parses a TZif file (RFC 8536); uses the 64-bit block of version 2+. */
static struct tz_zone *tzif_load(const char *name)
{
    char path[256];
    unsigned char *buf = NULL;
    size_t len = 0, cap = 0;
    FILE *f;
    struct tz_zone *z = NULL;
    const unsigned char *p;
    uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
    int tsize = 4;

    if (strstr(name, "..") || name[0] == '/')
        return NULL;
    snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", name);
    f = fopen(path, "rb");
    if (!f)
        return NULL;
    for (;;) {
        size_t got;

        if (len == cap) {
            unsigned char *nb;

            cap = cap ? cap * 2 : 4096;
            if (cap > (1u << 22))
                break;
            nb = realloc(buf, cap);
            if (!nb)
                break;
            buf = nb;
        }
        got = fread(buf + len, 1, cap - len, f);
        if (got == 0)
            break;
        len += got;
    }
    fclose(f);
    if (len < 44 || memcmp(buf, "TZif", 4) != 0)
        goto fail;
    p = buf;
    for (int pass = 0; pass < 2; pass++) {
        size_t need;

        isutcnt = be32(p + 20);
        isstdcnt = be32(p + 24);
        leapcnt = be32(p + 28);
        timecnt = be32(p + 32);
        typecnt = be32(p + 36);
        charcnt = be32(p + 40);
        need = 44 + (size_t)timecnt * (tsize + 1) + (size_t)typecnt * 6 + charcnt +
               (size_t)leapcnt * (tsize + 4) + isstdcnt + isutcnt;
        if ((size_t)(p - buf) + need > len || typecnt == 0)
            goto fail;
        if (pass == 0 && buf[4] >= '2') {
            p += need; /* skip the 32-bit block */
            tsize = 8;
            if ((size_t)(p - buf) + 44 > len || memcmp(p, "TZif", 4) != 0)
                goto fail;
            continue;
        }
        break;
    }
    z = calloc(1, sizeof(*z));
    if (!z)
        goto fail;
    snprintf(z->name, sizeof(z->name), "%s", name);
    z->ntrans = (int)timecnt;
    z->trans_at = calloc(timecnt + 1, sizeof(int64_t));
    z->trans_off = calloc(timecnt + 1, sizeof(int32_t));
    if (!z->trans_at || !z->trans_off)
        goto fail;
    {
        const unsigned char *times = p + 44;
        const unsigned char *idx = times + (size_t)timecnt * tsize;
        const unsigned char *types = idx + timecnt;

        z->first_off = (int32_t)be32(types); /* type 0 */
        for (uint32_t i = 0; i < timecnt; i++) {
            uint8_t ti = idx[i];

            if (ti >= typecnt)
                goto fail;
            z->trans_at[i] = tsize == 8 ? be64(times + 8 * i) : (int32_t)be32(times + 4 * i);
            z->trans_off[i] = (int32_t)be32(types + 6 * ti);
        }
    }
    free(buf);
    return z;
fail:
    if (z) {
        free(z->trans_at);
        free(z->trans_off);
        free(z);
    }
    free(buf);
    return NULL;
}

/* Returns the cached zone, loading it on first use; NULL if unknown. */
static const struct tz_zone *tz_zone_get(const char *name)
{
    struct tz_zone *z;

    pthread_mutex_lock(&tz_lock);
    for (z = tz_cache; z; z = z->next)
        if (strcmp(z->name, name) == 0)
            break;
    if (!z) {
        z = tzif_load(name);
        if (z) {
            z->next = tz_cache;
            tz_cache = z;
        }
    }
    pthread_mutex_unlock(&tz_lock);
    return z;
}

/* Offset from UTC in effect at UTC instant t. Past the last transition the
 * last offset holds (the files here list transitions through 2037). */
static int32_t tz_zone_offset(const struct tz_zone *z, int64_t t)
{
    int lo = 0, hi = z->ntrans;

    if (z->ntrans == 0 || t < z->trans_at[0])
        return z->first_off;
    while (hi - lo > 1) {
        int mid = (lo + hi) / 2;

        if (z->trans_at[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    return z->trans_off[lo];
}

/* "+HH:MM", "-HH:MM", "+HHMM", "+HH": offset in seconds; false if not. */
static bool parse_offset(const char *p, size_t n, int *sec)
{
    int sign, hh, mm = 0;

    if (n < 2 || (p[0] != '+' && p[0] != '-'))
        return false;
    sign = p[0] == '-' ? -1 : 1;
    p++;
    n--;
    if (n == 1 && isdigit((unsigned char)p[0])) {
        hh = p[0] - '0';
    } else {
        if (n < 2 || !isdigit((unsigned char)p[0]) || !isdigit((unsigned char)p[1]))
            return false;
        hh = (p[0] - '0') * 10 + (p[1] - '0');
        p += 2;
        n -= 2;
        if (n > 0 && *p == ':') {
            p++;
            n--;
            if (n != 2)
                return false;
        }
        if (n == 2) {
            if (!isdigit((unsigned char)p[0]) || !isdigit((unsigned char)p[1]))
                return false;
            mm = (p[0] - '0') * 10 + (p[1] - '0');
        } else if (n != 0)
            return false;
    }
    if (hh > 14 || mm > 59 || (hh == 14 && mm > 0))
        return false;
    *sec = sign * (hh * 3600 + mm * 60);
    return true;
}

int emu_tz_parse(const char *text, struct emu_tz *tz, struct emu_err *err)
{
    int off;

    memset(tz, 0, sizeof(*tz));
    if (!text || !*text || !strcasecmp(text, "UTC") || !strcasecmp(text, "GMT") ||
        !strcasecmp(text, "Z") || !strcmp(text, "Etc/UTC")) {
        snprintf(tz->name, sizeof(tz->name), "UTC");
        return 0;
    }
    if (parse_offset(text, strlen(text), &off)) {
        tz->offset_sec = off;
        snprintf(tz->name, sizeof(tz->name), "%s", text);
        return 0;
    }
    /* Doris maps the abbreviation CST to Asia/Shanghai. */
    if (!strcasecmp(text, "CST"))
        text = "Asia/Shanghai";
    if (strlen(text) < sizeof(tz->name) && tz_zone_get(text)) {
        tz->named = true;
        snprintf(tz->name, sizeof(tz->name), "%s", text);
        return 0;
    }
    emu_err_set(err, "INVALID_ARGUMENT", "Unknown or incorrect time zone: '%s'", text);
    return -1;
}

/* Offset of tz at UTC instant t (seconds). */
static int tz_offset_at(const struct emu_tz *tz, int64_t t)
{
    const struct tz_zone *z;

    if (!tz)
        return 0;
    if (!tz->named)
        return tz->offset_sec;
    z = tz_zone_get(tz->name);
    return z ? tz_zone_offset(z, t) : 0;
}

/* ------------------------------------------------------------------------ */
/* Conversion helpers                                                        */

struct conv {
    const struct emu_tz *tz;
    struct emu_buf *sb;
    char *why;
    size_t whylen;
    size_t text_off; /* where the canonical text starts in sb, or SIZE_MAX */
};

/* Writes the reason: "'<input>' <what>" when p is given, else just what. */
static enum emu_conv fail(struct conv *c, enum emu_conv code, const char *what, const char *p,
                          size_t n)
{
    if (c->why && c->whylen) {
        if (p)
            snprintf(c->why, c->whylen, "'%.*s' %s", (int)(n > 64 ? 64 : n), p, what);
        else
            snprintf(c->why, c->whylen, "%s", what);
    }
    return code;
}

static inline bool is_sp(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

static void trim(const char **p, size_t *n)
{
    while (*n && is_sp(**p)) {
        (*p)++;
        (*n)--;
    }
    while (*n && is_sp((*p)[*n - 1]))
        (*n)--;
}

static inline void sb_putc(struct emu_buf *b, char ch)
{
    emu_buf_reserve(b, 1);
    b->data[b->len++] = ch;
    b->data[b->len] = '\0';
}

/* Parses an optionally signed decimal integer into *v (exact, no overflow);
 * returns 0, 1 for not-a-number, 2 for out of [lo, hi]. */
static int parse_i64(const char *p, size_t n, int64_t lo, int64_t hi, int64_t *v)
{
    bool neg = false;
    uint64_t acc = 0;
    uint64_t lim;
    size_t i = 0;

    if (n && (p[0] == '-' || p[0] == '+')) {
        neg = p[0] == '-';
        i = 1;
    }
    if (i == n)
        return 1;
    lim = neg ? (uint64_t)(-(lo + 1)) + 1 : (uint64_t)hi;
    for (; i < n; i++) {
        unsigned d = (unsigned)((unsigned char)p[i] - '0');

        if (d > 9)
            return 1;
        /* Multiply-add with overflow detection; once it overflows, keep
         * scanning so that a later non-digit still reports BAD. */
        if (__builtin_mul_overflow(acc, 10, &acc) || __builtin_add_overflow(acc, d, &acc))
            acc = UINT64_MAX;
    }
    if (acc > lim)
        return 2;
    *v = neg ? (int64_t)(0 - acc) : (int64_t)acc;
    return 0;
}

static enum emu_conv conv_int(struct conv *c, enum emu_kind k, const char *p, size_t n,
                              struct emu_value *out)
{
    static const int64_t lo[] = {[EMU_TINYINT] = -128,
                                 [EMU_SMALLINT] = -32768,
                                 [EMU_INT] = INT32_MIN,
                                 [EMU_BIGINT] = INT64_MIN};
    static const int64_t hi[] = {[EMU_TINYINT] = 127,
                                 [EMU_SMALLINT] = 32767,
                                 [EMU_INT] = INT32_MAX,
                                 [EMU_BIGINT] = INT64_MAX};
    int64_t v = 0;
    int r;

    trim(&p, &n);
    r = parse_i64(p, n, lo[k], hi[k], &v);
    if (r == 1)
        return fail(c, EMU_CONV_BAD, "is not a valid integer", p, n);
    if (r == 2)
        return fail(c, EMU_CONV_OVERFLOW, "is out of range for the column type", p, n);
    out->kind = EMU_V_INT;
    out->i = v;
    return EMU_CONV_OK;
}

static enum emu_conv conv_bool(struct conv *c, const char *p, size_t n, struct emu_value *out)
{
    trim(&p, &n);
    out->kind = EMU_V_INT;
    if ((n == 1 && p[0] == '1') || (n == 4 && !strncasecmp(p, "true", 4))) {
        out->i = 1;
        return EMU_CONV_OK;
    }
    if ((n == 1 && p[0] == '0') || (n == 5 && !strncasecmp(p, "false", 5))) {
        out->i = 0;
        return EMU_CONV_OK;
    }
    out->kind = EMU_V_NULL;
    return fail(c, EMU_CONV_BAD, "is not a valid boolean", p, n);
}

static enum emu_conv conv_largeint(struct conv *c, const char *p, size_t n, struct emu_value *out)
{
    bool neg = false;
    unsigned __int128 acc = 0;
    const unsigned __int128 max_pos = ((unsigned __int128)1 << 127) - 1;
    size_t i = 0, first;
    bool over = false;

    trim(&p, &n);
    if (n && (p[0] == '-' || p[0] == '+')) {
        neg = p[0] == '-';
        i = 1;
    }
    if (i == n)
        return fail(c, EMU_CONV_BAD, "is not a valid integer", p, n);
    for (size_t j = i; j < n; j++) {
        unsigned d = (unsigned char)p[j] - '0';

        if (d > 9)
            return fail(c, EMU_CONV_BAD, "is not a valid integer", p, n);
        if (!over) {
            acc = acc * 10 + d;
            if (acc > max_pos + 1)
                over = true;
        }
    }
    if (over || acc > max_pos + (neg ? 1 : 0))
        return fail(c, EMU_CONV_OVERFLOW, "is out of range for the column type", p, n);
    /* Canonical: no '+', no leading zeros, no "-0". */
    first = i;
    while (first + 1 < n && p[first] == '0')
        first++;
    c->text_off = c->sb->len;
    if (neg && acc != 0)
        sb_putc(c->sb, '-');
    emu_buf_append(c->sb, p + first, n - first);
    out->kind = EMU_V_TEXT;
    return EMU_CONV_OK;
}

/*
 * DECIMAL(p,s): [+-]digits[.digits][e[+-]digits], or .5 / 5. forms.
 * More fraction digits than s are rounded half up (away from zero); more
 * than p-s integer digits (after rounding) is an overflow.
 */
/*
 * Fast path for the common spelling [-]digits[.digits] with no more
 * fraction digits than the scale: input that is already canonical is
 * returned in place (zero copy), other input is written out in one pass.
 * Returns false to let the general parser decide (rounding, exponents,
 * overflow, errors).
 */
static bool decimal_fast(struct conv *c, int prec, int scale, const char *p, size_t n,
                         struct emu_value *out)
{
    size_t i = 0, is, ie, fs, fe, nint, nfrac, len;
    bool neg = false, zero, canonical;
    char *o;

    if (n && (p[0] == '-' || p[0] == '+')) {
        neg = p[0] == '-';
        i = 1;
    }
    is = i;
    while (i < n && (unsigned)(p[i] - '0') <= 9)
        i++;
    ie = fs = fe = i;
    if (i < n && p[i] == '.') {
        fs = ++i;
        while (i < n && (unsigned)(p[i] - '0') <= 9)
            i++;
        fe = i;
    }
    nfrac = fe - fs;
    if (i != n || (ie == is && nfrac == 0) || nfrac > (size_t)scale)
        return false;
    canonical = p[0] != '+' && ie > is && (p[is] != '0' || ie - is == 1) &&
                nfrac == (size_t)scale && (scale > 0 || fs == ie);
    while (is < ie && p[is] == '0')
        is++;
    nint = ie - is;
    if (nint > (size_t)(prec - scale))
        return false;
    zero = nint == 0;
    for (size_t k = fs; zero && k < fe; k++)
        if (p[k] != '0')
            zero = false;
    if (canonical && !(neg && zero)) {
        out->kind = EMU_V_TEXT;
        out->s = p;
        out->n = n;
        return true;
    }
    len = (neg && !zero) + (nint ? nint : 1) + (scale ? 1 + (size_t)scale : 0);
    c->text_off = c->sb->len;
    emu_buf_reserve(c->sb, len);
    o = c->sb->data + c->sb->len;
    if (neg && !zero)
        *o++ = '-';
    if (nint) {
        memcpy(o, p + is, nint);
        o += nint;
    } else {
        *o++ = '0';
    }
    if (scale) {
        *o++ = '.';
        memcpy(o, p + fs, nfrac);
        memset(o + nfrac, '0', (size_t)scale - nfrac);
    }
    c->sb->len += len;
    c->sb->data[c->sb->len] = '\0';
    out->kind = EMU_V_TEXT;
    return true;
}

static enum emu_conv conv_decimal(struct conv *c, int prec, int scale, const char *p, size_t n,
                                  struct emu_value *out)
{
    char dig[96];        /* significant digits, leading zeros dropped */
    int ndig = 0;        /* digits kept in dig */
    int64_t point;       /* position of the decimal point relative to dig[0] */
    int64_t dropped = 0; /* integer digits not kept (too many to matter) */
    bool neg = false, seen_digit = false, seen_point = false;
    int64_t int_digits = 0; /* digits before the point, after leading zeros */
    bool leading = true;
    int64_t exp = 0;
    size_t i = 0;
    char res[80];
    int nres, intd;

    trim(&p, &n);
    if (decimal_fast(c, prec, scale, p, n, out))
        return EMU_CONV_OK;
    if (n && (p[0] == '-' || p[0] == '+')) {
        neg = p[0] == '-';
        i = 1;
    }
    for (; i < n; i++) {
        char ch = p[i];

        if (ch >= '0' && ch <= '9') {
            seen_digit = true;
            if (leading && ch == '0') {
                if (seen_point)
                    int_digits--; /* 0.00123: point moves right of zeros */
                continue;
            }
            leading = false;
            if (ndig < (int)sizeof(dig))
                dig[ndig++] = ch;
            else if (!seen_point)
                dropped++;
            if (!seen_point)
                int_digits++;
        } else if (ch == '.' && !seen_point) {
            seen_point = true;
        } else if ((ch == 'e' || ch == 'E') && seen_digit) {
            int64_t e;

            if (parse_i64(p + i + 1, n - i - 1, -100000, 100000, &e) != 0)
                return fail(c, EMU_CONV_BAD, "is not a valid decimal", p, n);
            exp = e;
            i = n;
            break;
        } else {
            return fail(c, EMU_CONV_BAD, "is not a valid decimal", p, n);
        }
    }
    if (!seen_digit)
        return fail(c, EMU_CONV_BAD, "is not a valid decimal", p, n);
    if (dropped)
        return fail(c, EMU_CONV_OVERFLOW, "is out of range for the column type", p, n);
    point = int_digits + exp; /* digits of dig[] that are integer digits */
    if (ndig == 0)
        point = 0;
    if (point > prec - scale)
        return fail(c, EMU_CONV_OVERFLOW, "is out of range for the column type", p, n);

    /* Build the integer of (intdigits + scale) digits with rounding. */
    nres = 0;
    intd = point > 0 ? (int)point : 0;
    {
        int64_t total = (int64_t)intd + scale; /* digits wanted */
        int64_t k0;
        bool round_up;
        int64_t rk;

        /* index in dig[] of the first wanted digit */
        k0 = point - intd;
        for (int64_t j = 0; j < total; j++) {
            int64_t k = k0 + j;

            res[nres++] = (k >= 0 && k < ndig) ? dig[k] : '0';
        }
        rk = k0 + total; /* first dropped digit */
        round_up = rk >= 0 && rk < ndig && dig[rk] >= '5';
        if (round_up) {
            int j = nres - 1;

            while (j >= 0 && res[j] == '9') {
                res[j] = '0';
                j--;
            }
            if (j >= 0) {
                res[j]++;
            } else {
                memmove(res + 1, res, (size_t)nres);
                res[0] = '1';
                nres++;
                intd++;
                if (intd > prec - scale)
                    return fail(c, EMU_CONV_OVERFLOW, "is out of range for the column type", p, n);
            }
        }
    }
    c->text_off = c->sb->len;
    {
        bool zero = true;

        for (int j = 0; j < nres; j++)
            if (res[j] != '0') {
                zero = false;
                break;
            }
        if (neg && !zero)
            sb_putc(c->sb, '-');
    }
    if (intd == 0)
        sb_putc(c->sb, '0');
    else
        emu_buf_append(c->sb, res, (size_t)intd);
    if (scale > 0) {
        sb_putc(c->sb, '.');
        emu_buf_append(c->sb, res + intd, (size_t)scale);
    }
    out->kind = EMU_V_TEXT;
    return EMU_CONV_OK;
}

static enum emu_conv conv_real(struct conv *c, bool is_float, const char *p, size_t n,
                               struct emu_value *out)
{
    char tmp[128];
    char *end;
    double v;

    trim(&p, &n);
    if (n == 0 || n >= sizeof(tmp))
        return fail(c, EMU_CONV_BAD, "is not a valid number", p, n);
    /* strtod would also take hex floats and "nan(...)": allow only decimal
     * spellings plus NaN / Infinity / inf. */
    for (size_t i = 0; i < n; i++) {
        char ch = p[i];

        if (!((ch >= '0' && ch <= '9') || ch == '.' || ch == 'e' || ch == 'E' || ch == '+' ||
              ch == '-')) {
            const char *w = p + i;
            size_t left = n - i;

            if ((left == 3 && !strncasecmp(w, "nan", 3)) ||
                (left == 3 && !strncasecmp(w, "inf", 3)) ||
                (left == 8 && !strncasecmp(w, "infinity", 8)))
                break;
            return fail(c, EMU_CONV_BAD, "is not a valid number", p, n);
        }
    }
    /* Clinger's fast path: up to 15 significant digits and a power of ten
     * up to 22 give a correctly rounded result with one multiply or divide. */
    {
        static const double pow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                       1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                       1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
        size_t i = 0;
        bool neg = false, digits = false;
        uint64_t m = 0;
        int nd = 0, frac = 0;

        if (p[0] == '-' || p[0] == '+') {
            neg = p[0] == '-';
            i = 1;
        }
        for (; i < n && (unsigned)(p[i] - '0') <= 9; i++, digits = true)
            if (nd < 16 && (m || p[i] != '0')) {
                m = m * 10 + (uint64_t)(p[i] - '0');
                nd++;
            } else if (m) {
                nd = 99;
            }
        if (i < n && p[i] == '.')
            for (i++; i < n && (unsigned)(p[i] - '0') <= 9; i++, digits = true) {
                if (nd < 16 && (m || p[i] != '0')) {
                    m = m * 10 + (uint64_t)(p[i] - '0');
                    nd++;
                } else if (m) {
                    nd = 99;
                }
                frac++;
            }
        if (i == n && digits && nd <= 15 && frac <= 22) {
            v = (double)m / pow10[frac];
            if (neg)
                v = -v;
            if (is_float) {
                if (v > 3.4028234663852886e38 || v < -3.4028234663852886e38)
                    return fail(c, EMU_CONV_OVERFLOW, "is out of range for the column type", p, n);
                v = (double)(float)v;
            }
            out->kind = EMU_V_REAL;
            out->r = v;
            return EMU_CONV_OK;
        }
    }
    memcpy(tmp, p, n);
    tmp[n] = '\0';
    errno = 0;
    v = strtod(tmp, &end);
    if (end != tmp + n)
        return fail(c, EMU_CONV_BAD, "is not a valid number", p, n);
    if (isnan(v)) {
        /* SQLite stores NaN doubles as NULL: keep it as text. */
        c->text_off = c->sb->len;
        EMU_PUT(c->sb, "NaN");
        out->kind = EMU_V_TEXT;
        return EMU_CONV_OK;
    }
    if (is_float) {
        if (isfinite(v) && (v > 3.4028234663852886e38 || v < -3.4028234663852886e38))
            return fail(c, EMU_CONV_OVERFLOW, "is out of range for the column type", p, n);
        v = (double)(float)v;
    } else if (errno == ERANGE && isinf(v)) {
        return fail(c, EMU_CONV_OVERFLOW, "is out of range for the column type", p, n);
    }
    out->kind = EMU_V_REAL;
    out->r = v;
    return EMU_CONV_OK;
}

static inline int dig2(const char *p)
{
    if ((unsigned)(p[0] - '0') > 9 || (unsigned)(p[1] - '0') > 9)
        return -1;
    return (p[0] - '0') * 10 + (p[1] - '0');
}

/* Reads 1..maxd digits; returns the count read (0 = none). */
static size_t read_num(const char *p, size_t n, size_t maxd, int *v)
{
    size_t i = 0;
    int acc = 0;

    while (i < n && i < maxd && (unsigned)(p[i] - '0') <= 9) {
        acc = acc * 10 + (p[i] - '0');
        i++;
    }
    *v = acc;
    return i;
}

struct dt {
    int y, mo, d, h, mi, s;
    int64_t us; /* microseconds, after rounding to the target precision */
    bool has_zone;
    int zone_off; /* seconds east of UTC */
};

/*
 * Parses a date or date-time:
 *   YYYY-MM-DD, YYYY/MM/DD (1- or 2-digit month and day), YYYYMMDD,
 *   YYYYMMDDHHMMSS, then optional [ T]HH:MM[:SS[.f...]], then optional zone
 *   Z | +HH[:MM] | -HH[MM] (allowed only with a time part).
 * frac_digits is the precision used to round the fraction (half up).
 */
static bool parse_dt(const char *p, size_t n, int frac_digits, struct dt *t)
{
    size_t i = 0, k;

    memset(t, 0, sizeof(*t));
    /* Compact forms. */
    if (n >= 8 && dig2(p) >= 0 && dig2(p + 2) >= 0 && dig2(p + 4) >= 0 && dig2(p + 6) >= 0 &&
        (n == 8 || n == 14 || p[8] == ' ' || p[8] == 'T')) {
        t->y = dig2(p) * 100 + dig2(p + 2);
        t->mo = dig2(p + 4);
        t->d = dig2(p + 6);
        i = 8;
        if (n >= 14 && dig2(p + 8) >= 0 && dig2(p + 10) >= 0 && dig2(p + 12) >= 0) {
            t->h = dig2(p + 8);
            t->mi = dig2(p + 10);
            t->s = dig2(p + 12);
            i = 14;
            if (i != n)
                return false;
        }
    } else {
        int v;
        char sep;

        k = read_num(p, n, 4, &v);
        if (k != 4)
            return false;
        t->y = v;
        i = 4;
        if (i >= n || (p[i] != '-' && p[i] != '/'))
            return false;
        sep = p[i++];
        k = read_num(p + i, n - i, 2, &v);
        if (k == 0)
            return false;
        t->mo = v;
        i += k;
        if (i >= n || p[i] != sep)
            return false;
        i++;
        k = read_num(p + i, n - i, 2, &v);
        if (k == 0)
            return false;
        t->d = v;
        i += k;
    }
    if (t->mo < 1 || t->mo > 12 || t->d < 1 || t->d > days_in_month(t->y, t->mo))
        return false;
    if (i == n)
        return true;
    if (p[i] != ' ' && p[i] != 'T')
        return false;
    i++;
    while (i < n && p[i] == ' ')
        i++;
    {
        int v;

        k = read_num(p + i, n - i, 2, &v);
        if (k == 0)
            return false;
        t->h = v;
        i += k;
        if (i >= n || p[i] != ':')
            return false;
        i++;
        k = read_num(p + i, n - i, 2, &v);
        if (k == 0)
            return false;
        t->mi = v;
        i += k;
        if (i < n && p[i] == ':') {
            i++;
            k = read_num(p + i, n - i, 2, &v);
            if (k == 0)
                return false;
            t->s = v;
            i += k;
        }
    }
    if (t->h > 23 || t->mi > 59 || t->s > 59)
        return false;
    if (i < n && p[i] == '.') {
        int64_t us = 0;
        int nd = 0;
        bool round_up = false;

        i++;
        if (i >= n || (unsigned)(p[i] - '0') > 9)
            return false;
        while (i < n && (unsigned)(p[i] - '0') <= 9) {
            if (nd < frac_digits) {
                us = us * 10 + (p[i] - '0');
                nd++;
            } else if (nd == frac_digits) {
                round_up = p[i] >= '5';
                nd++;
            }
            i++;
        }
        if (nd > frac_digits)
            nd = frac_digits;
        for (; nd < 6; nd++)
            us *= 10;
        if (round_up) {
            int64_t unit = 1;

            for (int j = frac_digits; j < 6; j++)
                unit *= 10;
            us += unit;
        }
        t->us = us; /* may be 1000000: carried by the caller */
    }
    if (i < n) {
        int off;

        if (p[i] == ' ')
            i++;
        if (i == n - 1 && (p[i] == 'Z' || p[i] == 'z')) {
            t->has_zone = true;
            t->zone_off = 0;
            return true;
        }
        if (!parse_offset(p + i, n - i, &off))
            return false;
        t->has_zone = true;
        t->zone_off = off;
    }
    return true;
}

static bool in_range(int y)
{
    return y >= 0 && y <= 9999;
}

/* Normalises carries and zone conversion; false when outside 0000..9999. */
static bool dt_normalise(struct dt *t, const struct emu_tz *tz)
{
    int64_t days, secs;

    if (t->us < 1000000 && !t->has_zone)
        return true;
    days = days_from_civil(t->y, t->mo, t->d);
    secs = days * 86400 + t->h * 3600 + t->mi * 60 + t->s;
    if (t->us >= 1000000) {
        secs += 1;
        t->us -= 1000000;
    }
    if (t->has_zone) {
        int64_t utc = secs - t->zone_off;

        secs = utc + tz_offset_at(tz, utc);
    }
    days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
    secs -= days * 86400;
    civil_from_days(days, &t->y, &t->mo, &t->d);
    t->h = (int)(secs / 3600);
    t->mi = (int)(secs / 60 % 60);
    t->s = (int)(secs % 60);
    return in_range(t->y);
}

static char *put4(char *o, int v)
{
    o[0] = (char)('0' + v / 1000);
    o[1] = (char)('0' + v / 100 % 10);
    o[2] = (char)('0' + v / 10 % 10);
    o[3] = (char)('0' + v % 10);
    return o + 4;
}

static char *put2(char *o, int v)
{
    o[0] = (char)('0' + v / 10);
    o[1] = (char)('0' + v % 10);
    return o + 2;
}

static enum emu_conv conv_date(struct conv *c, const char *p, size_t n, struct emu_value *out)
{
    struct dt t;
    char *o;

    trim(&p, &n);
    if (n == 10 && p[4] == '-' && p[7] == '-') {
        int y1 = dig2(p), y2 = dig2(p + 2), mo = dig2(p + 5), d = dig2(p + 8);

        if (y1 >= 0 && y2 >= 0 && mo >= 1 && mo <= 12 && d >= 1 &&
            d <= days_in_month(y1 * 100 + y2, mo)) {
            out->kind = EMU_V_TEXT; /* already canonical: zero copy */
            out->s = p;
            out->n = n;
            return EMU_CONV_OK;
        }
    }
    if (!parse_dt(p, n, 0, &t) || t.has_zone)
        return fail(c, EMU_CONV_BAD, "is not a valid date", p, n);
    if (!in_range(t.y))
        return fail(c, EMU_CONV_OVERFLOW, "is out of range for the column type", p, n);
    c->text_off = c->sb->len;
    emu_buf_reserve(c->sb, 10);
    o = c->sb->data + c->sb->len;
    o = put4(o, t.y);
    *o++ = '-';
    o = put2(o, t.mo);
    *o++ = '-';
    put2(o, t.d);
    c->sb->len += 10;
    c->sb->data[c->sb->len] = '\0';
    out->kind = EMU_V_TEXT;
    return EMU_CONV_OK;
}

static enum emu_conv conv_datetime(struct conv *c, int prec, const char *p, size_t n,
                                   struct emu_value *out)
{
    struct dt t;
    char *o;
    size_t len = 19 + (prec > 0 ? 1 + (size_t)prec : 0);

    trim(&p, &n);
    if (n == len && p[4] == '-' && p[7] == '-' && p[10] == ' ' && p[13] == ':' && p[16] == ':' &&
        (prec == 0 || p[19] == '.')) {
        int y1 = dig2(p), y2 = dig2(p + 2), mo = dig2(p + 5), d = dig2(p + 8);
        int h = dig2(p + 11), mi = dig2(p + 14), sec = dig2(p + 17);
        bool ok = y1 >= 0 && y2 >= 0 && mo >= 1 && mo <= 12 && d >= 1 &&
                  d <= days_in_month(y1 * 100 + y2, mo) && h >= 0 && h <= 23 && mi >= 0 &&
                  mi <= 59 && sec >= 0 && sec <= 59;

        for (size_t k = 20; ok && k < len; k++)
            ok = (unsigned)(p[k] - '0') <= 9;
        if (ok) {
            out->kind = EMU_V_TEXT; /* already canonical: zero copy */
            out->s = p;
            out->n = n;
            return EMU_CONV_OK;
        }
    }
    if (!parse_dt(p, n, prec, &t))
        return fail(c, EMU_CONV_BAD, "is not a valid datetime", p, n);
    if (!dt_normalise(&t, c->tz))
        return fail(c, EMU_CONV_OVERFLOW, "is out of range for the column type", p, n);
    c->text_off = c->sb->len;
    emu_buf_reserve(c->sb, len);
    o = c->sb->data + c->sb->len;
    o = put4(o, t.y);
    *o++ = '-';
    o = put2(o, t.mo);
    *o++ = '-';
    o = put2(o, t.d);
    *o++ = ' ';
    o = put2(o, t.h);
    *o++ = ':';
    o = put2(o, t.mi);
    *o++ = ':';
    o = put2(o, t.s);
    if (prec > 0) {
        int64_t us = t.us;
        char f[6];

        *o++ = '.';
        for (int j = 5; j >= 0; j--) {
            f[j] = (char)('0' + us % 10);
            us /= 10;
        }
        memcpy(o, f, (size_t)prec);
    }
    c->sb->len += len;
    c->sb->data[c->sb->len] = '\0';
    out->kind = EMU_V_TEXT;
    return EMU_CONV_OK;
}

/* ---- JSON: strict RFC 8259 validation, whitespace removed ----------------- */

struct jp {
    const char *p;
    const char *end;
    struct emu_buf *o;
    int depth;
};

static void jp_ws(struct jp *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

static bool jp_value(struct jp *j);

static bool jp_string(struct jp *j)
{
    const char *s = j->p;

    if (j->p >= j->end || *j->p != '"')
        return false;
    j->p++;
    while (j->p < j->end) {
        unsigned char ch = (unsigned char)*j->p;

        if (ch == '"') {
            j->p++;
            emu_buf_append(j->o, s, (size_t)(j->p - s));
            return true;
        }
        if (ch < 0x20)
            return false;
        if (ch == '\\') {
            j->p++;
            if (j->p >= j->end)
                return false;
            switch (*j->p) {
            case '"':
            case '\\':
            case '/':
            case 'b':
            case 'f':
            case 'n':
            case 'r':
            case 't':
                j->p++;
                break;
            case 'u':
                if (j->end - j->p < 5)
                    return false;
                for (int k = 1; k <= 4; k++)
                    if (!isxdigit((unsigned char)j->p[k]))
                        return false;
                j->p += 5;
                break;
            default:
                return false;
            }
            continue;
        }
        j->p++;
    }
    return false;
}

static bool jp_number(struct jp *j)
{
    const char *s = j->p;

    if (j->p < j->end && *j->p == '-')
        j->p++;
    if (j->p >= j->end)
        return false;
    if (*j->p == '0') {
        j->p++;
    } else if (*j->p >= '1' && *j->p <= '9') {
        while (j->p < j->end && isdigit((unsigned char)*j->p))
            j->p++;
    } else {
        return false;
    }
    if (j->p < j->end && *j->p == '.') {
        j->p++;
        if (j->p >= j->end || !isdigit((unsigned char)*j->p))
            return false;
        while (j->p < j->end && isdigit((unsigned char)*j->p))
            j->p++;
    }
    if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
        j->p++;
        if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
            j->p++;
        if (j->p >= j->end || !isdigit((unsigned char)*j->p))
            return false;
        while (j->p < j->end && isdigit((unsigned char)*j->p))
            j->p++;
    }
    emu_buf_append(j->o, s, (size_t)(j->p - s));
    return true;
}

static bool jp_lit(struct jp *j, const char *w)
{
    size_t n = strlen(w);

    if ((size_t)(j->end - j->p) < n || memcmp(j->p, w, n) != 0)
        return false;
    emu_buf_append(j->o, w, n);
    j->p += n;
    return true;
}

static bool jp_container(struct jp *j, char open, char close)
{
    if (++j->depth > 512)
        return false;
    sb_putc(j->o, open);
    j->p++;
    jp_ws(j);
    if (j->p < j->end && *j->p == close) {
        j->p++;
        sb_putc(j->o, close);
        j->depth--;
        return true;
    }
    for (;;) {
        jp_ws(j);
        if (open == '{') {
            if (!jp_string(j))
                return false;
            jp_ws(j);
            if (j->p >= j->end || *j->p != ':')
                return false;
            j->p++;
            sb_putc(j->o, ':');
            jp_ws(j);
        }
        if (!jp_value(j))
            return false;
        jp_ws(j);
        if (j->p >= j->end)
            return false;
        if (*j->p == ',') {
            j->p++;
            sb_putc(j->o, ',');
            continue;
        }
        if (*j->p == close) {
            j->p++;
            sb_putc(j->o, close);
            j->depth--;
            return true;
        }
        return false;
    }
}

static bool jp_value(struct jp *j)
{
    if (j->p >= j->end)
        return false;
    switch (*j->p) {
    case '{':
        return jp_container(j, '{', '}');
    case '[':
        return jp_container(j, '[', ']');
    case '"':
        return jp_string(j);
    case 't':
        return jp_lit(j, "true");
    case 'f':
        return jp_lit(j, "false");
    case 'n':
        return jp_lit(j, "null");
    default:
        return jp_number(j);
    }
}

/* Validates and minifies one JSON text from p into sb; false if invalid. */
bool emu_json_minify(const char *p, size_t n, struct emu_buf *sb)
{
    struct jp j = {p, p + n, sb, 0};

    jp_ws(&j);
    if (!jp_value(&j))
        return false;
    jp_ws(&j);
    return j.p == j.end;
}

static enum emu_conv conv_json(struct conv *c, const char *p, size_t n, struct emu_value *out)
{
    size_t start = c->sb->len;

    if (n > string_limit)
        return fail(c, EMU_CONV_OVERFLOW, "the length of input is too long than schema", NULL, 0);
    if (!emu_json_minify(p, n, c->sb)) {
        c->sb->len = start;
        return fail(c, EMU_CONV_BAD, "is not valid JSON", p, n);
    }
    c->text_off = start;
    out->kind = EMU_V_TEXT;
    return EMU_CONV_OK;
}

static enum emu_conv conv_ipv4(struct conv *c, const char *p, size_t n, struct emu_value *out)
{
    int parts[4];
    size_t i = 0;

    trim(&p, &n);
    for (int k = 0; k < 4; k++) {
        int v;
        size_t d = read_num(p + i, n - i, 3, &v);

        if (d == 0 || v > 255)
            return fail(c, EMU_CONV_BAD, "is not a valid IPv4 address", p, n);
        parts[k] = v;
        i += d;
        if (k < 3) {
            if (i >= n || p[i] != '.')
                return fail(c, EMU_CONV_BAD, "is not a valid IPv4 address", p, n);
            i++;
        }
    }
    if (i != n)
        return fail(c, EMU_CONV_BAD, "is not a valid IPv4 address", p, n);
    c->text_off = c->sb->len;
    emu_buf_printf(c->sb, "%d.%d.%d.%d", parts[0], parts[1], parts[2], parts[3]);
    out->kind = EMU_V_TEXT;
    return EMU_CONV_OK;
}

static enum emu_conv conv_ipv6(struct conv *c, const char *p, size_t n, struct emu_value *out)
{
    char tmp[64];
    unsigned char addr[16];

    trim(&p, &n);
    if (n == 0 || n >= sizeof(tmp))
        return fail(c, EMU_CONV_BAD, "is not a valid IPv6 address", p, n);
    memcpy(tmp, p, n);
    tmp[n] = '\0';
    if (inet_pton(AF_INET6, tmp, addr) != 1) {
        /* Doris also takes an IPv4 literal for IPV6 (as ::ffff:a.b.c.d). */
        unsigned char a4[4];

        if (inet_pton(AF_INET, tmp, a4) != 1)
            return fail(c, EMU_CONV_BAD, "is not a valid IPv6 address", p, n);
        memset(addr, 0, 10);
        addr[10] = addr[11] = 0xff;
        memcpy(addr + 12, a4, 4);
    }
    if (!inet_ntop(AF_INET6, addr, tmp, sizeof(tmp)))
        return fail(c, EMU_CONV_BAD, "is not a valid IPv6 address", p, n);
    c->text_off = c->sb->len;
    emu_buf_append(c->sb, tmp, strlen(tmp));
    out->kind = EMU_V_TEXT;
    return EMU_CONV_OK;
}

static enum emu_conv conv_any(struct conv *c, const struct emu_type *t, const char *p, size_t n,
                              struct emu_value *out, int depth);

/* Appends a JSON-style quoted copy of s to sb (as Doris prints array strings). */
static void put_quoted(struct emu_buf *sb, const char *s, size_t n)
{
    sb_putc(sb, '"');
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"' || s[i] == '\\')
            sb_putc(sb, '\\');
        sb_putc(sb, s[i]);
    }
    sb_putc(sb, '"');
}

/* Scans one array element starting at p[*i]; returns its bounds (without
 * quotes and unescaped into sb when quoted: *quoted set, text in sb). */
static bool array_element(const char *p, size_t n, size_t *i, const char **es, size_t *en,
                          bool *quoted, int *nest)
{
    size_t k = *i;

    *quoted = false;
    *nest = 0;
    if (k < n && (p[k] == '"' || p[k] == '\'')) {
        char q = p[k++];
        size_t s = k;

        while (k < n && p[k] != q) {
            if (p[k] == '\\')
                k++;
            k++;
        }
        if (k >= n)
            return false;
        *es = p + s;
        *en = k - s;
        *quoted = true;
        *i = k + 1;
        return true;
    }
    if (k < n && p[k] == '[') {
        int d = 0;
        size_t s = k;
        char q = 0;

        for (; k < n; k++) {
            if (q) {
                if (p[k] == '\\')
                    k++;
                else if (p[k] == q)
                    q = 0;
                continue;
            }
            if (p[k] == '"' || p[k] == '\'')
                q = p[k];
            else if (p[k] == '[')
                d++;
            else if (p[k] == ']' && --d == 0)
                break;
        }
        if (k >= n)
            return false;
        *es = p + s;
        *en = k + 1 - s;
        *nest = 1;
        *i = k + 1;
        return true;
    }
    {
        size_t s = k;

        while (k < n && p[k] != ',' && p[k] != ']')
            k++;
        *es = p + s;
        *en = k - s;
        trim(es, en);
        *i = k;
        return *en > 0;
    }
}

static enum emu_conv conv_array(struct conv *c, const struct emu_type *t, const char *p, size_t n,
                                struct emu_value *out, int depth)
{
    size_t i = 1, start = c->sb->len;
    bool first = true;
    const struct emu_type *et = t->elem;
    bool str_elem = et->kind == EMU_CHAR || et->kind == EMU_VARCHAR || et->kind == EMU_STRING ||
                    et->kind == EMU_DATE || et->kind == EMU_DATETIME || et->kind == EMU_IPV4 ||
                    et->kind == EMU_IPV6;

    trim(&p, &n);
    if (depth > 8 || n < 2 || p[0] != '[' || p[n - 1] != ']')
        return fail(c, EMU_CONV_BAD, "is not a valid array", p, n);
    sb_putc(c->sb, '[');
    for (;;) {
        const char *es;
        size_t en;
        bool quoted;
        int nest;
        struct emu_value ev;
        enum emu_conv r;

        while (i < n && is_sp(p[i]))
            i++;
        if (first && i < n - 1 && p[i] == ']')
            return fail(c, EMU_CONV_BAD, "is not a valid array", p, n);
        if (first && i == n - 1)
            break; /* "[]" */
        if (!array_element(p, n - 1, &i, &es, &en, &quoted, &nest))
            goto bad;
        if (!first)
            EMU_PUT(c->sb, ", ");
        first = false;
        if (!quoted && !nest && en == 4 && !strncasecmp(es, "null", 4)) {
            EMU_PUT(c->sb, "null");
        } else {
            size_t elem_off = c->sb->len;
            struct emu_buf raw;

            if (quoted) {
                /* Undo backslash escapes into a private copy. */
                emu_buf_init(&raw);
                for (size_t k = 0; k < en; k++) {
                    if (es[k] == '\\' && k + 1 < en)
                        k++;
                    sb_putc(&raw, es[k]);
                }
                es = raw.data ? raw.data : "";
                en = raw.len;
            }
            c->text_off = SIZE_MAX;
            memset(&ev, 0, sizeof(ev));
            r = conv_any(c, et, es, en, &ev, depth + 1);
            if (r != EMU_CONV_OK) {
                if (quoted)
                    emu_buf_fini(&raw);
                c->sb->len = start;
                return r;
            }
            if (ev.kind == EMU_V_INT) {
                emu_buf_printf(c->sb, "%lld", (long long)ev.i);
            } else if (ev.kind == EMU_V_REAL) {
                emu_buf_printf(c->sb, "%.17g", ev.r);
            } else if (c->text_off != SIZE_MAX) {
                /* canonical text appended at elem_off */
                if (str_elem) {
                    size_t len = c->sb->len - elem_off;
                    struct emu_buf tmp;

                    emu_buf_init(&tmp);
                    emu_buf_append(&tmp, c->sb->data + elem_off, len);
                    c->sb->len = elem_off;
                    put_quoted(c->sb, tmp.data, tmp.len);
                    emu_buf_fini(&tmp);
                }
            } else {
                put_quoted(c->sb, ev.s, ev.n); /* zero-copy string element */
            }
            if (quoted)
                emu_buf_fini(&raw);
        }
        while (i < n - 1 && is_sp(p[i]))
            i++;
        if (i == n - 1)
            break;
        if (p[i] != ',')
            goto bad;
        i++;
    }
    sb_putc(c->sb, ']');
    c->text_off = start;
    out->kind = EMU_V_TEXT;
    return EMU_CONV_OK;
bad:
    c->sb->len = start;
    return fail(c, EMU_CONV_BAD, "is not a valid array", p, n);
}

static enum emu_conv conv_any(struct conv *c, const struct emu_type *t, const char *p, size_t n,
                              struct emu_value *out, int depth)
{
    switch (t->kind) {
    case EMU_BOOLEAN:
        return conv_bool(c, p, n, out);
    case EMU_TINYINT:
    case EMU_SMALLINT:
    case EMU_INT:
    case EMU_BIGINT:
        return conv_int(c, t->kind, p, n, out);
    case EMU_LARGEINT:
        return conv_largeint(c, p, n, out);
    case EMU_FLOAT:
    case EMU_DOUBLE:
        return conv_real(c, t->kind == EMU_FLOAT, p, n, out);
    case EMU_DECIMAL:
        return conv_decimal(c, t->precision, t->scale, p, n, out);
    case EMU_DATE:
        return conv_date(c, p, n, out);
    case EMU_DATETIME:
        return conv_datetime(c, t->scale, p, n, out);
    case EMU_CHAR:
    case EMU_VARCHAR:
        if (n > (size_t)t->length)
            return fail(c, EMU_CONV_OVERFLOW, "the length of input is too long than schema", NULL,
                        0);
        out->kind = EMU_V_TEXT;
        out->s = p;
        out->n = n;
        return EMU_CONV_OK;
    case EMU_STRING:
        if (n > string_limit)
            return fail(c, EMU_CONV_OVERFLOW, "the length of input is too long than schema", NULL,
                        0);
        out->kind = EMU_V_TEXT;
        out->s = p;
        out->n = n;
        return EMU_CONV_OK;
    case EMU_JSON:
        return conv_json(c, p, n, out);
    case EMU_ARRAY:
        return conv_array(c, t, p, n, out, depth);
    case EMU_IPV4:
        return conv_ipv4(c, p, n, out);
    case EMU_IPV6:
        return conv_ipv6(c, p, n, out);
    }
    return fail(c, EMU_CONV_BAD, "unsupported type", NULL, 0);
}

enum emu_conv emu_value_convert(const struct emu_type *t, const char *p, size_t n,
                                const struct emu_tz *tz, struct emu_buf *scratch,
                                struct emu_value *out, char *why, size_t whylen)
{
    struct conv c = {tz, scratch, why, whylen, SIZE_MAX};
    enum emu_conv r;

    scratch->len = 0;
    out->kind = EMU_V_NULL;
    out->s = NULL;
    out->n = 0;
    if (why && whylen)
        why[0] = '\0';
    r = conv_any(&c, t, p, n, out, 0);
    if (r != EMU_CONV_OK) {
        out->kind = EMU_V_NULL;
        return r;
    }
    if (out->kind == EMU_V_TEXT && c.text_off != SIZE_MAX) {
        out->s = scratch->data + c.text_off;
        out->n = scratch->len - c.text_off;
    }
    return EMU_CONV_OK;
}

/* ------------------------------------------------------------------------ */
/* Fast paths (emu_fast_convert in emu.h)                                    */

void emu_fast_plan(struct emu_fast *f, const struct emu_type *t)
{
    /* Digits that always fit the type, whatever they are. */
    static const unsigned safe_digits[] = {
        [EMU_TINYINT] = 2, [EMU_SMALLINT] = 4, [EMU_INT] = 9, [EMU_BIGINT] = 18};

    memset(f, 0, sizeof(*f));
    switch (t->kind) {
    case EMU_TINYINT:
    case EMU_SMALLINT:
    case EMU_INT:
    case EMU_BIGINT:
        f->kind = EMU_FAST_INT;
        f->digits = safe_digits[t->kind];
        break;
    case EMU_DECIMAL:
        f->kind = EMU_FAST_DECIMAL;
        f->digits = (unsigned)(t->precision - t->scale);
        f->scale = (unsigned)t->scale;
        f->frac = t->scale > 0 ? (unsigned)t->scale + 1 : 0;
        break;
    case EMU_DATE:
        f->kind = EMU_FAST_DATE;
        break;
    case EMU_DATETIME:
        f->kind = EMU_FAST_DATETIME;
        f->scale = (unsigned)t->scale;
        f->len = 19 + (t->scale > 0 ? 1 + (size_t)t->scale : 0);
        f->seps =
            1u << 4 | 1u << 7 | 1u << 10 | 1u << 13 | 1u << 16 | (t->scale > 0 ? 1u << 19 : 0);
        break;
    case EMU_CHAR:
    case EMU_VARCHAR:
        f->kind = EMU_FAST_TEXT;
        f->len = (size_t)t->length;
        break;
    case EMU_STRING:
        f->kind = EMU_FAST_TEXT;
        f->len = string_limit;
        break;
    default:
        f->kind = EMU_FAST_NONE;
        break;
    }
}
