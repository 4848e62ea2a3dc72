/* SPDX-License-Identifier: Apache-2.0 */
/* libcurl, loaded with dlopen when a server is first talked to, and given an allocator that
 * wipes whatever it frees (tokens, secret values, request bodies pass through it). */
#include "http_curl.h"

#include <dlfcn.h>
#include <sodium.h>
#include <string.h>

#include "log.h"

struct http_curl http_curl;

static int http_curl_load(void) {
        static const char *const names[] = {
                "curl_global_init_mem",
                "curl_easy_init",
                "curl_easy_setopt",
                "curl_easy_getinfo",
                "curl_easy_cleanup",
                "curl_easy_strerror",
                "curl_free",
                "curl_multi_init",
                "curl_multi_setopt",
                "curl_multi_add_handle",
                "curl_multi_remove_handle",
                "curl_multi_perform",
                "curl_multi_poll",
                "curl_multi_info_read",
                "curl_multi_cleanup",
                "curl_slist_append",
                "curl_slist_free_all",
                "curl_url",
                "curl_url_cleanup",
                "curl_url_get",
                "curl_url_set",
                "curl_share_init",
                "curl_share_setopt",
                "curl_share_cleanup",
        };
        _Static_assert(sizeof http_curl == ARRAY_SIZE(names) * sizeof(void (*)(void)),
                       "one name a pointer, in order");
        void (*fns[ARRAY_SIZE(names)])(void);

        if (http_curl.share_cleanup)
                return 0;
        /* RTLD_NOW: every symbol bound here, not at a first call under a tighter filter. */
        void *h = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
        if (!h)
                return log_error_errno(-ELIBACC, "libcurl: cannot load libcurl.so.4 (%s)",
                                       dlerror());
        for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
                /* POSIX: a data pointer from dlsym may be converted to a function pointer. */
                void *sym = dlsym(h, names[i]);
                if (!sym)
                        return log_error_errno(-ELIBBAD,
                                               "libcurl: no %s (libcurl 7.80 or later "
                                               "is needed)",
                                               names[i]);
                memcpy(&fns[i], &sym, sizeof sym);
        }
        memcpy(&http_curl, fns, sizeof http_curl);
        return 0; /* the handle stays open for the process's life */
}

/* ---- libcurl's allocator: everything it frees is wiped first ---------------------------- */

/* libcurl's free() is not told the size (nor is jansson's, common/json.c): each block
 * carries it in a 16-byte header, which keeps the payload aligned for any type. */
#define HTTP_HDR 16

static void *http_wipe_malloc(size_t size) {
        if (size > SIZE_MAX - HTTP_HDR)
                return NULL;
        unsigned char *p = malloc(size + HTTP_HDR);
        if (!p)
                return NULL;
        memcpy(p, &size, sizeof size);
        return p + HTTP_HDR;
}

static size_t http_wipe_size(const void *ptr) {
        size_t size;
        memcpy(&size, (const unsigned char *)ptr - HTTP_HDR, sizeof size);
        return size;
}

static void http_wipe_free(void *ptr) {
        if (!ptr)
                return;
        unsigned char *p = (unsigned char *)ptr - HTTP_HDR;
        sodium_memzero(p, http_wipe_size(ptr) + HTTP_HDR);
        free(p);
}

/* Never realloc() in place: the old block would be released unwiped. */
static void *http_wipe_realloc(void *ptr, size_t size) {
        if (!ptr)
                return http_wipe_malloc(size);
        void *n = http_wipe_malloc(size);
        if (!n)
                return NULL;
        size_t old = http_wipe_size(ptr);
        memcpy(n, ptr, old < size ? old : size);
        http_wipe_free(ptr);
        return n;
}

static char *http_wipe_strdup(const char *s) {
        size_t n = strlen(s) + 1;
        char *d = http_wipe_malloc(n);
        if (d)
                memcpy(d, s, n);
        return d;
}

static void *http_wipe_calloc(size_t nmemb, size_t size) {
        if (size && nmemb > SIZE_MAX / size)
                return NULL;
        void *p = http_wipe_malloc(nmemb * size);
        if (p)
                memset(p, 0, nmemb * size);
        return p;
}

int http_global_init(void) {
        static bool done;
        if (done)
                return 0;
        int r = http_curl_load();
        if (r < 0)
                return r;
        CURLcode c = curl_global_init_mem(CURL_GLOBAL_DEFAULT, http_wipe_malloc, http_wipe_free,
                                          http_wipe_realloc, http_wipe_strdup, http_wipe_calloc);
        if (c != CURLE_OK)
                return log_error_errno(-EIO, "libcurl: cannot initialise: %s",
                                       curl_easy_strerror(c));
        done = true;
        return 0;
}
