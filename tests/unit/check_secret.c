/* SPDX-License-Identifier: Apache-2.0 */
#include <cap-ng.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "unit.h"

/* The arena of secret_new_batch: one locked, undumpable mapping for a batch of values, a guard
 * page around each. */

#define N_VALUES 3

static size_t sizes[N_VALUES] = {100, 4096, 0};
static struct secret *v[N_VALUES];

static void setup(void) {
        ck_assert_int_eq(secure_init(), 0);
        ck_assert_int_eq(secret_new_batch(sizes, N_VALUES, v), 0);
        for (size_t i = 0; i < N_VALUES; i++) {
                ck_assert_ptr_nonnull(v[i]);
                ck_assert_uint_eq(secret_size(v[i]), sizes[i]);
                memset(secret_data(v[i]), 'A' + (int)i, sizes[i]);
        }
}

static void teardown(void) {
        for (size_t i = 0; i < N_VALUES; i++)
                v[i] = secret_free(v[i]);
}

/* A counter the forked child shares with us: how far its writes got before the fault. */
static volatile size_t *shared_counter(void) {
        void *p = mmap(NULL, sizeof(size_t), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1,
                       0);
        ck_assert_ptr_ne(p, MAP_FAILED);
        return p;
}

/* The child writes byte after byte from start, step +1 or -1, up to limit bytes, counting
 * each write that went through; the parent gets its wait status. */
static int overrun_in_child(unsigned char *start, int step, size_t limit, volatile size_t *done) {
        *done = 0;
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                signal(SIGSEGV, SIG_DFL); /* not ASan's handler, which exits 1 */
                for (size_t i = 0; i < limit; i++) {
                        start[(ptrdiff_t)i * step] = 'X';
                        *done = i + 1;
                }
                _exit(0);
        }
        int status = 0;
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        return status;
}

/* Writing past the end of a value faults on the very next byte: the guard page, before any
 * byte of the neighbour (the next value's slot starts one guard page and its own slack
 * further on, so a missing guard would let the child write on into it and exit 0). */
START_TEST(test_overflow_faults) {
        volatile size_t *done = shared_counter();
        unsigned char *a = secret_data(v[0]), *b = secret_data(v[1]);
        ck_assert((uintptr_t)b > (uintptr_t)a);
        size_t to_neighbour_end = (size_t)(b - a) + sizes[1];
        int status = overrun_in_child(a, 1, to_neighbour_end, done);
        ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV,
                      "the overrun did not fault (status %#x, %zu bytes written)", status, *done);
        ck_assert_uint_eq(*done, sizes[0]); /* the value's bytes, and not one more */
        ck_assert_uint_lt(*done, (size_t)(b - a));
        /* A value of whole pages: the next byte is the guard too. */
        status = overrun_in_child(b, 1, 2 * sizes[1], done);
        ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV);
        ck_assert_uint_eq(*done, sizes[1]);
        /* And before it: its first byte is on a page boundary, the guard below it. */
        status = overrun_in_child(b, -1, 2, done);
        ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV);
        ck_assert_uint_eq(*done, 1);
        /* Our copies are whole (the child's writes were its own). */
        for (size_t i = 0; i < sizes[1]; i++)
                ck_assert_int_eq(b[i], 'B');
        munmap((void *)done, sizeof(size_t));
}
END_TEST

/* The VmFlags of the mapping that holds p, from /proc/self/smaps. */
static void mapping_flags(const void *p, char *out, size_t size) {
        FILE *f = fopen("/proc/self/smaps", "re");
        char line[512];
        bool in = false;
        out[0] = '\0';
        ck_assert_ptr_nonnull(f);
        while (fgets(line, sizeof line, f)) {
                unsigned long lo, hi;
                if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 &&
                    strchr(line, '-') < strchr(line, ' '))
                        in = (uintptr_t)p >= lo && (uintptr_t)p < hi;
                else if (in && strncmp(line, "VmFlags:", 8) == 0)
                        snprintf(out, size, "%s", line + 8);
        }
        fclose(f);
}

/* Locked, kept out of core dumps, wiped in a forked child: one madvise and one mlock for the
 * whole arena, as the flags of every value's mapping show. */
START_TEST(test_locked_undumpable_wipeonfork) {
        char flags[512];
        for (size_t i = 0; i < N_VALUES; i++) {
                mapping_flags(secret_cdata(v[i]), flags, sizeof flags);
                ck_assert_msg(strstr(flags, " dd"), "value %zu: not MADV_DONTDUMP: %s", i, flags);
                ck_assert_msg(strstr(flags, " wf"), "value %zu: not MADV_WIPEONFORK: %s", i, flags);
                if (secret_is_locked(v[i]))
                        ck_assert_msg(strstr(flags, " lo"), "value %zu: not locked: %s", i, flags);
        }
        ck_assert_int_eq(secret_seal(v[0]), 0);
        mapping_flags(secret_cdata(v[0]), flags, sizeof flags);
        ck_assert_msg(strstr(flags, "rd") && !strstr(flags, "wr"), "sealed: %s", flags);
        ck_assert_int_eq(((const unsigned char *)secret_cdata(v[0]))[0], 'A');
}
END_TEST

/* Root (CAP_IPC_LOCK) or a memlock limit that allows it: the values are locked. */
START_TEST(test_locked_as_root) {
        for (size_t i = 0; i < N_VALUES; i++)
                ck_assert(secret_is_locked(v[i]));
        unsigned char vec[2];
        uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
        ck_assert_int_eq(mincore((void *)((uintptr_t)secret_cdata(v[1]) & ~(page - 1)), page, vec),
                         0);
        ck_assert(vec[0] & 1);
}
END_TEST

/* VmLck of /proc/self/status, in kB. */
static long vmlck_kb(void) {
        FILE *f = fopen("/proc/self/status", "re");
        char line[256];
        long kb = -1;
        ck_assert_ptr_nonnull(f);
        while (fgets(line, sizeof line, f))
                if (sscanf(line, "VmLck: %ld kB", &kb) == 1)
                        break;
        fclose(f);
        return kb;
}

/* Without CAP_IPC_LOCK, under a memlock limit that holds the values' pages but not the guards
 * between them (Docker's 64 KiB and ten secrets): each value is locked on its own. */
START_TEST(test_locked_under_small_limit) {
        teardown(); /* this test's own batch */
        capng_get_caps_process();
        capng_update(CAPNG_DROP, CAPNG_EFFECTIVE, CAP_IPC_LOCK);
        ck_assert_int_eq(capng_apply(CAPNG_SELECT_CAPS), 0);
        long page_kb = sysconf(_SC_PAGESIZE) / 1024, before = vmlck_kb();
        /* Room for the three values' pages (one each), not for the seven of the mapping. */
        rlim_t limit = (rlim_t)(before + 4 * page_kb) * 1024;
        struct rlimit rl = {limit, limit};
        ck_assert_int_eq(setrlimit(RLIMIT_MEMLOCK, &rl), 0);
        ck_assert_int_eq(secret_new_batch(sizes, N_VALUES, v), 0);
        for (size_t i = 0; i < N_VALUES; i++)
                ck_assert_msg(secret_is_locked(v[i]), "value %zu not locked", i);
#ifndef __SANITIZE_ADDRESS__ /* ASan's mlock interceptor returns 0 and locks nothing */
        ck_assert_msg(vmlck_kb() - before >= 3 * page_kb, "VmLck %ld kB, %ld before", vmlck_kb(),
                      before);
#endif
}
END_TEST

/* A value freed while its neighbours live is wiped at once, sealed or not; the others keep
 * theirs. */
START_TEST(test_free_wipes) {
        const unsigned char *a = secret_cdata(v[0]);
        ck_assert_int_eq(secret_seal(v[0]), 0);
        v[0] = secret_free(v[0]);
        for (size_t i = 0; i < sizes[0]; i++)
                ck_assert_int_eq(a[i], 0); /* still mapped: v[1] holds the arena */
        const unsigned char *b = secret_cdata(v[1]);
        ck_assert_int_eq(b[0], 'B');
        ck_assert_int_eq(b[sizes[1] - 1], 'B');
}
END_TEST

/* Freed together (secret_free_all): values that are not all their arena holds are wiped one by
 * one and the others kept; values that are all it holds go with it, sealed ones too (the wipe
 * must make them writable first, or it faults), and the arena is unmapped. NULLs are skipped,
 * values of another kind freed as secret_free frees them, and every entry is set to NULL. */
START_TEST(test_free_all) {
        struct secret *w = NULL, *list[3];
        const unsigned char *a = secret_cdata(v[0]);
        uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
        unsigned char vec[1];
        ck_assert_int_eq(secret_new_copy("other", 5, &w), 0);
        ck_assert_int_eq(secret_seal(v[0]), 0);
        list[0] = v[0];
        list[1] = NULL;
        list[2] = w;
        v[0] = NULL;
        secret_free_all(list, 3);
        for (size_t i = 0; i < 3; i++)
                ck_assert_ptr_null(list[i]);
        for (size_t i = 0; i < sizes[0]; i++)
                ck_assert_int_eq(a[i], 0); /* still mapped: v[1] and v[2] hold the arena */
        const unsigned char *b = secret_cdata(v[1]);
        ck_assert_int_eq(b[sizes[1] - 1], 'B');

        ck_assert_int_eq(secret_seal(v[1]), 0);
        ck_assert_int_eq(secret_seal(v[2]), 0);
        list[0] = v[2];
        list[1] = v[1];
        v[1] = v[2] = NULL;
        secret_free_all(list, 2);
        ck_assert_ptr_null(list[0]);
        ck_assert_ptr_null(list[1]);
        errno = 0;
        ck_assert_int_lt(mincore((void *)((uintptr_t)b & ~(page - 1)), page, vec), 0);
        ck_assert_int_eq(errno, ENOMEM); /* unmapped */
}
END_TEST

START_TEST(test_bad_batches) {
        struct secret *w[2] = {(struct secret *)1, (struct secret *)1};
        size_t huge[2] = {SIZE_MAX / 2, SIZE_MAX / 2};
        ck_assert_int_eq(secret_new_batch(huge, 0, w), -EINVAL);
        ck_assert_int_eq(secret_new_batch(huge, 2, w), -ENOMEM);
        ck_assert_ptr_null(w[0]);
        ck_assert_ptr_null(w[1]);
}
END_TEST

/* ---- pools ------------------------------------------------------------------------------- */

/* Three values of a one-page pool: packed one after another (16-byte steps) in one locked,
 * undumpable mapping; the byte after the page and the one before it fault. */
START_TEST(test_pool_packs_and_guards) {
        ck_assert_int_eq(secure_init(), 0);
        struct secret_pool *p = NULL;
        struct secret *a, *b, *c;
        ck_assert_int_eq(secret_pool_new(100, &p), 0);
        ck_assert_int_eq(secret_new_pooled_copy(p, "alpha", 5, &a), 0);
        ck_assert_int_eq(secret_new_pooled_copy(p, "bravo-bravo-bravo-bravo", 23, &b), 0);
        ck_assert_int_eq(secret_new_pooled(p, 0, &c), 0);
        p = secret_pool_unref(p); /* the values hold it */
        unsigned char *pa = secret_data(a);
        ck_assert_ptr_eq(secret_cdata(b), pa + 16);
        ck_assert_ptr_eq(secret_cdata(c), pa + 48);
        ck_assert_uint_eq(secret_size(c), 0);
        ck_assert_mem_eq(secret_cdata(b), "bravo-bravo-bravo-bravo", 23);
        char flags[512];
        mapping_flags(pa, flags, sizeof flags);
        ck_assert_msg(strstr(flags, " dd") && strstr(flags, " wf"), "%s", flags);
        ck_assert_msg(strstr(flags, " lo"), "not locked: %s", flags);
        ck_assert(secret_is_locked(a));
        volatile size_t *done = shared_counter();
        size_t page = (size_t)sysconf(_SC_PAGESIZE);
        int status = overrun_in_child(pa, 1, page + 1, done);
        ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV && *done == page,
                      "status %#x, %zu bytes written", status, *done);
        status = overrun_in_child(pa - 1, -1, 1, done);
        ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV);
        a = secret_free(a);
        b = secret_free(b);
        c = secret_free(c);
}
END_TEST

/* A value freed while the pool lives is wiped at once, its neighbours kept; a value that does
 * not fit gets a buffer of its own; the pool goes with its last value. */
START_TEST(test_pool_free_and_overflow) {
        ck_assert_int_eq(secure_init(), 0);
        struct secret_pool *p = NULL;
        struct secret *a, *b, *big;
        ck_assert_int_eq(secret_pool_new(1, &p), 0);
        ck_assert_int_eq(secret_new_pooled_copy(p, "alpha", 5, &a), 0);
        ck_assert_int_eq(secret_new_pooled_copy(p, "bravo", 5, &b), 0);
        size_t page = (size_t)sysconf(_SC_PAGESIZE);
        ck_assert_int_eq(secret_new_pooled(p, page, &big), 0);
        const unsigned char *pa = secret_cdata(a);
        ck_assert_msg(secret_cdata(big) < (const void *)pa ||
                              secret_cdata(big) >= (const void *)(pa + page),
                      "a value larger than what is left went into the pool");
        a = secret_free(a);
        for (size_t i = 0; i < 5; i++)
                ck_assert_int_eq(pa[i], 0); /* still mapped: b and p hold the pool */
        ck_assert_mem_eq(secret_cdata(b), "bravo", 5);
        big = secret_free(big);
        p = secret_pool_unref(p);
        b = secret_free(b);
        unsigned char vec;
        ck_assert_int_eq(mincore((void *)((uintptr_t)pa & ~(page - 1)), page, &vec), -1);
        ck_assert_int_eq(errno, ENOMEM); /* unmapped */
}
END_TEST

/* secret_pool_try: no pool for nothing; a pool for something, whose values are packed in it;
 * a NULL pool still gives each value a buffer of its own. */
START_TEST(test_pool_try) {
        ck_assert_int_eq(secure_init(), 0);
        ck_assert_ptr_null(secret_pool_try(0));
        struct secret_pool *p = secret_pool_try(64);
        ck_assert_ptr_nonnull(p);
        struct secret *a, *b, *c;
        ck_assert_int_eq(secret_new_pooled_copy(p, "alpha", 5, &a), 0);
        ck_assert_int_eq(secret_new_pooled_copy(p, "bravo", 5, &b), 0);
        ck_assert_ptr_eq(secret_cdata(b), (const unsigned char *)secret_cdata(a) + 16);
        p = secret_pool_unref(p);
        ck_assert_int_eq(secret_new_pooled_copy(NULL, "charlie", 7, &c), 0);
        ck_assert_mem_eq(secret_cdata(c), "charlie", 7);
        struct secret *all[] = {a, b, c};
        secret_free_all(all, 3);
}
END_TEST

/* Sealing one pooled value makes the pool read-only: a write to another faults, the values
 * read as before, a further value gets a buffer of its own; freeing works sealed. */
START_TEST(test_pool_seal) {
        ck_assert_int_eq(secure_init(), 0);
        struct secret_pool *p = NULL;
        struct secret *a, *b, *later;
        ck_assert_int_eq(secret_pool_new(64, &p), 0);
        ck_assert_int_eq(secret_new_pooled_copy(p, "alpha", 5, &a), 0);
        ck_assert_int_eq(secret_new_pooled_copy(p, "bravo", 5, &b), 0);
        ck_assert_int_eq(secret_seal(a), 0);
        ck_assert_int_eq(secret_seal(b), 0);
        volatile size_t *done = shared_counter();
        int status = overrun_in_child(secret_data(b), 1, 1, done);
        ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV, "status %#x", status);
        ck_assert_mem_eq(secret_cdata(a), "alpha", 5);
        ck_assert_int_eq(secret_new_pooled_copy(p, "later", 5, &later), 0);
        ck_assert(secret_cdata(later) != (const char *)secret_cdata(b) + 16);
        ck_assert_mem_eq(secret_cdata(later), "later", 5);
        p = secret_pool_unref(p);
        a = secret_free(a);
        b = secret_free(b);
        later = secret_free(later);
}
END_TEST

Suite *make_suite(void) {
        Suite *s = suite_create("secret");
        TCase *tc = tcase_create("arena");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_overflow_faults);
        /* qemu-user keeps madvise to itself: smaps shows the host's view of the mapping. */
        unit_add_kernel_test(tc, test_locked_undumpable_wipeonfork);
        unit_add_test_if(tc, test_locked_as_root, geteuid() == 0, "needs root (CAP_IPC_LOCK)");
        unit_add_test_if(tc, test_locked_under_small_limit, geteuid() == 0,
                         "needs root (to drop CAP_IPC_LOCK and set the limit)");
        tcase_add_test(tc, test_free_wipes);
        tcase_add_test(tc, test_free_all);
        tcase_add_test(tc, test_bad_batches);
        suite_add_tcase(s, tc);

        TCase *pool = tcase_create("pool");
        /* qemu-user keeps madvise and mlock to itself (smaps shows the host's view). */
        unit_add_kernel_test(pool, test_pool_packs_and_guards);
        tcase_add_test(pool, test_pool_free_and_overflow);
        tcase_add_test(pool, test_pool_seal);
        tcase_add_test(pool, test_pool_try);
        suite_add_tcase(s, pool);
        return s;
}
