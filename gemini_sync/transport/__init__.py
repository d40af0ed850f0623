"""Everything that touches the network, through ``requests``."""
