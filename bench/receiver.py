"""A fast local push receiver for the benchmark harness: every push-mode agency's endpoint.

    python bench/receiver.py CONFIG.json --port PORT

POST /push/{agency}: checks the gateway's HMAC headers with that agency's push secret (401 if
wrong), de-duplicates by X-Gateway-Delivery-Id the way a recipient must (a repeat is answered
200 and counted, never recorded as new), records the first arrival's wall-clock time, and for a
fraction of the documents (`status_fraction` in the config) sends a business status 03
("received") back to the gateway as that agency — statuses flowing back like real traffic.
`fail_503` lists agencies that answer 503 to every other request (the fault run).

GET /stats: counts so far. On shutdown (SIGTERM/SIGINT) writes `out` (JSON): every new
delivery id with its agency and arrival time, duplicates, bad signatures, statuses sent.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import re
import resource
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from gateway.delivery.push import HEADER_DELIVERY_ID, verify_push_headers

STATUS_TEMPLATE = """<?xml version="1.0" encoding="UTF-8"?>
<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016">
  <edXML:edXMLEnvelope xmlns:edXML="http://www.mic.gov.vn/TBT/QCVN_102_2016">
    <edXML:edXMLHeader>
      <edXML:MessageHeader>
        <edXML:From>
          <edXML:OrganId>{me}</edXML:OrganId>
          <edXML:OrganName>Cơ quan {me}</edXML:OrganName>
        </edXML:From>
        <edXML:ResponseFor>
          <edXML:OrganId>{sender}</edXML:OrganId>
          <edXML:Code>{code}</edXML:Code>
          <edXML:PromulgationDate>2026/11/21</edXML:PromulgationDate>
          <edXML:DocumentId>{document_id}</edXML:DocumentId>
        </edXML:ResponseFor>
        <edXML:StaffInfo>
          <edXML:Department>Văn thư</edXML:Department>
          <edXML:Staff>Văn thư {me}</edXML:Staff>
        </edXML:StaffInfo>
        <edXML:StatusCode>03</edXML:StatusCode>
        <edXML:Description>Đã tiếp nhận văn bản điện tử</edXML:Description>
        <edXML:Timestamp>{timestamp}</edXML:Timestamp>
      </edXML:MessageHeader>
    </edXML:edXMLHeader>
  </edXML:edXMLEnvelope>
</edXML>
"""
_FROM = re.compile(rb"<edXML:From>\s*<edXML:OrganId>([^<]+)</edXML:OrganId>")
_DOCUMENT_ID = re.compile(rb"<edXML:DocumentId>([^<]+)</edXML:DocumentId>")
_CODE = re.compile(rb"<edXML:CodeNumber>([^<]*)</edXML:CodeNumber>\s*<edXML:CodeNotation>([^<]*)<")


class Receiver:
    def __init__(self, config: dict[str, Any]):
        self.config = config
        self.agencies: dict[str, dict[str, str]] = config["agencies"]
        self.fail_503 = set(config.get("fail_503", []))
        # seconds before answering a document it has recorded (the server-kill run: keeps pushes
        # in flight, so a kill leaves copies that arrived but were never answered)
        self.answer_delay = float(config.get("answer_delay", 0.0))
        self.status_fraction = float(config.get("status_fraction", 0.0))
        self.arrivals: dict[str, tuple[str, float]] = {}  # delivery id → (agency, time)
        self.counts: Counter[str] = Counter()
        self.seen_per_agency: Counter[str] = Counter()
        self.statuses: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
        self.random = random.Random(7)

    async def app(self, scope, receive, send) -> None:  # type: ignore[no-untyped-def]
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        path = scope["path"]
        if path == "/stats":
            await self._answer(send, 200, json.dumps(self.stats()).encode(), "application/json")
            return
        agency = path.rsplit("/", 1)[-1]
        entry = self.agencies.get(agency)
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        if entry is None or not verify_push_headers(entry["secret"], body, headers):
            self.counts["bad_signature"] += 1
            await self._answer(send, 401, b"bad signature")
            return
        self.seen_per_agency[agency] += 1
        if agency in self.fail_503 and self.seen_per_agency[agency] % 2 == 1:
            self.counts["answered_503"] += 1
            await self._answer(send, 503, b"busy")
            return
        delivery_id = headers.get(HEADER_DELIVERY_ID.lower(), "")
        if headers.get("content-type", "").startswith("application/json"):
            kind = "notice"  # delivery.acknowledged, for a sender in push mode
        elif b"<edXML:StatusCode>" in body[:8192]:
            kind = "status"
        else:
            kind = "document"
        if delivery_id in self.arrivals:
            self.counts["duplicate"] += 1  # a redelivery: acknowledged, not new
        else:
            self.arrivals[delivery_id] = (agency, time.time())
            self.counts[kind] += 1
            if kind == "document" and self.random.random() < self.status_fraction:
                self.statuses.put_nowait((agency, body))
        if kind == "document" and self.answer_delay:
            await asyncio.sleep(self.answer_delay)
        await self._answer(send, 200, b"ok")

    async def _answer(self, send, status: int, body: bytes, ctype: str = "text/plain") -> None:  # type: ignore[no-untyped-def]
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", ctype.encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def stats(self) -> dict[str, Any]:
        return {**self.counts, "arrivals": len(self.arrivals)}

    async def _lifespan(self, receive, send) -> None:  # type: ignore[no-untyped-def]
        await receive()
        senders = [asyncio.create_task(self._send_statuses()) for _ in range(4)]
        await send({"type": "lifespan.startup.complete"})
        await receive()
        for task in senders:
            task.cancel()
        for task in senders:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.write()
        await send({"type": "lifespan.shutdown.complete"})

    async def _send_statuses(self) -> None:
        url = self.config["gateway_url"].rstrip("/") + "/api/v1/packages"
        async with httpx.AsyncClient(timeout=60) as client:
            while True:
                agency, body = await self.statuses.get()
                sender = _FROM.search(body)
                document_id = _DOCUMENT_ID.search(body)
                code = _CODE.search(body)
                if not (sender and document_id):
                    self.counts["status_skipped"] += 1
                    continue
                status = STATUS_TEMPLATE.format(
                    me=agency,
                    sender=sender.group(1).decode(),
                    document_id=document_id.group(1).decode(),
                    code=(code.group(1) + b"/" + code.group(2)).decode() if code else "",
                    timestamp=time.strftime("%Y/%m/%d %H:%M:%S"),
                ).encode()
                try:
                    r = await client.post(
                        url,
                        content=status,
                        headers={
                            "Content-Type": "application/xml",
                            "Authorization": f"Bearer {self.agencies[agency]['key']}",
                        },
                    )
                    self.counts[f"status_{r.status_code}"] += 1
                except httpx.HTTPError:
                    self.counts["status_error"] += 1

    def write(self) -> None:
        out = self.config.get("out")
        if not out:
            return
        Path(out).write_text(
            json.dumps(
                {
                    "arrivals": self.arrivals,
                    "counts": self.counts,
                    "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                }
            )
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", type=Path)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    receiver = Receiver(json.loads(args.config.read_text()))
    uvicorn.run(
        receiver.app,
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        lifespan="on",
        interface="asgi3",
        access_log=False,
    )


if __name__ == "__main__":
    main()
