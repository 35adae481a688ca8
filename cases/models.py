"""Cases and their events arrive with the workflow issue (#3)."""
