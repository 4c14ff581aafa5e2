"""Operations: health probes (and later dashboard, metrics, reports)."""
