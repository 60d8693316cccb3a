"""People (members and contacts), their identities on each network, and their activities."""
