#!/usr/bin/python3
"""mkimage.py ROOTFS NAME OUT.tar [--entrypoint ARG]... [--env K=V]...

Writes a one-layer image of the directory ROOTFS, named NAME (e.g. lockbox.test/app:1), as a
`docker save` archive (manifest.json, the image config, the layer tar) that
`ctr -n k8s.io images import OUT.tar` accepts. No registry, no Docker: the tests build their
images from the integration rootfs (busybox-static, lockbox-shim, lbx-testapp).

The layer is deterministic (sorted entries, uid/gid 0, mtime 0), so the same rootfs gives the
same image id. Hard links, devices and sockets are not expected in a test rootfs and refused.
"""

import argparse
import hashlib
import io
import json
import os
import stat
import sys
import tarfile


def add_tree(tar, root):
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        rel_dir = os.path.relpath(dirpath, root)
        for name in sorted(dirnames + filenames):
            path = os.path.join(dirpath, name)
            arc = os.path.normpath(os.path.join(rel_dir, name))
            st = os.lstat(path)
            ti = tarfile.TarInfo(arc)
            ti.mode = stat.S_IMODE(st.st_mode)
            ti.mtime = 0
            ti.uid = ti.gid = 0
            if stat.S_ISLNK(st.st_mode):
                ti.type = tarfile.SYMTYPE
                ti.linkname = os.readlink(path)
                tar.addfile(ti)
            elif stat.S_ISDIR(st.st_mode):
                ti.type = tarfile.DIRTYPE
                tar.addfile(ti)
            elif stat.S_ISREG(st.st_mode):
                ti.size = st.st_size
                with open(path, "rb") as f:
                    tar.addfile(ti, f)
            else:
                sys.exit("mkimage.py: %s: not a file, directory or symlink" % path)


def main():
    p = argparse.ArgumentParser(prog="mkimage.py")
    p.add_argument("rootfs")
    p.add_argument("name")
    p.add_argument("out")
    p.add_argument("--entrypoint", action="append", default=[])
    p.add_argument("--env", action="append", default=[])
    a = p.parse_args()

    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w", format=tarfile.PAX_FORMAT) as t:
        add_tree(t, a.rootfs)
    layer_bytes = layer.getvalue()
    diff_id = "sha256:" + hashlib.sha256(layer_bytes).hexdigest()
    env = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"] + a.env
    config = {
        "architecture": "amd64", "os": "linux", "created": "1970-01-01T00:00:00Z",
        "config": {"Env": env, "Entrypoint": a.entrypoint or None, "WorkingDir": "/"},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created": "1970-01-01T00:00:00Z", "created_by": "mkimage.py"}],
    }
    config_bytes = json.dumps(config, sort_keys=True).encode()
    config_name = hashlib.sha256(config_bytes).hexdigest() + ".json"
    layer_name = diff_id[7:] + "/layer.tar"
    manifest = [{"Config": config_name, "RepoTags": [a.name], "Layers": [layer_name]}]

    with tarfile.open(a.out, "w") as out:
        for name, data in ((layer_name, layer_bytes), (config_name, config_bytes),
                           ("manifest.json", json.dumps(manifest).encode())):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mtime = 0
            out.addfile(ti, io.BytesIO(data))


if __name__ == "__main__":
    main()
