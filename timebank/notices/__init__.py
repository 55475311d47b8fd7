"""Notices: each person chooses, per kind of notice, mail at once, the daily digest, or nothing."""
