/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lockbox-runtime: a bundle's config.json (the request test and the hooks it adds) and, from
 * the same bytes split into lines, a runtime command line.
 */
#include "fuzz.h"

#include "cmd/runtime.h"
#include "request/runtime_config.h"

#define ARGS_MAX 64

static const struct runtime_hook fuzz_hook = {
        .path = "/usr/local/bin/lockbox-broker",
        .config = "/etc/lockbox/broker.json",
        .state_dir = "/run/lockbox",
};

static char *dump(const json_t *j) {
        char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
        fuzz_assert(s != NULL);
        return s;
}

static void dump_free(char *s) {
        json_free_t f;
        json_get_alloc_funcs(NULL, &f);
        f(s);
}

/* Adding hooks keeps every key where it was; a refusal changes nothing; twice adds nothing. */
static void check_config(json_t *config) {
        size_t n_keys = json_object_size(config);
        bool wants = runtime_config_wants_secrets(config);
        char *before = dump(config);

        int r = runtime_config_add_hooks(config, &fuzz_hook, NULL);
        fuzz_assert(r == 0 || r == 1 || r == -EINVAL);
        char *after = dump(config);
        if (r <= 0)
                fuzz_assert(strcmp(before, after) == 0);
        if (r == 1) {
                json_t *hooks = json_object_get(config, "hooks");
                fuzz_assert(json_is_object(hooks));
                fuzz_assert(json_object_size(config) - n_keys <= 1);
                /* Same keys in the same order: the old text, up to where "hooks" was or is. */
                const char *k;
                json_t *v;
                size_t i = 0;
                json_object_foreach(config, k, v) {
                        if (i++ == n_keys)
                                fuzz_assert(strcmp(k, "hooks") == 0);
                }
                fuzz_assert(runtime_config_add_hooks(config, &fuzz_hook, NULL) == 0);
                char *again = dump(config);
                fuzz_assert(strcmp(after, again) == 0);
                dump_free(again);
        }
        fuzz_assert(runtime_config_wants_secrets(config) == wants);
        dump_free(before);
        dump_free(after);
}

/* Every argument after the wrapper's own options reaches the runtime, in order, untouched. */
static void check_args(const uint8_t *data, size_t size) {
        char *text = fuzz_strndup(data, size);
        char *argv[ARGS_MAX + 2] = {"lockbox-runtime"};
        int argc = 1;
        for (char *p = text; p && argc <= ARGS_MAX; argc++) {
                argv[argc] = p;
                p = strchr(p, '\n');
                if (p)
                        *p++ = '\0';
        }
        argv[argc] = NULL;

        struct runtime_args a;
        if (runtime_args_parse(argc, argv, &a) == 0) {
                fuzz_assert(a.argc >= 1 && a.argc <= argc && a.argv[a.argc] == NULL);
                fuzz_assert(a.runtime && a.argv[0] == a.runtime);
                int skipped = argc - a.argc;
                for (int i = 1; i < a.argc; i++)
                        fuzz_assert(a.argv[i] == argv[i + skipped]);
                fuzz_assert(!a.create || a.command);
                fuzz_assert(!a.bundle || (a.bundle >= text && a.bundle <= text + size));
                runtime_args_done(&a);
        }
        free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        json_t *config = NULL;
        char err[128];

        fuzz_init();
        check_args(data, size);
        if (json_parse_strict((const char *)data, size, 1 << 20, &config, err, sizeof err) < 0)
                return 0;
        if (json_is_object(config))
                check_config(config);
        json_decref(config);
        return 0;
}
