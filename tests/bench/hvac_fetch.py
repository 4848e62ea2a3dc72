#!/usr/bin/python3
"""hvac_fetch.py ADDR CA_FILE TOKEN_FILE N -- the Python alternative that make bench times.

Reads the KV v2 secrets secret/bench/s001 .. sNNN with Debian's python3-hvac, one after the
other on one kept-alive session, as a deployment script would, and keeps field "value" of each.
Prints one line, the number of secrets and of bytes read, never a value. Run it with
/usr/bin/python3 (python3-hvac is a Debian package).
"""

import os
import sys

# requests reads proxy variables from the environment; the servers are on loopback.
for _v in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
    os.environ.pop(_v, None)

import hvac  # noqa: E402


def main():
    if len(sys.argv) != 5:
        sys.stderr.write("usage: hvac_fetch.py ADDR CA_FILE TOKEN_FILE N\n")
        return 2
    addr, ca_file, token_file, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    with open(token_file, encoding="ascii") as f:
        token = f.read().strip()
    client = hvac.Client(url=addr, token=token, verify=ca_file)
    values = []
    for i in range(1, n + 1):
        r = client.secrets.kv.v2.read_secret_version(path="bench/s%03d" % i, mount_point="secret")
        values.append(r["data"]["data"]["value"])
    print("fetched %d secrets, %d bytes" % (len(values), sum(len(v) for v in values)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
