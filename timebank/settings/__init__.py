"""Group settings a coordinator changes: for now, the languages the group's site offers."""
