"""Evaluate the anomaly models on the labelled data sets exactly as a user would: the CLI.

For each set this script runs ``soc anomaly train`` on normal training traffic and
``soc anomaly score`` on the test files (as subprocesses), then compares the printed
``anomaly.score``/``anomaly.is_anomaly`` with the labels, which the CLI never sees. It
prints AUROC, precision, recall and false-positive rate at the model's own threshold, next
to published figures and trivial baselines, as one Markdown table.

* CSIC 2010: train on ``normalTrafficTraining``, score ``normalTrafficTest`` and
  ``anomalousTrafficTest`` through the ``http.raw`` parser.
* NSL-KDD: each CSV row is written as an NDJSON ECS event (``--ecs``) with its 41
  features; train on the normal rows of ``KDDTrain+``, score ``KDDTest+`` and
  ``KDDTest-21``. The label and difficulty columns are not written into the events.
* UCI firewall: exact duplicate rows removed, then a seeded shuffle (seed 0) split 70/30;
  train on the ``allow`` rows of the 70 %, score the 30 %; "blocked" (deny, drop,
  reset-both) is the positive class. The firewall's verdict (``Action``) and the NAT
  ports (zero exactly when the firewall did not translate, i.e. a verdict too) are not
  features.

    .venv/bin/python bench/anomaly_eval.py [--corpus ../shared/corpus] [--sets csic,nsl_kdd,uci_firewall]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score

ROOT = Path(__file__).resolve().parent.parent
SOC = [sys.executable, "-c", "from soc_api.cli import main; main()"]

KDD_FIELDS = [
    "duration", "protocol_type", "service", "flag", "src_bytes", "dst_bytes", "land", "wrong_fragment", "urgent",
    "hot", "num_failed_logins", "logged_in", "num_compromised", "root_shell", "su_attempted", "num_root",
    "num_file_creations", "num_shells", "num_access_files", "num_outbound_cmds", "is_host_login", "is_guest_login",
    "count", "srv_count", "serror_rate", "srv_serror_rate", "rerror_rate", "srv_rerror_rate", "same_srv_rate",
    "diff_srv_rate", "srv_diff_host_rate", "dst_host_count", "dst_host_srv_count", "dst_host_same_srv_rate",
    "dst_host_diff_srv_rate", "dst_host_same_src_port_rate", "dst_host_srv_diff_host_rate", "dst_host_serror_rate",
    "dst_host_srv_serror_rate", "dst_host_rerror_rate", "dst_host_srv_rerror_rate",
]
# The three symbolic KDD columns go to their ECS homes; the rest stay under nsl_kdd.*.
KDD_ECS = {"protocol_type": "network.transport", "service": "network.protocol", "duration": "event.duration",
           "src_bytes": "source.bytes", "dst_bytes": "destination.bytes"}
KDD_CATEGORICAL = {"protocol_type", "service", "flag"}
UCI_FEATURES = "destination.port:cat,source.bytes,destination.bytes,network.bytes,source.packets," \
               "destination.packets,network.packets,event.duration"


def soc(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([*SOC, *args], capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(f"soc {' '.join(args[:2])} failed ({done.returncode}):\n{done.stderr}")
    return done


def scores_of(model: Path, *args: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in soc("anomaly", "score", "--model", str(model), *args).stdout.splitlines()]


def metrics(name: str, labels: list[int], rows: list[dict[str, Any]], published: str, trivial: str) -> dict[str, Any]:
    y = np.asarray(labels)
    s = np.asarray([r["anomaly.score"] for r in rows], dtype=float)
    flagged = np.asarray([bool(r["anomaly.is_anomaly"]) for r in rows])
    tp = int((flagged & (y == 1)).sum())
    fp = int((flagged & (y == 0)).sum())
    return {"set": name, "n": len(y), "attacks": int(y.sum()), "auroc": float(roc_auc_score(y, s)),
            "precision": tp / max(1, int(flagged.sum())), "recall": tp / max(1, int((y == 1).sum())),
            "fpr": fp / max(1, int((y == 0).sum())), "threshold": rows[0]["anomaly.threshold"],
            "published": published, "trivial": trivial}


def trivial_flag_all(labels: list[int]) -> str:
    base = sum(labels) / len(labels)
    return f"flag all: P {base:.3f} R 1 FPR 1 (F1 {2 * base / (1 + base):.3f}); AUROC 0.5 by chance"


def eval_csic(corpus: Path, work: Path) -> list[dict[str, Any]]:
    d = corpus / "labelled" / "csic_2010"
    model = work / "csic-web"
    soc("anomaly", "train", "--kind", "web", "--parser", "http.raw", "--out", str(model),
        str(d / "normalTrafficTraining.txt.gz"))
    normal = scores_of(model, "--parser", "http.raw", str(d / "normalTrafficTest.txt.gz"))
    attack = scores_of(model, "--parser", "http.raw", str(d / "anomalousTrafficTest.txt.gz"))
    labels = [0] * len(normal) + [1] * len(attack)
    return [metrics("CSIC 2010 (normalTrafficTest + anomalousTrafficTest)", labels, normal + attack,
                    "ModSecurity CRS R 0.56; best one-class R 0.93 at FPR 0.03", trivial_flag_all(labels))]


def _kdd_events(src: Path, dest: Path, normal_only: bool) -> list[int]:
    labels: list[int] = []
    with src.open(newline="") as handle, dest.open("w") as out:
        for number, row in enumerate(csv.reader(handle)):
            if normal_only and row[41] != "normal":
                continue
            event: dict[str, Any] = {"event": {"id": f"{src.name}:{number}", "kind": "event",
                                               "original": ",".join(row[:41])}}
            for name, value in zip(KDD_FIELDS, row[:41], strict=True):
                target = KDD_ECS.get(name, f"nsl_kdd.{name}")
                node = event
                *parents, leaf = target.split(".")
                for part in parents:
                    node = node.setdefault(part, {})
                node[leaf] = value if name in KDD_CATEGORICAL else float(value)
            out.write(json.dumps(event) + "\n")
            labels.append(0 if row[41] == "normal" else 1)
    return labels


def eval_nsl_kdd(corpus: Path, work: Path) -> list[dict[str, Any]]:
    d = corpus / "labelled" / "nsl_kdd"
    train_file = work / "kdd-train-normal.ndjson"
    _kdd_events(d / "KDDTrain+.txt", train_file, normal_only=True)
    features = ",".join(f"{KDD_ECS.get(n, 'nsl_kdd.' + n)}{':cat' if n in KDD_CATEGORICAL else ''}"
                        for n in KDD_FIELDS)
    model = work / "kdd-network"
    soc("anomaly", "train", "--kind", "network", "--ecs", "--features", features, "--out", str(model), str(train_file))
    out = []
    for name, published in (("KDDTest+", "one-class autoencoders AUROC 0.96-0.97"),
                            ("KDDTest-21", "(no common one-class figure)")):
        events = work / f"{name}.ndjson"
        labels = _kdd_events(d / f"{name}.txt", events, normal_only=False)
        rows = scores_of(model, "--ecs", str(events))
        out.append(metrics(f"NSL-KDD {name}", labels, rows, published, trivial_flag_all(labels)))
    return out


def eval_uci(corpus: Path, work: Path) -> list[dict[str, Any]]:
    with (corpus / "labelled" / "uci_firewall" / "log2.csv").open(newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        seen: set[tuple[str, ...]] = set()
        rows = []
        for row in reader:
            key = tuple(row)
            if key not in seen:
                seen.add(key)
                rows.append(row)
    random.Random(0).shuffle(rows)
    cut = int(len(rows) * 0.7)
    col = {name: i for i, name in enumerate(header)}

    def event(number: int, row: list[str]) -> dict[str, Any]:
        n = {name: int(row[i]) for name, i in col.items() if name != "Action"}
        return {"event": {"id": f"uci:{number}", "kind": "event", "original": ",".join(row),
                          "duration": n["Elapsed Time (sec)"] * 1_000_000_000},
                "source": {"port": n["Source Port"], "bytes": n["Bytes Sent"], "packets": n["pkts_sent"]},
                "destination": {"port": n["Destination Port"], "bytes": n["Bytes Received"],
                                "packets": n["pkts_received"]},
                "network": {"bytes": n["Bytes"], "packets": n["Packets"]}}

    train_file, test_file = work / "uci-train.ndjson", work / "uci-test.ndjson"
    with train_file.open("w") as out:
        for i, row in enumerate(rows[:cut]):
            if row[col["Action"]] == "allow":
                out.write(json.dumps(event(i, row)) + "\n")
    labels = []
    with test_file.open("w") as out:
        for i, row in enumerate(rows[cut:], start=cut):
            out.write(json.dumps(event(i, row)) + "\n")
            labels.append(0 if row[col["Action"]] == "allow" else 1)
    model = work / "uci-network"
    soc("anomaly", "train", "--kind", "network", "--ecs", "--features", UCI_FEATURES, "--out", str(model),
        str(train_file))
    result = scores_of(model, "--ecs", str(test_file))
    name = f"UCI firewall (dedup {len(rows)} rows, seed-0 70/30, test {len(labels)})"
    return [metrics(name, labels, result, "(supervised SVM papers only; no one-class figure)",
                    trivial_flag_all(labels))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", default=os.environ.get("SOC_CORPUS", str(ROOT.parent / "shared" / "corpus")))
    parser.add_argument("--sets", default="csic,nsl_kdd,uci_firewall")
    args = parser.parse_args()
    corpus = Path(args.corpus)
    runs = {"csic": eval_csic, "nsl_kdd": eval_nsl_kdd, "uci_firewall": eval_uci}
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="anomaly-eval-") as tmp:
        for name in args.sets.split(","):
            started = time.monotonic()
            found = runs[name](corpus, Path(tmp))
            for r in found:
                r["secs"] = time.monotonic() - started
            results.extend(found)
            print(json.dumps(found), file=sys.stderr)
    print("| data set | n (attacks) | AUROC | precision | recall | FPR | threshold | published | trivial baseline "
          "| time (train+score) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['set']} | {r['n']} ({r['attacks']}) | {r['auroc']:.4f} | {r['precision']:.4f} | "
              f"{r['recall']:.4f} | {r['fpr']:.4f} | {r['threshold']:.4g} | {r['published']} | {r['trivial']} "
              f"| {r['secs']:.0f} s |")


if __name__ == "__main__":
    main()
