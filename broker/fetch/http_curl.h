/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Not the type-checking macros: every curl_* below is a pointer from dlsym (http_curl). */
#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>

/*
 * libcurl is loaded when the first client or request needs it (dlopen), not linked: a broker
 * that talks to no server (the store, a container without a request, a poststop without
 * leases) never maps it and the thirty-odd libraries it pulls in (TLS, HTTP/2, Kerberos,
 * LDAP, ...), which cost about 7 MiB of resident memory and the relocations of each, on every
 * hook. The secret fetcher loads it after it dropped root, under its seccomp filter.
 */
struct http_curl {
        CURLcode (*global_init_mem)(long, curl_malloc_callback, curl_free_callback,
                                    curl_realloc_callback, curl_strdup_callback,
                                    curl_calloc_callback);
        CURL *(*easy_init)(void);
        CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
        CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
        void (*easy_cleanup)(CURL *);
        const char *(*easy_strerror)(CURLcode);
        void (*free)(void *);
        CURLM *(*multi_init)(void);
        CURLMcode (*multi_setopt)(CURLM *, CURLMoption, ...);
        CURLMcode (*multi_add_handle)(CURLM *, CURL *);
        CURLMcode (*multi_remove_handle)(CURLM *, CURL *);
        CURLMcode (*multi_perform)(CURLM *, int *);
        CURLMcode (*multi_poll)(CURLM *, struct curl_waitfd[], unsigned, int, int *);
        CURLMsg *(*multi_info_read)(CURLM *, int *);
        CURLMcode (*multi_cleanup)(CURLM *);
        struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
        void (*slist_free_all)(struct curl_slist *);
        CURLU *(*url)(void);
        void (*url_cleanup)(CURLU *);
        CURLUcode (*url_get)(const CURLU *, CURLUPart, char **, unsigned);
        CURLUcode (*url_set)(CURLU *, CURLUPart, const char *, unsigned);
        CURLSH *(*share_init)(void);
        CURLSHcode (*share_setopt)(CURLSH *, CURLSHoption, ...);
        CURLSHcode (*share_cleanup)(CURLSH *);
};
extern struct http_curl http_curl;

/* libcurl's functions by their own names, through the table: http.c reads as plain libcurl
 * code. The table is filled by http_global_init() (http.h), which every client calls first. */
#undef curl_easy_setopt
#undef curl_easy_getinfo
#undef curl_multi_setopt
#undef curl_share_setopt
#define curl_global_init_mem http_curl.global_init_mem
#define curl_easy_init http_curl.easy_init
#define curl_easy_setopt http_curl.easy_setopt
#define curl_easy_getinfo http_curl.easy_getinfo
#define curl_easy_cleanup http_curl.easy_cleanup
#define curl_easy_strerror http_curl.easy_strerror
#define curl_free http_curl.free
#define curl_multi_init http_curl.multi_init
#define curl_multi_setopt http_curl.multi_setopt
#define curl_multi_add_handle http_curl.multi_add_handle
#define curl_multi_remove_handle http_curl.multi_remove_handle
#define curl_multi_perform http_curl.multi_perform
#define curl_multi_poll http_curl.multi_poll
#define curl_multi_info_read http_curl.multi_info_read
#define curl_multi_cleanup http_curl.multi_cleanup
#define curl_slist_append http_curl.slist_append
#define curl_slist_free_all http_curl.slist_free_all
#define curl_url http_curl.url
#define curl_url_cleanup http_curl.url_cleanup
#define curl_url_get http_curl.url_get
#define curl_url_set http_curl.url_set
#define curl_share_init http_curl.share_init
#define curl_share_setopt http_curl.share_setopt
#define curl_share_cleanup http_curl.share_cleanup

/* Once per process, before anything else touches libcurl: load it and set its allocator,
 * which wipes on free. Idempotent. */
int http_global_init(void);
