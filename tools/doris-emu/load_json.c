/*
 * load_json.c - the JSON body parser of a Stream Load (doris-protocol.md
 * §1.6, §1.8): NDJSON (read_json_by_line), one outer array of objects
 * (strip_outer_array) or a single object; keys map to columns
 * case-insensitively, or jsonpaths select values; json_root descends first.
 *
 * A small tokenizer of its own instead of jansson: values must reach the
 * type converter exactly as spelled (a decimal 0.1000000000000000055 must
 * not pass through a double), and nested objects / arrays are handed on as
 * compact JSON text.
 */
#include "load_internal.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *skip_ws(const char *p, const char *e)
{
    while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/* p at '"': returns the byte after the closing quote, or NULL. */
static const char *skip_string(const char *p, const char *e)
{
    for (p++; p < e; p++) {
        if (*p == '\\') {
            p++;
            continue;
        }
        if (*p == '"')
            return p + 1;
        if ((unsigned char)*p < 0x20)
            return NULL;
    }
    return NULL;
}

static const char *skip_number(const char *p, const char *e)
{
    const char *s = p;

    if (p < e && *p == '-')
        p++;
    if (p >= e || *p < '0' || *p > '9')
        return NULL;
    if (*p == '0')
        p++;
    else
        while (p < e && *p >= '0' && *p <= '9')
            p++;
    if (p < e && *p == '.') {
        p++;
        if (p >= e || *p < '0' || *p > '9')
            return NULL;
        while (p < e && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < e && (*p == '+' || *p == '-'))
            p++;
        if (p >= e || *p < '0' || *p > '9')
            return NULL;
        while (p < e && *p >= '0' && *p <= '9')
            p++;
    }
    return p > s ? p : NULL;
}

static bool lit(const char *p, const char *e, const char *word)
{
    size_t n = strlen(word);

    return (size_t)(e - p) >= n && memcmp(p, word, n) == 0;
}

/* p at a value: returns the byte after it, or NULL on a syntax error. */
static const char *skip_value(const char *p, const char *e, int depth)
{
    if (p >= e || depth > 512)
        return NULL;
    switch (*p) {
    case '"':
        return skip_string(p, e);
    case '{':
    case '[': {
        char close = *p == '{' ? '}' : ']';
        bool obj = *p == '{';

        p = skip_ws(p + 1, e);
        if (p < e && *p == close)
            return p + 1;
        for (;;) {
            if (obj) {
                if (p >= e || *p != '"' || !(p = skip_string(p, e)))
                    return NULL;
                p = skip_ws(p, e);
                if (p >= e || *p != ':')
                    return NULL;
                p = skip_ws(p + 1, e);
            }
            if (!(p = skip_value(p, e, depth + 1)))
                return NULL;
            p = skip_ws(p, e);
            if (p < e && *p == ',') {
                p = skip_ws(p + 1, e);
                continue;
            }
            if (p < e && *p == close)
                return p + 1;
            return NULL;
        }
    }
    case 't':
        return lit(p, e, "true") ? p + 4 : NULL;
    case 'f':
        return lit(p, e, "false") ? p + 5 : NULL;
    case 'n':
        return lit(p, e, "null") ? p + 4 : NULL;
    default:
        return skip_number(p, e);
    }
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static bool read_u16(const char *p, const char *e, unsigned *out)
{
    unsigned v = 0;

    if (e - p < 4)
        return false;
    for (int i = 0; i < 4; i++) {
        int h = hexval(p[i]);

        if (h < 0)
            return false;
        v = v * 16 + (unsigned)h;
    }
    *out = v;
    return true;
}

/* Unescapes the string at p (p at '"', q after the closing quote) onto out,
 * which has room (an unescaped string is never longer than its source). */
static void unescape_into(const char *p, const char *q, struct emu_buf *out)
{
    char *o = out->data + out->len;

    for (p++, q--; p < q; p++) {
        unsigned cp;

        if (*p != '\\') {
            *o++ = *p;
            continue;
        }
        p++;
        switch (*p) {
        case 'b':
            *o++ = '\b';
            break;
        case 'f':
            *o++ = '\f';
            break;
        case 'n':
            *o++ = '\n';
            break;
        case 'r':
            *o++ = '\r';
            break;
        case 't':
            *o++ = '\t';
            break;
        case 'u':
            if (!read_u16(p + 1, q, &cp)) {
                *o++ = 'u';
                break;
            }
            p += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF && q - p > 6 && p[1] == '\\' && p[2] == 'u') {
                unsigned lo;

                if (read_u16(p + 3, q, &lo) && lo >= 0xDC00 && lo <= 0xDFFF) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    p += 6;
                }
            }
            if (cp < 0x80) {
                *o++ = (char)cp;
            } else if (cp < 0x800) {
                *o++ = (char)(0xC0 | (cp >> 6));
                *o++ = (char)(0x80 | (cp & 0x3F));
            } else if (cp < 0x10000) {
                *o++ = (char)(0xE0 | (cp >> 12));
                *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
                *o++ = (char)(0x80 | (cp & 0x3F));
            } else {
                *o++ = (char)(0xF0 | (cp >> 18));
                *o++ = (char)(0x80 | ((cp >> 12) & 0x3F));
                *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
                *o++ = (char)(0x80 | (cp & 0x3F));
            }
            break;
        default: /* \" \\ \/ and anything else: the byte itself */
            *o++ = *p;
            break;
        }
    }
    out->len = (size_t)(o - out->data);
}

/* Appends the JSON text p..q without insignificant whitespace. */
static void minify_into(const char *p, const char *q, struct emu_buf *out)
{
    char *o = out->data + out->len;
    bool in_str = false;

    for (; p < q; p++) {
        char c = *p;

        if (in_str) {
            *o++ = c;
            if (c == '\\' && p + 1 < q)
                *o++ = *++p;
            else if (c == '"')
                in_str = false;
            continue;
        }
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
            continue;
        if (c == '"')
            in_str = true;
        *o++ = c;
    }
    out->len = (size_t)(o - out->data);
}

/* Turns the value p..q into a field; text lands in l->unesc (pre-sized). */
static void set_field(struct emu_load *l, struct load_field *f, const char *p, const char *q)
{
    size_t at = l->unesc.len;

    f->flags = 0;
    switch (*p) {
    case 'n':
        f->flags = FLD_NULL;
        f->p = "";
        f->n = 0;
        return;
    case 't':
        f->p = "1";
        f->n = 1;
        return;
    case 'f':
        f->p = "0";
        f->n = 1;
        return;
    case '"':
        unescape_into(p, q, &l->unesc);
        break;
    case '{':
    case '[':
        minify_into(p, q, &l->unesc);
        break;
    default: /* number: exactly as spelled */
        f->p = p;
        f->n = (size_t)(q - p);
        return;
    }
    f->p = l->unesc.data + at;
    f->n = l->unesc.len - at;
}

/*
 * Finds member key (length kn, case-insensitive) in the object at p..e.
 * Returns the value span or false.
 */
static bool find_member(const char *p, const char *e, const char *key, size_t kn, const char **vp,
                        const char **vq)
{
    p = skip_ws(p + 1, e);
    while (p < e && *p == '"') {
        const char *ks = p + 1, *ke = skip_string(p, e), *v, *ve;

        if (!ke)
            return false;
        v = skip_ws(skip_ws(ke, e) + 1, e);
        ve = skip_value(v, e, 0);
        if (!ve)
            return false;
        if ((size_t)(ke - 1 - ks) == kn && strncasecmp(ks, key, kn) == 0) {
            *vp = v;
            *vq = ve;
            return true;
        }
        p = skip_ws(ve, e);
        if (p < e && *p == ',')
            p = skip_ws(p + 1, e);
    }
    return false;
}

/* Follows a compiled path ("a\0b\0\0") from the value p..e. */
static bool follow_path(const char *path, const char **p, const char **e)
{
    for (const char *k = path; *k; k += strlen(k) + 1) {
        const char *vp, *vq;

        if (**p != '{' || !find_member(*p, *e, k, strlen(k), &vp, &vq))
            return false;
        *p = vp;
        *e = vq;
    }
    return true;
}

char *json_path_compile(const char *path)
{
    size_t n = strlen(path);
    char *out, *o;
    const char *p = path;

    while (*p == ' ')
        p++;
    if (*p != '$')
        return NULL;
    p++;
    out = o = calloc(1, n + 3);
    if (!out)
        abort();
    while (*p == '.') {
        const char *s = ++p;

        while (*p && *p != '.' && *p != '[' && *p != ' ')
            p++;
        if (p == s || *p == '[' || memchr(s, '*', (size_t)(p - s))) {
            free(out);
            return NULL;
        }
        memcpy(o, s, (size_t)(p - s));
        o += p - s;
        *o++ = '\0';
    }
    while (*p == ' ')
        p++;
    if (*p) {
        free(out);
        return NULL;
    }
    *o = '\0';
    return out;
}

/* One row object (or a non-object that gets filtered) at p..e. */
static void json_row(struct emu_load *l, const char *p, const char *e)
{
    struct load_field *f;
    const char *op = p, *oe = e;

    load_fields_reserve(l, l->nsrc);
    f = l->fields;
    l->unesc.len = 0;
    emu_buf_reserve(&l->unesc, (size_t)(e - p) + 16);
    for (int i = 0; i < l->nsrc; i++) {
        f[i].p = "";
        f[i].n = 0;
        f[i].flags = FLD_NULL | FLD_MISSING;
    }
    if (l->json.root && !follow_path(l->json.root, &op, &oe)) {
        load_filter(l, p, (size_t)(e - p), "JSON Root not found.");
        return;
    }
    if (*op != '{') {
        load_filter(l, p, (size_t)(e - p), "Expect json object value");
        return;
    }
    if (l->json.npaths) {
        for (int i = 0; i < l->json.npaths && i < l->nsrc; i++) {
            const char *vp = op, *vq = oe;

            if (follow_path(l->json.paths[i], &vp, &vq))
                set_field(l, &f[i], vp, vq);
        }
    } else {
        const char *q = skip_ws(op + 1, oe);

        while (q < oe && *q == '"') {
            const char *ks = q + 1, *ke = skip_string(q, oe), *v, *ve;

            v = skip_ws(skip_ws(ke, oe) + 1, oe);
            ve = skip_value(v, oe, 0);
            for (int i = 0; i < l->nsrc; i++) {
                const char *name = l->srcs[i].name;

                if (strlen(name) == (size_t)(ke - 1 - ks) &&
                    strncasecmp(name, ks, (size_t)(ke - 1 - ks)) == 0) {
                    set_field(l, &f[i], v, ve);
                    break;
                }
            }
            q = skip_ws(ve, oe);
            if (q < oe && *q == ',')
                q = skip_ws(q + 1, oe);
        }
    }
    load_row(l, f, p, (size_t)(e - p));
}

/* A complete JSON document (one NDJSON line, or the whole body). */
static void json_document(struct emu_load *l, const char *p, const char *e)
{
    const char *s = skip_ws(p, e), *end;

    if (s == e)
        return; /* blank line */
    end = skip_value(s, e, 0);
    if (!end || skip_ws(end, e) != e) {
        load_filter(l, p, (size_t)(e - p),
                    "Parse json data for JsonDoc failed. code: 1, error info: Invalid value.");
        return;
    }
    if (*s == '[') {
        if (!l->json.strip_outer_array) {
            load_filter(l, p, (size_t)(e - p),
                        "JSON data is array-object, `strip_outer_array` must be TRUE.");
            return;
        }
        s = skip_ws(s + 1, end);
        while (s < end && *s != ']') {
            const char *ve = skip_value(s, end, 0);

            json_row(l, s, ve);
            s = skip_ws(ve, end);
            if (s < end && *s == ',')
                s = skip_ws(s + 1, end);
        }
        return;
    }
    if (l->json.strip_outer_array) {
        load_filter(l, p, (size_t)(e - p),
                    "JSON data is not an array-object, `strip_outer_array` must be FALSE.");
        return;
    }
    json_row(l, s, end);
}

static void lines(struct emu_load *l, const char *p, size_t n, bool eof, size_t *used)
{
    const char *s = p, *e = p + n;

    for (;;) {
        const char *nl = memchr(s, '\n', (size_t)(e - s));

        if (!nl)
            break;
        json_document(l, s, nl);
        s = nl + 1;
    }
    if (eof && s < e) {
        json_document(l, s, e);
        s = e;
    }
    *used = (size_t)(s - p);
}

void json_feed(struct emu_load *l, const char *p, size_t n)
{
    size_t used;

    if (!l->json.by_line) {
        emu_buf_append(&l->carry, p, n); /* one document: parsed at the end */
        return;
    }
    if (l->carry.len == 0) {
        lines(l, p, n, false, &used);
        if (used < n)
            emu_buf_append(&l->carry, p + used, n - used);
        return;
    }
    if (!memchr(p, '\n', n)) {
        emu_buf_append(&l->carry, p, n);
        return;
    }
    emu_buf_append(&l->carry, p, n);
    lines(l, l->carry.data, l->carry.len, false, &used);
    memmove(l->carry.data, l->carry.data + used, l->carry.len - used);
    l->carry.len -= used;
}

void json_finish(struct emu_load *l)
{
    size_t used;

    if (!l->carry.len)
        return;
    if (l->json.by_line)
        lines(l, l->carry.data, l->carry.len, true, &used);
    else
        json_document(l, l->carry.data, l->carry.data + l->carry.len);
    l->carry.len = 0;
}
