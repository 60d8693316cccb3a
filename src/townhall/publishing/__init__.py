"""Publishing: what each network accepts in a post, measured the way the network measures it."""
