"""Write the sandbox facts as JSON into /data/display/probe.html (read by the docker tests)."""

import json
import os
import socket


def writable(path):
    try:
        with open(os.path.join(path, ".probe"), "w") as out:
            out.write("x")
        return True
    except OSError:
        return False


def can_connect():
    try:
        socket.create_connection(("1.1.1.1", 53), timeout=2).close()
        return True
    except OSError:
        return False


with open("/proc/self/status") as handle:
    status = dict(line.split(":\t", 1) for line in handle.read().splitlines())
facts = {
    "uid": os.getuid(),
    "gid": os.getgid(),
    "root_writable": writable("/") or writable("/etc"),
    "tmp_writable": writable("/tmp"),
    "output_writable": writable("/data/output"),
    "interfaces": sorted(os.listdir("/sys/class/net")),
    "can_connect": can_connect(),
    "cap_eff": status["CapEff"].strip(),
    "no_new_privs": status.get("NoNewPrivs", "").strip(),
    "env": {k: v for k, v in os.environ.items() if k.startswith("probe_")},
}
with open("/data/display/probe.html", "w") as out:
    out.write(json.dumps(facts))
