"""Items: everything said on a network (posts, comments, replies, DMs, mentions, reviews), and imports."""
