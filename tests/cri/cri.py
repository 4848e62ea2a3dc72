#!/usr/bin/python3
"""cri.py — a small CRI v1 client for lockbox's tests: it talks to containerd's CRI plugin over
its gRPC socket as the kubelet does (tests/cri/api.proto: upstream runtime.v1's names and field
numbers), so that the tests exercise the runtime's real code paths without a kubelet.

Run with /usr/bin/python3 (Debian's python3-grpcio and python3-grpc-tools). The proto is compiled
at run time with grpc_tools.protoc into $LBX_CRI_GEN (a directory the caller owns, reused by
later calls) or, without it, into a temporary directory removed at exit.

  cri.py --socket SOCK version
  cri.py --socket SOCK runp --name N --namespace NS --uid UID [--handler H] [--log-dir D]
                            [--cgroup-parent P] [--annotation K=V]... [--label K=V]...
                                                                     prints the pod id
  cri.py --socket SOCK create POD --name N --image IMG [--log-path P] [--env K=V]...
                            [--mount HOST:CONTAINER[:ro]]... [--annotation K=V]...
                            [--user UID] [--readonly-rootfs] [--start] -- COMMAND [ARG...]
                                     prints the container id (--start: then StartContainer)
  cri.py --socket SOCK start|rm ID          stop ID [--timeout S]
  cri.py --socket SOCK stopp POD            rmp [--stop] POD...
  cri.py --socket SOCK inspect ID           ContainerStatus (verbose: with info) as JSON
  cri.py --socket SOCK inspectp POD         PodSandboxStatus as JSON
  cri.py --socket SOCK ps [--pod POD]       one line a container: id, name, state
  cri.py --socket SOCK wait ID [--timeout S]
        waits until the container has exited, prints "exit=N" and exits N (255 on timeout)

Every pod is a host-network pod (namespace NODE, empty hostname): no CNI is needed. The
sandbox config sent with CreateContainer is rebuilt from PodSandboxStatus (metadata, labels,
annotations; the log directory and cgroup parent from its verbose info) plus the same Linux
settings, as the kubelet resends the config it ran the pod with. A failed call prints "cri.py: METHOD: STATUS: DETAILS" on stderr and exits 1.
"""

import argparse
import atexit
import importlib
import json
import os
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def load_api():
    import grpc
    gen = os.environ.get("LBX_CRI_GEN")
    if gen:
        os.makedirs(gen, exist_ok=True)
    else:
        gen = tempfile.mkdtemp(prefix="lbx-cri-")
        atexit.register(shutil.rmtree, gen, True)
    if not os.path.exists(os.path.join(gen, "api_pb2_grpc.py")):
        from grpc_tools import protoc
        # Into a directory of its own first, then renamed: concurrent callers never import a
        # half-written module.
        tmp = tempfile.mkdtemp(dir=gen)
        rc = protoc.main(["protoc", "-I", HERE, "--python_out=" + tmp, "--grpc_python_out=" + tmp,
                          os.path.join(HERE, "api.proto")])
        if rc != 0:
            sys.exit("cri.py: protoc failed on api.proto (%d)" % rc)
        for f in ("api_pb2.py", "api_pb2_grpc.py"):
            os.replace(os.path.join(tmp, f), os.path.join(gen, f))
        shutil.rmtree(tmp, True)
    sys.path.insert(0, gen)
    return grpc, importlib.import_module("api_pb2"), importlib.import_module("api_pb2_grpc")


grpc, pb, pb_grpc = load_api()


def pairs(items):
    out = {}
    for kv in items or []:
        if "=" not in kv:
            sys.exit("cri.py: %r: KEY=VALUE expected" % kv)
        k, v = kv.split("=", 1)
        out[k] = v
    return out


def host_network():
    return pb.NamespaceOption(network=pb.NODE, pid=pb.CONTAINER, ipc=pb.POD)


def linux_sandbox(cgroup_parent):
    return pb.LinuxPodSandboxConfig(
        cgroup_parent=cgroup_parent or "",
        security_context=pb.LinuxSandboxSecurityContext(namespace_options=host_network()))


def sandbox_config(name, namespace, uid, annotations, labels, log_dir, cgroup_parent):
    # An empty hostname: runc refuses one without a UTS namespace, and the kubelet sends none
    # for a host-network pod.
    return pb.PodSandboxConfig(
        metadata=pb.PodSandboxMetadata(name=name, uid=uid, namespace=namespace, attempt=0),
        hostname="", log_directory=log_dir or "", dns_config=pb.DNSConfig(),
        labels=labels, annotations=annotations, linux=linux_sandbox(cgroup_parent))


def call(stub, method, req, timeout=60):
    try:
        return getattr(stub, method)(req, timeout=timeout)
    except grpc.RpcError as e:
        print("cri.py: %s: %s: %s" % (method, e.code().name, e.details()), file=sys.stderr)
        sys.exit(1)


def msg_json(m):
    from google.protobuf import json_format
    return json_format.MessageToJson(m, preserving_proto_field_name=True, sort_keys=True)


def cmd_runp(stub, a):
    labels = pairs(a.label)
    # The kubelet's own labels on every sandbox (kuberuntime's newPodLabels).
    labels.update({"io.kubernetes.pod.name": a.name, "io.kubernetes.pod.namespace": a.namespace,
                   "io.kubernetes.pod.uid": a.uid})
    cfg = sandbox_config(a.name, a.namespace, a.uid, pairs(a.annotation), labels, a.log_dir,
                         a.cgroup_parent)
    r = call(stub, "RunPodSandbox", pb.RunPodSandboxRequest(config=cfg, runtime_handler=a.handler))
    print(r.pod_sandbox_id)


def parse_mount(spec):
    parts = spec.split(":")
    if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] != "ro"):
        sys.exit("cri.py: --mount %r: HOST:CONTAINER[:ro] expected" % spec)
    return pb.Mount(host_path=parts[0], container_path=parts[1], readonly=len(parts) == 3)


def cmd_create(stub, a):
    st = call(stub, "PodSandboxStatus", pb.PodSandboxStatusRequest(pod_sandbox_id=a.pod)).status
    md = st.metadata
    info = json.loads(call(stub, "PodSandboxStatus", pb.PodSandboxStatusRequest(
        pod_sandbox_id=a.pod, verbose=True)).info.get("info", "{}"))
    linux = info.get("config", {}).get("linux", {})
    sb = sandbox_config(md.name, md.namespace, md.uid, dict(st.annotations), dict(st.labels),
                        info.get("config", {}).get("log_directory"), linux.get("cgroup_parent"))
    sec = pb.LinuxContainerSecurityContext(namespace_options=host_network(),
                                           readonly_rootfs=a.readonly_rootfs)
    if a.user is not None:
        sec.run_as_user.value = a.user
    labels = {"io.kubernetes.container.name": a.name, "io.kubernetes.pod.name": md.name,
              "io.kubernetes.pod.namespace": md.namespace, "io.kubernetes.pod.uid": md.uid}
    cfg = pb.ContainerConfig(
        metadata=pb.ContainerMetadata(name=a.name, attempt=a.attempt),
        image=pb.ImageSpec(image=a.image), command=a.command, args=[],
        envs=[pb.KeyValue(key=k, value=v) for k, v in pairs(a.env).items()],
        mounts=[parse_mount(m) for m in a.mount or []], labels=labels,
        annotations=pairs(a.annotation), log_path=a.log_path or "",
        linux=pb.LinuxContainerConfig(security_context=sec))
    r = call(stub, "CreateContainer",
             pb.CreateContainerRequest(pod_sandbox_id=a.pod, config=cfg, sandbox_config=sb))
    # The id first (and flushed): a failed StartContainer still leaves the caller its id.
    print(r.container_id, flush=True)
    if a.start:
        call(stub, "StartContainer", pb.StartContainerRequest(container_id=r.container_id))


def cmd_wait(stub, a):
    deadline = time.monotonic() + a.timeout
    while True:
        st = call(stub, "ContainerStatus", pb.ContainerStatusRequest(container_id=a.id)).status
        if st.state == pb.CONTAINER_EXITED:
            print("exit=%d" % st.exit_code)
            sys.exit(st.exit_code & 0xff)
        if time.monotonic() >= deadline:
            print("cri.py: wait: container %s still %s after %g s" %
                  (a.id, pb.ContainerState.Name(st.state), a.timeout), file=sys.stderr)
            sys.exit(255)
        time.sleep(0.05)


def main():
    p = argparse.ArgumentParser(prog="cri.py")
    p.add_argument("--socket", required=True)
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("version")
    r = sub.add_parser("runp")
    r.add_argument("--name", required=True)
    r.add_argument("--namespace", required=True)
    r.add_argument("--uid", required=True)
    r.add_argument("--handler", default="")
    r.add_argument("--log-dir")
    r.add_argument("--cgroup-parent")
    r.add_argument("--annotation", action="append")
    r.add_argument("--label", action="append")
    c = sub.add_parser("create")
    c.add_argument("pod")
    c.add_argument("--name", required=True)
    c.add_argument("--image", required=True)
    c.add_argument("--attempt", type=int, default=0)
    c.add_argument("--log-path")
    c.add_argument("--env", action="append")
    c.add_argument("--mount", action="append")
    c.add_argument("--annotation", action="append")
    c.add_argument("--user", type=int)
    c.add_argument("--readonly-rootfs", action="store_true")
    c.add_argument("--start", action="store_true")
    c.add_argument("command", nargs="+")
    for name in ("start", "rm", "inspect"):
        sub.add_parser(name).add_argument("id")
    s = sub.add_parser("stop")
    s.add_argument("id")
    s.add_argument("--timeout", type=int, default=0)
    for name in ("stopp", "inspectp"):
        sub.add_parser(name).add_argument("pod")
    rmp = sub.add_parser("rmp")
    rmp.add_argument("pods", nargs="+")
    rmp.add_argument("--stop", action="store_true")
    ps = sub.add_parser("ps")
    ps.add_argument("--pod", default="")
    w = sub.add_parser("wait")
    w.add_argument("id")
    w.add_argument("--timeout", type=float, default=30)
    a = p.parse_args()

    channel = grpc.insecure_channel("unix://" + a.socket)
    stub = pb_grpc.RuntimeServiceStub(channel)
    if a.cmd == "version":
        print(msg_json(call(stub, "Version", pb.VersionRequest(version="v1"))))
    elif a.cmd == "runp":
        cmd_runp(stub, a)
    elif a.cmd == "create":
        cmd_create(stub, a)
    elif a.cmd == "start":
        call(stub, "StartContainer", pb.StartContainerRequest(container_id=a.id))
    elif a.cmd == "stop":
        call(stub, "StopContainer", pb.StopContainerRequest(container_id=a.id, timeout=a.timeout),
             timeout=a.timeout + 60)
    elif a.cmd == "rm":
        call(stub, "RemoveContainer", pb.RemoveContainerRequest(container_id=a.id))
    elif a.cmd == "stopp":
        call(stub, "StopPodSandbox", pb.StopPodSandboxRequest(pod_sandbox_id=a.pod))
    elif a.cmd == "rmp":
        for pod in a.pods:
            if a.stop:
                call(stub, "StopPodSandbox", pb.StopPodSandboxRequest(pod_sandbox_id=pod))
            call(stub, "RemovePodSandbox", pb.RemovePodSandboxRequest(pod_sandbox_id=pod))
    elif a.cmd == "inspect":
        print(msg_json(call(stub, "ContainerStatus",
                            pb.ContainerStatusRequest(container_id=a.id, verbose=True))))
    elif a.cmd == "inspectp":
        print(msg_json(call(stub, "PodSandboxStatus",
                            pb.PodSandboxStatusRequest(pod_sandbox_id=a.pod, verbose=True))))
    elif a.cmd == "ps":
        f = pb.ContainerFilter(pod_sandbox_id=a.pod)
        for ctr in call(stub, "ListContainers", pb.ListContainersRequest(filter=f)).containers:
            print(ctr.id, ctr.metadata.name, pb.ContainerState.Name(ctr.state))
    elif a.cmd == "wait":
        cmd_wait(stub, a)


if __name__ == "__main__":
    main()
