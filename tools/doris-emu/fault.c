/*
 * fault.c - fault specs for doris-emu and the decision whether one fires.
 *
 * A spec (see emu.h) is parsed once into a struct fault_spec; the list is
 * shared by every connection thread and guarded by one mutex, which also
 * guards the counters and the PRNG so that a given --seed and request order
 * always fire the same faults. Specs are tried in the order they were added;
 * the first that fires wins and later specs do not see the request.
 */
#include "emu.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct fault_spec {
    char *text; /* the spec as given, for listing */
    enum emu_fault_kind kind;
    char *db;    /* NULL: any */
    char *table; /* NULL: any */
    long nth;    /* 0: unset */
    long every;  /* 0: unset */
    double rate; /* < 0: unset */
    long count;  /* < 0: unlimited */
    int ms;
    int status;
    long after;
    long matched;
    long fired;
};

struct emu_faults {
    pthread_mutex_t mu;
    uint64_t prng; /* splitmix64 state */
    struct fault_spec *specs;
    int nspecs;
};

static const struct {
    const char *name;
    enum emu_fault_kind kind;
} kinds[] = {
    {"http5xx", EMU_FAULT_HTTP5XX},     {"reset", EMU_FAULT_RESET},
    {"slow", EMU_FAULT_SLOW},           {"hang", EMU_FAULT_HANG},
    {"e235", EMU_FAULT_E235},           {"publish_timeout", EMU_FAULT_PUBLISH_TIMEOUT},
    {"mem_limit", EMU_FAULT_MEM_LIMIT}, {"lost_answer", EMU_FAULT_LOST_ANSWER},
    {"fe_down", EMU_FAULT_FE_DOWN},
};

struct emu_faults *emu_faults_create(uint64_t seed)
{
    struct emu_faults *f = calloc(1, sizeof(*f));

    if (!f)
        abort();
    pthread_mutex_init(&f->mu, NULL);
    f->prng = seed;
    return f;
}

static void spec_fini(struct fault_spec *s)
{
    free(s->text);
    free(s->db);
    free(s->table);
}

void emu_faults_clear(struct emu_faults *f)
{
    pthread_mutex_lock(&f->mu);
    for (int i = 0; i < f->nspecs; i++)
        spec_fini(&f->specs[i]);
    free(f->specs);
    f->specs = NULL;
    f->nspecs = 0;
    pthread_mutex_unlock(&f->mu);
}

void emu_faults_free(struct emu_faults *f)
{
    if (!f)
        return;
    emu_faults_clear(f);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

/* Parses a whole decimal number in [min, max]. */
static int parse_long(const char *v, long min, long max, long *out)
{
    char *end;
    long n;

    errno = 0;
    n = strtol(v, &end, 10);
    if (errno || end == v || *end || n < min || n > max)
        return -1;
    *out = n;
    return 0;
}

static int parse_pair(struct fault_spec *s, const char *key, const char *val, struct emu_err *err)
{
    long n;

    if (strcmp(key, "kind") == 0) {
        for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
            if (strcasecmp(val, kinds[i].name) == 0) {
                s->kind = kinds[i].kind;
                return 0;
            }
        }
        emu_err_set(err, "fault",
                    "unknown fault kind \"%s\"\n"
                    "hint: use http5xx, reset, slow, hang, e235, publish_timeout, mem_limit, "
                    "lost_answer or fe_down",
                    val);
        return -1;
    }
    if (strcmp(key, "db") == 0 || strcmp(key, "table") == 0) {
        char **slot = key[0] == 'd' ? &s->db : &s->table;

        if (!*val) {
            emu_err_set(err, "fault", "empty value for \"%s\"", key);
            return -1;
        }
        free(*slot);
        *slot = strdup(val);
        if (!*slot)
            abort();
        return 0;
    }
    if (strcmp(key, "rate") == 0) {
        char *end;
        double r;

        errno = 0;
        r = strtod(val, &end);
        if (errno || end == val || *end || !(r >= 0.0 && r <= 1.0)) {
            emu_err_set(err, "fault", "rate must be a number between 0 and 1, not \"%s\"", val);
            return -1;
        }
        s->rate = r;
        return 0;
    }
    if (strcmp(key, "nth") == 0 || strcmp(key, "every") == 0 || strcmp(key, "count") == 0 ||
        strcmp(key, "ms") == 0 || strcmp(key, "status") == 0 || strcmp(key, "after") == 0) {
        long min = strcmp(key, "after") == 0 || strcmp(key, "ms") == 0 ? 0 : 1;
        long max = strcmp(key, "status") == 0 ? 599 : strcmp(key, "ms") == 0 ? INT_MAX : LONG_MAX;

        if (strcmp(key, "status") == 0)
            min = 100;
        if (parse_long(val, min, max, &n) < 0) {
            emu_err_set(err, "fault", "%s must be a whole number in [%ld, %ld], not \"%s\"", key,
                        min, max, val);
            return -1;
        }
        switch (key[0]) {
        case 'n':
            s->nth = n;
            break;
        case 'e':
            s->every = n;
            break;
        case 'c':
            s->count = n;
            break;
        case 'm':
            s->ms = (int)n;
            break;
        case 's':
            s->status = (int)n;
            break;
        default:
            s->after = n;
            break;
        }
        return 0;
    }
    emu_err_set(err, "fault",
                "unknown fault key \"%s\"\n"
                "hint: use kind, db, table, nth, every, rate, count, ms, status or after",
                key);
    return -1;
}

int emu_faults_add(struct emu_faults *f, const char *spec, struct emu_err *err)
{
    struct fault_spec s;
    char *copy, *save = NULL, *tok;
    size_t len = strlen(spec);
    struct fault_spec *grown;

    /* Tolerate the trailing newline of a body sent with curl -d @file. */
    while (len > 0 && (spec[len - 1] == '\n' || spec[len - 1] == '\r' || spec[len - 1] == ' '))
        len--;
    memset(&s, 0, sizeof(s));
    s.rate = -1.0;
    s.count = -1;
    s.ms = -1;
    s.status = 500;
    s.after = -1;
    s.text = strndup(spec, len);
    copy = strndup(spec, len);
    if (!s.text || !copy)
        abort();
    for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');

        while (*tok == ' ')
            tok++;
        if (!eq) {
            emu_err_set(err, "fault", "expected key=value in fault spec, got \"%s\"", tok);
            goto fail;
        }
        *eq = '\0';
        if (parse_pair(&s, tok, eq + 1, err) < 0)
            goto fail;
    }
    if (s.kind == EMU_FAULT_NONE) {
        emu_err_set(err, "fault", "fault spec \"%s\" has no kind=", s.text);
        goto fail;
    }
    if (s.count < 0 && s.nth > 0)
        s.count = 1;
    if (s.ms < 0)
        s.ms = s.kind == EMU_FAULT_SLOW ? 2000 : 0; /* hang: 0 = until shutdown */
    free(copy);
    pthread_mutex_lock(&f->mu);
    grown = realloc(f->specs, sizeof(*grown) * (size_t)(f->nspecs + 1));
    if (!grown)
        abort();
    f->specs = grown;
    f->specs[f->nspecs++] = s;
    pthread_mutex_unlock(&f->mu);
    return 0;
fail:
    free(copy);
    spec_fini(&s);
    return -1;
}

/* splitmix64 -> uniform double in [0, 1). Caller holds f->mu. */
static double next_uniform(struct emu_faults *f)
{
    uint64_t z = (f->prng += 0x9E3779B97F4A7C15ULL);

    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    return (double)(z >> 11) / 9007199254740992.0; /* 2^53 */
}

bool emu_faults_match(struct emu_faults *f, bool fe, const char *db, const char *table,
                      struct emu_fault_hit *hit)
{
    bool fired = false;

    memset(hit, 0, sizeof(*hit));
    pthread_mutex_lock(&f->mu);
    for (int i = 0; i < f->nspecs && !fired; i++) {
        struct fault_spec *s = &f->specs[i];
        bool fires = true;

        if ((s->kind == EMU_FAULT_FE_DOWN) != fe)
            continue;
        if (s->db && (!db || strcmp(s->db, db) != 0))
            continue;
        if (s->table && (!table || strcmp(s->table, table) != 0))
            continue;
        s->matched++;
        if (s->nth > 0 && s->matched != s->nth)
            fires = false;
        if (s->every > 0 && s->matched % s->every != 0)
            fires = false;
        if (fires && s->rate >= 0.0 && !(next_uniform(f) < s->rate))
            fires = false;
        if (fires && s->count >= 0 && s->fired >= s->count)
            fires = false;
        if (!fires)
            continue;
        s->fired++;
        hit->kind = s->kind;
        hit->ms = s->ms;
        hit->status = s->status;
        hit->after_bytes = s->after;
        fired = true;
    }
    pthread_mutex_unlock(&f->mu);
    return fired;
}

json_t *emu_faults_json(struct emu_faults *f)
{
    json_t *list = json_array();

    pthread_mutex_lock(&f->mu);
    for (int i = 0; i < f->nspecs; i++) {
        json_t *o = json_object();

        json_object_set_new(o, "spec", json_string(f->specs[i].text));
        json_object_set_new(o, "matched", json_integer(f->specs[i].matched));
        json_object_set_new(o, "fired", json_integer(f->specs[i].fired));
        json_array_append_new(list, o);
    }
    pthread_mutex_unlock(&f->mu);
    return json_pack("{s:o}", "faults", list);
}
