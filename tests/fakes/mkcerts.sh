#!/bin/sh
# mkcerts.sh DIR — test PKI for the fakes (EC P-256, fast, no prompts).
#
# Writes into DIR (created if missing):
#   ca.pem ca.key            "lockbox test CA"
#   server.pem server.key    signed by ca; CN=localhost, SAN DNS:localhost, IP:127.0.0.1, IP:::1
#   server.pin               curl-style pin of server.pem's public key: sha256//BASE64
#   client.pem client.key    signed by ca; CN=lockbox-client (mTLS / Vault cert auth)
#   ca2.pem ca2.key          "lockbox unrelated CA" (wrong-CA tests)
#   client2.pem client2.key  signed by ca2; also CN=lockbox-client, so only the CA differs
#   client-cas.pem           ca.pem + ca2.pem (for a server that must accept both at the TLS layer)
# Prints nothing on success; on failure prints openssl's error and exits non-zero.
set -eu

if [ $# -ne 1 ]; then
    echo "usage: mkcerts.sh DIR" >&2
    exit 2
fi
dir=$1
mkdir -p "$dir"
cd "$dir"
umask 077

log=$(mktemp "${TMPDIR:-/tmp}/mkcerts.XXXXXX")
trap 'rm -f "$log" ./*.csr ./*.ext ./*.srl' EXIT
run() {
    if ! "$@" >>"$log" 2>&1; then
        cat "$log" >&2
        echo "mkcerts.sh: failed: $*" >&2
        exit 1
    fi
}

key() { run openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }

# ca NAME "Subject CN"
ca() {
    key "$1.key"
    run openssl req -x509 -new -key "$1.key" -sha256 -days 3650 -subj "/O=lockbox tests/CN=$2" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -addext "subjectKeyIdentifier=hash" \
        -out "$1.pem"
}

# leaf NAME CA CN EXTFILE-CONTENT
leaf() {
    key "$1.key"
    run openssl req -new -key "$1.key" -subj "/O=lockbox tests/CN=$3" -out "$1.csr"
    printf '%s\n' "$4" >"$1.ext"
    run openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial \
        -sha256 -days 825 -extfile "$1.ext" -out "$1.pem"
}

ca ca "lockbox test CA"
ca ca2 "lockbox unrelated CA"

leaf server ca localhost "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1"

client_ext="basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid"
leaf client ca lockbox-client "$client_ext"
leaf client2 ca2 lockbox-client "$client_ext"

cat ca.pem ca2.pem >client-cas.pem

# Public-key pin in libcurl's CURLOPT_PINNEDPUBLICKEY form.
openssl x509 -in server.pem -pubkey -noout 2>>"$log" | openssl pkey -pubin -outform der 2>>"$log" |
    openssl dgst -sha256 -binary 2>>"$log" | openssl base64 -A 2>>"$log" >server.pin.tmp ||
    { cat "$log" >&2; exit 1; }
printf 'sha256//%s\n' "$(cat server.pin.tmp)" >server.pin
rm -f server.pin.tmp

# Keys stay 0600; certificates and the pin are public.
chmod 0644 ./*.pem server.pin
