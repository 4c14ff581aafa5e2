"""Provincial document-interchange gateway for QCVN 102:2016 edXML packages."""

__version__ = "0.1.0"
