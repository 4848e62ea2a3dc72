/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* What an HTTP outcome means (http.c's retries and messages): pure, apart from libcurl's own
 * fixed texts and the Retry-After header of a finished transfer. No libcurl type here: http.h
 * includes this header for http_status_phrase, and its users need not see libcurl's. */

/* 412, 429 and 5xx but 501: another try may help. */
bool http_status_is_retried(long status);

/* A fixed phrase (never server text) and a negative errno for a transport failure, and whether
 * another try can help. */
int http_transport_error(int curl_code, bool too_large, const char **why, bool *retry);

/* Milliseconds before the next try of a transfer that made attempt tries: jittered exponential
 * backoff, or the server's Retry-After (429, 503) within bounds. */
uint64_t http_backoff_ms(unsigned attempt, void *easy, long status);

/* A short, fixed phrase for a status code ("not found", "service unavailable"). */
const char *http_status_phrase(long status);
