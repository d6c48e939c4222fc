"""The ingest phase: end-to-end records/s into a logger subprocess, interleaved
with the two in-process baselines on the same frames."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import sys
import time
from collections import deque
from dataclasses import dataclass

import msgpack

from bench.in_process import decode_only, ingest_in_process
from bench.logger_process import HOST, LoggerProcess
from bench.measure import Spread
from bench.receivers import Receiver
from bench.workload import Workload, workload_from
from logger.app import build_components
from logger.config import LoggerSettings

Send = tuple[bytes, bytes, str]  # frame body, options, chunk id expected back


async def drive_connection(host: str, port: int, frames: list[Send], window: int) -> None:
    """Send frames keeping at most `window` unacknowledged; return after the last ack."""
    reader, writer = await asyncio.open_connection(host, port)
    slots = asyncio.Semaphore(window)
    expected: deque[str] = deque()

    async def read_acks() -> None:
        unpacker = msgpack.Unpacker(raw=False)
        remaining = len(frames)
        try:
            while remaining:
                data = await reader.read(1 << 16)
                if not data:
                    raise ConnectionError("the logger closed a forward connection")
                unpacker.feed(data)
                for reply in unpacker:
                    chunk = expected.popleft()
                    if not isinstance(reply, dict) or reply.get("ack") != chunk:
                        raise RuntimeError(f"expected the ack of {chunk!r}, got {reply!r}")
                    remaining -= 1
                    slots.release()
        except BaseException:
            for _ in range(window):  # unblock the sender so it sees the failure
                slots.release()
            raise

    acks = asyncio.create_task(read_acks())
    try:
        for body, options, chunk in frames:
            await slots.acquire()
            if acks.done():
                break
            expected.append(chunk)
            writer.write(body)
            writer.write(options)
            await writer.drain()
        await acks
    finally:
        acks.cancel()
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


def plan_sends(workload: Workload, frames: int, connections: int, run: str) -> list[list[Send]]:
    """Frames dealt round-robin to connections, each with a fresh chunk id."""
    plan: list[list[Send]] = [[] for _ in range(connections)]
    for i in range(frames):
        chunk = f"{run}-{i:08d}"
        body = workload.bodies[i % len(workload.bodies)]
        plan[i % connections].append((body, workload.options(chunk), chunk))
    return plan


async def end_to_end_run(
    logger: Receiver, plan: list[list[Send]], window: int, timeout: float
) -> tuple[float, float]:
    """(seconds from first send to last ack, the receiver's CPU seconds meanwhile)."""
    cpu_before = logger.cpu_seconds()
    start = time.perf_counter()
    async with asyncio.timeout(timeout):
        await asyncio.gather(
            *(drive_connection(HOST, logger.forward_port, frames, window) for frames in plan)
        )
    elapsed = time.perf_counter() - start
    return elapsed, logger.cpu_seconds() - cpu_before


@dataclass
class IngestResults:
    records_per_run: int
    bytes_per_record: float
    end_to_end: Spread
    logger_cpu: Spread  # logger CPU seconds per wall second during the run
    decode: Spread
    in_process: Spread

    @property
    def ratio(self) -> float:
        return self.end_to_end.median / self.decode.median


async def measure_ingest(args: argparse.Namespace, logger: LoggerProcess) -> IngestResults:
    workload = workload_from(args, args.apps_per_frame)
    frames = max(1, args.records // args.records_per_frame)
    records = frames * args.records_per_frame
    stream = workload.stream()
    passes = max(1, round(frames / args.pool_frames))
    forward = LoggerSettings().forward
    components = build_components(LoggerSettings())

    # Warm up both sides (imports, caches, rings up to capacity) untimed.
    warmup = plan_sends(workload, args.connections * args.window * 2, args.connections, "warm")
    await end_to_end_run(logger, warmup, args.window, args.timeout)
    decode_only(stream, 1, forward)
    await ingest_in_process(components.ingestor, stream, 1, forward)

    e2e, cpu, decode, in_process = [], [], [], []
    # Interleaved, so that noise from other tenants lands on all three alike.
    for run in range(args.repeats):
        plan = plan_sends(workload, frames, args.connections, f"run{run}")
        gc.collect()
        elapsed, logger_cpu = await end_to_end_run(logger, plan, args.window, args.timeout)
        e2e.append(records / elapsed)
        cpu.append(logger_cpu / elapsed)
        del plan
        gc.collect()
        elapsed, count = decode_only(stream, passes, forward)
        decode.append(count / elapsed)
        gc.collect()
        elapsed, count = await ingest_in_process(components.ingestor, stream, passes, forward)
        in_process.append(count / elapsed)
        print(
            f"  run {run + 1}/{args.repeats}: end-to-end {e2e[-1]:,.0f}/s, "
            f"decode {decode[-1]:,.0f}/s, in-process ingest {in_process[-1]:,.0f}/s",
            file=sys.stderr,
        )
    return IngestResults(
        records, workload.bytes_per_record, Spread(e2e), Spread(cpu), Spread(decode),
        Spread(in_process),
    )  # fmt: skip
