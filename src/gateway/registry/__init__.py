"""Agency registry: agencies (codes, hierarchy, succession, delivery mode) and their systems."""
