/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "fetched.h"
#include "request/config.h"

/*
 * The "keywhiz" backend type: Square Keywhiz's secret-delivery API, read as keysync read it
 * (DESIGN §4, §5). The client is its certificate (mutual TLS); there is no login.
 *
 *   keywhiz.c        the batch (POST /batchsecret, or GET /secret/{name} each), check
 *   keywhiz_parse.c  configuration, replies, base64, metadata (pure: unit-tested, fuzzed)
 *
 * This header is what backend.c calls; keywhiz_parse.h is the rest.
 */

/* ---- entry points for backend.c ------------------------------------------------------------ */

int keywhiz_fetch_batch(const struct fetch_batch *batch);
/* GET /secrets: prints how many secrets the client may read. */
int keywhiz_check(const struct broker_config *cfg, const struct backend_config *b);
