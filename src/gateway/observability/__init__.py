"""What every floor uses to be watched: logging with request ids, the delivery observer,
Prometheus counters and the health probes. Imports nothing above the foundation."""
