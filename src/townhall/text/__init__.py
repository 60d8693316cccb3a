"""Text rules shared by understanding and publishing: entities, counting, linking."""
