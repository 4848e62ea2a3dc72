/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lbx-rss-probe — what a process costs in resident memory before it does any of lockbox's
 * work (make bench, "What bounds each figure" in docs/BENCHMARKS.md).
 *
 *   lbx-rss-probe none             start and exit (the libraries are loaded, nothing called)
 *   lbx-rss-probe init             curl_global_init(): OpenSSL's and nghttp2's initialisation
 *   lbx-rss-probe get URL CAFILE   one HTTPS GET over HTTP/2 with libcurl (a TLS handshake)
 *
 * Built three times by make bench, with the broker's flags and hardening (-z now resolves
 * every symbol at start): with libcurl, jansson and libsodium (libcurl as the broker's fetch
 * child has it once it loaded it for a network backend); with libc alone (LBX_LIBC_ONLY:
 * "none" only); and with jansson and libsodium, the libraries the broker links
 * (LBX_LIBC_ONLY, --no-as-needed). Peak RSS is read by the caller (/usr/bin/time, wait4's
 * ru_maxrss), times by run.sh.
 */
#include <stdio.h>
#include <string.h>

#ifndef LBX_LIBC_ONLY
#include <curl/curl.h>

static size_t discard(char *p, size_t size, size_t n, void *opaque) {
        (void)p;
        (void)opaque;
        return size * n;
}
#endif

int main(int argc, char **argv) {
        if (argc >= 2 && strcmp(argv[1], "none") == 0)
                return 0;
#ifndef LBX_LIBC_ONLY
        if (argc >= 2 && strcmp(argv[1], "init") == 0)
                return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : 1;
        if (argc >= 4 && strcmp(argv[1], "get") == 0) {
                if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                        return 1;
                CURL *e = curl_easy_init();
                if (!e)
                        return 1;
                curl_easy_setopt(e, CURLOPT_URL, argv[2]);
                curl_easy_setopt(e, CURLOPT_CAINFO, argv[3]);
                curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
                curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
                curl_easy_setopt(e, CURLOPT_FAILONERROR, 1L);
                CURLcode c = curl_easy_perform(e);
                curl_easy_cleanup(e);
                curl_global_cleanup();
                if (c != CURLE_OK)
                        fprintf(stderr, "lbx-rss-probe: %s\n", curl_easy_strerror(c));
                return c == CURLE_OK ? 0 : 1;
        }
#endif
        fputs("usage: lbx-rss-probe none|init|get URL CAFILE\n", stderr);
        return 2;
}
