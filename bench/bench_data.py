"""Data benchmarks: rows per second generated, anonymised and loaded per kind, and peak memory.

Run with `make bench` (or `.venv/bin/python bench/bench_data.py [--sizes 10000,100000]`). Starts
its own moto server and PostgreSQL (the tool's launcher) on loopback, fabricates a production-like
export of each size (bench/fabricate.py), then measures each step in a child process of its own,
so each peak RSS is that step's alone:

- generate: synthetic customers (the example schema) through the privacy check, nothing written;
- anonymise: the example's orders rules over an export of that many orders, through the check;
- load: a full `seed` of that many synthetic customers into a DynamoDB table, an S3 prefix (JSON
  Lines, 1000 rows per object) and a PostgreSQL table; `load s` is the writes alone.

For the DynamoDB load it also reads the emulator's CPU time, to say where the time goes.
Writes its section of BENCHMARKS.md (bench/report.py).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
EXAMPLE = REPO / "modules" / "stack" / "data"
SECRET = b"benchmark-secret-0123456789"


def customers_spec(kind: str, rows: int) -> dict:
    target = {"dynamodb": {"target": "table_name", "keys": {"pk": "CUSTOMER#{id}", "sk": "PROFILE"}},
              "s3": {"target": "bucket_name"}, "postgres": {"target": "name"}}[kind]
    return {"customers": {"reason": "bench", "kind": kind, "source": "synthetic", "rows": rows,
                          "schema": str(EXAMPLE / "customers.schema.toml"), **target}}


def orders_spec(export: Path) -> dict:
    import tomllib

    raw = tomllib.loads((EXAMPLE / "datasets.toml").read_text())["data"]
    orders = dict(raw["orders"], export=str(export), subset=None)
    orders.pop("scenarios")
    orders.pop("subset")
    return {**customers_spec("dynamodb", 1000), "orders": orders}


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def child(step: str, kind: str, rows: int, env: dict) -> dict:
    """One measured step, in this (child) process."""
    from provisioner.aws.clients import Aws
    from provisioner.data import parse_datasets, seed
    from provisioner.data.keyed import Keyed
    from provisioner.data.run import Run

    outputs = {"table_name": env.get("table", ""), "bucket_name": env.get("bucket", ""),
               "name": env.get("database", "")}
    started = time.perf_counter()
    if step in ("generate", "anonymise"):
        spec = customers_spec("s3", rows) if step == "generate" else orders_spec(Path(env["export"]))
        datasets = parse_datasets(spec, "bench", EXAMPLE)
        run = Run(outputs, "bench-stack", datasets, None, None, Keyed(SECRET))
        stream, check = run.rows(datasets.get("customers" if step == "generate" else "orders"))
        count = 0
        for row in stream:
            check.check(row)
            count += 1
        out = {"rows": count}
    else:
        datasets = parse_datasets(customers_spec(kind, rows), "bench", EXAMPLE)
        aws = Aws(region="us-east-1", endpoint=env["moto"])
        moto_cpu = _cpu_seconds(int(env["moto_pid"]))
        result = seed(outputs, "bench-stack", datasets, aws, env.get("dsn"), {}, secret=SECRET)
        version = result.loaded[0]
        out = {"rows": version.rows, "load_seconds": version.load_seconds,
               "emulator_cpu": round(_cpu_seconds(int(env["moto_pid"])) - moto_cpu, 1)}
    usage = resource.getrusage(resource.RUSAGE_SELF)
    workers = resource.getrusage(resource.RUSAGE_CHILDREN)   # the largest worker process
    return {**out, "seconds": round(time.perf_counter() - started, 2),
            "rss_mib": round(usage.ru_maxrss / 1024), "worker_rss_mib": round(workers.ru_maxrss / 1024),
            "cpu": round(usage.ru_utime + usage.ru_stime, 1)}


def measure(step: str, kind: str, rows: int, env: dict) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--child", step, kind, str(rows), json.dumps(env)],
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    if proc.returncode != 0:
        raise SystemExit(f"{step} {kind} {rows} failed:\n{proc.stderr[-3000:]}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def start_moto(log: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=log.open("wb"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(url + "/moto-api/", timeout=0.5).close()
            return proc, url
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"moto did not start: {log.read_text()[-2000:]}")


def stores(url: str, dsn: str, n: int, pg_root: str) -> dict:
    import boto3

    kw = {"endpoint_url": url, "region_name": "us-east-1", "aws_access_key_id": "test",
          "aws_secret_access_key": "test"}
    name = f"bench{n}-{int(time.time())}"
    boto3.client("dynamodb", **kw).create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in ("pk", "sk")],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}])
    boto3.client("s3", **kw).create_bucket(Bucket=name)
    return {"table": name, "bucket": name, "database": name.replace("-", "_")}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--child", nargs=4)
    args = ap.parse_args()
    if args.child:
        step, kind, rows, env = args.child
        print(json.dumps(child(step, kind, int(rows), json.loads(env))))
        return
    from fabricate import write

    from provisioner.data import pgserver

    work = Path(tempfile.mkdtemp(prefix="bench-data-"))
    work.chmod(0o711)
    moto, url = start_moto(work / "moto.log")
    server = pgserver.start(work)
    results = []
    try:
        for n in (int(s) for s in args.sizes.split(",")):
            export = work / f"export-{n}"
            write(export, max(n // 5, 1), n)
            env = {"moto": url, "moto_pid": str(moto.pid), "dsn": server.dsn(),
                   "export": str(export / "orders.jsonl"), **stores(url, server.dsn(), n, str(work))}
            results.append(("generate", "synthetic", n, measure("generate", "-", n, env)))
            results.append(("anonymise", "orders rules", n, measure("anonymise", "-", n, env)))
            for kind in ("dynamodb", "s3", "postgres"):
                results.append(("load", kind, n, measure("load", kind, n, env)))
            print(f"{n} rows done", file=sys.stderr)
        report(results, args.sizes)
    finally:
        pgserver.stop(work)
        moto.terminate()
        try:
            moto.wait(30)
        except subprocess.TimeoutExpired:   # a full emulator can take a while to exit
            moto.kill()
            moto.wait(10)
        shutil.rmtree(work, ignore_errors=True)


def report(results: list, sizes: str) -> None:
    from report import write_section

    lines = ["| step | kind | rows | seconds | rows/s | load s (writes) | emulator CPU s | peak RSS MiB "
             "(process / largest worker) |", "|---|---|---:|---:|---:|---:|---:|---:|"]
    for step, kind, _n, r in results:
        rate = r["rows"] / (r.get("load_seconds") or r["seconds"])
        worker = f" / {r['worker_rss_mib']}" if r.get("worker_rss_mib") else ""
        lines.append(f"| {step} | {kind} | {r['rows']:,} | {r['seconds']} | {rate:,.0f} | "
                     f"{r.get('load_seconds', '')} | {r.get('emulator_cpu', '')} | {r['rss_mib']}{worker} |")
    table = "\n".join(lines)
    print(table)
    write_section("bench_data", f"## Data (bench/bench_data.py --sizes {sizes})\n\n"
                  "Each step in its own process. `seconds`: the whole step (for `load`: a full seed, "
                  "i.e. generation, privacy check and spool, then the writes); `rows/s`: rows over "
                  "`load s` for loads, over `seconds` otherwise. Emulator CPU: moto's own CPU "
                  "seconds during the step.\n\n" + table)


if __name__ == "__main__":
    main()
