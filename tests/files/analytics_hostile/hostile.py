"""Link /data/display/report.html and /data/output/0.parquet.gz to $LINK_TO (a host path).

WHAT picks the attack: ``display``, ``output`` or ``both`` (the default); ``fifo`` makes the
output a FIFO, which a runner that opens it blocking would wait on for ever; ``huge`` writes a
10 GiB (sparse) output, ``big`` a 3 MiB display, and ``many`` 5,000 files in /data/output, for
the host to copy and read; ``noisy`` prints 40 MB, half of it on one line.
"""

import os

target = os.environ.get("LINK_TO", "/etc/shadow")
what = os.environ.get("WHAT", "both")
if what in ("display", "both"):
    os.symlink(target, "/data/display/report.html")
if what in ("output", "both"):
    os.symlink(target, "/data/output/0.parquet.gz")
if what == "fifo":
    os.mkfifo("/data/output/0.parquet.gz")
if what == "huge":
    with open("/data/output/0.parquet.gz", "wb") as output:
        output.truncate(10 * 2**30)
if what == "big":
    with open("/data/display/report.html", "wb") as display:
        display.write(b"<p>" * 2**20)
if what == "many":
    for n in range(5000):
        open(f"/data/output/x{n}", "wb").close()
print(f"linked {what} to {target}" if what in ("display", "output", "both") else f"wrote {what}")
if what == "noisy":  # 40 MB on stdout, half of it without a newline
    import sys

    for _ in range(20):
        sys.stdout.write("z" * 2**20)
    for _ in range(20):
        sys.stdout.write("z" * (2**20 - 1) + "\n")
