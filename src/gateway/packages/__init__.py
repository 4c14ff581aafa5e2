"""Intake of edXML packages; the package, delivery and business-status model; inbox, timeline."""
