"""Measure the API proxy served by gunicorn against direct calls to the same upstream.

Run from the repository root with the ``bench`` extra installed:

    .venv/bin/python benchmarks/proxy_bench.py

The script creates its own PostgreSQL database (``proxy_bench`` by default) and
starts a local upstream HTTP server and gunicorn on 127.0.0.1. It prints the
throughput and p50/p99 latency of small GET requests sent directly and through
the proxy, and their ratio. Last, it prints the peak RSS of the gunicorn worker
while a 100 MB body streams through the proxy. Every server listens on 127.0.0.1 only; every phase is bounded
in request count and in seconds.
"""

import argparse
import contextlib
import os
import platform
import socket
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
SMALL_BODY = b'{"id": 1, "login": "bench", "items": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]}'
BIG_BODY_BYTES = 100 * 1000 * 1000
BIG_CHUNK = b"x" * (1024 * 1024)
START_TIMEOUT_SECONDS = 30.0
REQUEST_TIMEOUT_SECONDS = 30.0
STREAM_TIMEOUT_SECONDS = 60.0


class UpstreamHandler(BaseHTTPRequestHandler):
    """``/small``: a short JSON body; ``/big``: ``BIG_BODY_BYTES`` bytes with a Content-Length."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle's algorithm the body would
    # wait for the client's delayed ACK (about 40 ms on Linux).
    disable_nagle_algorithm = True

    def do_GET(self):
        if self.path.startswith("/big"):
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(BIG_BODY_BYTES))
            self.end_headers()
            remaining = BIG_BODY_BYTES
            while remaining > 0:
                chunk = BIG_CHUNK[: min(remaining, len(BIG_CHUNK))]
                self.wfile.write(chunk)
                remaining -= len(chunk)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(SMALL_BODY)))
        self.send_header("X-RateLimit-Remaining", "4999")
        self.end_headers()
        self.wfile.write(SMALL_BODY)

    def log_message(self, format, *args):
        pass


def free_port():
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def wait_for(url, process, timeout):
    """Poll ``url`` until it responds, at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    with requests.Session() as session:
        session.trust_env = False
        while time.monotonic() < deadline:
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"{url}: the server exited with code {process.returncode}")
            try:
                session.get(url, timeout=1)
                return
            except requests.RequestException:
                time.sleep(0.1)
    raise RuntimeError(f"{url} did not respond within {timeout:.0f} s")


def recreate_database(database_url, name):
    """Drop and create database ``name``; return the server's version string."""
    import psycopg

    with psycopg.connect(database_url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')
        return connection.execute("SHOW server_version").fetchone()[0]


def prepare_product(env, upstream_url):
    """Migrate the database, store a provider and a linked account; return the JWT and the account id."""
    subprocess.run([sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"], cwd=ROOT, env=env,
                   check=True, timeout=120)
    script = (
        "from allaccess_api.models import AccountAccess, Provider\n"
        "from django.contrib.auth import get_user_model\n"
        "from allaccess_api.tokens import issue_tokens\n"
        f"provider = Provider.objects.create(name='bench', authorization_url='{upstream_url}/authorize', "
        f"access_token_url='{upstream_url}/token', profile_url='{upstream_url}/user', "
        f"api_base_url='{upstream_url}/', client_id='bench', client_secret='bench-secret')\n"
        "user = get_user_model().objects.create_user('bench')\n"
        "account = AccountAccess.objects.create(provider=provider, user=user, identifier='1', "
        "access_token='bench-token', token_type='Bearer')\n"
        "print(account.pk, issue_tokens(user).access)\n"
    )
    completed = subprocess.run([sys.executable, "manage.py", "shell", "-c", script], cwd=ROOT, env=env,
                               check=True, timeout=60, capture_output=True, text=True)
    account_id, jwt = completed.stdout.strip().splitlines()[-1].split()
    return int(account_id), jwt


def load(url, headers, *, requests_total, threads, max_seconds):
    """Send ``requests_total`` GET requests from ``threads`` threads; return (latencies, wall seconds)."""
    latencies = []
    failures = []
    lock = threading.Lock()
    per_thread = requests_total // threads
    deadline = time.monotonic() + max_seconds

    def worker():
        with requests.Session() as session:
            session.trust_env = False
            for _ in range(per_thread):
                if time.monotonic() > deadline:
                    return
                started = time.perf_counter()
                response = session.get(url, headers=headers, timeout=REQUEST_TIMEOUT_SECONDS)
                elapsed = time.perf_counter() - started
                with lock:
                    if response.status_code == 200:
                        latencies.append(elapsed)
                    else:
                        failures.append(response.status_code)

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    started = time.perf_counter()
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(timeout=max_seconds + REQUEST_TIMEOUT_SECONDS)
    wall = time.perf_counter() - started
    if failures:
        raise RuntimeError(f"{len(failures)} requests to {url} failed, statuses {sorted(set(failures))}")
    return latencies, wall


def summarize(latencies, wall):
    ordered = sorted(latencies)
    return {
        "requests": len(ordered),
        "throughput": len(ordered) / wall,
        "p50_ms": statistics.median(ordered) * 1000,
        "p99_ms": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000,
    }


def worker_pids(master_pid):
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    return [int(pid) for pid in children]


def memory_kib(pid, field):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} missing for process {pid}")


def largest_rss(pids):
    return max(memory_kib(pid, "VmRSS") for pid in pids)


def stream_big(url, headers, worker_pids):
    """Download the big body through ``url``, sampling the workers' RSS; return (bytes, seconds, peak KiB).

    The peak is the largest RSS of any one worker, sampled after each 1 MiB chunk.
    """
    peak = largest_rss(worker_pids)
    received = 0
    started = time.perf_counter()
    with requests.Session() as session:
        session.trust_env = False
        with session.get(url, headers=headers, stream=True, timeout=REQUEST_TIMEOUT_SECONDS) as response:
            response.raise_for_status()
            for chunk in response.iter_content(chunk_size=1024 * 1024):
                received += len(chunk)
                peak = max(peak, largest_rss(worker_pids))
                if time.perf_counter() - started > STREAM_TIMEOUT_SECONDS:
                    raise RuntimeError(f"streaming took longer than {STREAM_TIMEOUT_SECONDS:.0f} s")
    return received, time.perf_counter() - started, peak


def machine():
    memory = next(line for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return f"nproc {os.cpu_count()}, {cpu}, {memory.split()[1]} kB memory, Python {platform.python_version()}"


@contextlib.contextmanager
def running(command, env, url):
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    try:
        wait_for(url, process, START_TIMEOUT_SECONDS)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def serve_upstream(port):
    server = ThreadingHTTPServer((HOST, port), UpstreamHandler)
    server.daemon_threads = True
    server.serve_forever()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/proxy_bench",
                        help="PostgreSQL database to create (dropped first if it exists)")
    parser.add_argument("--requests", type=int, default=2000, help="small requests per measurement")
    parser.add_argument("--threads", type=int, default=8, help="client threads sending small requests")
    parser.add_argument("--workers", type=int, default=1, help="gunicorn worker processes")
    parser.add_argument("--worker-threads", type=int, default=8, help="threads per gunicorn worker (gthread)")
    parser.add_argument("--max-seconds", type=float, default=25.0, help="time cap of each load phase, seconds")
    parser.add_argument("--upstream-port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.upstream_port:
        serve_upstream(args.upstream_port)
        return

    upstream_port, product_port = free_port(), free_port()
    upstream_url, product_url = f"http://{HOST}:{upstream_port}", f"http://{HOST}:{product_port}"
    postgres_version = recreate_database(args.database_url, args.database_url.rsplit("/", 1)[1])
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "project.settings",
        "DATABASE_URL": args.database_url,
        "DJANGO_SECRET_KEY": "benchmark-only-secret-key-0123456789abcdef",
        "DJANGO_ALLOWED_HOSTS": HOST,
        "ALLACCESS_INSECURE_LOOPBACK": "1",
        "ALLACCESS_THROTTLE_PROXY": "1000000/min",
        "ALLACCESS_LOG_LEVEL": "WARNING",
    }
    account_id, jwt = prepare_product(env, upstream_url)
    headers = {"Authorization": f"Bearer {jwt}"}
    proxy_base = f"{product_url}/api/v1/accounts/{account_id}/proxy"
    gunicorn = [str(Path(sys.executable).parent / "gunicorn"), "project.wsgi:application", "--bind",
                f"{HOST}:{product_port}", "--workers", str(args.workers), "--worker-class", "gthread",
                "--threads", str(args.worker_threads), "--log-level", "warning"]

    with running([sys.executable, __file__, "--upstream-port", str(upstream_port)], env, f"{upstream_url}/small"), \
            running(gunicorn, env, f"{product_url}/api/v1/providers/") as server:
        # Warm-up: open database connections and fill the worker's pools.
        load(f"{proxy_base}/small", headers, requests_total=args.threads * 20, threads=args.threads, max_seconds=10)
        direct = summarize(*load(f"{upstream_url}/small", {}, requests_total=args.requests, threads=args.threads,
                                 max_seconds=args.max_seconds))
        proxied = summarize(*load(f"{proxy_base}/small", headers, requests_total=args.requests,
                                  threads=args.threads, max_seconds=args.max_seconds))
        workers = worker_pids(server.pid)
        rss_before = largest_rss(workers)
        received, seconds, peak = stream_big(f"{proxy_base}/big", headers, workers)
        high_water = max(memory_kib(pid, "VmHWM") for pid in workers)

    print(f"machine: {machine()}, PostgreSQL {postgres_version}")
    print(f"gunicorn: {args.workers} worker(s), gthread, {args.worker_threads} threads; "
          f"client: {args.threads} threads, {args.requests} requests per measurement")
    print(f"{'':8} {'requests':>9} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
    for name, result in (("direct", direct), ("proxy", proxied)):
        print(f"{name:8} {result['requests']:>9} {result['throughput']:>9.0f} {result['p50_ms']:>8.2f} "
              f"{result['p99_ms']:>8.2f}")
    print(f"proxy/direct: throughput {proxied['throughput'] / direct['throughput']:.2f}, "
          f"p50 latency {proxied['p50_ms'] / direct['p50_ms']:.2f}x, p99 latency {proxied['p99_ms'] / direct['p99_ms']:.2f}x")
    print(f"streamed {received / 1e6:.0f} MB through the proxy in {seconds:.1f} s ({received / 1e6 / seconds:.0f} MB/s); "
          f"largest worker RSS before {rss_before / 1024:.1f} MiB, peak sampled {peak / 1024:.1f} MiB, "
          f"VmHWM {high_water / 1024:.1f} MiB")


if __name__ == "__main__":
    main()
