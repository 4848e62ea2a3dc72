"""vault_k8s.py — Vault's kubernetes auth method for vault_fake.py, as
hashicorp/vault-plugin-auth-kubernetes (path_config.go, path_role.go, path_login.go) and the
JWT validation it uses (hashicorp/cap jwt) answer.

  auth/<mount>/config      kubernetes_host (required), pem_keys, issuer, disable_iss_validation,
                           kubernetes_ca_cert, token_reviewer_jwt (kept, unused)
  auth/<mount>/role/<name> bound_service_account_names, bound_service_account_namespaces
                           ("*" allowed, globs as strutil.StrListContainsGlob), audience,
                           token_policies (policies), token_ttl (ttl), token_max_ttl (max_ttl),
                           alias_name_source
  auth/<mount>/login       role, jwt

A login validates as the plugin does: the JWT is parsed (RS256/384/512, ES256/384/512); with
pem_keys its signature must verify with one of them (else 403 "permission denied"); issuer (when
configured), audience (when the role has one), exp/nbf/iat (one minute of leeway), then the
bound service-account names and namespaces ("service account name not authorized",
"namespace not authorized"). Claims are read from projected tokens ("kubernetes.io": {namespace,
pod, serviceaccount}) before legacy ones ("kubernetes.io/serviceaccount/...").

The plugin then asks the cluster's TokenReview API whether the token is valid now. There is no
cluster here: the fake stands in for the API server with what the test seeds as the cluster
("tokenreview": {"public_keys": [PEM...], "accept": [JWT...], "reject": [JWT...]}): a token
passes the review when its signature verifies with the cluster's public keys and it has not
expired, or when it is one of "accept" (and a role's legacy "jwt"/"jwts"), and it is not one
of "reject" (a deleted pod's token). Signatures need python3-cryptography (Debian's); without
it every signature check fails, so such tests report what they need.
"""

import base64
import fnmatch
import json
import re

try:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
    HAVE_CRYPTO = True
except ImportError:                     # pragma: no cover - deps.sh installs it
    HAVE_CRYPTO = False

ALGS = {"RS256": ("rsa", "sha256"), "RS384": ("rsa", "sha384"), "RS512": ("rsa", "sha512"),
        "ES256": ("ec", "sha256"), "ES384": ("ec", "sha384"), "ES512": ("ec", "sha512")}
LEEWAY = 60                             # go-jose's jwt.DefaultLeeway, cap's clock skew leeway
E_PERMISSION_DENIED = "permission denied"


class AuthError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.errors = [message]


def b64url(s):
    if not isinstance(s, str) or not re.fullmatch(r"[A-Za-z0-9_-]*", s):
        raise ValueError("illegal base64 data")
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def parse_jwt(token):
    """(header, claims, signing input, signature) of a JWS compact token, or ValueError."""
    parts = token.split(".") if isinstance(token, str) else []
    if len(parts) != 3:
        raise ValueError("go-jose/go-jose: compact JWS format must have three parts")
    header = json.loads(b64url(parts[0]))
    claims = json.loads(b64url(parts[1]))
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise ValueError("go-jose/go-jose: invalid payload")
    return header, claims, (parts[0] + "." + parts[1]).encode(), b64url(parts[2])


def load_keys(pems):
    """Public keys from PEM texts (each may hold several), as cap's NewStaticKeySet parses them."""
    if not HAVE_CRYPTO:
        raise ValueError("python3-cryptography is not installed: cannot parse pem_keys")
    keys = []
    for pem in pems:
        for block in re.findall(r"-----BEGIN [A-Z ]+-----.*?-----END [A-Z ]+-----", pem, re.S):
            key = serialization.load_pem_public_key(block.encode())
            if isinstance(key, (rsa.RSAPublicKey, ec.EllipticCurvePublicKey)):
                keys.append(key)
    if pems and not keys:
        raise ValueError("data does not contain any valid RSA or ECDSA public keys")
    return keys


def verify(token, keys):
    """True when one of keys verifies the token's signature."""
    if not HAVE_CRYPTO:
        return False
    try:
        header, _, signing, sig = parse_jwt(token)
    except ValueError:
        return False
    kind, digest = ALGS.get(header.get("alg"), (None, None))
    if kind is None:
        return False
    h = {"sha256": hashes.SHA256, "sha384": hashes.SHA384, "sha512": hashes.SHA512}[digest]()
    for key in keys:
        try:
            if kind == "rsa" and isinstance(key, rsa.RSAPublicKey):
                key.verify(sig, signing, padding.PKCS1v15(), h)
                return True
            if kind == "ec" and isinstance(key, ec.EllipticCurvePublicKey):
                half = len(sig) // 2
                der = utils.encode_dss_signature(int.from_bytes(sig[:half], "big"),
                                                 int.from_bytes(sig[half:], "big"))
                key.verify(der, signing, ec.ECDSA(h))
                return True
        except (InvalidSignature, ValueError):
            continue
    return False


def service_account(claims):
    """(namespace, name, uid, secret_name), projected claims first, as the plugin reads them."""
    k8s = claims.get("kubernetes.io")
    if isinstance(k8s, dict):
        sa = k8s.get("serviceaccount") or {}
        return (k8s.get("namespace") or "", sa.get("name") or "", sa.get("uid") or "", "")
    return (claims.get("kubernetes.io/serviceaccount/namespace") or "",
            claims.get("kubernetes.io/serviceaccount/service-account.name") or "",
            claims.get("kubernetes.io/serviceaccount/service-account.uid") or "",
            claims.get("kubernetes.io/serviceaccount/secret.name") or "")


def check_times(claims, now):
    """cap's validateAll: exp, nbf, iat with leeway (all absent: no check)."""
    def num(k):
        v = claims.get(k)
        return int(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else 0
    iat, exp, nbf = num("iat"), num("exp"), num("nbf")
    if not (iat or exp or nbf):
        return
    if not exp:
        exp = max(iat, nbf) + 150
    if not nbf:
        nbf = iat if iat else exp - 150
    if now + LEEWAY < nbf:
        raise AuthError(403, "invalid not before (nbf) claim: token not yet valid")
    if now - LEEWAY > exp:
        raise AuthError(403, "invalid expiration time (exp) claim: token is expired")
    if iat and now + LEEWAY < iat:
        raise AuthError(403, "invalid issued at (iat) claim: token issued in the future")


def glob_match(patterns, value):
    """strutil.StrListContainsGlob: '*' matches anything, nothing else is special."""
    return any(fnmatch.fnmatchcase(value, p.replace("[", "[[]").replace("?", "[?]"))
               for p in patterns)


def str_list(v):
    """framework.TypeCommaStringSlice: a list, or a comma-separated string."""
    if v is None:
        return []
    if isinstance(v, str):
        return [x.strip() for x in v.split(",") if x.strip()]
    return [str(x) for x in v]


def config_from(body, parse_duration=None):
    """POST auth/<mount>/config."""
    host = body.get("kubernetes_host") or ""
    if not host:
        raise AuthError(400, "no host provided")
    pems = str_list(body.get("pem_keys")) if isinstance(body.get("pem_keys"), list) else \
        ([body["pem_keys"]] if body.get("pem_keys") else [])
    try:
        keys = load_keys(pems)
    except ValueError as e:
        raise AuthError(400, str(e))
    return {"kubernetes_host": host, "kubernetes_ca_cert": body.get("kubernetes_ca_cert") or "",
            "pem_keys": pems, "keys": keys, "issuer": body.get("issuer") or "",
            "disable_iss_validation": bool(body.get("disable_iss_validation", True)),
            "token_reviewer_jwt_set": bool(body.get("token_reviewer_jwt"))}


def config_data(cfg):
    """GET auth/<mount>/config."""
    return {"kubernetes_host": cfg["kubernetes_host"],
            "kubernetes_ca_cert": cfg["kubernetes_ca_cert"], "pem_keys": cfg["pem_keys"],
            "issuer": cfg["issuer"], "disable_iss_validation": cfg["disable_iss_validation"],
            "disable_local_ca_jwt": False, "token_reviewer_jwt_set": cfg["token_reviewer_jwt_set"],
            "use_annotations_as_alias_metadata": False}


def role_from(body, parse_duration):
    """POST auth/<mount>/role/<name> (path_role.go's checks and error texts)."""
    names = str_list(body.get("bound_service_account_names"))
    if not names:
        raise AuthError(400, '"bound_service_account_names" can not be empty')
    if len(names) > 1 and "*" in names:
        raise AuthError(400, 'can not mix "*" with values')
    namespaces = str_list(body.get("bound_service_account_namespaces"))
    if not namespaces and not body.get("bound_service_account_namespace_selector"):
        raise AuthError(400, '"bound_service_account_namespaces" can not be empty if '
                             '"bound_service_account_namespace_selector" is not set')
    if len(namespaces) > 1 and "*" in namespaces:
        raise AuthError(400, 'can not mix "*" with values')
    ttl = parse_duration(body.get("token_ttl", body.get("ttl")))
    max_ttl = parse_duration(body.get("token_max_ttl", body.get("max_ttl")))
    if ttl and max_ttl and ttl > max_ttl:
        raise AuthError(400, "token ttl should not be greater than token max ttl")
    return {"bound_service_account_names": names,
            "bound_service_account_namespaces": namespaces,
            "audience": body.get("audience") or "",
            "alias_name_source": body.get("alias_name_source") or "serviceaccount_uid",
            "policies": str_list(body.get("token_policies", body.get("policies"))),
            "ttl": ttl, "max_ttl": max_ttl,
            "jwts": str_list(body.get("jwts")) + ([body["jwt"]] if body.get("jwt") else [])}


def role_data(r):
    d = {"bound_service_account_names": r["bound_service_account_names"],
         "bound_service_account_namespaces": r["bound_service_account_namespaces"],
         "alias_name_source": r["alias_name_source"], "token_policies": r["policies"],
         "policies": r["policies"], "token_ttl": r["ttl"], "ttl": r["ttl"],
         "token_max_ttl": r["max_ttl"], "max_ttl": r["max_ttl"], "token_type": "default"}
    if r["audience"]:
        d["audience"] = r["audience"]
    return d


def review(token, cluster, role, now):
    """The TokenReview stand-in (see the top of this file)."""
    if token in cluster.get("reject", ()):
        return False
    if token in role["jwts"] or token in cluster.get("accept", ()):
        return True
    if not cluster.get("keys") or not verify(token, cluster["keys"]):
        return False
    try:
        check_times(parse_jwt(token)[1], now)
    except (AuthError, ValueError):
        return False
    return True


def login(body, roles, cfg, cluster, now):
    """POST auth/<mount>/login: (role name, namespace, name, uid, secret name) or AuthError."""
    name, jwt = body.get("role") or "", body.get("jwt") or ""
    if not name:
        raise AuthError(400, "missing role")
    if not jwt:
        raise AuthError(400, "missing jwt")
    role = roles.get(name)
    if role is None:
        raise AuthError(400, 'invalid role name "%s"' % name)
    if cfg is None:
        raise AuthError(500, "could not load backend configuration")
    try:
        header, claims, _, _ = parse_jwt(jwt)
    except ValueError:
        raise AuthError(403, E_PERMISSION_DENIED)   # "error verifying token signature: ..."
    if cfg["keys"] and not verify(jwt, cfg["keys"]):
        raise AuthError(403, E_PERMISSION_DENIED)
    if header.get("alg") not in ALGS:
        raise AuthError(403, "invalid algorithm (alg) header parameter: token signed with "
                             "unexpected algorithm")
    if cfg["issuer"] and not cfg["disable_iss_validation"] and claims.get("iss") != cfg["issuer"]:
        raise AuthError(403, "invalid issuer (iss) claim")
    aud = claims.get("aud")
    aud = [aud] if isinstance(aud, str) else (aud or [])
    if role["audience"] and role["audience"] not in aud:
        raise AuthError(403, "invalid audience (aud) claim: audience claim does not match any "
                             "expected audience")
    check_times(claims, now)
    ns, sa, uid, secret_name = service_account(claims)
    names = role["bound_service_account_names"]
    if not (len(names) == 1 and names[0] == "*") and not glob_match(names, sa):
        raise AuthError(403, "service account name not authorized")
    spaces = role["bound_service_account_namespaces"]
    if not spaces or not (spaces[0] == "*" or glob_match(spaces, ns)):
        raise AuthError(403, "namespace not authorized")
    if not review(jwt, cluster, role, now):
        raise AuthError(403, E_PERMISSION_DENIED)
    if not uid:
        raise AuthError(500, "could not parse UID from claims")
    return name, ns, sa, uid, secret_name
