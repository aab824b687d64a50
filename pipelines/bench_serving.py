"""Benchmark: rows per second served over HTTP, and the cost of tracking a fit.

Run:  python pipelines/bench_serving.py [model/] [--rows 10000] [--requests 20] [--server synthkit|mlflow]
                                        [--contract off|background|sync]
      python pipelines/bench_serving.py --tracking-overhead [--fits 3]

Serving: starts `synthkit serve` (or `mlflow models serve --env-manager local`) on 127.0.0.1
with `model/` (without one: MS-VAE fitted on the built-in credit data, 20,000 rows, for
--fit-epochs epochs, default 10; sampling speed does not depend on how long it trained), sends warm-up
requests, then --requests POST /invocations one after another, each asking for --rows rows
under its own seed, and prints rows per second (all rows / all wall time, JSON decoding by
the client included) and the latency per request (median, 95th percentile, worst). The
server is stopped at the end.

Tracking overhead: fits MS-VAE on 2,000 simulated credit rows (5 epochs per stage) alternately
with and without MLflow tracking to a SQLite store in a temporary folder (after one tracked
fit that creates the database), and prints the median fit time of each and their difference.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", default=None, help="a folder written by synthkit fit")
    parser.add_argument("--rows", type=int, default=10_000, help="rows per request")
    parser.add_argument("--requests", type=int, default=20, help="timed requests")
    parser.add_argument("--warmup", type=int, default=2, help="untimed requests first")
    parser.add_argument("--server", choices=["synthkit", "mlflow"], default="synthkit")
    parser.add_argument("--contract", choices=["off", "background", "sync"], default="background",
                        help="synthkit serve's contract checks")
    parser.add_argument("--threads", type=int, default=None, help="synthkit serve --threads (default: its own)")
    parser.add_argument("--fit-epochs", type=int, default=10, help="epochs when fitting the built-in model")
    parser.add_argument("--tracking-overhead", action="store_true", help="measure the cost of tracking a fit instead")
    parser.add_argument("--fits", type=int, default=3, help="fits of each kind for --tracking-overhead")
    args = parser.parse_args()
    if args.tracking_overhead:
        tracking_overhead(args.fits)
    else:
        with tempfile.TemporaryDirectory(prefix="bench-serving-") as tmp:
            serving(args, Path(tmp))


# ---------------------------------------------------------------------------------------
# serving
# ---------------------------------------------------------------------------------------


def serving(args: argparse.Namespace, tmp: Path) -> None:
    from synthkit.tabular.synthesizer import Synthesizer

    import torch

    from synthkit.core.trainer import default_cpu_threads

    model = Path(args.model) if args.model else _fit_builtin(tmp / "model", args.fit_epochs)
    synth = Synthesizer.load(model)
    torch.set_num_threads(args.threads or default_cpu_threads())  # as synthkit serve does
    direct = math.inf
    for seed in range(3):  # best of three, after a warm-up
        t0 = time.perf_counter()
        synth.sample(args.rows, seed=seed)
        direct = min(direct, time.perf_counter() - t0) if seed else math.inf
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp}/mlruns/mlflow.db"}
    max_rows = max(args.rows, 100_000)
    if args.server == "synthkit":
        cmd = [sys.executable, "-m", "synthkit.cli", "serve", str(model), "--port", "0", "--max-rows", str(max_rows),
               "--contract", args.contract, *(["--threads", str(args.threads)] if args.threads else [])]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
                                start_new_session=True)
        url = _url_from_log(proc)
    else:
        from synthkit.serving import save_pyfunc

        pyfunc = save_pyfunc(model, tmp / "pyfunc", max_rows=max_rows)
        port = _free_port()
        env["SERVING_MODEL_CONFIG"] = json.dumps({"contract": "off"})
        cmd = [sys.executable, "-m", "mlflow", "models", "serve", "-m", str(pyfunc), "--env-manager", "local",
               "--host", "127.0.0.1", "--port", str(port)]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True, env=env,
                                start_new_session=True)
        url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, proc)
        for i in range(args.warmup):
            _request(url, args.rows, 10_000 + i)
        latencies = []
        start = time.perf_counter()
        for i in range(args.requests):
            t = time.perf_counter()
            n = _request(url, args.rows, i)
            latencies.append(time.perf_counter() - t)
            assert n == args.rows, n
        total = time.perf_counter() - start
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
    latencies.sort()
    p95 = latencies[min(len(latencies) - 1, int(round(0.95 * (len(latencies) - 1))))]
    label = f"{args.server} serve" + (f" (contract {args.contract})" if args.server == "synthkit" else "")
    print(f"{label}, {synth.method_name}, {synth.transformer.output_dim if synth.transformer else '?'} model columns: "
          f"{args.requests} requests of {args.rows:,} rows in {total:.2f} s = {args.requests * args.rows / total:,.0f} rows/s; "
          f"latency median {statistics.median(latencies) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
          f"max {latencies[-1] * 1000:.0f} ms (sampling {args.rows:,} rows in-process: {direct * 1000:.0f} ms, best of 2; "
          f"{os.cpu_count()} CPU cores)")


def _fit_builtin(folder: Path, epochs: int) -> Path:
    from synthkit.datasets import simulate_credit
    from synthkit.tabular.synthesizer import Synthesizer

    df, _ = simulate_credit()
    print(f"fitting msvae on the built-in credit data ({len(df):,} rows, {epochs} epochs per stage)", file=sys.stderr)
    Synthesizer("msvae", seed=0, epochs=epochs, progress=False).fit(df, track=False).save(folder)
    return folder


def _request(url: str, rows: int, seed: int) -> int:
    body = json.dumps({"dataframe_records": [{"num_rows": rows, "seed": seed}]}).encode()
    req = urllib.request.Request(url + "/invocations", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=300) as resp:
        return len(json.loads(resp.read())["predictions"])


def _url_from_log(proc: subprocess.Popen[str]) -> str:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        line = proc.stderr.readline() if proc.stderr else ""
        if not line and proc.poll() is not None:
            raise SystemExit(f"synthkit serve exited with {proc.returncode}")
        found = re.search(r"at (http://[^ ]+)/invocations", line)
        if found:
            # keep reading the server's log so that it never blocks on a full pipe
            import threading

            threading.Thread(target=lambda: [None for _ in proc.stderr], daemon=True).start()  # type: ignore[union-attr]
            return found.group(1)
    raise SystemExit("synthkit serve did not start")


def _wait_ready(url: str, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url + "/ping", timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"{url} did not answer")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---------------------------------------------------------------------------------------
# tracking overhead
# ---------------------------------------------------------------------------------------


def tracking_overhead(fits: int) -> None:
    from synthkit.datasets import simulate_credit
    from synthkit.tabular.synthesizer import Synthesizer
    from synthkit.tracking import Tracking

    df, _ = simulate_credit(2000, seed=0)
    options = {"epochs": 5, "progress": False}
    with tempfile.TemporaryDirectory(prefix="bench-tracking-") as tmp:
        uri = f"sqlite:///{tmp}/mlruns/mlflow.db"
        t0 = time.perf_counter()
        first = Synthesizer("msvae", **options).fit(df, track=Tracking(uri=uri))
        first_s = time.perf_counter() - t0
        plain, tracked, own = [], [], []
        for _ in range(fits):
            t0 = time.perf_counter()
            Synthesizer("msvae", **options).fit(df, track=False)
            plain.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            s = Synthesizer("msvae", **options).fit(df, track=Tracking(uri=uri))
            tracked.append(time.perf_counter() - t0)
            own.append(s.summary["tracking_seconds"])
    p, t = statistics.median(plain), statistics.median(tracked)
    print(f"msvae on {len(df):,} rows × {df.shape[1]}, 5 epochs per stage, median of {fits}: "
          f"untracked {p:.2f} s, tracked {t:.2f} s (+{t - p:.2f} s; the run's own tracking_seconds: "
          f"{statistics.median(own):.2f} s); first tracked fit of the process, creating the database and "
          f"importing MLflow: {first_s:.2f} s (its tracking_seconds {first.summary['tracking_seconds']:.2f} s); "
          f"{os.cpu_count()} CPU cores")


if __name__ == "__main__":
    main()
