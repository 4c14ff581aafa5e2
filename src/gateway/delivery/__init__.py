"""Delivery of packages to recipients. The embedded default holds deliveries in the database for
polling; the outbox table is the seam where the RabbitMQ relay plugs in."""
