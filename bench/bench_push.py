"""The worker's push step, before vs after issue 14's lean hot path, in the same run.

    python bench/bench_push.py cpu [--pushes 400 --rounds 6 --concurrency 8]
    python bench/bench_push.py memory [--mb 25 --repeats 2]

"before" is `gateway.edxml.trace` and `gateway.delivery.push` as of `--base` (git show, loaded
under their package so their relative imports resolve); "after" is the working tree. Both
build the body the way the worker does (relay_bytes / relay_parts of an edXML package) and
POST it with their PushClient to a local receiver: a separate process (its CPU is not counted),
raw asyncio HTTP/1.1 with keep-alive, which reads the Content-Length body, answers
`200 OK` with a 2-byte body, and counts requests, TCP connections and chunked bodies.

cpu: alternating rounds (before, after, before, …), each a fresh process making `--pushes`
POSTs of a ~16 KB unsigned package, `--concurrency` at a time through one client, after a
warm-up, on the worker's event loop (uvloop); CPU per push is that process's CPU time (user +
system) over the pushes. "before" runs without sniffio, as before issue 14 (a failed import of
it is searched for the way a missing module is). Prints the medians and their ratio.

memory: each variant × {signed, unsigned} in a fresh process: the package's bytes are made,
the peak RSS reset (Linux clear_refs), one push done; peak RSS − RSS before = the push's extra
memory, as a multiple of the package size.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT.parent / "shared" / "samples" / "edxml" / "edoc_new.edxml"
DSIG = b'<Signature xmlns="http://www.w3.org/2000/09/xmldsig#">'
NODE = "000.00.00.G99"
SECRET = "bench-secret"  # noqa: S105 - the local receiver ignores it


def package(size: int, *, signed: bool) -> bytes:
    """edoc_new.edxml with its attachment's base64 text grown or cut to make `size` bytes;
    `signed`: its Signature element in the XMLDSig namespace (what the gateway checks)."""
    raw = SAMPLE.read_bytes()
    if signed:
        raw = raw.replace(b"<Signature>", DSIG, 1)
    start = raw.index(b">", raw.index(b"<edXML:ContentTransferEncoded")) + 1
    end = raw.index(b"</edXML:ContentTransferEncoded>", start)
    need = max(size - (len(raw) - (end - start)), 76)
    line = base64.b64encode(os.urandom(57)) + b"\n"  # 77 bytes
    text = (line * (need // len(line) + 1))[:need]
    text = text[: len(text) - len(text) % 4]
    return raw[:start] + text + raw[end:]


# --------------------------------------------------------------------------------- receiver


def serve(port_file: str) -> None:
    counts = {"requests": 0, "connections": 0, "chunked": 0, "no_length": 0}

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        counts["connections"] += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                headers = {
                    k.strip().lower(): v.strip()
                    for k, _, v in (line.partition(":") for line in lines[1:] if line)
                }
                if lines[0].startswith("GET /stats"):
                    body = json.dumps(counts).encode()
                else:
                    counts["requests"] += 1
                    if "chunked" in headers.get("transfer-encoding", ""):
                        counts["chunked"] += 1
                        writer.close()
                        return
                    if "content-length" not in headers:
                        counts["no_length"] += 1
                    await reader.readexactly(int(headers.get("content-length", "0")))
                    body = b"ok"
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s"
                    % (len(body), body)
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        Path(port_file).write_text(str(server.sockets[0].getsockname()[1]))  # noqa: ASYNC240
        async with server:
            await server.serve_forever()

    asyncio.run(main())


@contextlib.contextmanager
def receiver(workdir: Path):
    port_file = workdir / "port"
    proc = subprocess.Popen([sys.executable, __file__, "serve", str(port_file)])
    try:
        while not port_file.exists() or not port_file.read_text():
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port_file.read_text()}/push"
    finally:
        proc.terminate()
        proc.wait()


def stats(url: str) -> dict[str, int]:
    host, port = url.split("//")[1].split("/")[0].split(":")
    with socket.create_connection((host, int(port))) as s:
        s.sendall(b"GET /stats HTTP/1.1\r\nHost: x\r\n\r\n")
        data = b""
        while not data.endswith(b"}"):
            data += s.recv(4096)
    return json.loads(data.split(b"\r\n\r\n", 1)[1])


# --------------------------------------------------------------------------------- variants


def load_base(base: str) -> tuple[object, object]:
    """`trace` and `push` as of commit `base`, as modules of their own packages."""
    modules = []
    for name, path in (
        ("gateway.edxml._base_trace", "src/gateway/edxml/trace.py"),
        ("gateway.delivery._base_push", "src/gateway/delivery/push.py"),
    ):
        source = subprocess.run(
            ["git", "-C", str(ROOT), "show", f"{base}:{path}"],
            check=True,
            capture_output=True,
        ).stdout
        spec = importlib.util.spec_from_loader(name, loader=None)
        module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        module.__package__ = name.rsplit(".", 1)[0]
        sys.modules[name] = module
        exec(compile(source, f"{base}:{path}", "exec"), module.__dict__)  # noqa: S102
        modules.append(module)
    return modules[0], modules[1]


def variant(name: str, base: str, concurrency: int):
    """(client, body for raw) of one variant: the worker's body building + its PushClient."""
    if name == "before":
        trace, push = load_base(base)
        try:
            client = push.PushClient(max_connections=concurrency, max_keepalive=concurrency)
        except TypeError:  # a base that already sizes by concurrency
            client = push.PushClient(concurrency=concurrency)
        return client, lambda raw, now: trace.relay_bytes(raw, NODE, now)
    from gateway.delivery.push import PushClient
    from gateway.edxml.trace import relay_parts

    return PushClient(concurrency=concurrency), lambda raw, now: relay_parts(raw, NODE, now)


async def push_all(client, body_of, raw: bytes, url: str, n: int, concurrency: int) -> None:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    left = iter(range(n))

    async def one_lane() -> None:
        for i in left:
            outcome = await client.push(url, body_of(raw, now), delivery_id=f"d-{i}", secret=SECRET)
            assert outcome.delivered, outcome.reason

    await asyncio.gather(*(one_lane() for _ in range(concurrency)))


class _NoSniffio(importlib.abc.MetaPathFinder):
    """`import sniffio` as it was before issue 14 (not installed): the full, failing search of
    sys.path that every lock and event of an httpcore request then costs."""

    def find_spec(self, name, path=None, target=None):  # type: ignore[no-untyped-def]
        if name != "sniffio":
            return None
        importlib.machinery.PathFinder.find_spec("sniffio_absent", None)
        raise ModuleNotFoundError("No module named 'sniffio'", name=name)


def cpu_child(name: str, base: str, pushes: int, concurrency: int, url: str) -> None:
    if name == "before":
        sys.meta_path.insert(0, _NoSniffio())
    client, body_of = variant(name, base, concurrency)
    raw = package(16 * 1024, signed=False)

    async def main() -> None:
        await push_all(client, body_of, raw, url, 50, concurrency)  # warm-up
        opened = stats(url)["connections"]
        start = time.process_time()
        await push_all(client, body_of, raw, url, pushes, concurrency)
        used = time.process_time() - start
        print(
            json.dumps(
                {
                    "ms": used / pushes * 1000,
                    "connections": stats(url)["connections"] - opened,
                    "size": len(raw),
                }
            )
        )
        await client.aclose()

    from gateway import event_loop

    event_loop.run(main())  # uvloop, as in the worker


def cpu(args: argparse.Namespace, workdir: Path) -> None:
    per_push: dict[str, list[float]] = {"before": [], "after": []}
    connections = {"before": 0, "after": 0}
    size = 0
    with receiver(workdir) as url:
        for _ in range(args.rounds):
            for v in per_push:
                out = subprocess.run(
                    [sys.executable, __file__, "cpu-child", v, args.base, str(args.pushes),
                     str(args.concurrency), url],
                    check=True, capture_output=True, text=True,
                ).stdout  # fmt: skip
                found = json.loads(out.strip().splitlines()[-1])
                per_push[v].append(found["ms"])
                connections[v] += found["connections"]
                size = found["size"]
        counts = stats(url)
    load = os.getloadavg()
    print(
        f"push CPU per {size / 1024:.1f} KiB unsigned package, body building included "
        f"({args.rounds} alternating rounds x {args.pushes} pushes, {args.concurrency} at a time, "
        f"a fresh process each; load avg {load[0]:.1f} {load[1]:.1f}); receiver {counts}:"
    )
    for v, values in per_push.items():
        rounds = ", ".join(f"{x:.3f}" for x in values)
        print(
            f"  {v:6}: median {statistics.median(values):.3f} ms per push (rounds {rounds}); "
            f"{connections[v]} new TCP connections for {args.rounds * args.pushes} pushes"
        )
    ratio = statistics.median(per_push["after"]) / statistics.median(per_push["before"])
    print(f"  after / before: {ratio:.2f}")


def _status(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(field)


def memory_child(name: str, base: str, mb: float, signed: bool, url: str) -> None:
    client, body_of = variant(name, base, 4)
    raw = package(int(mb * 1_000_000), signed=signed)

    async def main() -> None:
        await push_all(client, body_of, package(4096, signed=signed), url, 2, 1)  # warm-up
        import gc

        gc.collect()
        before = _status("VmRSS")
        Path("/proc/self/clear_refs").write_text("5")  # noqa: ASYNC240 - reset VmHWM
        await push_all(client, body_of, raw, url, 1, 1)
        extra = _status("VmHWM") - before
        await client.aclose()
        print(json.dumps({"size": len(raw), "extra": extra}))

    asyncio.run(main())


def memory(args: argparse.Namespace, workdir: Path) -> None:
    with receiver(workdir) as url:
        results: dict[tuple[str, str], list[float]] = {}
        size = 0
        for _ in range(args.repeats):
            for kind in ("unsigned", "signed"):
                for v in ("before", "after"):
                    out = subprocess.run(
                        [sys.executable, __file__, "memory-child", v, args.base, str(args.mb),
                         kind, url],
                        check=True, capture_output=True, text=True,
                    ).stdout  # fmt: skip
                    found = json.loads(out.strip().splitlines()[-1])
                    size = found["size"]
                    results.setdefault((kind, v), []).append(found["extra"] / size)
        counts = stats(url)
    load = os.getloadavg()
    print(
        f"one push of a {size / 1e6:.1f} MB package, peak extra memory (peak RSS - RSS before) "
        f"as a multiple of its size, fresh process each, {args.repeats} repeat(s); load avg "
        f"{load[0]:.1f}; receiver {counts}:"
    )
    for (kind, v), values in results.items():
        print(f"  {kind:8} {v:6}: " + ", ".join(f"{x:.2f}x" for x in values))


def main() -> None:
    if sys.argv[1:2] == ["serve"]:
        serve(sys.argv[2])
        return
    if sys.argv[1:2] == ["cpu-child"]:
        _, _, name, base, pushes, concurrency, url = sys.argv
        cpu_child(name, base, int(pushes), int(concurrency), url)
        return
    if sys.argv[1:2] == ["memory-child"]:
        _, _, name, base, mb, kind, url = sys.argv
        memory_child(name, base, float(mb), kind == "signed", url)
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", choices=["cpu", "memory"])
    parser.add_argument("--base", default="b1695bf", help="the commit measured as 'before'")
    parser.add_argument("--pushes", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--mb", type=float, default=25)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        (cpu if args.mode == "cpu" else memory)(args, Path(tmp))


if __name__ == "__main__":
    main()
