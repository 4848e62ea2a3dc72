/* SPDX-License-Identifier: Apache-2.0 */
#include "secret.h"

#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <sodium.h>

#include "fdutil.h"
#include "json.h"

struct secret {
        void *data; /* sodium_malloc'd or in an arena's slot, at least 1 byte */
        size_t size;
        bool locked;
        bool sealed; /* an arena slot made read-only */
        struct secret_arena *arena; /* NULL: its own sodium_malloc buffer */
        size_t slot; /* in the arena */
        struct secret_pool *pool; /* packed into a pool (secret_new_pooled) */
};

/* Values packed one after another into one secret_new_batch region of whole pages: a guard page
 * right before and right after it, locked, undumpable, wiped on fork and when the last value
 * goes. No guard between two values, and sealing seals them all. */
struct secret_pool {
        struct secret *region;
        unsigned char *base;
        size_t cap, used, refs;
        bool sealed;
};

/* One private anonymous mapping for a batch of values: a PROT_NONE guard page, then per value
 * its slot (whole pages, the value at the end so that an overflow faults on the next guard)
 * and a guard. Locked (on fault, so the guards cost no memory), not dumped, wiped on fork:
 * what sodium_malloc does per value, done once. It lives as long as one of its values does. */
struct secret_arena {
        unsigned char *base;
        size_t len; /* the whole mapping */
        size_t refs;
        bool locked;
        size_t n;
        struct {
                size_t off, len; /* the slot's pages */
                bool wiped, locked;
        } slots[];
};

int secure_init(void) {
        struct rlimit no_core = {0, 0};

        /* Before any secret byte: a crash must not write one to a core file, and another
         * process of the same uid must not read our memory through ptrace or /proc/PID/mem. */
        if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
                return negative_errno();
        if (setrlimit(RLIMIT_CORE, &no_core) < 0)
                return negative_errno();
        if (sodium_init() < 0)
                return -EIO;
        json_secure_init();
        return 0;
}

/* A forked child (the broker's watcher and namespace helpers, the shim's stdin writer) sees
 * zeros in these pages instead of a copy of the value: it never needs one, and its copy would
 * outlive ours (the watcher lives as long as the container) without being locked, since mlock is
 * not inherited (found by 66-memory-residue.sh). Such a child must not secret_free() a value
 * (libsodium's canary is wiped as well); every one of them _exit()s. */
static void secret_wipe_on_fork(void *data, size_t size) {
        uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
        uintptr_t lo = (uintptr_t)data & ~(page - 1);
        uintptr_t hi = ((uintptr_t)data + size + page - 1) & ~(page - 1);
        /* Best effort: Linux 4.14+, private anonymous memory (what sodium_malloc maps). */
        (void)madvise((void *)lo, hi - lo, MADV_WIPEONFORK);
}

int secret_new(size_t size, struct secret **ret) {
        struct secret *s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        /* sodium_malloc(0) would return a valid but useless pointer; keep one byte. */
        s->data = sodium_malloc(size ? size : 1);
        if (!s->data) {
                free(s);
                return -ENOMEM;
        }
        s->size = size;
        /* sodium_malloc ignores a failed mlock; ask again so that we know. mlock of pages
         * already locked costs nothing more. */
        s->locked = mlock(s->data, size ? size : 1) == 0;
        secret_wipe_on_fork(s->data, size ? size : 1);
        *ret = s;
        return 0;
}

int secret_new_copy(const void *data, size_t size, struct secret **ret) {
        struct secret *s;
        int r = secret_new(size, &s);
        if (r < 0)
                return r;
        if (size)
                memcpy(s->data, data, size);
        *ret = s;
        return 0;
}

int secret_read_fd(int fd, size_t max, struct secret **ret) {
        _cleanup_secret_ struct secret *s = NULL;
        size_t cap = 4096, len = 0;
        int r = secret_new(cap, &s);
        if (r < 0)
                return r;

        for (;;) {
                if (len == cap) {
                        if (cap > max)
                                return -EFBIG;
                        struct secret *bigger;
                        r = secret_new(cap * 2, &bigger);
                        if (r < 0)
                                return r;
                        memcpy(bigger->data, s->data, len);
                        secret_free(s); /* wipes */
                        s = bigger;
                        cap *= 2;
                }
                ssize_t n = read(fd, (char *)s->data + len, cap - len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (n == 0)
                        break;
                len += (size_t)n;
                if (len > max)
                        return -EFBIG;
        }

        struct secret *exact;
        r = secret_new_copy(s->data, len, &exact);
        if (r < 0)
                return r;
        *ret = exact;
        return 0;
}

static size_t page_size(void) {
        static size_t page;
        if (!page)
                page = (size_t)sysconf(_SC_PAGESIZE);
        return page;
}

/* The mapping's layout for these sizes: its length, or 0 on overflow. */
static size_t arena_layout(struct secret_arena *a, const size_t *sizes, size_t n) {
        size_t page = page_size(), off = page; /* the leading guard */
        for (size_t i = 0; i < n; i++) {
                size_t want = sizes[i] ? sizes[i] : 1;
                if (want > SIZE_MAX / 2 - off)
                        return 0;
                size_t len = (want + page - 1) & ~(page - 1);
                if (a) {
                        a->slots[i].off = off;
                        a->slots[i].len = len;
                }
                off += len + page; /* the slot and the guard after it */
        }
        return off;
}

/* Map, guard, advise and lock: a fixed number of system calls whatever n, plus one mprotect
 * per guard. */
static int arena_map(struct secret_arena *a) {
        a->base = mmap(NULL, a->len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (a->base == MAP_FAILED)
                return negative_errno();
        /* Best effort, as sodium_malloc and secret_wipe_on_fork: dumps are off anyway. */
        (void)madvise(a->base, a->len, MADV_DONTDUMP);
        (void)madvise(a->base, a->len, MADV_WIPEONFORK);
        /* On fault: the value pages are locked as they are written, the guards never are.
         * Where mlock2 is missing (valgrind, kernels before 4.4), a plain mlock, taken before
         * the guards exist (it fails on PROT_NONE pages), locks them too. */
        a->locked = mlock2(a->base, a->len, MLOCK_ONFAULT) == 0 ||
                    ((errno == ENOSYS || errno == EINVAL) && mlock(a->base, a->len) == 0);
        /* RLIMIT_MEMLOCK counts the guards too: under a limit too small for them (Docker's 64
         * KiB, no CAP_IPC_LOCK), each value's pages alone, as sodium_malloc locks them. */
        for (size_t i = 0; i < a->n; i++)
                a->slots[i].locked =
                        a->locked || mlock(a->base + a->slots[i].off, a->slots[i].len) == 0;
        size_t page = page_size();
        if (mprotect(a->base, page, PROT_NONE) < 0)
                return negative_errno();
        for (size_t i = 0; i < a->n; i++)
                if (mprotect(a->base + a->slots[i].off + a->slots[i].len, page, PROT_NONE) < 0)
                        return negative_errno();
        return 0;
}

static void arena_wipe_slot(struct secret_arena *a, size_t i) {
        sodium_memzero(a->base + a->slots[i].off, a->slots[i].len);
        a->slots[i].wiped = true;
}

static void arena_unref(struct secret_arena *a) {
        if (!a || --a->refs > 0)
                return;
        if (a->base && a->base != MAP_FAILED) {
                /* The guards become readable too, and are not touched: one call for all. */
                if (mprotect(a->base, a->len, PROT_READ | PROT_WRITE) == 0)
                        for (size_t i = 0; i < a->n; i++)
                                if (!a->slots[i].wiped)
                                        arena_wipe_slot(a, i);
                (void)munmap(a->base, a->len);
        }
        free(a);
}

int secret_new_batch(const size_t *sizes, size_t n, struct secret **ret) {
        if (n == 0 || n > SIZE_MAX / 2 / sizeof(struct secret))
                return -EINVAL;
        struct secret_arena *a = calloc(1, sizeof *a + n * sizeof a->slots[0]);
        if (!a)
                return -ENOMEM;
        a->n = n;
        a->refs = 1;
        a->len = arena_layout(a, sizes, n);
        for (size_t i = 0; i < n; i++)
                ret[i] = NULL;
        int r = a->len ? arena_map(a) : -ENOMEM;
        for (size_t i = 0; r >= 0 && i < n; i++) {
                size_t want = sizes[i] ? sizes[i] : 1;
                if (!(ret[i] = calloc(1, sizeof *ret[i]))) {
                        r = -ENOMEM;
                        break;
                }
                *ret[i] = (struct secret){
                        .data = a->base + a->slots[i].off + a->slots[i].len - want,
                        .size = sizes[i],
                        .locked = a->slots[i].locked,
                        .arena = a,
                        .slot = i,
                };
                a->refs++;
        }
        if (r < 0)
                for (size_t i = 0; i < n; i++)
                        ret[i] = secret_free(ret[i]);
        arena_unref(a); /* the values hold it now */
        return r;
}

/* ---- pools ------------------------------------------------------------------------------- */

#define SECRET_POOL_ALIGN 16

int secret_pool_new(size_t cap, struct secret_pool **ret) {
        size_t page = page_size();
        if (cap > SIZE_MAX - page)
                return -ENOMEM;
        cap = cap ? (cap + page - 1) / page * page : page;
        struct secret_pool *p = calloc(1, sizeof *p);
        if (!p)
                return -ENOMEM;
        int r = secret_new_batch(&cap, 1, &p->region);
        if (r < 0) {
                free(p);
                return r;
        }
        p->base = p->region->data; /* whole pages: the region starts at its slot */
        p->cap = cap;
        p->refs = 1;
        *ret = p;
        return 0;
}

struct secret_pool *secret_pool_try(size_t cap) {
        struct secret_pool *p = NULL;
        return cap > 0 && secret_pool_new(cap, &p) >= 0 ? p : NULL;
}

struct secret_pool *secret_pool_ref(struct secret_pool *p) {
        if (p)
                p->refs++;
        return p;
}

struct secret_pool *secret_pool_unref(struct secret_pool *p) {
        if (p && --p->refs == 0) {
                secret_free(p->region); /* wipes (read-only or not) and unmaps */
                free(p);
        }
        return NULL;
}

void *secret_pool_take(struct secret_pool *p, size_t size) {
        size_t want = size ? size : 1;
        if (!p || p->sealed || want > p->cap - p->used)
                return NULL;
        unsigned char *data = p->base + p->used;
        size_t step = (want + SECRET_POOL_ALIGN - 1) & ~(size_t)(SECRET_POOL_ALIGN - 1);
        p->used = step < p->cap - p->used ? p->used + step : p->cap;
        return data;
}

int secret_new_pooled(struct secret_pool *p, size_t size, struct secret **ret) {
        void *data = secret_pool_take(p, size);
        if (!data)
                return secret_new(size, ret);
        struct secret *s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM; /* the bytes taken stay unused, wiped with the pool */
        *s = (struct secret){
                .data = data,
                .size = size,
                .locked = p->region->locked,
                .pool = secret_pool_ref(p),
        };
        *ret = s;
        return 0;
}

int secret_new_pooled_copy(struct secret_pool *p, const void *data, size_t size,
                           struct secret **ret) {
        struct secret *s;
        int r = secret_new_pooled(p, size, &s);
        if (r < 0)
                return r;
        if (size)
                memcpy(s->data, data, size);
        *ret = s;
        return 0;
}

/* ---- every kind ---------------------------------------------------------------------------- */

struct secret *secret_free(struct secret *s) {
        if (!s)
                return NULL;
        if (s->pool) {
                /* A sealed pool is read-only: its values are wiped with it, by the last. */
                if (!s->pool->sealed)
                        sodium_memzero(s->data, s->size ? s->size : 1);
                secret_pool_unref(s->pool);
                free(s);
                return NULL;
        }
        if (!s->arena) {
                sodium_free(s->data); /* wipes, even when read-only */
                free(s);
                return NULL;
        }
        struct secret_arena *a = s->arena;
        /* The last value: the arena wipes it with the others. Else now, as sodium_free would. */
        if (a->refs > 1 &&
            (!s->sealed || mprotect(a->base + a->slots[s->slot].off, a->slots[s->slot].len,
                                    PROT_READ | PROT_WRITE) == 0))
                arena_wipe_slot(a, s->slot);
        arena_unref(a);
        free(s);
        return NULL;
}

void secret_free_all(struct secret **v, size_t n) {
        for (size_t i = 0; i < n; i++) {
                struct secret_arena *a = v[i] ? v[i]->arena : NULL;
                size_t k = 0;
                for (size_t j = i; a && j < n; j++)
                        k += v[j] && v[j]->arena == a;
                if (!a || k != a->refs) {
                        v[i] = secret_free(v[i]);
                        continue;
                }
                /* Every value the arena still holds is here: it wipes them as it goes, under
                 * one mprotect, where one by one each sealed value would take one of its own. */
                for (size_t j = i; j < n; j++)
                        if (v[j] && v[j]->arena == a) {
                                free(v[j]);
                                v[j] = NULL;
                        }
                a->refs = 1;
                arena_unref(a);
        }
}

void *secret_data(struct secret *s) {
        return s->data;
}

const void *secret_cdata(const struct secret *s) {
        return s->data;
}

size_t secret_size(const struct secret *s) {
        return s->size;
}

bool secret_is_locked(const struct secret *s) {
        return s->locked;
}

int secret_seal(struct secret *s) {
        if (s->pool) {
                /* The whole pool, read-only from now on; no further value goes into it. */
                if (s->pool->sealed)
                        return 0;
                int r = secret_seal(s->pool->region);
                if (r < 0)
                        return r;
                s->pool->sealed = true;
                return 0;
        }
        if (!s->arena)
                return sodium_mprotect_readonly(s->data) < 0 ? negative_errno() : 0;
        struct secret_arena *a = s->arena;
        if (s->sealed) /* once is enough (a backend seals, then backend_fetch_some) */
                return 0;
        if (mprotect(a->base + a->slots[s->slot].off, a->slots[s->slot].len, PROT_READ) < 0)
                return negative_errno();
        s->sealed = true;
        return 0;
}

bool secret_equal(const struct secret *a, const struct secret *b) {
        return a->size == b->size && sodium_memcmp(a->data, b->data, a->size) == 0;
}

void hash_bytes(const void *data, size_t size, uint8_t out[SECRET_HASH_BYTES]) {
        crypto_generichash(out, SECRET_HASH_BYTES, data, size, NULL, 0);
}

void secret_hash(const struct secret *s, uint8_t out[SECRET_HASH_BYTES]) {
        hash_bytes(s->data, s->size, out);
}

void hash_to_hex(const uint8_t hash[SECRET_HASH_BYTES], char *out) {
        sodium_bin2hex(out, 2 * SECRET_HASH_BYTES + 1, hash, SECRET_HASH_BYTES);
}

int hash_from_hex(const char *hex, uint8_t out[SECRET_HASH_BYTES]) {
        size_t bin_len = 0;
        const char *end = NULL;
        if (strlen(hex) != 2 * SECRET_HASH_BYTES)
                return -EINVAL;
        if (sodium_hex2bin(out, SECRET_HASH_BYTES, hex, 2 * SECRET_HASH_BYTES, NULL, &bin_len,
                           &end) < 0 ||
            bin_len != SECRET_HASH_BYTES || *end != '\0')
                return -EINVAL;
        return 0;
}
