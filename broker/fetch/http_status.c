/* SPDX-License-Identifier: Apache-2.0 */
/* What an HTTP outcome means: retried or not, a fixed phrase for a failure, the backoff. */
#include "http_status.h"

#include <sodium.h>

#include "http_curl.h"
#include "macro.h"

#define HTTP_BACKOFF_BASE_MS 100
#define HTTP_BACKOFF_MAX_MS 2000
#define HTTP_RETRY_AFTER_MAX_MS 5000

bool http_status_is_retried(long status) {
        return status == 412 || status == 429 || (status >= 500 && status <= 599 && status != 501);
}

/* A fixed phrase and an errno for each transport failure, and whether another try can help. */
int http_transport_error(int curl_code, bool too_large, const char **why, bool *retry) {
        CURLcode code = (CURLcode)curl_code;
        *retry = false;
        if (too_large || code == CURLE_FILESIZE_EXCEEDED)
                return *why = "response too large", -EFBIG;
        switch (code) {
        case CURLE_PEER_FAILED_VERIFICATION:
                *why = "TLS: the server's certificate is not trusted (ca_file) or not for this "
                       "name (server_name)";
                return -EPERM;
        case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
                return *why = "TLS: the server's public key does not match pinned_pubkey", -EPERM;
        case CURLE_SSL_CERTPROBLEM:
                return *why = "TLS: cannot use the client certificate (cert_file, key_file)",
                       -EINVAL;
        case CURLE_SSL_CACERT_BADFILE:
                return *why = "TLS: cannot read ca_file", -EINVAL;
        case CURLE_UNSUPPORTED_PROTOCOL:
                return *why = "refused: not https", -EPROTO;
        case CURLE_OPERATION_TIMEDOUT:
                return *why = "timed out (timeout_ms)", -ETIMEDOUT;
        case CURLE_COULDNT_RESOLVE_HOST:
                *retry = true;
                return *why = "cannot resolve the server's name", -EHOSTUNREACH;
        case CURLE_COULDNT_CONNECT:
                *retry = true;
                return *why = "cannot connect", -ECONNREFUSED;
        case CURLE_SSL_CONNECT_ERROR:
                *retry = true;
                return *why = "TLS handshake failed", -ECONNRESET;
        case CURLE_SEND_ERROR:
        case CURLE_RECV_ERROR:
        case CURLE_GOT_NOTHING:
        case CURLE_PARTIAL_FILE:
        case CURLE_HTTP2:
        case CURLE_HTTP2_STREAM:
                *retry = true;
                return *why = "connection lost", -ECONNRESET;
        default:
                /* libcurl's own fixed text for its code: never anything the server sent. */
                return *why = curl_easy_strerror(code), -EIO;
        }
}

uint64_t http_backoff_ms(unsigned attempt, void *e, long status) {
        uint64_t base = (uint64_t)HTTP_BACKOFF_BASE_MS << (attempt > 5 ? 5 : attempt - 1);
        if (base > HTTP_BACKOFF_MAX_MS)
                base = HTTP_BACKOFF_MAX_MS;
        /* Full spread around the base, so that hooks failing together do not retry together. */
        uint64_t ms = base / 2 + randombytes_uniform((uint32_t)base + 1);
        curl_off_t after = 0;
        if ((status == 429 || status == 503) &&
            curl_easy_getinfo(e, CURLINFO_RETRY_AFTER, &after) == CURLE_OK && after > 0) {
                uint64_t ra = (uint64_t)after * 1000;
                if (ra > HTTP_RETRY_AFTER_MAX_MS)
                        ra = HTTP_RETRY_AFTER_MAX_MS;
                if (ra > ms)
                        ms = ra;
        }
        return ms;
}

const char *http_status_phrase(long status) {
        static const struct {
                long status;
                const char *phrase;
        } phrases[] = {
                {400, "bad request"},           {401, "unauthorized"},
                {403, "permission denied"},     {404, "not found"},
                {405, "method not allowed"},    {412, "precondition failed"},
                {413, "request too large"},     {429, "too many requests"},
                {500, "internal server error"}, {501, "not implemented"},
                {502, "bad gateway"},           {503, "service unavailable"},
                {504, "gateway timeout"},
        };
        for (size_t i = 0; i < ARRAY_SIZE(phrases); i++)
                if (phrases[i].status == status)
                        return phrases[i].phrase;
        return "unexpected status";
}
