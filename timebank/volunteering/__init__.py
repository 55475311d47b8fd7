"""Volunteer tasks and kudos: organizers post tasks, members pledge, organizers mark each
volunteer's part done, which awards kudos (and optionally thank-you hours)."""
