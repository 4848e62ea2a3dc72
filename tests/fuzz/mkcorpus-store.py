#!/usr/bin/env python3
"""Write the seed corpus of fuzz_store.c: files sealed as broker/fetch/store.c seals them, under the
fuzz target's fixed key (bytes 0..31), through libsodium itself (ctypes), plus values for the
round-trip mode. Run from the repository root; the output is committed."""
import ctypes
import ctypes.util
import os

sodium = ctypes.CDLL(ctypes.util.find_library("sodium") or "libsodium.so.23")
assert sodium.sodium_init() >= 0
KEY = bytes(range(32))
OUT = "tests/fuzz/corpus/store"


def seal(name: bytes, value: bytes, nonce: bytes) -> bytes:
    ad = b"lockbox-store-v1:" + name
    out = ctypes.create_string_buffer(len(value) + 16)
    clen = ctypes.c_ulonglong()
    sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(
        out, ctypes.byref(clen), value, ctypes.c_ulonglong(len(value)), ad,
        ctypes.c_ulonglong(len(ad)), None, nonce, KEY)
    return b"LBXS\x01" + nonce + out.raw[: clen.value]


def write(name: str, data: bytes) -> None:
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


os.makedirs(OUT, exist_ok=True)
nonce = bytes(range(100, 124))
good = seal(b"db", b"s3cr3t-value\n", nonce)
write("open-db.bin", b"\x00" + good)
write("open-empty.bin", b"\x00" + seal(b"db", b"", nonce))
write("open-other-name.bin", b"\x00" + seal(b"other", b"s3cr3t-value\n", nonce))
write("open-bad-magic.bin", b"\x00" + b"LBXX" + good[4:])
write("open-bad-version.bin", b"\x00" + good[:4] + b"\x02" + good[5:])
write("open-truncated.bin", b"\x00" + good[:-1])
write("open-header-only.bin", b"\x00" + good[:29])
write("open-empty-file.bin", b"\x00")
write("seal-text.bin", b"\x01password=hunter2\n")
write("seal-binary.bin", b"\x03" + bytes(range(256)))
write("seal-empty.bin", b"\x01")
