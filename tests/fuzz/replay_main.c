/*
 * replay_main.c - runs a fuzz target without libFuzzer, so every compiler
 * and CI exercise it: feeds each file of a corpus directory, then N inputs
 * from a fixed-seed generator biased towards the bytes that matter (TAB,
 * newline, backslash, quote, CR, 'N', digits), then random mutations of
 * the corpus files.
 *
 *   <target>_replay CORPUS_DIR [ITERATIONS]
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REPLAY_MAX_INPUT 4096

static uint64_t rng_state = 0x2545f4914f6cdd1dULL;

static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}

static uint8_t rnd_byte(void)
{
    static const char interesting[] = "\t\n\\\"\rN0123456789.-+abtfx\xc3\xa9\xff";
    return rnd() % 3 ? (uint8_t)interesting[rnd() % (sizeof interesting - 1)] : (uint8_t)rnd();
}

/* Runs one input from an exact-size heap copy, so ASan sees overreads. */
static void run(const uint8_t *data, size_t size)
{
    uint8_t *copy = malloc(size ? size : 1);

    if (!copy) {
        perror("malloc");
        exit(2);
    }
    memcpy(copy, data, size);
    LLVMFuzzerTestOneInput(copy, size);
    free(copy);
}

int main(int argc, char **argv)
{
    static uint8_t corpus[256][REPLAY_MAX_INPUT];
    static size_t corpus_len[256];
    int ncorpus = 0;
    long iterations = argc > 2 ? atol(argv[2]) : 10000;
    DIR *dir;
    struct dirent *de;

    if (argc < 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR [ITERATIONS]\n", argv[0]);
        return 2;
    }
    dir = opendir(argv[1]);
    if (!dir) {
        fprintf(stderr, "cannot open corpus \"%s\"\n", argv[1]);
        return 2;
    }
    while ((de = readdir(dir)) != NULL && ncorpus < 256) {
        char path[4096];
        FILE *f;

        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", argv[1], de->d_name);
        if (!(f = fopen(path, "rb")))
            continue;
        corpus_len[ncorpus] = fread(corpus[ncorpus], 1, REPLAY_MAX_INPUT, f);
        fclose(f);
        run(corpus[ncorpus], corpus_len[ncorpus]);
        ncorpus++;
    }
    closedir(dir);
    if (ncorpus == 0) {
        fprintf(stderr, "corpus \"%s\" is empty\n", argv[1]);
        return 2;
    }
    for (long i = 0; i < iterations; i++) {
        static uint8_t buf[REPLAY_MAX_INPUT];
        size_t n;

        if (i % 2) {
            n = rnd() % 200;
            for (size_t k = 0; k < n; k++)
                buf[k] = rnd_byte();
            if (n && rnd() % 4)
                buf[n - 1] = '\n';
        } else {
            int c = (int)(rnd() % (uint32_t)ncorpus);
            int edits = 1 + (int)(rnd() % 4);

            n = corpus_len[c];
            memcpy(buf, corpus[c], n);
            for (int e = 0; e < edits; e++) {
                uint32_t op = rnd() % 3;

                if (op == 0 && n > 0)
                    buf[rnd() % n] = rnd_byte();
                else if (op == 1 && n < REPLAY_MAX_INPUT)
                    buf[n++] = rnd_byte();
                else if (n > 0)
                    n--;
            }
        }
        run(buf, n);
    }
    printf("%d corpus files, %ld generated inputs: ok\n", ncorpus, iterations);
    return 0;
}
