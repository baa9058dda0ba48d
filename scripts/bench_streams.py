#!/usr/bin/env python3
"""Streaming load for scripts/bench: raw HTTP/1.1 over loopback, python3 stdlib only.

The mock upstream (oneapi_bench_upstream --stamp) writes its send time, CLOCK_MONOTONIC ns, into
every chunk's content as "t=<ns> "; time.monotonic_ns() reads the same clock, so
arrival - stamp is the delay each chunk picked up on its way (through a proxy or not).

  ttft: sequential streams at concurrency 1; time to first chunk and per-chunk delay.
  hold: N concurrent streams for D seconds, each connection starting a new stream when one
        ends; counts completed streams, errors and stalls, optionally samples a process's
        VmRSS. Exits 1 on any stall or error.

Both print one line of key=value pairs on stdout (times in microseconds, RSS in kB).
"""
import argparse
import asyncio
import multiprocessing
import os
import queue as queue_module
import re
import resource
import statistics
import sys
import time
import urllib.parse

STAMP = re.compile(rb"t=(\d+) ")


def percentile(values, q):
    """Nearest-rank percentile of values (q in 0..100); 0 for no values."""
    if not values:
        return 0
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[min(len(ordered), int(rank)) - 1]


class StreamError(Exception):
    pass


class Connection:
    """One keep-alive HTTP/1.1 connection that posts a streaming chat request and reads the answer."""

    def __init__(self, host, port, path, key, body):
        self.host, self.port = host, port
        payload = body.encode()
        self.request = (
            f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
        ).encode() + payload
        self.reader = self.writer = None

    async def open(self):
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port, limit=1 << 20)

    def close(self):
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def stream(self, on_chunk):
        """Sends one request; calls on_chunk(arrival_ns, stamp_ns) per stamped chunk. Returns the
        send time. Raises StreamError on a non-200 answer or a broken stream.

        Reads in bulk and decodes the chunked body by hand: one await per socket read, not two per
        HTTP chunk, so one process keeps up with thousands of streams."""
        if self.writer is None:
            await self.open()
        reader = self.reader
        sent = time.monotonic_ns()
        self.writer.write(self.request)
        buf = bytearray()

        async def fill():
            data = await reader.read(65536)
            if not data:
                raise StreamError("connection closed mid-answer")
            buf.extend(data)
            return time.monotonic_ns()

        while (end_of_head := buf.find(b"\r\n\r\n")) < 0:
            await fill()
        head = bytes(buf[:end_of_head])
        del buf[: end_of_head + 4]
        status_line, _, header_block = head.partition(b"\r\n")
        parts = status_line.split(b" ", 2)
        status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
        headers = {}
        for line in header_block.split(b"\r\n"):
            name, sep, value = line.partition(b":")
            if sep:
                headers[name.strip().lower()] = value.strip().lower()
        keep = headers.get(b"connection") != b"close"
        if b"content-length" in headers:
            while len(buf) < int(headers[b"content-length"]):
                await fill()
            if not keep:
                self.close()
            raise StreamError(f"status {status}, not a stream")
        if headers.get(b"transfer-encoding") != b"chunked":
            self.close()
            raise StreamError(f"status {status}, no chunked body")
        pending = b""
        saw_done = False
        finished = False
        arrival = time.monotonic_ns()
        pos = 0
        while not finished:
            body = bytearray()
            while True:  # every whole HTTP chunk in the buffer
                line_end = buf.find(b"\r\n", pos)
                if line_end < 0:
                    break
                size = int(bytes(buf[pos:line_end]).split(b";", 1)[0], 16)
                if size == 0:
                    if len(buf) < line_end + 4:
                        break  # the last CRLF is still on its way
                    finished = True
                    pos = line_end + 4
                    break
                if len(buf) < line_end + 2 + size + 2:
                    break
                body += buf[line_end + 2 : line_end + 2 + size]
                pos = line_end + 2 + size + 2
            del buf[:pos]
            pos = 0
            if body:
                pending += body
                # Whole SSE events only: a stamp is never read half.
                cut = pending.rfind(b"\n\n")
                if cut >= 0:
                    complete, pending = pending[: cut + 2], pending[cut + 2 :]
                    for match in STAMP.finditer(complete):
                        on_chunk(arrival, int(match.group(1)))
                    if b"data: [DONE]" in complete:
                        saw_done = True
            if not finished:
                arrival = await fill()
        if not keep:
            self.close()
        if status != 200:
            raise StreamError(f"status {status}")
        if not saw_done:
            raise StreamError("stream ended without [DONE]")
        return sent


def parse_url(url):
    parsed = urllib.parse.urlsplit(url)
    return parsed.hostname, parsed.port or 80, parsed.path or "/"


def request_body(model):
    return '{"model":"%s","stream":true,"messages":[{"role":"user","content":"Say hello"}]}' % model


# ---- ttft ----------------------------------------------------------------------------------------


async def run_ttft(args):
    host, port, path = parse_url(args.url)
    conn = Connection(host, port, path, args.key, request_body(args.model))
    ttft, per_chunk, errors = [], [], 0
    for _ in range(args.count):
        chunks = []
        try:
            sent = await asyncio.wait_for(conn.stream(lambda a, s: chunks.append((a, s))), args.timeout)
        except (StreamError, OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError):
            errors += 1
            conn.close()
            continue
        if len(chunks) != args.chunks:
            errors += 1
            continue
        ttft.append((chunks[0][0] - sent) / 1000)
        per_chunk.extend((a - s) / 1000 for a, s in chunks)
    conn.close()
    print(
        f"streams={len(ttft)} errors={errors} ttft_p50_us={percentile(ttft, 50):.0f} "
        f"ttft_p99_us={percentile(ttft, 99):.0f} chunk_p50_us={percentile(per_chunk, 50):.0f} "
        f"chunk_p99_us={percentile(per_chunk, 99):.0f} chunk_max_us={max(per_chunk, default=0):.0f}"
    )
    return 1 if errors else 0


# ---- hold ----------------------------------------------------------------------------------------


class HoldStats:
    def __init__(self):
        self.completed = self.errors = self.late_chunks = self.slow_first = self.overdue = 0
        self.worst_delay_us = 0
        self.first_error = ""


async def hold_one(index, share, args, stats, deadline):
    """One connection: keeps a stream open until the deadline, starting a new one as each ends."""
    host, port, path = parse_url(args.url)
    conn = Connection(host, port, path, args.key, request_body(args.model))
    # Spread the starts over one stream's length so the load is steady, not a thundering herd.
    await asyncio.sleep(args.ramp * index / max(1, share))
    stall_ns = int(args.stall_ms * 1e6)
    budget = args.chunks * args.interval_ms / 1000 + args.stall_ms / 1000 + 1
    while time.monotonic() < deadline:
        seen = [0]
        first = [0]

        def on_chunk(arrival, stamp):
            delay = arrival - stamp
            if delay > stall_ns:
                stats.late_chunks += 1
            if delay // 1000 > stats.worst_delay_us:
                stats.worst_delay_us = delay // 1000
            if seen[0] == 0:
                first[0] = arrival
            seen[0] += 1

        try:
            sent = await asyncio.wait_for(conn.stream(on_chunk), budget)
        except asyncio.TimeoutError:
            stats.overdue += 1
            conn.close()
            continue
        except (StreamError, OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as e:
            stats.errors += 1
            stats.first_error = stats.first_error or f"{type(e).__name__}: {e}"
            conn.close()
            await asyncio.sleep(0.1)
            continue
        if seen[0] != args.chunks:
            stats.errors += 1
            stats.first_error = stats.first_error or f"{seen[0]} of {args.chunks} chunks"
            continue
        if first[0] - sent > stall_ns:
            stats.slow_first += 1
        stats.completed += 1
    conn.close()


def hold_worker(share, offset, args, deadline_wall, queue):
    async def main():
        stats = HoldStats()
        # The parent's deadline is wall-clock; turn it into this process's monotonic clock.
        deadline = time.monotonic() + (deadline_wall - time.time())
        await asyncio.gather(*(hold_one(offset + i, share, args, stats, deadline) for i in range(share)))
        return stats

    stats = asyncio.run(main())
    queue.put(vars(stats))


def read_rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def run_hold(args):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = args.streams + 64
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(max(need, soft), hard), hard))
    workers = args.workers or max(1, min(os.cpu_count() or 1, -(-args.streams // 1500)))
    shares = [args.streams // workers + (1 if i < args.streams % workers else 0) for i in range(workers)]
    # Every stream must be able to finish: the last start is ramp seconds in, then one stream's length.
    deadline = time.time() + args.duration
    queue = multiprocessing.Queue()
    procs, offset = [], 0
    for share in shares:
        proc = multiprocessing.Process(target=hold_worker, args=(share, offset, args, deadline, queue))
        proc.start()
        procs.append(proc)
        offset += share
    rss = []
    started = time.monotonic()
    results = []
    # Every stream is bounded by its budget, so the workers end by then; this is the backstop.
    give_up = started + args.duration + args.chunks * args.interval_ms / 1000 + args.stall_ms / 1000 + 30
    while len(results) < len(procs) and time.monotonic() < give_up:
        if args.rss_pid and time.monotonic() - started >= args.rss_interval * (len(rss) + 1):
            rss.append((time.monotonic() - started, read_rss_kb(args.rss_pid)))
        try:
            results.append(queue.get(timeout=0.5))
        except queue_module.Empty:
            if not any(p.is_alive() for p in procs) and queue.empty():
                break
    for proc in procs:
        proc.join(5)
        if proc.is_alive():
            proc.terminate()
    total = HoldStats()
    for r in results:
        for name in ("completed", "errors", "late_chunks", "slow_first", "overdue"):
            setattr(total, name, getattr(total, name) + r[name])
        total.worst_delay_us = max(total.worst_delay_us, r["worst_delay_us"])
        total.first_error = total.first_error or r["first_error"]
    lost_workers = len(procs) - len(results)
    total.errors += lost_workers
    stalls = total.late_chunks + total.slow_first + total.overdue
    line = (
        f"streams={args.streams} workers={workers} completed={total.completed} errors={total.errors} "
        f"stalls={stalls} late_chunks={total.late_chunks} slow_first={total.slow_first} "
        f"overdue={total.overdue} worst_chunk_delay_us={total.worst_delay_us}"
    )
    if args.rss_pid:
        # Flatness is judged once every stream is open (after the ramp), not while they pile up.
        steady = [kb for at, kb in rss if kb > 0 and at >= args.ramp] or [0]
        samples = rss
        rss = [kb for _, kb in samples if kb > 0] or [0]
        quarter = max(1, len(steady) // 4)
        line += (
            f" rss_samples={len(rss)} rss_first_kb={rss[0]} rss_median_kb={int(statistics.median(rss))} "
            f"rss_last_kb={rss[-1]} rss_max_kb={max(rss)} rss_steady_samples={len(steady)}"
            f" rss_q1_kb={int(statistics.median(steady[:quarter]))}"
            f" rss_q4_kb={int(statistics.median(steady[-quarter:]))}"
        )
        if args.rss_out:
            with open(args.rss_out, "w") as out:
                out.write("".join(f"{at:.1f} {kb}\n" for at, kb in samples))
    print(line)
    if total.first_error:
        print(f"first error: {total.first_error}", file=sys.stderr)
    return 1 if stalls or total.errors else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["ttft", "hold"])
    parser.add_argument("--url", required=True, help="http://127.0.0.1:PORT/v1/chat/completions")
    parser.add_argument("--key", default="sk-direct")
    parser.add_argument("--model", default="gpt-4o-mini")
    parser.add_argument("--chunks", type=int, default=20, help="stamped chunks per stream (the mock's --chunks)")
    parser.add_argument("--timeout", type=float, default=10, help="ttft: seconds per stream")
    parser.add_argument("--count", type=int, default=200, help="ttft: streams, one after another")
    parser.add_argument("--streams", type=int, default=1000, help="hold: concurrent streams")
    parser.add_argument("--duration", type=float, default=20, help="hold: seconds to keep starting streams")
    parser.add_argument("--interval-ms", type=float, default=250, help="hold: the mock's --chunk-interval-ms")
    parser.add_argument(
        "--ramp", type=float, default=-1, help="hold: seconds over which the streams start (default: one stream's length)"
    )
    parser.add_argument("--stall-ms", type=float, default=1000, help="hold: a chunk this late is a stall")
    parser.add_argument("--workers", type=int, default=0, help="hold: processes (0 = one per 1500 streams)")
    parser.add_argument("--rss-pid", type=int, default=0, help="hold: sample this process's VmRSS")
    parser.add_argument("--rss-interval", type=float, default=5, help="hold: seconds between RSS samples")
    parser.add_argument("--rss-out", default="", help="hold: write every RSS sample (kB) here")
    args = parser.parse_args()
    if args.ramp < 0:
        args.ramp = args.chunks * args.interval_ms / 1000
    if args.mode == "ttft":
        return asyncio.run(run_ttft(args))
    return run_hold(args)


if __name__ == "__main__":
    sys.exit(main())
