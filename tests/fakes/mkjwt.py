#!/usr/bin/python3
"""mkjwt.py — Kubernetes service-account tokens for the tests, signed as an API server signs
them (python3-cryptography):

  mkjwt.py keygen DIR [--ec]        DIR/sa.key (private, 0600) and DIR/sa.pub (PEM public key,
                                    what kube-apiserver's --service-account-key-file holds):
                                    RSA 2048 (RS256), or P-256 (ES256) with --ec
  mkjwt.py mint KEY --namespace NS --service-account SA [--pod NAME] [--pod-uid UID]
                [--iss ISS] [--aud AUD]... [--lifetime SECONDS] [--expired] [--legacy]
                                    prints a token signed with KEY

A minted token is shaped as the kubelet's projected token (TokenRequest bound to a pod):
header {"alg", "kid"}; claims aud, exp, iat, iss, nbf, sub "system:serviceaccount:NS:SA" and
"kubernetes.io": {namespace, pod {name, uid}, serviceaccount {name, uid}, warnafter}. --legacy
makes the old secret-based token instead (iss "kubernetes/serviceaccount", the
"kubernetes.io/serviceaccount/..." claims, no exp). Uids are derived from the names, so two
tokens of one service account agree on its uid. --expired: exp an hour ago.
"""

import argparse
import base64
import hashlib
import json
import os
import sys
import time
import uuid

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

ISSUER = "https://kubernetes.default.svc.cluster.local"


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def uid_of(*names):
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "lbx-k8s:" + "/".join(names)))


def keygen(a):
    os.makedirs(a.dir, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1()) if a.ec else \
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
    priv = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())
    pub = key.public_key().public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    fd = os.open(os.path.join(a.dir, "sa.key"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(priv)
    with open(os.path.join(a.dir, "sa.pub"), "wb") as f:
        f.write(pub)


def claims_of(a, now):
    if a.legacy:
        return {"iss": "kubernetes/serviceaccount",
                "kubernetes.io/serviceaccount/namespace": a.namespace,
                "kubernetes.io/serviceaccount/secret.name": a.service_account + "-token-lbx",
                "kubernetes.io/serviceaccount/service-account.name": a.service_account,
                "kubernetes.io/serviceaccount/service-account.uid": uid_of(a.namespace,
                                                                          a.service_account),
                "sub": "system:serviceaccount:%s:%s" % (a.namespace, a.service_account)}
    iat = now - 7200 if a.expired else now
    exp = now - 3600 if a.expired else now + a.lifetime
    k8s = {"namespace": a.namespace,
           "serviceaccount": {"name": a.service_account,
                              "uid": uid_of(a.namespace, a.service_account)},
           "warnafter": iat + 3607}
    if a.pod:
        k8s["pod"] = {"name": a.pod, "uid": a.pod_uid or uid_of(a.namespace, "pod", a.pod)}
    return {"aud": a.aud or [ISSUER], "exp": exp, "iat": iat, "iss": a.iss or ISSUER,
            "kubernetes.io": k8s, "nbf": iat,
            "sub": "system:serviceaccount:%s:%s" % (a.namespace, a.service_account)}


def mint(a):
    with open(a.key, "rb") as f:
        key = serialization.load_pem_private_key(f.read(), None)
    is_ec = isinstance(key, ec.EllipticCurvePrivateKey)
    pub = key.public_key().public_bytes(serialization.Encoding.DER,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    header = {"alg": "ES256" if is_ec else "RS256", "kid": b64(hashlib.sha256(pub).digest())}
    claims = claims_of(a, int(time.time()))
    signing = (b64(json.dumps(header, separators=(",", ":")).encode()) + "." +
               b64(json.dumps(claims, separators=(",", ":")).encode())).encode()
    if is_ec:
        r, s = utils.decode_dss_signature(key.sign(signing, ec.ECDSA(hashes.SHA256())))
        sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    else:
        sig = key.sign(signing, padding.PKCS1v15(), hashes.SHA256())
    print(signing.decode() + "." + b64(sig))


def main():
    p = argparse.ArgumentParser(prog="mkjwt.py")
    sub = p.add_subparsers(dest="cmd", required=True)
    k = sub.add_parser("keygen")
    k.add_argument("dir")
    k.add_argument("--ec", action="store_true")
    m = sub.add_parser("mint")
    m.add_argument("key")
    m.add_argument("--namespace", required=True)
    m.add_argument("--service-account", required=True)
    m.add_argument("--pod")
    m.add_argument("--pod-uid")
    m.add_argument("--iss")
    m.add_argument("--aud", action="append")
    m.add_argument("--lifetime", type=int, default=3607)
    m.add_argument("--expired", action="store_true")
    m.add_argument("--legacy", action="store_true")
    a = p.parse_args()
    keygen(a) if a.cmd == "keygen" else mint(a)


if __name__ == "__main__":
    sys.exit(main())
