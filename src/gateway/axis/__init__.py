"""The national document axis (VXP): wire protocol, both as a server and as a client."""
