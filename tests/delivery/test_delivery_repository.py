"""A push job's read of its package (issue 14): a large package comes in slices into one
buffer, so reading it allocates about its size once — read whole, asyncpg built two to three
copies of a 25 MB value on the way (its receive buffers, the message, the decoded bytes):
2.1x here for 8 MB on PostgreSQL. (aiosqlite hands over one copy either way.)"""

from __future__ import annotations

import tracemalloc

from gateway_support import G17, G22, H14, H41, document, fast_settings, gateway, send
from sqlalchemy import select, update

from gateway.delivery.repository import INLINE_BYTES, DeliveryRepository
from gateway.packages.models import Delivery, Package

SIZE = 8_000_000


async def read_for_push(gw, delivery_id: str) -> bytes | bytearray | None:  # type: ignore[no-untyped-def]
    """What DeliveryHandler does to get a push copy's package bytes."""
    async with gw.db.read_session() as session:
        repo = DeliveryRepository(session)
        found = await repo.copy_to_deliver(delivery_id)
        assert found is not None
        delivery, _agency, exists, raw, size = found
        assert exists
        if raw is None and size is not None:
            raw = await repo.package_in_slices(delivery.package_id, size)
        return raw


async def test_a_large_package_is_read_once_in_slices(gateway_settings) -> None:
    settings = fast_settings(gateway_settings)
    async with gateway(settings) as gw:
        # H41 pushes to a closed port: the copy stays pending while the test reads it
        await gw.add_agency(H41, delivery_mode="push", endpoint_url="http://127.0.0.1:9/edxml")
        keys = await gw.setup(G22, H14, G17)
        body = await send(gw, keys[G22], document(1))
        large = bytes(range(256)) * (SIZE // 256)
        async with gw.db.sessionmaker() as session:
            await session.execute(
                update(Package).where(Package.id == body["package_id"]).values(raw=large)
            )
            await session.commit()
            delivery_id = await session.scalar(
                select(Delivery.id).where(
                    Delivery.package_id == body["package_id"], Delivery.recipient_code == H41
                )
            )
        assert len(large) > INLINE_BYTES
        await read_for_push(gw, delivery_id)  # warm-up: the statements compiled and cached
        tracemalloc.start()
        try:
            raw = await read_for_push(gw, delivery_id)
            _current, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert raw == large
    assert peak < 1.5 * len(large), f"{peak / len(large):.2f}x the package"
