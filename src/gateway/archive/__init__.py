"""Hand-off to the province's historical archive: signed, self-contained export bundles that
can be verified offline, a record of what was exported, and pruning of exported packages'
bytes behind a tombstone (see docs/operations.md)."""
